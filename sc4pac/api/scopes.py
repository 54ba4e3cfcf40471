"""Which token scope each API route needs (API 3.0 §2.5). Routes not listed need no token."""

from __future__ import annotations

ROUTE_SCOPES: dict[str, str] = {
    "/profile.read": "read",
    "/profile.init": "write",
    "/packages.list": "read",
    "/packages.info": "read",
    "/packages.search": "read",
    "/packages.search.id": "read",
    "/packages.open": "open",
    "/plugins.added.list": "read",
    "/plugins.installed.list": "read",
    "/plugins.search": "read",
    "/plugins.add": "write",
    "/plugins.remove": "write",
    "/plugins.reinstall": "write",
    "/plugins.repair.scan": "read",
    "/plugins.repair": "write",
    "/plugins.export": "read",
    "/plugins.folder.open": "write",
    "/plugins.history": "read",
    "/plugins.plan": "read",
    "/variants.list": "read",
    "/variants.reset": "write",
    "/variants.set": "write",
    "/variants.choices": "read",
    "/channels.list": "read",
    "/channels.set": "write",
    "/channels.stats": "read",
    "/update": "write",
    "/server.status": "read",
    "/server.connect": "write",
    "/profiles.list": "read",
    "/profiles.add": "write",
    "/profiles.remove": "write",
    "/profiles.switch": "write",
    "/profiles.rename": "write",
    # The settings may hold the Simtropolis token, hence "write" even for reading them.
    "/settings.all.get": "write",
    "/settings.all.set": "write",
    "/image.fetch": "write",
}

# The only routes that accept the token as a ``?token=`` query parameter: browsers cannot set headers
# on websockets.
WEBSOCKET_ROUTES = frozenset({"/update", "/server.connect"})
