"""large_data: time, memory and disk as the data grows (``[exam.large_data]``); its core side.

Settings (`parse_settings`): ``rows`` (the sizes, whole numbers >= 100), ``data`` (a user's
own large CSV), ``cache`` (where the scaled data sets are kept; default `default_cache`),
``memory_limit_gb``, ``slow_factor`` (how much slower than plain still passes, default 10).

Runners generate the scaled data sets into a cache folder outside every workspace (see
``runners/checks/large_data_sets.py``); the core chooses that folder in the parent process, because
runners run with HOME and the XDG folders inside their own workspace. `clean` removes what
the generator wrote there (only files it names, never the folder's other contents: a user
may point ``cache`` at a folder of their own). `curves` turns the check's flat numbers
(``"<rows>:<field>"``, written by ``runners/checks/large_data.py``) back into one row per size, for
the report and the TUI's chart, and `section` writes the report's section. Nothing here
imports pandas.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_compare.events import LARGE_DATA_ROWS
from mlops_compare.exam_settings import Report, known_keys

APP = "mlops-compare"
GENERATED = ("*.gen.csv", "*.gen.lock", "*.gen.tmp-*")  # every name runners/checks/large_data_sets.py writes


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/mlops-compare/large-data``, else ``~/.cache/mlops-compare/large-data``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / APP / "large-data"


def clean(folder: Path) -> tuple[int, int]:
    """Remove the generated files in *folder*; return (files removed, bytes freed)."""
    files = nbytes = 0
    if not folder.is_dir():
        return 0, 0
    for pattern in GENERATED:
        for path in folder.glob(pattern):
            if path.is_file() and not path.is_symlink():
                size = path.stat().st_size
                path.unlink()
                files, nbytes = files + 1, nbytes + size
    # the folder (and our app folder above it) only when nothing else is left in them
    for empty in (folder, folder.parent) if folder.parent.name == APP else (folder,):
        with contextlib.suppress(OSError):
            empty.rmdir()
    return files, nbytes


@dataclass
class Size:
    """One size of the check: rows and its figures (``tool_s``, ``plain_rss``, ``ratio``, ``skipped``...)."""

    rows: int
    figures: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        return self.figures.get(key)

    @property
    def measured(self) -> bool:
        return isinstance(self.figures.get("tool_s"), int | float)


def curves(numbers: dict[str, Any]) -> list[Size]:
    """The per-size figures of a large_data check's numbers, smallest size first."""
    sizes: dict[int, Size] = {}
    for key, value in (numbers or {}).items():
        rows, sep, name = str(key).partition(":")
        if sep and rows.isdigit():
            sizes.setdefault(int(rows), Size(int(rows))).figures[name] = value
    return [sizes[r] for r in sorted(sizes)]


