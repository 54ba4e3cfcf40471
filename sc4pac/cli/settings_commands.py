"""Profile settings: ``variant``, ``channel`` (add/remove/list) and ``profile`` commands."""

from __future__ import annotations

from pathlib import Path

from ..errors import BadRequest
from ..models.profile import ProfileEntry
from ..services.channel_config import add_channel, remove_channel
from ..services.profile_setup import init_listed_profile, list_profiles
from ..services.variant_selection import configured_variants, reset_variants, set_variants
from ..wire import WireStruct
from .profile_select import select_profile
from .runner import CommandContext, print_json

__all__ = [
    "cmd_channel_add",
    "cmd_channel_list",
    "cmd_channel_remove",
    "cmd_profile_add",
    "cmd_profile_init",
    "cmd_profile_list",
    "cmd_profile_switch",
    "cmd_variant_list",
    "cmd_variant_reset",
    "cmd_variant_set",
]


# --- variants -----------------------------------------------------------------------------------


async def cmd_variant_list(ctx: CommandContext) -> int:
    """The configured variants (and whether an installed package uses them)."""
    configured = configured_variants(ctx.store, ctx.profile_id)
    if ctx.args.json:
        print_json({k: c.value for k, c in sorted(configured.items())})
        return 0
    if not configured:
        print("No variants configured yet (they are chosen during `sc4pac update`).")
    for key, item in sorted(configured.items()):
        print(f"{key} = {item.value}" + ("" if item.used else "  (unused)"))
    return 0


async def cmd_variant_reset(ctx: CommandContext) -> int:
    """Forget configured variants, so that the next update asks again."""
    ids = await reset_variants(ctx.store, ctx.profile_id, ctx.args.variants)
    print(f"Reset {', '.join(ids)}. Run `sc4pac update` to choose again.")
    return 0


def _assignments(items: list[str]) -> dict[str, str]:
    """``ID=VALUE`` words as a mapping (the services check ids and values)."""
    selections: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise BadRequest(
                f"Malformed variant selection: {item}", 'Write it as ID=VALUE, e.g. "nightmode=dark".'
            )
        selections[key] = value
    return selections


async def cmd_variant_set(ctx: CommandContext) -> int:
    """Configure variants (``ID=VALUE``) without being asked during the update."""
    selections = _assignments(ctx.args.assignments)
    await set_variants(ctx.services, ctx.profile_id, selections, package=ctx.args.package)
    print("Set " + ", ".join(f"{k}={v}" for k, v in selections.items()) + ". Run `sc4pac update` to apply.")
    return 0


# --- channels -----------------------------------------------------------------------------------


def _channel_argument(given: str) -> str:
    """A channel URL as typed; an existing local folder or file is accepted too and becomes a ``file:`` URL."""
    local = Path(given)
    if "://" not in given and local.exists():
        uri = local.resolve().as_uri()
        return uri + "/" if local.is_dir() else uri
    return given


async def cmd_channel_add(ctx: CommandContext) -> int:
    """Add a channel after the configured ones."""
    url = await add_channel(ctx.store, ctx.profile_id, _channel_argument(ctx.args.url))
    print(f"Channel added: {url}")
    return 0


async def cmd_channel_remove(ctx: CommandContext) -> int:
    """Remove a channel (the default channel comes back when none is left)."""
    url = await remove_channel(ctx.store, ctx.profile_id, ctx.args.url)
    print(f"Channel removed: {url}")
    return 0


async def cmd_channel_list(ctx: CommandContext) -> int:
    """The profile's channels in priority order."""
    channels = ctx.store.read_spec(ctx.profile_id).config.channels
    if ctx.args.json:
        print_json(channels)
    else:
        for url in channels:
            print(url)
    return 0


# --- profiles -----------------------------------------------------------------------------------


class ProfileListEntry(WireStruct):
    """A profile as ``profile list --json`` prints it."""

    id: str
    name: str
    current: bool
    initialized: bool


async def cmd_profile_list(ctx: CommandContext) -> int:
    """The profiles of the profiles dir; the current one is marked."""
    listing = list_profiles(ctx.store)
    entries = [ProfileListEntry(p.id, p.name, p.current, p.initialized) for p in listing.profiles]
    if ctx.args.json:
        print_json(entries)
        return 0
    if not entries:
        print(f"No profiles in {ctx.store.profiles_dir} yet. Create one with `sc4pac profile add NAME`.")
    for e in entries:
        marks = ("*" if e.current else " ", "" if e.initialized else "  (not initialized)")
        print(f"{marks[0]} {e.id}  {e.name}{marks[1]}")
    return 0


async def cmd_profile_add(ctx: CommandContext) -> int:
    """Create a profile and make it the current one."""
    entry: ProfileEntry = await ctx.store.add_profile(ctx.args.name)
    print(
        f'Created profile {entry.id} "{entry.name}" (now current). Next: `sc4pac profile init --plugins DIR --cache DIR`.'
    )
    return 0


async def cmd_profile_switch(ctx: CommandContext) -> int:
    """Make a profile (given by id or name) the current one."""
    profile_id = select_profile(ctx.store, ctx.args.target)
    await ctx.store.switch_profile(profile_id)
    print(f"Current profile: {profile_id}")
    return 0


async def cmd_profile_init(ctx: CommandContext) -> int:
    """Create the spec file and the Plugins and cache folders of the selected profile."""
    args = ctx.args
    # Folders typed in a terminal are relative to the working directory, not to the profile dir.
    plugins = str(Path(args.plugins).expanduser().absolute())
    cache = str(Path(args.cache).expanduser().absolute())
    config = await init_listed_profile(ctx.store, ctx.profile_id, plugins, cache, args.temp)
    print(f"Initialized profile {ctx.profile_id}.")
    print(f"  Plugins: {ctx.store.plugins_root(ctx.profile_id, config)}")
    print(f"  Cache:   {ctx.store.cache_root(ctx.profile_id, config)}")
    return 0
