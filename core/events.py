"""The runner event schema: the one channel between a runner process and the core.

A runner writes newline-delimited JSON objects, one event per line, to a transport (its
stdout today; a file followed by the parent for batch jobs later). Every event carries the
schema version ``v`` and a ``type``:

``log``       ``line`` (str), ``stream`` ("stdout" | "stderr" | "runner"): tool output, line by line.
``progress``  ``k``, ``n`` (ints), ``label`` (str): k of n steps of the current check done.
``metric``    ``alpha``, ``l1_ratio``, ``rmse``, ``mae``, ``r2`` (floats): one grid point landed.
``check``     ``id`` (one of CHECK_IDS), ``status`` (one of CHECK_STATUSES), ``seconds``,
              ``evidence`` (str), ``numbers`` (dict of str -> number or str).
``result``    ``status`` (one of RESULT_STATUSES), ``reason`` (str), ``tool``,
              ``tool_version``, ``dataset`` (dict), ``grid`` (dict): the final event.

The parent side never trusts a runner: `decode` turns anything that is not a valid event
into a ``log`` event carrying the raw text, so a misbehaving runner cannot break the UI.
"""

from __future__ import annotations

import json
import math
from typing import Any

SCHEMA_VERSION = 1

CHECK_IDS = (
    "setup",
    "grid",
    "retrieve",
    "baseline_match",
    "models",
    "data_versioning",
    "reproduce",
    "invasiveness",
    "overhead",
    "remote_storage",
    "large_data",
    "hpc",
)
CHECK_STATUSES = ("pass", "partial", "fail", "skip")
# passed: every check passed or was skipped; failed: a check failed; the rest say why the
# runner did not get to the end.
RESULT_STATUSES = ("passed", "failed", "error", "timeout", "cancelled", "unavailable")

_NUMBER = (int, float)
_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "log": {"line": (str,), "stream": (str,)},
    "progress": {"k": (int,), "n": (int,), "label": (str,)},
    "metric": {"alpha": _NUMBER, "l1_ratio": _NUMBER, "rmse": _NUMBER, "mae": _NUMBER, "r2": _NUMBER},
    "check": {"id": (str,), "status": (str,), "seconds": _NUMBER, "evidence": (str,), "numbers": (dict,)},
    "result": {"status": (str,), "reason": (str,), "tool": (str,), "tool_version": (str,)},
}


class EventError(ValueError):
    """A line on the event channel is not a valid event."""


def validate(event: Any) -> list[str]:
    """Return every problem with *event*; an empty list means it is valid."""
    if not isinstance(event, dict):
        return ["an event is a JSON object"]
    problems = []
    if event.get("v") != SCHEMA_VERSION:
        problems.append(f"schema version {event.get('v')!r}, expected {SCHEMA_VERSION}")
    kind = event.get("type")
    if kind not in _FIELDS:
        return problems + [f"unknown event type {kind!r}"]
    for name, types in _FIELDS[kind].items():
        value = event.get(name)
        if not isinstance(value, types) or isinstance(value, bool):
            problems.append(f"{kind}.{name} must be {'/'.join(t.__name__ for t in types)}")
    if kind == "check":
        if event.get("id") not in CHECK_IDS:
            problems.append(f"unknown check id {event.get('id')!r}")
        if event.get("status") not in CHECK_STATUSES:
            problems.append(f"unknown check status {event.get('status')!r}")
    if kind == "result" and event.get("status") not in RESULT_STATUSES:
        problems.append(f"unknown result status {event.get('status')!r}")
    return problems


def make(kind: str, **fields: Any) -> dict[str, Any]:
    """Build an event of *kind*; raises EventError if it would not validate."""
    event = {"v": SCHEMA_VERSION, "type": kind, **fields}
    problems = validate(event)
    if problems:
        raise EventError("; ".join(problems))
    return event


def _finite(value: Any) -> Any:
    # JSON has no NaN or Infinity; a metric can be either (R2 on a constant target).
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def encode(event: dict[str, Any]) -> bytes:
    """One event as one line of UTF-8 JSON, newline included."""
    return (json.dumps(_finite(event), ensure_ascii=False, allow_nan=False) + "\n").encode()


def decode(raw: bytes | str) -> dict[str, Any]:
    """Parse one line from a runner; anything invalid becomes a ``log`` event of its text."""
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    text = text.rstrip("\r\n")
    try:
        event = json.loads(text)
    except ValueError:
        return {"v": SCHEMA_VERSION, "type": "log", "line": text, "stream": "stdout"}
    if validate(event):
        return {"v": SCHEMA_VERSION, "type": "log", "line": text, "stream": "stdout"}
    return event
