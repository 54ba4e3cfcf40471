"""Schema-driven fuzzing of a running daemon with schemathesis (used by a test and a benchmark script).

Every operation of ``/schema/openapi.json`` gets generated valid and invalid requests (with a valid
token); each response must not be a 5xx, must have a documented status and content type, and its body
must match the documented schema (error bodies the error schema).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from sc4pac.errors import UNHANDLED_TITLE
from tests import plain_http
from tests.daemon import Daemon

# Reaching the internet is not wanted in tests: the image proxy fetches whatever URL it is given.
EXCLUDED = frozenset({"/image.fetch"})
# Statuses, content types and bodies must be documented. A 5xx is judged separately (see ``_judge_5xx``).
CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]
# With the fixed existing profile these would switch it to the (unreachable) default channels, after which
# every channel route answers 502 by design.
NOT_WITH_FIXED_PROFILE = frozenset({"/channels.set"})
# Every channel download of the fuzzed daemon goes to a closed local port instead of the internet.
OFFLINE_ENV = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "",
    "SC4PAC_OPEN_FOLDER_CMD": "true",
}


@dataclass
class FuzzReport:
    """What a run did: requests per operation and status, and the failures found."""

    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    server_errors: Counter[str] = field(default_factory=Counter)  # documented 5xx by status and $type
    by_status: Counter[str] = field(default_factory=Counter)  # "status METHOD path"

    @property
    def total(self) -> int:
        return sum(self.requests.values())


def fuzz_daemon(
    daemon: Daemon, *, examples: int, profile_id: str | None = None, seed: int | None = 0
) -> FuzzReport:
    """Fuzz every operation with ``examples`` valid and ``examples`` invalid requests each.

    With ``profile_id``, half of the requests of profile routes use that existing profile, so the
    handlers get past the profile check. ``seed`` makes a run repeatable (None: random).
    """
    assert daemon.token, "authenticate() first"
    document = plain_http.get(f"{daemon.base}/schema/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    headers = {"Authorization": f"Bearer {daemon.token}"}
    report = FuzzReport()
    # A GUI stand-in on /server.connect, so /packages.open succeeds and events flow during the run.
    with _Listener(daemon):
        _fuzz_all(schema, report, daemon, headers, examples, profile_id, seed)
    return report


def _fuzz_all(
    schema: Any,
    report: FuzzReport,
    daemon: Daemon,
    headers: dict[str, str],
    examples: int,
    profile_id: str | None,
    seed: int | None,
) -> None:
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in EXCLUDED:
            continue
        takes_profile = any(p.name == "profile" for p in operation.query)
        variants: list[dict[str, Any]] = [{}]
        if profile_id is not None and takes_profile and operation.path not in NOT_WITH_FIXED_PROFILE:
            variants.append({"query": {"profile": profile_id}})
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for fixed in variants:
                strategy = operation.as_strategy(generation_mode=mode, **fixed)
                _run(strategy, report, daemon.base, headers, examples // len(variants) or 1, seed)


def _judge_5xx(response: Any, report: FuzzReport) -> list[str]:
    """A 5xx is a failure unless it is a documented, specific error (never the "unhandled" bug answer).

    Such answers exist by design: a channel that cannot be reached offline (502), a profile folder that
    holds subfolders and so is not removed (500), no GUI connected (503).
    """
    try:
        body = response.json()
    except ValueError:
        return ["a 5xx without a JSON error body"]
    if not isinstance(body, dict) or body.get("title") == UNHANDLED_TITLE:
        return [f"an unhandled error (a bug): {body}"]
    report.server_errors[f"{response.status_code} {body.get('$type')}"] += 1
    return []


class _Listener:
    """A /server.connect client that reads and counts every message in a thread."""

    def __init__(self, daemon: Daemon) -> None:
        self.url = f"{daemon.ws_base}/server.connect?token={daemon.token}"
        self.messages: Counter[str] = Counter()

    def __enter__(self) -> _Listener:
        self.stack = contextlib.ExitStack()
        self.ws = self.stack.enter_context(connect(self.url))
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()
        return self

    def _drain(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            for text in self.ws:
                self.messages[json.loads(text)["$type"]] += 1

    def __exit__(self, *exc: object) -> None:
        self.stack.close()
        self.thread.join(10)


def _run(
    strategy: Any,
    report: FuzzReport,
    base: str,
    headers: dict[str, str],
    n: int,
    seed: int | None,
) -> None:
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy)
    def one(case: Any) -> None:
        response = case.call(base_url=base, headers=headers, timeout=60)
        label = f"{case.method} {case.path}"
        report.requests[label] += 1
        report.statuses[response.status_code] += 1
        report.by_status[f"{response.status_code} {label}"] += 1
        problems: list[str] = []
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # collected: one run reports every failing operation
            problems.append(str(exc))
        if response.status_code >= 500:
            problems.extend(_judge_5xx(response, report))
        if problems:
            curl = case.as_curl_command(headers)
            report.failures.append(f"{label} -> {response.status_code}: {'; '.join(problems)}\n  {curl}")

    run = one if seed is None else hypothesis.seed(seed)(one)
    # An operation without parameters or body has no invalid variant to generate.
    with contextlib.suppress(Unsatisfiable):
        run()
