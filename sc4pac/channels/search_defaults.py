"""Search settings shared by the daemon, the CLI's argument parser and the search engine.

Kept apart from :mod:`sc4pac.channels.search` so that reading them does not import the fuzzy matcher.
"""

DEFAULT_THRESHOLD = 80
"""Minimum relevance (0-100) of a search result, as in the reference server."""
