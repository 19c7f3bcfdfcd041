"""One home per check on the core side: `core/checks/<check id>.py`.

The check's row (id, title, ``enabled_by``, ...) stays in `mlops_compare.events.CHECKS`,
because runners read it too. Everything else the core knows about one check lives in its
module here, as optional module-level hooks; the pipeline iterates over the table and asks
each check's module, and names no check itself:

``score(check) -> float | None``
    0..1 for a check that ran (``check["status"]`` is ``pass``, ``partial`` or ``fail``),
    from its ``numbers``; None: the status's score (pass 1, partial 0.5, fail 0).
    Used by `mlops_compare.evidence.check_score`.
``parse_settings(table, problem) -> dict``
    The check's ``[exam.<enabled_by>]`` table validated (`mlops_compare.exam_settings`):
    unknown keys, wrong types and bad values reported through ``problem(message, *path)``,
    defaults filled in.
``resolve_paths(table, resolve) -> None``
    The parsed table's paths made absolute in place, ``resolve(text)`` giving the absolute
    path of one written relative to criteria.toml (`mlops_compare.plan.exam_for`).
``GIVES_METRICS = True``
    The run in which this check ran is the one a tool's grid metrics and data set come from.

Report hooks (``report_section(evidence)``, ``phrase(...)``) are added here the same way.
A check with nothing of its own on the core side needs no module: `rules` then returns an
empty one (every hook missing).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator
from functools import cache
from types import ModuleType
from typing import Any

from mlops_compare.events import CHECKS, CHECKS_BY_ID, Check

_NONE = ModuleType(f"{__name__}._none", "a check without core-side rules")


@cache
def rules(check_id: str) -> ModuleType:
    """The module ``mlops_compare.checks.<check_id>``, or an empty module when the check has none."""
    if check_id not in CHECKS_BY_ID:
        raise KeyError(f"no such check: {check_id!r}")
    name = f"{__name__}.{check_id}"
    if importlib.util.find_spec(name) is None:
        return _NONE
    return importlib.import_module(name)


def hook(check_id: str, name: str) -> Callable[..., Any] | None:
    """The check's hook *name* (e.g. ``"score"``), or None when its module has none."""
    found = getattr(rules(check_id), name, None)
    return found if callable(found) else None


def with_hook(name: str) -> Iterator[tuple[Check, Callable[..., Any]]]:
    """(check row, hook) for every check of the table, in its order, whose module has hook *name*."""
    for check in CHECKS:
        found = hook(check.id, name)
        if found is not None:
            yield check, found


def metrics_check() -> str:
    """The id of the check whose run a tool's metrics, data set and grid come from."""
    for check in CHECKS:
        if getattr(rules(check.id), "GIVES_METRICS", False):
            return check.id
    raise LookupError("no check in the table gives the metrics (GIVES_METRICS)")


def clip(value: float) -> float:
    """*value* clipped to 0..1 (the range of a score)."""
    return min(1.0, max(0.0, value))
