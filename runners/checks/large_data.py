"""The ``large_data`` check, the same for every tool: sizes, the plain baseline, the figures, the verdict.

For each size of ``[exam.large_data] rows`` (the data from `scaled_data`, copied into a
folder of the workspace per size), a runner measures three steps done with the tool's own
mechanism (a `ScaleSteps` subclass in ``runners/<tool>/large_data.py``) and the same three
without a tool (`PlainSteps`: ``cp``, ``python train.py``, ``cp``), one after the other:

1. register: put the data under the tool's control (and a copy away, for plain);
2. train: one training run at the grid's middle point, with the exam's own example code;
3. read: get the registered bytes back for a rollback (the working copy deleted first,
   unless the tool keeps no copy), then check their sha256.

Each step is a subprocess run through `Context.run` under `runners.usage`, which gives its
wall seconds and its peak resident memory (the largest process of its tree from ``wait4``,
or the sampled sum of the tree if larger). A size's time is the sum of its steps, its
memory the largest step's, its disk the bytes in the tool's store after registering.

Then the growth exponents (least-squares slope of log seconds and of log peak memory
against log rows) and the first size where the tool "breaks": more than ``slow_factor``
times the plain time, more than the memory limit (``memory_limit_gb``, default the
machine's memory) or a step that failed. Verdict (also in the README):

- ``pass``: every measured size within ``slow_factor`` x plain time and the memory limit,
  metrics equal to plain's, the registered bytes read back identical from the tool's store;
- ``partial``: correct, but it breaks at some size, or the tool keeps no copy of the data
  (read back from where it was, not from the tool);
- ``fail``: metrics differ from plain's, the bytes read back differ, or it fails at the
  smallest size;
- ``skip``: no size fits on this machine (each skipped size says why).

The numbers are flat (``"<rows>:<field>"`` per size, see `FIELDS`); the core reads them
back with ``mlops_compare.checks.large_data.curves``.
"""

from __future__ import annotations

import abc
import ast
import json
import math
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from mlops_compare import events
from mlops_compare.example import common
from mlops_compare.runners.checks.large_data_sets import (
    bytes_per_row,
    cached_path,
    ensure,
    exam_source,
    human,
    room,
    sizes,
    user_source,
)
from mlops_compare.runners.checks.operations import middle_point
from mlops_compare.runners.context import EXAMPLE_DIR, CommandError, Context, Outcome
from mlops_compare.runners.measures import dir_size

STEPS = ("register", "train", "read")
STEP_TIMEOUT = 3600.0  # seconds per step; the launcher's timeout is the outer bound
# A size is too slow when the tool takes more than slow_factor x the plain time *and* more
# than this: at small sizes a tool's fixed start-up (importing it, three times) is many
# times a plain script's second, yet nobody is stopped by waiting 15 s instead of 1.
BREAK_SECONDS = 60.0


def within_rule(factor: float, limit: float) -> str:
    """The rule a size passes, as the evidence says it (a size breaks when both parts of the time rule fail)."""
    return f"under {factor:g}x plain time, or under a minute ({BREAK_SECONDS:g} s), and within {human(limit)}"


# Per size and per side ("tool" or "plain"): <side>_<step>_s and <side>_<step>_rss per step,
# <side>_s (total), <side>_rss (peak bytes), <side>_stored (bytes); and ratio, csv_bytes,
# metrics_equal, rmse, skipped, error.
FIELDS = ("register_s", "train_s", "read_s", "register_rss", "train_rss", "read_rss", "s", "rss", "stored")
METRIC_LINE = re.compile(r"\(alpha=[^)]*\): (\{[^}]*\})")


@dataclass
class Usage:
    """What one or more measured commands took: seconds added up, peak memory the largest."""

    seconds: float = 0.0
    rss: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.seconds + other.seconds, max(self.rss, other.rss))


