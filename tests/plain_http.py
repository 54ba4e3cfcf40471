"""HTTP requests from the tests, all sharing one TLS context."""

from __future__ import annotations

from typing import Any

import httpx

# One TLS context for every HTTP client of the tests: httpx builds a new one for each client (and each
# top-level ``httpx.get``), loading the CA bundle, about 50 ms of CPU every time. The tests only speak
# plain HTTP to 127.0.0.1, so the context is never used; sharing it keeps a thousand requests cheap.
TLS = httpx.create_ssl_context()


def http_client(**kwargs: Any) -> httpx.Client:
    """An ``httpx.Client`` sharing the suite's TLS context."""
    return httpx.Client(verify=TLS, **kwargs)


def request(method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request on a client of its own, like ``httpx.request`` without building a TLS context."""
    with http_client() as client:
        return client.request(method, url, **kwargs)


def get(url: str, **kwargs: Any) -> httpx.Response:
    return request("GET", url, **kwargs)


def post(url: str, **kwargs: Any) -> httpx.Response:
    return request("POST", url, **kwargs)


def options(url: str, **kwargs: Any) -> httpx.Response:
    return request("OPTIONS", url, **kwargs)
