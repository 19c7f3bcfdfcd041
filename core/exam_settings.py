"""The ``[exam]`` table of criteria.toml: data, split, grid, and the tables that switch checks on.

``[exam.storage]``, ``[exam.large_data]`` and ``[exam.hpc]`` each switch on the check of
the same name in the check table (`events.CHECKS`, ``enabled_by``); without the table the
check is ``skip`` "not configured". Every value is validated here, with the line it came
from; paths stay as written and are resolved by the run plan (relative to the criteria
file). Credentials never belong here: they come from the environment.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

Report = Callable[..., None]  # problem(message, *toml_path)

DEFAULT_ROWS = (10_000, 100_000, 1_000_000)
# endpoint_url "": the exam starts its own local S3 server for the run.
S3_DEFAULTS = {"endpoint_url": "", "bucket": "mlops-compare", "prefix": "exam", "region": "us-east-1"}
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
    # The optional tables, as validated plain dicts (None: not configured).
    storage: MappingProxyType | None = None
    large_data: MappingProxyType | None = None
    hpc: MappingProxyType | None = None

    def to_dict(self) -> dict[str, Any]:
        """What a runner gets as its exam (JSON-ready)."""
        out: dict[str, Any] = {
            "data": self.data,
            "target": self.target,
            "test_size": self.test_size,
            "random_state": self.random_state,
            "grid": {k: list(v) for k, v in self.grid.items()},
        }
        for key in ("storage", "large_data", "hpc"):
            table = getattr(self, key)
            if table is not None:
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
    raw_grid = raw.get("grid", {})
    grid: dict[str, tuple[float, ...]] = {}
    for key in ("alpha", "l1_ratio"):
        values = raw_grid.get(key, [0.0, 0.5, 1.0]) if isinstance(raw_grid, dict) else []
        numbers = [number(v) for v in values] if isinstance(values, list) else [None]
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
        storage=_table(raw, "storage", _storage, problem),
        large_data=_table(raw, "large_data", _large_data, problem),
        hpc=_table(raw, "hpc", _hpc, problem),
    )


def _table(raw: dict[str, Any], key: str, parse: Callable, problem: Report) -> MappingProxyType | None:
    if key not in raw:
        return None
    table = raw[key]
    if not isinstance(table, dict):
        problem(f"exam.{key} must be a table: [exam.{key}]", "exam", key)
        return None
    return MappingProxyType(parse(table, problem))


def _keys(table: dict[str, Any], known: dict[str, type | tuple[type, ...]], where: tuple[str, ...], problem) -> dict:
    """The known keys of *table* with the right types; every other key or type is a problem."""
    out = {}
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


def _storage(table: dict[str, Any], problem: Report) -> dict[str, Any]:
    where = ("exam", "storage")
    known = {"shared_path": (str, bool), "s3": (dict, bool), "timeout": (int, float)}
    out = _keys(table, known, where, problem)
    if out.get("shared_path") is True:
        problem(
            'exam.storage.shared_path is a folder path, "" (a temporary folder) or false (none)', *where, "shared_path"
        )
        out["shared_path"] = ""
    out.setdefault("shared_path", "")  # "": a temporary folder next to the workspace; false: no shared remote
    out["timeout"] = float(out.get("timeout", 60))
    s3 = out.get("s3", True)  # True: a local server with the defaults; False: no S3 remote
    if s3 is True:
        s3 = {}
    if isinstance(s3, dict):
        known = {"endpoint_url": str, "bucket": str, "prefix": str, "region": str}
        s3 = {**S3_DEFAULTS, **_keys(s3, known, (*where, "s3"), problem)}
    out["s3"] = s3
    return out


def _large_data(table: dict[str, Any], problem: Report) -> dict[str, Any]:
    where = ("exam", "large_data")
    known = {"rows": list, "data": str, "cache": str, "memory_limit_gb": (int, float), "slow_factor": (int, float)}
    out = _keys(table, known, where, problem)
    rows = out.get("rows", list(DEFAULT_ROWS))
    if not rows or any(isinstance(r, bool) or not isinstance(r, int) or r < 100 for r in rows):
        problem("exam.large_data.rows must be a list of whole numbers >= 100", *where, "rows")
        rows = list(DEFAULT_ROWS)
    out["rows"] = sorted(set(rows))
    out.setdefault("data", "")
    out.setdefault("cache", "")
    out["slow_factor"] = float(out.get("slow_factor", 10))
    if "memory_limit_gb" in out and out["memory_limit_gb"] <= 0:
        problem("exam.large_data.memory_limit_gb must be more than 0", *where, "memory_limit_gb")
    return out


def _hpc(table: dict[str, Any], problem: Report) -> dict[str, Any]:
    where = ("exam", "hpc")
    known = {
        "partition": str,
        "account": str,
        "time_limit": str,
        "cpus": int,
        "mem": str,
        "options": list,
        "poll_seconds": (int, float),
    }
    out = _keys(table, known, where, problem)
    if "cpus" in out and out["cpus"] < 1:
        problem("exam.hpc.cpus must be at least 1", *where, "cpus")
    if any(not isinstance(o, str) for o in out.get("options", [])):
        problem("exam.hpc.options must be a list of sbatch options as text, e.g. ['--qos=short']", *where, "options")
        out["options"] = []
    return out