@dataclass
class Figures:
    """One side (tool or plain) at one size."""

    steps: dict[str, Usage] = field(default_factory=dict)
    stored: int = 0
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(u.seconds for u in self.steps.values())

    @property
    def rss(self) -> int:
        return max((u.rss for u in self.steps.values()), default=0)


class ScaleSteps(abc.ABC):
    """What one tool does with one size of data in *folder* (which holds ``data.csv`` and ``exam.json``)."""

    label: str = ""
    # "how" in a few words per step, for the evidence
    describe: str = ""
    # False: the tool records where the data is but keeps no copy (read back from the source)
    keeps_copy: bool = True
    # modules imported once before the first size (not measured), so the first size does
    # not pay for reading them from a cold disk
    warm: tuple[str, ...] = ()

    def __init__(self, ctx: Context):
        self.ctx = ctx

    @abc.abstractmethod
    def prepare(self, folder: Path) -> None:
        """Copy the example in and initialise the tool (not measured)."""

    @abc.abstractmethod
    def register(self, folder: Path) -> Usage:
        """Put data.csv under the tool's control."""

    @abc.abstractmethod
    def train(self, folder: Path, point: dict[str, float]) -> tuple[Usage, dict[str, float]]:
        """One training run at *point* with the example's code through the tool; its metrics."""

    @abc.abstractmethod
    def read_back(self, folder: Path) -> Usage:
        """Bring the registered bytes back to folder/data.csv through the tool."""

    @abc.abstractmethod
    def stored(self, folder: Path) -> int:
        """Bytes the tool's store holds for this size (after registering)."""

    def finish(self, folder: Path) -> None:
        """Remove anything this size left outside *folder* (a shared remote); nothing by default."""
        return None

    # --- helpers ---------------------------------------------------------------------
    def warm_up(self) -> None:
        if self.warm:
            self.ctx.run([sys.executable, "-c", "import " + ", ".join(self.warm)], output="capture")

    def measure(self, argv: list[str], folder: Path, env: dict[str, str] | None = None) -> tuple[Usage, str]:
        """Run *argv* in *folder* under `runners.usage`; its usage and its output."""
        usage_dir = folder.parent / ".usage"
        usage_dir.mkdir(exist_ok=True)
        out = usage_dir / f"{time.monotonic_ns()}.json"
        try:
            text = self.ctx.run(
                [sys.executable, "-m", "mlops_compare.runners.usage", str(out), "--", *argv],
                cwd=folder,
                env=env,
                timeout=STEP_TIMEOUT,
            )
        except CommandError as exc:  # say which tool command failed, not the wrapper (and no paths)
            shown = shlex.join([Path(argv[0]).name, *argv[1:3]])
            tail = str(exc).split(": ", 1)[-1]
            raise CommandError(
                f"`{shown}` {'timed out' if exc.timed_out else 'failed'}: {tail}", exc.timed_out
            ) from None
        figures = json.loads(out.read_text())
        out.unlink()
        return Usage(float(figures["seconds"]), max(int(figures["max_rss"]), int(figures["tree_rss"]))), text

    def copy_example(self, name: str, folder: Path) -> None:
        """``example/<name>/`` and ``common.py`` into *folder* (as `Context.copy_example` does for the workspace)."""
        shutil.copy2(EXAMPLE_DIR / "common.py", folder / "common.py")
        for path in sorted((EXAMPLE_DIR / name).iterdir()):
            if path.is_file() and not path.name.startswith((".", "__")) and path.suffix != ".pyc":
                shutil.copy2(path, folder / path.name)


def printed_metrics(text: str) -> dict[str, float]:
    """The metrics the example's train() printed (``...(alpha=.., l1_ratio=..): {...}``), exactly."""
    found = METRIC_LINE.findall(text)
    if not found:
        raise RuntimeError("the training run printed no metrics")
    return {k: float(v) for k, v in ast.literal_eval(found[-1]).items()}