def _human(nbytes: Any) -> str:
    if not isinstance(nbytes, int | float):
        return "-"
    for size, suffix in ((1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if nbytes >= size:
            return f"{nbytes / size:.3g} {suffix}"
    return f"{nbytes:g} B"


def _seconds(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, int | float) else "-"


def section(measured: dict[str, tuple[str, dict[str, Any]]]) -> Any:
    """The report's large-data section (a `report.blocks.Section`): {tool: (status, numbers)}; None when none.

    Its ``data["curves"]`` is {tool: [Size, ...]} for the HTML report's log-log charts."""
    from mlops_compare.report.blocks import CELL_MAX, Section, Table, shorten

    measured = {tool: found for tool, found in measured.items() if curves(found[1])}
    if not measured:
        return None
    rows = []
    for size in sorted({s.rows for _, numbers in measured.values() for s in curves(numbers)}):
        for tool, (_, numbers) in measured.items():
            found = next((s for s in curves(numbers) if s.rows == size), None)
            if found is None:
                continue
            if not found.measured:
                why = found.get("skipped") or found.get("error") or "not measured"
                rows.append([f"{size:,}", tool, "-", "-", "-", "-", "-", "-", "-", "-", shorten(why, CELL_MAX)])
                continue
            f = found.figures
            rows.append(
                [f"{size:,}", tool]
                + [_seconds(f.get(k)) for k in ("tool_register_s", "tool_train_s", "tool_read_s", "tool_s")]
                + [f"x{f.get('ratio', 0):.1f}", _human(f.get("tool_rss")), _human(f.get("tool_stored"))]
                + [_human(f.get("csv_bytes") or numbers.get(f"{size}:csv_bytes")), ""]
            )
    header = ["rows", "tool", "register s", "train s", "read back s", "total s", "vs plain", "peak memory"]
    blocks: list[Any] = [Table([*header, "stored", "CSV", "skipped / failed"], rows)]
    rows = []
    for tool, (status, n) in measured.items():
        exponents = [n.get(k) for k in ("time_exponent", "memory_exponent", "plain_time_exponent")]
        breaks = f"{n['breaks_at']:,} rows: {n.get('breaks_because', '')}" if n.get("breaks_at") else "no"
        rows.append(
            [tool, status]
            + [f"{e:.2f}" if isinstance(e, int | float) else "-" for e in exponents]
            + [shorten(breaks, CELL_MAX)]
        )
    header = ["tool", "large_data", "time exponent", "memory exponent", "plain's time exponent", "breaks"]
    blocks.append(Table(header, rows))
    factor = next((n.get("slow_factor") for _, n in measured.values() if n.get("slow_factor")), 10)
    blocks.append(
        "Seconds: registering the data, one training run at the grid's middle point and reading the data back, "
        "each a measured process; peak memory: the largest process of any step; stored: bytes in the tool's "
        "store after registering. An exponent is the slope of log seconds (or log memory) against log rows: 1 "
        f"grows in step with the data, near 0 is fixed cost. A tool breaks at the first size over {factor:g}x the "
        "plain time (and over a minute), over the memory limit, or failing."
    )
    data = {"curves": {tool: curves(n) for tool, (_, n) in measured.items()}}
    return Section("Large data", blocks, check="large_data", data=data)


# --- settings (`mlops_compare.exam_settings`, `mlops_compare.plan`) ---------------------------


def parse_settings(table: dict[str, Any], problem: Report) -> dict[str, Any]:
    where = ("exam", "large_data")
    known: dict[str, type | tuple[type, ...]] = {
        "rows": list,
        "data": str,
        "cache": str,
        "memory_limit_gb": (int, float),
        "slow_factor": (int, float),
    }
    out = known_keys(table, known, where, problem)
    rows = out.get("rows", list(LARGE_DATA_ROWS))
    if not rows or any(isinstance(r, bool) or not isinstance(r, int) or r < 100 for r in rows):
        problem("exam.large_data.rows must be a list of whole numbers >= 100", *where, "rows")
        rows = list(LARGE_DATA_ROWS)
    out["rows"] = sorted(set(rows))
    out.setdefault("data", "")
    out.setdefault("cache", "")
    out["slow_factor"] = float(out.get("slow_factor", 10))
    if "memory_limit_gb" in out and out["memory_limit_gb"] <= 0:
        problem("exam.large_data.memory_limit_gb must be more than 0", *where, "memory_limit_gb")
    return out


def resolve_paths(table: dict[str, Any], resolve: Callable[[str], str]) -> None:
    for key in ("data", "cache"):
        if table.get(key):
            table[key] = resolve(table[key])
    if not table.get("cache"):
        # runners get HOME and XDG folders inside their workspace: they need this absolute path
        table["cache"] = str(default_cache())


# --- the report (`mlops_compare.report.sections` asks every check for these hooks) ----------


def phrase(check: Any) -> str | None:
    """The matrix cell's figures: where the tool breaks, if it does."""
    n = check.get("numbers") or {}
    return f"breaks at {n['breaks_at']:,} rows" if n.get("breaks_at") else None


def report_section(evidence: Any) -> Any:
    """Seconds, memory and bytes per size, the growth exponents and where a tool breaks (`section`)."""
    from mlops_compare.report.sections import numbers

    measured = {
        t: (f.checks["large_data"].status, numbers(f, "large_data"))
        for t, f in evidence.tools.items()
        if "large_data" in f.checks
    }
    return section(measured)
