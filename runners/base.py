"""The runner contract: a tool's exam as one class, and the program every runner is.

A runner subclasses `Runner`, names its tool and the modules it needs, and has one method
per check of the exam table (`mlops_compare.events.CHECKS`), named by the check's id and
returning an `Outcome`. The tool-specific checks are abstract here; `baseline_match`,
`invasiveness` and `overhead` are shared. A runner of this project that lacks a check
method is rejected when its module is imported; a plugin runner (any other module) must
have `setup`, `grid` and `retrieve` and gets ``skip`` "not implemented by this runner;
added in <release>" for any other it lacks, so its expert rating stands. Adding a check is
one row in the table plus one method per runner (see the README, "Adding a check").

`Runner.main` does the rest the same way for every tool:

- writes events to stdout or ``--events FILE`` and turns the process's own output into
  ``log`` events (`channel`);
- writes ``exam.json`` and ``data.csv`` into the workspace and computes the plain
  baseline there (`context.Context.prepare`);
- runs the checks in the table's order, skipping those not chosen (``--check``), not
  configured (their ``[exam.<key>]`` table is absent) or blocked by a stopping failure;
- times each check; an exception inside a check makes it ``fail`` with the exception as
  evidence (the traceback goes to the log), never a crash;
- ends with exactly one ``result`` event.

The workspace is the current directory the core gave us (plus ``--workspace``); a runner
must write nowhere else. The core also points HOME, TMPDIR and the XDG folders into it.
"""

from __future__ import annotations

import abc
import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any, ClassVar

from mlops_compare import events
from mlops_compare.example import common
from mlops_compare.infra import threads
from mlops_compare.runners.channel import Emitter, capture_output
from mlops_compare.runners.checks import cost as costs
from mlops_compare.runners.checks import cost_netwatch as netwatch
from mlops_compare.runners.checks import license as metadata
from mlops_compare.runners.context import EXAMPLE_DIR, Context, Outcome  # Outcome: part of this contract too
from mlops_compare.runners.measures import diff_lines, dir_size

TOLERANCE = events.AGREEMENT_TOLERANCE
# Every tool environment holds these: the exam's script and data (numpy, pandas, scikit-learn),
# process measures (psutil), large_data's CSV writer (pyarrow), the languages check's
# notebooks and YAML (nbclient, ipykernel, pyyaml), the remote_storage check's local S3
# endpoint and probe (moto[server], boto3), the licence reader (packaging) and pip (the hpc
# check installs a tool's Slurm plugin into the workspace with it).
EXAM_REQUIREMENTS = (
    "numpy>=1.26",
    "pandas>=2.1",
    "scikit-learn>=1.4",
    "psutil>=5.9",
    "pyarrow>=15",
    "pyyaml>=6",
    "nbclient>=0.10",
    "ipykernel>=6.0",
    "moto[server]>=5.0",
    "boto3>=1.34",
    "packaging",
    "pip",
)
# The checks a plugin runner must implement; it may leave out any other tool-specific check
# (`skip`, its expert rating stands). The runners of this project implement every one.
PLUGIN_REQUIRED = ("setup", "grid", "retrieve")
SHIPPED_PREFIX = "mlops_compare."


def _not_implemented(check: events.Check):
    """The method a plugin runner gets for a check it has none for: ``skip``, with the release that added it."""

    def method(self: Runner, ctx: Context) -> Outcome:
        return Outcome("skip", f"not implemented by this runner; added in {check.added}", {"not_implemented": 1})

    method.__name__ = check.id
    method.not_implemented = True  # type: ignore[attr-defined]
    return method