class PlainSteps(ScaleSteps):
    """No tool: a copy kept by hand, the plain script, the copy put back."""

    label = "plain"
    describe = "`cp` to a versions folder; `python train.py ALPHA L1_RATIO`; `cp` back"
    warm = ("pandas", "sklearn.linear_model", "sklearn.model_selection")

    def prepare(self, folder: Path) -> None:
        self.copy_example("plain", folder)

    def register(self, folder: Path) -> Usage:
        (folder / "versions").mkdir()
        return self.measure(["cp", common.DATA_FILE, "versions/" + common.DATA_FILE], folder)[0]

    def train(self, folder: Path, point: dict[str, float]) -> tuple[Usage, dict[str, float]]:
        usage, text = self.measure([sys.executable, "train.py", repr(point["alpha"]), repr(point["l1_ratio"])], folder)
        return usage, printed_metrics(text)

    def read_back(self, folder: Path) -> Usage:
        return self.measure(["cp", "versions/" + common.DATA_FILE, common.DATA_FILE], folder)[0]

    def stored(self, folder: Path) -> int:
        return dir_size(folder / "versions")


def exponent(rows: list[int], values: list[float]) -> float | None:
    """Least-squares slope of log(value) against log(rows); None with fewer than two usable points."""
    pairs = [(math.log(r), math.log(v)) for r, v in zip(rows, values, strict=True) if r > 0 and v > 0]
    if len(pairs) < 2:
        return None
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    var = sum((x - mx) ** 2 for x, _ in pairs)
    if var == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in pairs) / var


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all(
        abs(a[k] - b[k]) <= events.AGREEMENT_TOLERANCE or (math.isnan(a[k]) and math.isnan(b[k]))
        for k in ("rmse", "mae", "r2")
    )


class SizeRun:
    """One size: the data copied in, plain then the tool measured, the folder removed."""

    def __init__(self, ctx: Context, rows: int, data: Path, sha256: str, k: int, n: int):
        self.ctx, self.rows, self.data, self.sha256, self.k, self.n = ctx, rows, data, sha256, k, n
        self.base = ctx.workspace / "large" / str(rows)

    def side(self, steps: ScaleSteps, point: dict[str, float]) -> Figures:
        folder = self.base / steps.label
        folder.mkdir(parents=True)
        shutil.copyfile(self.data, folder / common.DATA_FILE)  # a private copy: tools never touch the cache
        shutil.copy2(self.ctx.workspace / common.EXAM_FILE, folder / common.EXAM_FILE)
        steps.prepare(folder)
        figures = Figures()
        self._progress(steps, "register")
        figures.steps["register"] = steps.register(folder)
        figures.stored = steps.stored(folder)
        self._progress(steps, "train")
        figures.steps["train"], figures.metrics = steps.train(folder, point)
        self._progress(steps, "read back")
        if steps.keeps_copy:
            (folder / common.DATA_FILE).unlink()
        figures.steps["read"] = steps.read_back(folder)
        back = folder / common.DATA_FILE
        got = common.sha256_file(back) if back.is_file() else "missing"
        if got != self.sha256:
            raise DataMismatch(
                f"data read back through {steps.label} has sha256 {got[:12]}, registered {self.sha256[:12]}"
            )
        return figures

    def _progress(self, steps: ScaleSteps, step: str) -> None:
        self.ctx.progress(
            self.k, self.n, f"large_data {self.rows:,} rows ({self.k + 1}/{self.n}): {steps.label} {step}"
        )


class DataMismatch(RuntimeError):
    """A tool gave back other bytes than were registered."""


