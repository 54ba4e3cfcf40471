"""Profile settings: ``variant``, ``channel`` (add/remove/list) and ``profile`` commands."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import msgspec

from ..channels.urls import ChannelUrlError, sanitize_channel_url
from ..errors import BadRequest
from ..models.profile import DEFAULT_CHANNELS, PluginsSpec, ProfileEntry
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


def _with_variant(spec: PluginsSpec, variant: dict[str, str]) -> PluginsSpec:
    return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, variant=variant))


def _with_channels(spec: PluginsSpec, channels: list[str]) -> PluginsSpec:
    return msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, channels=channels))


# --- variants -----------------------------------------------------------------------------------


async def cmd_variant_list(ctx: CommandContext) -> int:
    """The configured variants (and whether an installed package uses them)."""
    spec = ctx.store.read_spec(ctx.profile_id)
    lock = ctx.store.read_lock(ctx.profile_id)
    used = {key for entry in (lock.installed if lock else []) for key in entry.variant}
    if ctx.args.json:
        print_json(dict(sorted(spec.config.variant.items())))
        return 0
    if not spec.config.variant:
        print("No variants configured yet (they are chosen during `sc4pac update`).")
    for key, value in sorted(spec.config.variant.items()):
        print(f"{key} = {value}" + ("" if key in used else "  (unused)"))
    return 0


async def cmd_variant_reset(ctx: CommandContext) -> int:
    """Forget configured variants, so that the next update asks again."""
    ids: list[str] = ctx.args.variants

    def change(spec: PluginsSpec) -> PluginsSpec:
        unknown = [i for i in ids if i not in spec.config.variant]
        if unknown:
            raise BadRequest(
                f"Variant does not exist: {', '.join(unknown)}",
                "See `sc4pac variant list` for the configured variants.",
            )
        return _with_variant(spec, {k: v for k, v in spec.config.variant.items() if k not in set(ids)})

    await ctx.store.modify_spec(ctx.profile_id, change)
    print(f"Reset {', '.join(ids)}. Run `sc4pac update` to choose again.")
    return 0


async def cmd_variant_set(ctx: CommandContext) -> int:
    """Configure variants (``ID=VALUE``) without being asked during the update."""
    selections: dict[str, str] = {}
    for item in ctx.args.assignments:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise BadRequest(
                f"Malformed variant selection: {item}", 'Write it as ID=VALUE, e.g. "nightmode=dark".'
            )
        selections[key] = value

    def change(spec: PluginsSpec) -> PluginsSpec | None:
        variant = {**spec.config.variant, **selections}
        return None if variant == spec.config.variant else _with_variant(spec, variant)

    await ctx.store.modify_spec(ctx.profile_id, change)
    print("Set " + ", ".join(f"{k}={v}" for k, v in selections.items()) + ". Run `sc4pac update` to apply.")
    return 0


# --- channels -----------------------------------------------------------------------------------


def _channel_url(given: str) -> str:
    """A sanitised channel URL; an existing local path is accepted too and turned into a ``file:`` URL."""
    local = Path(given)
    if "://" not in given and local.exists():
        uri = local.resolve().as_uri()
        given = uri + "/" if local.is_dir() else uri
    try:
        url = sanitize_channel_url(given)
    except ChannelUrlError as exc:
        raise BadRequest("Malformed channel URL.", str(exc)) from None
    if url.startswith("file:"):
        path = Path(url2pathname(urlsplit(url).path))
        if not path.exists():
            raise BadRequest("Channel not found.", f"The local channel does not exist: {path}")
    return url


async def cmd_channel_add(ctx: CommandContext) -> int:
    """Add a channel after the configured ones."""
    url = _channel_url(ctx.args.url)

    def change(spec: PluginsSpec) -> PluginsSpec | None:
        if url in spec.config.channels:
            return None
        return _with_channels(spec, [*spec.config.channels, url])

    await ctx.store.modify_spec(ctx.profile_id, change)
    print(f"Channel added: {url}")
    return 0


async def cmd_channel_remove(ctx: CommandContext) -> int:
    """Remove a channel (the default channel comes back when none is left)."""
    given = ctx.args.url
    try:
        url = sanitize_channel_url(given)
    except ChannelUrlError:
        url = given

    def change(spec: PluginsSpec) -> PluginsSpec:
        present = [c for c in spec.config.channels if c in (url, given)]
        if not present:
            raise BadRequest(
                f"Channel not configured: {given}", "See `sc4pac channel list` for the channels."
            )
        remaining = [c for c in spec.config.channels if c not in present]
        return _with_channels(spec, remaining or list(DEFAULT_CHANNELS))

    await ctx.store.modify_spec(ctx.profile_id, change)
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
    profiles = ctx.store.read_profiles()
    current = profiles.currentProfileId[0] if profiles.currentProfileId else None
    entries = [
        ProfileListEntry(p.id, p.name, p.id == current, ctx.store.spec_exists(p.id))
        for p in profiles.profiles
    ]
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
    initialized = await ctx.store.init_profile(ctx.profile_id, plugins, cache, args.temp)
    config = initialized.config
    print(f"Initialized profile {ctx.profile_id}.")
    print(f"  Plugins: {ctx.store.plugins_root(ctx.profile_id, config)}")
    print(f"  Cache:   {ctx.store.cache_root(ctx.profile_id, config)}")
    for warning in initialized.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    return 0
