"""Profile settings: ``variant``, ``channel`` (add/remove/list) and ``profile`` commands."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import BadRequest
from ..models.profile import DEFAULT_CHANNELS, ProfileEntry
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
    "cmd_demo",
    "cmd_profile_add",
    "cmd_profile_init",
    "cmd_profile_list",
    "cmd_profile_remove",
    "cmd_profile_rename",
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
    """Remove a channel given as to ``channel add`` or by its number in ``channel list``.

    The default channel comes back when none is left.
    """
    given: str = ctx.args.url
    configured = ctx.store.read_spec(ctx.profile_id).config.channels
    if given.isdigit() and 1 <= int(given) <= len(configured):
        given = configured[int(given) - 1]
    url = await remove_channel(ctx.store, ctx.profile_id, _channel_argument(given))
    print(f"Channel removed: {url}")
    remaining = ctx.store.read_spec(ctx.profile_id).config.channels
    if list(remaining) == list(DEFAULT_CHANNELS) and url not in DEFAULT_CHANNELS:
        print(
            f"That was the last channel, so the default channel is used again: {', '.join(DEFAULT_CHANNELS)}"
        )
    return 0


async def cmd_channel_list(ctx: CommandContext) -> int:
    """The profile's channels in priority order."""
    channels = ctx.store.read_spec(ctx.profile_id).config.channels
    if ctx.args.json:
        print_json(channels)
    else:
        for number, url in enumerate(channels, start=1):
            print(f"{number}. {url}")
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
    entry: ProfileEntry = await ctx.store.add_profile(ctx.args.name.strip(), unique_name=True)
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
    initialized = await init_listed_profile(ctx.store, ctx.profile_id, plugins, cache, args.temp)
    config = initialized.config
    print(f"Initialized profile {ctx.profile_id}.")
    print(f"  Plugins: {ctx.store.plugins_root(ctx.profile_id, config)}")
    print(f"  Cache:   {ctx.store.cache_root(ctx.profile_id, config)}")
    for warning in initialized.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    return 0


async def cmd_profile_rename(ctx: CommandContext) -> int:
    """Give a profile (by id or name) a new, unused name."""
    profile_id = select_profile(ctx.store, ctx.args.target)
    await ctx.store.rename_profile(profile_id, ctx.args.name.strip(), unique_name=True)
    print(f'Profile {profile_id} is now named "{ctx.args.name.strip()}".')
    return 0


async def cmd_profile_remove(ctx: CommandContext) -> int:
    """Remove a profile's settings after confirmation; its Plugins and cache folders stay on disk."""
    profile_id = select_profile(ctx.store, ctx.args.target)
    entry = next(p for p in ctx.store.read_profiles().profiles if p.id == profile_id)
    if not ctx.args.yes:
        from .terminal_prompter import confirm

        question = f'Remove profile {profile_id} "{entry.name}"? Its Plugins folder and downloads are kept.'
        if not await confirm(question):
            print("Nothing changed.")
            return 0
    await ctx.store.remove_profile(profile_id)
    print(f'Removed profile {profile_id} "{entry.name}".')
    current = ctx.store.read_profiles().currentProfileId
    if current:
        print(f"Current profile: {current[0]}")
    return 0


async def cmd_demo(ctx: CommandContext) -> int:
    """Create (or reuse) the "Demo" profile on the bundled, offline demo channel and make it current."""
    from ..services.demo_profile import prepare_demo

    setup = await prepare_demo(ctx.store, only_if_no_profiles=False)
    assert setup.profile is not None  # only_if_no_profiles=False always yields a profile
    verb = "Created" if setup.created else "Using"
    print(f'{verb} profile {setup.profile.id} "{setup.profile.name}" (now current) on the demo channel.')
    print(f"  Plugins: {ctx.store.profile_dir(setup.profile.id) / 'plugins'}")
    print("Next: `sc4pac search trees`, then `sc4pac add demo:starter-collection` and `sc4pac update`.")
    return 0
