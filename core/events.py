"""The runner event schema: the one channel between a runner process and the core.

A runner writes newline-delimited JSON objects, one event per line, to a transport (its
stdout today; a file followed by the parent for batch jobs later). Every event carries the
schema version ``v`` and a ``type``:

``log``       ``line`` (str), ``stream`` ("stdout" | "stderr" | "runner"): tool output, line by line.
``progress``  ``k``, ``n`` (ints), ``label`` (str): k of n steps of the current check done.
``metric``    ``alpha``, ``l1_ratio``, ``rmse``, ``mae``, ``r2`` (floats): one grid point landed.
              JSON has no NaN or infinity, so those travel as the strings "nan", "inf",
              "-inf" and `decode` turns them back into floats (R2 is NaN on a constant target).
``check``     ``id`` (one of CHECK_IDS), ``status`` (one of CHECK_STATUSES), ``seconds``,
              ``evidence`` (str), ``numbers`` (dict of str -> number or str).
``result``    ``status`` (one of RESULT_STATUSES), ``reason`` (str), ``tool``,
              ``tool_version``, ``dataset`` (dict), ``grid`` (dict): the final event.
``environment`` ``key`` (str), ``versions`` (dict of distribution -> version), ``path``,
              ``requirements``, ``built``, ``seconds``: the tool environment the runner runs
              in (`mlops_compare.envs`); written by the core before the runner starts, never
              by a runner.

The parent side never trusts a runner: `decode` turns anything that is not a valid event
into a ``log`` event carrying the raw text, so a misbehaving runner cannot break the UI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Check:
    """One row of the exam: what a runner does, in the order it is done.

    id:          the check's name; each runner has a method of that name (see runners/base.py).
    title:       what a person reads in the TUI and reports.
    enabled_by:  the ``[exam.<key>]`` table of criteria.toml that switches the check on, or ""
                 when it always runs; without that table the check is ``skip`` "not configured".
    stops:       a ``fail`` here skips every later check (but ``always`` ones).
    always:      runs even after a stopping failure (it reads files, not results).
    needs:       checks whose results it uses: choosing it with ``--check`` runs them too.
    added:       the mlops-compare release that added the row; a plugin runner written
                 before it has no method for it and gets ``skip`` "not implemented by this
                 runner; added in <added>" (runners/base.py). A new row names the next release.
    """

    id: str
    title: str
    enabled_by: str = ""
    stops: bool = False
    always: bool = False
    needs: tuple[str, ...] = ()
    added: str = "0.1.0"


CHECKS: tuple[Check, ...] = (
    Check("setup", "initialise the tool", stops=True),
    Check("grid", "run the alpha x l1_ratio grid through the tool", stops=True),
    Check("retrieve", "read parameters and metrics back through the tool", needs=("grid",)),
    Check("baseline_match", "retrieved metrics equal the plain baseline", needs=("retrieve",)),
    Check("models", "store two models through the tool and load them back"),
    Check("data_versioning", "register data, change it, roll back"),
    Check("reproduce", "re-run a past run from the tool's record alone", needs=("grid",)),
    Check("invasiveness", "lines and files the tool adds to the plain script", always=True),
    Check("overhead", "grid time through the tool versus plain, store size", needs=("grid",)),
    Check("fan_out", "the grid through the tool's own parallelism at 1 and 2 workers"),
    Check("failure", "a grid point that fails: recorded, found, resumed"),
    Check("ui", "the tool's own UI or report lists the runs and their metrics", needs=("retrieve",)),
    Check("share", "a second user gets the runs, data and a model through the tool", needs=("grid",)),
    Check("languages", "a shell step and a notebook tracked through the tool"),
    Check("license", "licences of the tool and its dependencies"),
    Check("cost", "the exam ran without a paid service, account or key"),
    Check("remote_storage", "round trip through a shared folder and an S3 endpoint", enabled_by="storage"),
    # large_data: pass when every size stays within slow_factor x the plain time (or under a
    # minute) and the memory limit, metrics equal plain's and the bytes come back from the
    # tool; partial when it breaks at some size or keeps no copy; fail on wrong metrics or
    # bytes, or failing at the smallest size (runners/checks/large_data.py).
    Check("large_data", "time, memory and disk as the data grows", enabled_by="large_data"),
    Check("hpc", "the grid as Slurm jobs", enabled_by="hpc"),
    # concurrency: the grid repeated to [exam.concurrency] tasks, started at once (a Slurm job
    # array with [exam.hpc], else local processes released together), each writing to the
    # tool's store on the shared path without a server; pass = nothing lost or corrupt the
    # tool's default way, partial = only with the workaround (runners/checks/concurrency.py).
    Check("concurrency", "many tasks write to the tool's store at once", enabled_by="concurrency", added="0.2.0"),
)
CHECK_IDS = tuple(check.id for check in CHECKS)
CHECKS_BY_ID = {check.id: check for check in CHECKS}


def selected(chosen: list[str] | tuple[str, ...] | None) -> set[str]:
    """The checks to run when the user chose *chosen* (empty: all): those, what they need, and setup."""
    if not chosen:
        return set(CHECK_IDS)
    out = {"setup"}
    todo = [c for c in chosen if c in CHECKS_BY_ID]
    while todo:
        check = todo.pop()
        if check not in out:
            out.add(check)
            todo.extend(CHECKS_BY_ID[check].needs)
    return out


# baseline_match and the cross-tool agreement: metrics closer than this are equal.
AGREEMENT_TOLERANCE = 1e-9
# The exam's ``data`` names a scikit-learn data set with this prefix ("sklearn:diabetes"), else a CSV.
SKLEARN_PREFIX = "sklearn:"
# ``[exam.large_data] rows`` when the table gives none (the core fills it in; runners fall back
# on it for exams built by hand).
LARGE_DATA_ROWS = (10_000, 100_000)  # the heavy sizes (1M, 10M rows) are an option
# on_event(tool, event): how the core hands a runner's events on (local processes, Slurm jobs, the TUI).
EventCallback = Callable[[str, dict[str, Any]], None]

CHECK_STATUSES = ("pass", "partial", "fail", "skip")
# passed: every check passed or was skipped; failed: a check failed; the rest say why the
# runner did not get to the end.
RESULT_STATUSES = ("passed", "failed", "error", "timeout", "cancelled", "unavailable")

_NUMBER = (int, float)
METRIC_FIELDS = ("alpha", "l1_ratio", "rmse", "mae", "r2")
NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_FIELDS: dict[str, dict[str, tuple[type, ...]]] = {
    "log": {"line": (str,), "stream": (str,)},
    "progress": {"k": (int,), "n": (int,), "label": (str,)},
    "metric": {"alpha": _NUMBER, "l1_ratio": _NUMBER, "rmse": _NUMBER, "mae": _NUMBER, "r2": _NUMBER},
    "check": {"id": (str,), "status": (str,), "seconds": _NUMBER, "evidence": (str,), "numbers": (dict,)},
    "result": {"status": (str,), "reason": (str,), "tool": (str,), "tool_version": (str,)},
    "environment": {"key": (str,), "versions": (dict,)},
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
        if kind == "metric" and isinstance(value, str) and value in NON_FINITE:
            continue
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


def jsonable(value: Any) -> Any:
    """*value* with every non-finite float as its string ("nan", "inf", "-inf"): valid JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value


def number(value: Any) -> float:
    """A metric value back as a float, "nan"/"inf"/"-inf" included."""
    return NON_FINITE[value] if isinstance(value, str) else float(value)


def encode(event: dict[str, Any]) -> bytes:
    """One event as one line of UTF-8 JSON, newline included."""
    return (json.dumps(jsonable(event), ensure_ascii=False, allow_nan=False) + "\n").encode()


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
    if event["type"] == "metric":
        event.update({name: number(event[name]) for name in METRIC_FIELDS})
    return event