class Runner(abc.ABC):
    """One tool's exam. Subclasses set the class attributes and implement the tool checks.

    Class attributes:
        name: the runner's name (also its entry point name), e.g. "mlflow".
        requires: import names of the modules the tool needs; checked before anything runs.
        install: what to install when they are missing, e.g. "pip install mlflow".
        distribution: the distribution whose version is reported (defaults to `name`).
        example: the folder of example/ holding this tool's integration ("" when it has none).
        example_package: the package holding that folder, for a plugin that ships its own
            (e.g. "my_plugin.example"); "" means this project's example/ (`example_dir`).
        process_setup: how the tool runs grid points, "in-process" or "subprocess"; overhead
            compares against the plain script run the same way.
        commands: the tool commands a user has to type for the whole exam (for invasiveness).
        telemetry: usage reporting the tool does by default (for cost: on or off in this run).
        config_files: workspace-relative config files of the tool (for cost: keys, tokens, hosted URLs).
        env_prefixes: the tool's environment variable families (for cost: tokens, keys, passwords).
        requirements: PEP 508 requirements of the tool and what its checks need beyond
            `exam_requirements`; the runner runs in a virtual environment built from both
            (`mlops_compare.envs`; ``[tool.NAME] requires`` in criteria.toml replaces this part).
        exam_requirements: what the exam itself needs in every tool environment (the plain
            script, the shared checks, the local S3 endpoint, notebooks, pip for plugins).
        typical_seconds: about how long the shipped default exam takes through this runner
            (the reference figure in the README); only orders a first run, longest first, when
            the store has no run of the tool yet (None: unknown, started first).
    """

    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    install: ClassVar[str] = ""
    distribution: ClassVar[str | None] = None
    example: ClassVar[str] = ""
    example_package: ClassVar[str] = ""
    process_setup: ClassVar[str] = "in-process"
    commands: ClassVar[tuple[str, ...]] = ()
    telemetry: ClassVar[tuple[costs.Telemetry, ...]] = ()
    config_files: ClassVar[tuple[str, ...]] = ()
    env_prefixes: ClassVar[tuple[str, ...]] = ()
    requirements: ClassVar[tuple[str, ...]] = ()
    exam_requirements: ClassVar[tuple[str, ...]] = EXAM_REQUIREMENTS
    typical_seconds: ClassVar[float | None] = None

    def __init__(self) -> None:
        self.retrieved: dict[str, dict[str, float]] = {}
        self.grid_seconds: float | None = None

    @classmethod
    def missing(cls) -> str | None:
        """Why the tool cannot run under this interpreter, or None when it can."""
        for module in cls.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                return f"{module} is not installed for {sys.executable}: {cls.install or 'pip install ' + module}"
        return None

    @classmethod
    def tool_version(cls) -> str:
        try:
            return importlib.metadata.version(cls.distribution or cls.name)
        except importlib.metadata.PackageNotFoundError:
            return ""

    @classmethod
    def example_dir(cls) -> Path | None:
        """The folder of this runner's example (`example` inside `example_package`), or None without one."""
        if not cls.example:
            return None
        if not cls.example_package:
            return EXAMPLE_DIR / cls.example
        import importlib.resources

        return Path(str(importlib.resources.files(cls.example_package))) / cls.example

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.name:
            return  # an intermediate base class, not a runner
        missing = [
            c.id
            for c in events.CHECKS
            if not callable(method := getattr(cls, c.id, None)) or getattr(method, "__isabstractmethod__", False)
        ]
        # The runners this project ships answer every check (a forgotten one is a bug here);
        # a plugin must answer the first ones (PLUGIN_REQUIRED) and may lack the rest: a plugin
        # written against an earlier release keeps working when the table grows.
        shipped = cls.__module__.startswith(SHIPPED_PREFIX)
        rejected = [c for c in missing if shipped or c in PLUGIN_REQUIRED]
        if rejected:
            raise TypeError(
                f"runner {cls.name!r} ({cls.__qualname__}) has no method for check(s): {', '.join(rejected)}"
            )
        for check_id in missing:  # set before ABCMeta counts abstract methods, so the class can be made
            setattr(cls, check_id, _not_implemented(events.CHECKS_BY_ID[check_id]))

    # --- the tool-specific checks (one method per row of events.CHECKS) --------------
    @abc.abstractmethod
    def setup(self, ctx: Context) -> Outcome:
        """Initialise the tool in the workspace and copy the example in."""

    @abc.abstractmethod
    def grid(self, ctx: Context) -> Outcome:
        """Run every grid point through the tool, calling ctx.metric as each lands."""

    @abc.abstractmethod
    def retrieve(self, ctx: Context) -> Outcome:
        """Read params and metrics back through the tool; fill self.retrieved {point_key: metrics}."""

    @abc.abstractmethod
    def models(self, ctx: Context) -> Outcome:
        """Store two models through the tool, load them back, compare predictions."""

    @abc.abstractmethod
    def data_versioning(self, ctx: Context) -> Outcome:
        """Register the data, change it, run, roll back through the tool; verify."""

    @abc.abstractmethod
    def reproduce(self, ctx: Context) -> Outcome:
        """Re-run one past run from the tool's record alone."""

    @abc.abstractmethod
    def share(self, ctx: Context) -> Outcome:
        """A second user (own HOME, own clone or client) gets runs, data and a model through the tool."""

    @abc.abstractmethod
    def languages(self, ctx: Context) -> Outcome:
        """A shell step and a headless notebook, each tracked through the tool."""

    @abc.abstractmethod
    def large_data(self, ctx: Context) -> Outcome:
        """Time, memory and disk per data size through the tool versus plain (`runners/checks/large_data.py`)."""

    @abc.abstractmethod
    def hpc(self, ctx: Context) -> Outcome:
        """Run the grid as Slurm jobs through the tool's own route, then a wrapper (runners/checks/hpc.py)."""

    @abc.abstractmethod
    def concurrency(self, ctx: Context) -> Outcome:
        """The grid repeated to many tasks started at once, all writing to the tool's store (`runners/checks/concurrency.py`)."""

    @abc.abstractmethod
    def remote_storage(self, ctx: Context) -> Outcome:
        """Round trips through a shared folder and an S3 endpoint with the tool's own mechanism (`runners/checks/remote_storage.py`)."""

    @abc.abstractmethod
    def fan_out(self, ctx: Context) -> Outcome:
        """The grid through the tool's own parallelism at 1 and 2 workers (`runners/checks/operations.py`)."""

    @abc.abstractmethod
    def failure(self, ctx: Context) -> Outcome:
        """A grid point made to fail: recorded with its traceback, found through the tool, resumed."""

    @abc.abstractmethod
    def ui(self, ctx: Context) -> Outcome:
        """The tool's own UI or report shows the grid's runs and metrics; a screenshot (`runners/checks/ui.py`)."""

    def store_paths(self, ctx: Context) -> list[Path]:
        """The tool's own store(s) in the workspace, for the disk footprint."""
        return []

    # --- shared checks ---------------------------------------------------------------
    def baseline_match(self, ctx: Context) -> Outcome:
        if not self.retrieved:
            return Outcome("fail", "nothing was retrieved through the tool to compare")
        worst = 0.0
        missing = [key for key in ctx.baseline if key not in self.retrieved]
        not_a_number = set()
        for key, expected in ctx.baseline.items():
            got = self.retrieved.get(key)
            if got is None:
                continue
            for metric in ("rmse", "mae", "r2"):
                diff = abs(float(got[metric]) - expected[metric])
                if math.isnan(diff):  # NaN on either side: nothing shows the two are equal
                    not_a_number.add(f"{key} {metric}")
                else:
                    worst = max(worst, diff)
        numbers = {
            "points": len(ctx.baseline),
            "missing": len(missing),
            "max_abs_diff": worst,
            "nan": len(not_a_number),
        }
        if missing:
            return Outcome(
                "fail", f"{len(missing)} grid point(s) missing from the tool's record: {', '.join(missing)}", numbers
            )
        if not_a_number:
            return Outcome("fail", f"NaN metrics cannot be compared: {', '.join(sorted(not_a_number))}", numbers)
        if worst > TOLERANCE:
            return Outcome(
                "fail", f"largest difference from the plain baseline is {worst:.3g} (> {TOLERANCE:g})", numbers
            )
        return Outcome(
            "pass", f"all {len(ctx.baseline)} points equal the plain baseline (max |diff| {worst:.3g})", numbers
        )

    def license(self, ctx: Context) -> Outcome:
        """The tool's licence and its own dependencies' (closure minus the baseline's), from metadata."""
        found = metadata.report(self.distribution or self.name)
        own, named, total = found.own, found.not_approved, len(found.licences)
        numbers = {
            "licence": own.name or "unknown",
            "closure": found.closure_size,
            "baseline_closure": found.baseline_size,
            "tool_specific": total,
            "osi_approved": total - len(named),
            "not_osi": sum(lic.osi is False for lic in named.values()),
            "unknown": sum(lic.osi is None for lic in named.values()),
            "copyleft": len(found.copyleft),
            "osi_share": round((total - len(named)) / total, 4) if total else 0.0,
        }
        if found.is_baseline:
            scope = f"the baseline's closure ({', '.join(metadata.BASELINE)} and their requirements)"
        else:
            scope = (
                f"{total} tool-specific distributions: the closure of {found.distribution} ({found.closure_size}, "
                f"Requires-Dist followed with markers for this interpreter, no extras) minus the baseline's closure "
                f"({found.baseline_size}: {', '.join(metadata.BASELINE)} and their requirements)"
            )
        named_text = ", ".join(
            f"{n} ({lic.name + ', not OSI-approved' if lic.name else 'no licence in its metadata'})"
            for n, lic in named.items()
        )
        evidence = (
            f"{found.distribution}: {own.name or 'no licence in its metadata'} (from {own.source}); {scope}: "
            f"{numbers['osi_approved']} show an OSI-approved licence in their metadata"
            + (f"; not shown OSI-approved: {named_text}" if named else "")
            + (f"; copyleft (weak or strong): {', '.join(found.copyleft)}" if found.copyleft else "")
            + (f"; required but not installed: {', '.join(sorted(found.missing))}" if found.missing else "")
        )
        if own.osi is not True:
            return Outcome("fail", evidence, numbers)
        return Outcome("partial" if named else "pass", evidence, numbers)

    def cost(self, ctx: Context) -> Outcome:
        """Did the exam so far need or ask for a paid service, account or key (output, config, network)?"""
        findings = costs.scan(
            ctx.workspace,
            ctx.emitter.tool_lines,
            [ctx.workspace / name for name in self.config_files],
            self.telemetry,
            self.env_prefixes,
        )
        return Outcome(*costs.describe(findings))

    def invasiveness(self, ctx: Context) -> Outcome:
        folder = self.example_dir()
        if folder is None or not folder.is_dir():
            where = f"{folder} does not exist" if folder else "the runner names none (Runner.example)"
            return Outcome("skip", f"no example folder to compare with example/plain/train.py: {where}")
        plain = (EXAMPLE_DIR / "plain" / "train.py").read_text()
        scripts = sorted(p for p in folder.glob("*.py"))
        other = sorted(
            p.name for p in folder.iterdir() if p.is_file() and p.suffix != ".py" and not p.name.startswith(".")
        )
        added = removed = 0
        for script in scripts:
            a, r = diff_lines(plain, script.read_text())
            added, removed = added + a, removed + r
        numbers = {
            "lines_added": added,
            "lines_removed": removed,
            "tool_files": len(other),
            "commands": len(self.commands),
        }
        evidence = (
            f"{added} line(s) added, {removed} removed vs example/plain/train.py in {', '.join(s.name for s in scripts)}; "
            f"tool files: {', '.join(other) or 'none'}; commands: {'; '.join(self.commands) or 'none'}"
        )
        return Outcome("pass", evidence, numbers)

    def overhead(self, ctx: Context) -> Outcome:
        if self.grid_seconds is None:
            return Outcome("skip", "the grid did not run")
        plain = ctx.plain_grid_time(self.process_setup)
        ratio = self.grid_seconds / plain if plain > 0 else float("inf")
        disk = dir_size(*self.store_paths(ctx))
        numbers = {
            "tool_seconds": round(self.grid_seconds, 4),
            "plain_seconds": round(plain, 4),
            "ratio": round(ratio, 2),
            "process_setup": self.process_setup,
            "disk_bytes": disk,
        }
        evidence = (
            f"grid took {self.grid_seconds:.2f} s through the tool vs {plain:.2f} s plain ({self.process_setup}), "
            f"x{ratio:.1f}; tool store {disk / 1e6:.2f} MB"
        )
        return Outcome("pass", evidence, numbers)

    # --- orchestration ---------------------------------------------------------------
    def run_exam(self, ctx: Context) -> str:
        """Run every check of the table in order; return the result status ("passed" or "failed")."""
        chosen = events.selected(ctx.exam.get("checks"))
        failed = False
        blocked = ""
        for check in events.CHECKS:
            start = time.perf_counter()
            if check.id not in chosen:
                outcome = Outcome("skip", "not chosen (--check)")
            elif check.enabled_by and ctx.exam.get(check.enabled_by) is None:  # an empty table switches it on
                outcome = Outcome("skip", f"not configured: add [exam.{check.enabled_by}] to criteria.toml")
            elif blocked and not check.always:
                outcome = Outcome("skip", blocked)
            else:
                try:
                    outcome = getattr(self, check.id)(ctx)
                except Exception as exc:  # a broken check is a result, not a crash
                    ctx.log(traceback.format_exc().rstrip())
                    outcome = Outcome("fail", f"{type(exc).__name__}: {exc}")
            seconds = time.perf_counter() - start
            if check.id == "grid" and outcome.status != "skip":
                self.grid_seconds = seconds
            if check.stops and outcome.status == "fail":
                blocked = f"{check.id} failed"
            failed |= outcome.status == "fail"
            ctx.emitter.emit(
                "check",
                id=check.id,
                status=outcome.status,
                seconds=round(seconds, 4),
                evidence=outcome.evidence,
                numbers=outcome.numbers,
            )
        return "failed" if failed else "passed"

    @classmethod
    def main(cls, argv: list[str] | None = None) -> int:
        parser = argparse.ArgumentParser(prog=f"python -m mlops_compare.runners.{cls.__module__.rsplit('.', 1)[-1]}")
        parser.add_argument("--exam", required=True, help="exam settings as JSON text or @file")
        parser.add_argument("--workspace", default=".", help="the only directory this runner writes to")
        parser.add_argument("--events", default="-", help="where events go: - for stdout, or a file path")
        args = parser.parse_args(argv)

        workspace = Path(args.workspace).resolve()
        workspace.mkdir(parents=True, exist_ok=True)
        os.chdir(workspace)
        channel = os.fdopen(os.dup(1), "wb") if args.events == "-" else open(args.events, "ab")
        emitter = Emitter(channel)
        capture_output(emitter)
        netwatch.install(workspace)  # for `cost`: which hosts this run's Python processes try to reach
        emitter.log(threads.describe(os.environ))  # the launcher's choice (or the user's), in the record's log

        exam_text = Path(args.exam[1:]).read_text() if args.exam.startswith("@") else args.exam
        exam = json.loads(exam_text)
        result: dict[str, Any] = {
            "tool": cls.name,
            "tool_version": cls.tool_version(),
            "reason": "",
            "dataset": {},
            "grid": exam.get("grid", {}),
        }
        start = time.perf_counter()
        missing = cls.missing()
        if missing:
            emitter.log(missing)
            emitter.emit("result", status="unavailable", **{**result, "reason": missing}, seconds=0.0)
            return 0
        ctx = Context(workspace, exam, emitter)
        try:
            ctx.prepare()
            result["dataset"] = ctx.dataset
            status = cls().run_exam(ctx)
            if status == "failed":
                result["reason"] = "a check failed"
        except common.DataError as exc:
            status, result["reason"] = "error", str(exc)
        except Exception as exc:
            emitter.log(traceback.format_exc().rstrip())
            status, result["reason"] = "error", f"{type(exc).__name__}: {exc}"
        emitter.emit("result", status=status, **result, seconds=round(time.perf_counter() - start, 3))
        return 0
