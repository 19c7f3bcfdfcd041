"""The ``[exam]`` table of criteria.toml: data, split, grid, and the tables that switch checks on.

A check whose row in the check table (`events.CHECKS`) has ``enabled_by = "<key>"`` is
switched on by an ``[exam.<key>]`` table; without the table the check is ``skip`` "not
configured". The table is validated by the check's own ``parse_settings``
(`mlops_compare.checks`, e.g. ``core/checks/remote_storage.py`` for ``[exam.storage]``),
with the line each problem came from; `known_keys` is the shared part. Paths stay as
written and are resolved by the run plan (relative to the criteria file). Credentials never
belong here: they come from the environment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from mlops_compare import checks

Report = Callable[..., None]  # problem(message, *toml_path)
# Points of the grid the fan_out check runs at 1 and at 2 workers (`[exam] fan_out_points`): the
# grid's largest corner of at most this many (2 x 2 of the shipped 3 x 3). Four points at two
# workers answer what nine do (does the tool's own parallelism use the second worker?) in less
# than half the runs; 0 takes the whole grid, the heavy option.
FAN_OUT_POINTS = 4
# Keys that name a secret: refused in the TOML, whatever table they are in.
SECRET_KEYS = ("secret", "password", "token", "access_key", "credentials")


@dataclass(frozen=True)
class Exam:
    data: str
    target: str
    test_size: float
    random_state: int
    timeout: float
    grid: MappingProxyType  # "alpha"/"l1_ratio" -> tuple of floats
    # The check tables present, validated: "<enabled_by key>" -> its settings (absent: not configured).
    tables: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    fan_out_points: int = FAN_OUT_POINTS  # 0: the whole grid

    def table(self, key: str) -> MappingProxyType | None:
        """The validated ``[exam.<key>]`` table, or None when criteria.toml has none."""
        found = self.tables.get(key)
        return found if isinstance(found, MappingProxyType) else None

    def to_dict(self) -> dict[str, Any]:
        """What a runner gets as its exam (JSON-ready)."""
        out: dict[str, Any] = {
            "data": self.data,
            "target": self.target,
            "test_size": self.test_size,
            "random_state": self.random_state,
            "grid": {k: list(v) for k, v in self.grid.items()},
            "fan_out_points": self.fan_out_points,
        }
        for key, table in self.tables.items():
            out[key] = _plain(table)
        return out


def _plain(value: Any) -> Any:
    if isinstance(value, MappingProxyType | dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def number(value: Any) -> float | None:
    """A TOML number as float; None for anything else (booleans included)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_exam(raw: Any, problem: Report) -> Exam:
    if not isinstance(raw, dict):
        problem("[exam] must be a table", "exam")
        raw = {}
    data = raw.get("data", "sklearn:diabetes")
    target = raw.get("target", "target")
    if not isinstance(data, str) or not data:
        problem("exam.data must be 'sklearn:NAME' or a CSV path", "exam", "data")
        data = "sklearn:diabetes"
    if not isinstance(target, str) or not target:
        problem("exam.target must be the name of the target column", "exam", "target")
        target = "target"
    test_size = number(raw.get("test_size", 0.25))
    if test_size is None or not 0 < test_size < 1:
        problem(f"exam.test_size is {raw.get('test_size')!r}; give a fraction between 0 and 1", "exam", "test_size")
        test_size = 0.25
    seed = raw.get("random_state", 42)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problem(f"exam.random_state is {seed!r}; give a whole number >= 0", "exam", "random_state")
        seed = 42
    timeout = number(raw.get("timeout", 900))
    if timeout is None or not math.isfinite(timeout) or timeout <= 0:
        problem(f"exam.timeout is {raw.get('timeout')!r}; give seconds > 0", "exam", "timeout")
        timeout = 900.0
    fan_out_points = raw.get("fan_out_points", FAN_OUT_POINTS)
    if isinstance(fan_out_points, bool) or not isinstance(fan_out_points, int) or fan_out_points < 0:
        problem(
            f"exam.fan_out_points is {fan_out_points!r}; give a whole number >= 1 (0: the whole grid)",
            "exam",
            "fan_out_points",
        )
        fan_out_points = FAN_OUT_POINTS
    raw_grid = raw.get("grid", {})
    grid: dict[str, tuple[float, ...]] = {}
    for key in ("alpha", "l1_ratio"):
        values = raw_grid.get(key, [0.0, 0.5, 1.0]) if isinstance(raw_grid, dict) else []
        numbers: list[float | None] = [number(v) for v in values] if isinstance(values, list) else [None]
        if not numbers or any(n is None or not math.isfinite(n) or n < 0 for n in numbers):
            problem(f"exam.grid.{key} must be a non-empty list of numbers >= 0", "exam", "grid", key)
            numbers = [0.5]
        if key == "l1_ratio" and any(n > 1 for n in numbers if n is not None):
            problem("exam.grid.l1_ratio values must be between 0 and 1", "exam", "grid", key)
        grid[key] = tuple(float(n) for n in numbers if n is not None)
    return Exam(
        data,
        target,
        test_size,
        seed,
        timeout,
        MappingProxyType(grid),
        MappingProxyType(_tables(raw, problem)),
        fan_out_points,
    )


def _tables(raw: dict[str, Any], problem: Report) -> dict[str, MappingProxyType]:
    """Every check's ``[exam.<enabled_by>]`` table that is present, parsed by the check's ``parse_settings``."""
    out = {}
    for check, parse in checks.with_hook("parse_settings"):
        if check.enabled_by:
            table = _table(raw, check.enabled_by, parse, problem)
            if table is not None:
                out[check.enabled_by] = table
    return out


def _table(raw: dict[str, Any], key: str, parse: Callable, problem: Report) -> MappingProxyType | None:
    if key not in raw:
        return None
    table = raw[key]
    if not isinstance(table, dict):
        problem(f"exam.{key} must be a table: [exam.{key}]", "exam", key)
        return None
    return MappingProxyType(parse(table, problem))


def known_keys(
    table: dict[str, Any], known: dict[str, type | tuple[type, ...]], where: tuple[str, ...], problem: Report
) -> dict[str, Any]:
    """The known keys of *table* with the right types; every other key or type is a problem (secrets refused)."""
    out: dict[str, Any] = {}
    name = ".".join(where)
    for key, value in table.items():
        if any(word in key.lower() for word in SECRET_KEYS):
            problem(
                f"{name}.{key}: credentials never go in criteria.toml; set them in the environment "
                "(AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE)",
                *where,
                key,
            )
        elif key not in known:
            problem(f"{name}.{key} is not a setting; known: {', '.join(known)}", *where, key)
        elif not isinstance(value, known[key]) or isinstance(value, bool) and bool not in _types(known[key]):
            problem(f"{name}.{key} is {value!r}; expected {_type_names(known[key])}", *where, key)
        else:
            out[key] = value
    return out


def _types(spec: type | tuple[type, ...]) -> tuple[type, ...]:
    return spec if isinstance(spec, tuple) else (spec,)


def _type_names(spec: type | tuple[type, ...]) -> str:
    names = {str: "text", int: "a whole number", float: "a number", list: "a list", dict: "a table", bool: "true/false"}
    return " or ".join(names.get(t, t.__name__) for t in _types(spec))