def run_check(ctx: Context, tool: ScaleSteps | None) -> Outcome:
    """The large_data check for *tool* (None: the plain runner, whose tool is plain itself)."""
    settings = ctx.exam["large_data"]
    label = tool.label if tool is not None else "plain"
    seed = int(ctx.exam["random_state"])
    cache = Path(settings.get("cache") or ctx.workspace / "large-data-cache")
    if not settings.get("cache"):
        ctx.log(f"no cache folder given: sizes are generated into {cache} (not shared with other runners)")
    if settings.get("data"):
        source = user_source(Path(settings["data"]))
        if ctx.exam["target"] not in source.columns:
            return Outcome("fail", f"the large data file has no target column {ctx.exam['target']!r}")
    else:
        source = exam_source(ctx.workspace / common.DATA_FILE, ctx.dataset["normalised_sha256"], ctx.exam["data"])
    wanted = sizes(source, list(settings.get("rows") or events.LARGE_DATA_ROWS))
    per_row = bytes_per_row(source, seed)
    limit = (
        float(settings["memory_limit_gb"]) * 1e9 if settings.get("memory_limit_gb") else psutil.virtual_memory().total
    )
    factor = float(settings.get("slow_factor") or 10.0)
    point = middle_point(ctx.points)
    ctx.log(f"large_data: {', '.join(f'{r:,}' for r in wanted)} rows; cache {cache}")

    numbers: dict[str, Any] = {
        "rows": ",".join(map(str, wanted)),
        "slow_factor": factor,
        "memory_limit_bytes": int(limit),
        "point": common.point_key(**point),
    }
    warm = [PlainSteps(ctx)] + ([tool] if tool is not None else [])
    measured: dict[int, tuple[Figures, Figures]] = {}
    skipped: dict[int, str] = {}
    errors: dict[int, str] = {}
    wrong: list[str] = []
    for k, rows in enumerate(wanted):
        ctx.progress(k, len(wanted), f"large_data {rows:,} rows ({k + 1}/{len(wanted)}): data")
        if errors:
            skipped[rows] = f"not tried: {label} failed at {min(errors):,} rows"
            continue
        cached = cached_path(cache, source, rows)
        csv_bytes = cached.stat().st_size if cached.exists() else int(per_row * (rows + 1))
        why = room(rows, csv_bytes, len(source.columns), ctx.workspace, cached, psutil.virtual_memory().available)
        if why:
            skipped[rows] = why
            ctx.log(f"large_data: {rows:,} rows skipped: {why}")
            continue
        start = time.perf_counter()
        data, made = ensure(cache, source, rows, seed, ctx.log)
        if made:
            ctx.log(
                f"large_data: generated {rows:,} rows ({human(data.stat().st_size)}) in {time.perf_counter() - start:.1f} s"
            )
        numbers[f"{rows}:csv_bytes"] = data.stat().st_size
        while warm:  # before the first size measured, not before sizes that are skipped
            warm.pop().warm_up()
        size = SizeRun(ctx, rows, data, common.sha256_file(data), k, len(wanted))
        try:
            plain = size.side(PlainSteps(ctx), point)
            try:
                mine = plain if tool is None else size.side(tool, point)
            except DataMismatch as exc:
                wrong.append(f"{rows:,} rows: {exc}")
                continue
            except (CommandError, RuntimeError, OSError) as exc:
                errors[rows] = f"{type(exc).__name__}: {exc}"
                ctx.log(f"large_data: {label} failed at {rows:,} rows: {exc}")
                continue
            measured[rows] = (mine, plain)
            if not _same(mine.metrics, plain.metrics):
                wrong.append(f"{rows:,} rows: metrics {mine.metrics} differ from plain's {plain.metrics}")
        finally:
            if tool is not None:
                tool.finish(size.base / tool.label)
            shutil.rmtree(size.base, ignore_errors=True)
    shutil.rmtree(ctx.workspace / "large", ignore_errors=True)
    ctx.progress(len(wanted), len(wanted), "large_data")
    return _verdict(label, tool, numbers, measured, skipped, errors, wrong, factor, limit)


def _verdict(label, tool, numbers, measured, skipped, errors, wrong, factor, limit) -> Outcome:
    breaks: tuple[int, str] | None = None
    for rows in sorted(set(measured) | set(errors)):
        if rows in errors:
            breaks = breaks or (rows, f"failed: {errors[rows]}")
            numbers[f"{rows}:error"] = errors[rows]
            continue
        mine, plain = measured[rows]
        ratio = mine.seconds / plain.seconds if plain.seconds > 0 else math.inf
        for side, figures in (("tool", mine), ("plain", plain)):
            for step in STEPS:
                numbers[f"{rows}:{side}_{step}_s"] = round(figures.steps[step].seconds, 4)
                numbers[f"{rows}:{side}_{step}_rss"] = figures.steps[step].rss
            numbers[f"{rows}:{side}_s"] = round(figures.seconds, 4)
            numbers[f"{rows}:{side}_rss"] = figures.rss
            numbers[f"{rows}:{side}_stored"] = figures.stored
        numbers[f"{rows}:ratio"] = round(ratio, 3)
        numbers[f"{rows}:metrics_equal"] = int(_same(mine.metrics, plain.metrics))
        numbers[f"{rows}:rmse"] = mine.metrics.get("rmse", math.nan)
        if breaks is None and ratio > factor and mine.seconds > BREAK_SECONDS:
            breaks = (rows, f"{ratio:.1f}x the plain time (limit {factor:g}x) and {mine.seconds:.0f} s")
        elif breaks is None and mine.rss > limit:
            breaks = (rows, f"peak memory {human(mine.rss)} over the limit {human(limit)}")
    for rows, why in skipped.items():
        numbers[f"{rows}:skipped"] = why
    order = sorted(measured)
    numbers["measured"] = len(order)
    for prefix, index in (("", 0), ("plain_", 1)):  # not `label`: that names the tool in the evidence below
        t = exponent(order, [measured[r][index].seconds for r in order])
        m = exponent(order, [measured[r][index].rss for r in order])
        if t is not None and m is not None:
            numbers[f"{prefix}time_exponent"] = round(t, 3)
            numbers[f"{prefix}memory_exponent"] = round(m, 3)
    numbers["breaks_at"] = breaks[0] if breaks else 0
    numbers["breaks_because"] = breaks[1] if breaks else ""

    how = tool.describe if tool is not None else PlainSteps.describe
    parts = [f"{label} ({how}) at {numbers['point']} (alpha/l1_ratio)"]
    if order:
        parts.append(
            "; ".join(
                f"{r:,} rows: {measured[r][0].seconds:.2f} s = x{numbers[f'{r}:ratio']:.1f} plain, "
                f"peak {human(measured[r][0].rss)}, stored {human(measured[r][0].stored)}"
                for r in order
            )
        )
    if "time_exponent" in numbers:
        parts.append(
            f"time grows as rows^{numbers['time_exponent']:.2f} (plain rows^{numbers['plain_time_exponent']:.2f}), "
            f"peak memory as rows^{numbers['memory_exponent']:.2f} (plain rows^{numbers['plain_memory_exponent']:.2f})"
        )
    parts.append(
        f"breaks at {breaks[0]:,} rows: {breaks[1]}"
        if breaks
        else (f"{within_rule(factor, limit)} at every measured size" if order else "nothing measured")
    )
    if tool is not None and not tool.keeps_copy:
        parts.append(f"{label} keeps no copy of the data: it was read back from where it was, not from {label}")
    parts += [f"{r:,} rows skipped: {why}" for r, why in skipped.items()]
    parts += wrong
    evidence = "; ".join(parts)
    if wrong:
        return Outcome("fail", evidence, numbers)
    if not order:
        return Outcome("fail" if errors else "skip", evidence, numbers)
    if errors and min(errors) < min(order):
        return Outcome("fail", evidence, numbers)
    if breaks or (tool is not None and not tool.keeps_copy):
        return Outcome("partial", evidence, numbers)
    return Outcome("pass", evidence, numbers)
