"""The runner contract and the machinery every runner shares.

A runner subclasses `Runner`, names its tool and the modules it needs, and implements the
tool-specific checks (`setup`, `grid`, `retrieve`, `models`, `data_versioning`,
`reproduce`). `Runner.main` does the rest the same way for every tool:

- redirects the process's own stdout/stderr (file descriptors 1 and 2) into ``log``
  events, so any print or warning from a tool or its subprocesses reaches the parent as
  a log line and never corrupts the event channel;
- writes ``exam.json`` and ``data.csv`` into the workspace and computes the plain
  baseline there, in-process, for `baseline_match` and `overhead`;
- times each check; an exception inside a check makes it ``fail`` with the exception as
  evidence (the traceback goes to the log), never a crash;
- computes `baseline_match`, `invasiveness` and `overhead` from what the tool returned;
- ends with exactly one ``result`` event.

The workspace is the current directory the core gave us (plus ``--workspace``); a runner
must write nowhere else. The core also points HOME, TMPDIR and the XDG folders into it.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from mlops_compare import events
from mlops_compare.example import common

EXAMPLE_DIR = Path(common.__file__).parent
TOLERANCE = 1e-9
UNCONFIGURED = ("remote_storage", "large_data", "hpc")


@dataclass
class Outcome:
    """What a check found: status (pass/partial/fail/skip), evidence text, numbers."""

    status: str
    evidence: str
    numbers: dict[str, Any] = field(default_factory=dict)


class Emitter:
    """Writes events to the transport (a binary stream); safe to call from any thread."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._lock = threading.Lock()

    def emit(self, kind: str, **fields: Any) -> None:
        line = events.encode(events.make(kind, **fields))
        with self._lock:
            self._stream.write(line)
            self._stream.flush()

    def log(self, line: str, stream: str = "runner") -> None:
        self.emit("log", line=line, stream=stream)


def _capture_output(emitter: Emitter) -> None:
    """Point fds 1 and 2 at a pipe whose lines become ``log`` events (a daemon thread)."""
    read_fd, write_fd = os.pipe()
    os.dup2(write_fd, 1)
    os.dup2(write_fd, 2)
    os.close(write_fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)

    def pump() -> None:
        with os.fdopen(read_fd, "rb") as pipe:
            for raw in pipe:
                emitter.log(raw.decode("utf-8", errors="replace").rstrip("\r\n"), stream="stdout")

    threading.Thread(target=pump, name="log-pump", daemon=True).start()


class Context:
    """What a runner's checks get: the workspace, the exam, the baseline and ways to report."""

    def __init__(self, workspace: Path, exam: dict[str, Any], emitter: Emitter):
        self.workspace = workspace
        self.exam = exam
        self.emitter = emitter
        self.points = common.grid_points(exam["grid"])
        self.baseline: dict[str, dict[str, float]] = {}
        self.dataset: dict[str, Any] = {}
        self.plain_grid_seconds: dict[str, float] = {}

    # --- reporting -------------------------------------------------------------------
    def log(self, line: str) -> None:
        self.emitter.log(line)

    def progress(self, k: int, n: int, label: str) -> None:
        self.emitter.emit("progress", k=k, n=n, label=label)

    def metric(self, alpha: float, l1_ratio: float, metrics: dict[str, float]) -> None:
        self.emitter.emit(
            "metric",
            alpha=float(alpha),
            l1_ratio=float(l1_ratio),
            **{k: float(metrics[k]) for k in ("rmse", "mae", "r2")},
        )

    # --- tools -----------------------------------------------------------------------
    def run(
        self, argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = True
    ) -> str:
        """Run a command in the workspace; its output lines become log events; returns it."""
        self.log("$ " + " ".join(argv))
        proc = subprocess.Popen(
            argv,
            cwd=cwd or self.workspace,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        lines = []
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            lines.append(line)
            self.emitter.log(line, stream="stdout")
        code = proc.wait()
        if check and code != 0:
            tail = " | ".join(lines[-3:])
            raise RuntimeError(f"`{' '.join(argv[:4])}` exited with {code}: {tail}")
        return "\n".join(lines)

    def copy_example(self, folder: str) -> list[str]:
        """Copy ``example/<folder>/`` and ``common.py`` into the workspace; return file names."""
        names = ["common.py"]
        shutil.copy2(EXAMPLE_DIR / "common.py", self.workspace / "common.py")
        for path in sorted((EXAMPLE_DIR / folder).iterdir()):
            if path.is_file() and not path.name.startswith((".", "__")) and path.suffix != ".pyc":
                shutil.copy2(path, self.workspace / path.name)
                names.append(path.name)
        return names

    def load_module(self, path: Path, name: str):
        """Import a workspace script (e.g. ``train.py``) as a module without touching sys.modules names."""
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        spec.loader.exec_module(module)
        return module

    def plain_grid_time(self, mode: str) -> float:
        """Wall time of the plain baseline over the grid, run in-process or as one subprocess per point.

        Overhead compares a tool with the plain script run the same way the tool runs it.
        """
        if mode not in self.plain_grid_seconds:
            plain = self.workspace / "_plain"
            start = time.perf_counter()
            for point in self.points:
                if mode == "subprocess":
                    subprocess.run(
                        [sys.executable, "train.py", repr(point["alpha"]), repr(point["l1_ratio"])],
                        cwd=plain,
                        check=True,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                else:
                    self._plain_train(point)
            self.plain_grid_seconds[mode] = time.perf_counter() - start
        return self.plain_grid_seconds[mode]

    def _prepare(self) -> None:
        """exam.json, data.csv and the plain baseline: the same for every tool."""
        exam_file = {k: self.exam[k] for k in ("target", "test_size", "random_state", "grid")}
        (self.workspace / common.EXAM_FILE).write_text(json.dumps(exam_file, indent=2) + "\n")
        self.dataset = common.materialize(self.exam["data"], self.exam["target"], self.workspace / common.DATA_FILE)
        plain = self.workspace / "_plain"
        plain.mkdir(exist_ok=True)
        for name in ("common.py", "plain/train.py"):
            shutil.copy2(EXAMPLE_DIR / name, plain / Path(name).name)
        for name in (common.EXAM_FILE, common.DATA_FILE):
            shutil.copy2(self.workspace / name, plain / name)
        self._plain_module = self.load_module(plain / "train.py", "_mlops_compare_plain_train")
        start = time.perf_counter()
        for point in self.points:
            self.baseline[common.point_key(**point)] = self._plain_train(point)
        self.plain_grid_seconds["in-process"] = time.perf_counter() - start

    def _plain_train(self, point: dict[str, float]) -> dict[str, float]:
        cwd = os.getcwd()
        os.chdir(self.workspace / "_plain")
        try:
            return self._plain_module.train(point["alpha"], point["l1_ratio"])
        finally:
            os.chdir(cwd)


def dir_size(*paths: Path) -> int:
    """Bytes used by files under *paths* (missing paths count as 0)."""
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return total


def diff_lines(plain: str, tool: str) -> tuple[int, int]:
    """Lines added and removed going from the plain script's text to the tool's."""
    added = removed = 0
    for line in difflib.unified_diff(plain.splitlines(), tool.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += bool(line[1:].strip())
        elif line.startswith("-") and not line.startswith("---"):
            removed += bool(line[1:].strip())
    return added, removed


class Runner:
    """One tool's exam. Subclasses set the class attributes and implement the tool checks.

    Class attributes:
        name: the runner's name (also its entry point name), e.g. "mlflow".
        requires: import names of the modules the tool needs; checked before anything runs.
        install: what to install when they are missing, e.g. "pip install mlflow".
        distribution: the distribution whose version is reported (defaults to `name`).
        example: the folder of example/ holding this tool's integration.
        process_setup: how the tool runs grid points, "in-process" or "subprocess"; overhead
            compares against the plain script run the same way.
        commands: the tool commands a user has to type for the whole exam (for invasiveness).
    """

    name: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    install: ClassVar[str] = ""
    distribution: ClassVar[str | None] = None
    example: ClassVar[str] = ""
    process_setup: ClassVar[str] = "in-process"
    commands: ClassVar[tuple[str, ...]] = ()

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

    # --- the tool-specific checks (override) -----------------------------------------
    def setup(self, ctx: Context) -> Outcome:
        raise NotImplementedError

    def grid(self, ctx: Context) -> Outcome:
        """Run every grid point through the tool, calling ctx.metric as each lands."""
        raise NotImplementedError

    def retrieve(self, ctx: Context) -> Outcome:
        """Read params and metrics back through the tool; fill self.retrieved {point_key: metrics}."""
        raise NotImplementedError

    def models(self, ctx: Context) -> Outcome:
        raise NotImplementedError

    def data_versioning(self, ctx: Context) -> Outcome:
        raise NotImplementedError

    def reproduce(self, ctx: Context) -> Outcome:
        raise NotImplementedError

    def store_paths(self, ctx: Context) -> list[Path]:
        """The tool's own store(s) in the workspace, for the disk footprint."""
        return []

    # --- shared checks ---------------------------------------------------------------
    def baseline_match(self, ctx: Context) -> Outcome:
        if not self.retrieved:
            return Outcome("fail", "nothing was retrieved through the tool to compare")
        worst = 0.0
        missing = [key for key in ctx.baseline if key not in self.retrieved]
        for key, expected in ctx.baseline.items():
            got = self.retrieved.get(key)
            if got is None:
                continue
            for metric in ("rmse", "mae", "r2"):
                worst = max(worst, abs(float(got[metric]) - expected[metric]))
        numbers = {"points": len(ctx.baseline), "missing": len(missing), "max_abs_diff": worst}
        if missing:
            return Outcome(
                "fail", f"{len(missing)} grid point(s) missing from the tool's record: {', '.join(missing)}", numbers
            )
        if worst > TOLERANCE:
            return Outcome(
                "fail", f"largest difference from the plain baseline is {worst:.3g} (> {TOLERANCE:g})", numbers
            )
        return Outcome(
            "pass", f"all {len(ctx.baseline)} points equal the plain baseline (max |diff| {worst:.3g})", numbers
        )

    def invasiveness(self, ctx: Context) -> Outcome:
        plain = (EXAMPLE_DIR / "plain" / "train.py").read_text()
        folder = EXAMPLE_DIR / self.example
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
    def checks(self) -> list[tuple[str, Any]]:
        return [
            ("setup", self.setup),
            ("grid", self.grid),
            ("retrieve", self.retrieve),
            ("baseline_match", self.baseline_match),
            ("models", self.models),
            ("data_versioning", self.data_versioning),
            ("reproduce", self.reproduce),
            ("invasiveness", self.invasiveness),
            ("overhead", self.overhead),
        ]

    def run_exam(self, ctx: Context) -> str:
        """Run every check in order; return the result status ("passed" or "failed")."""
        failed = False
        blocked = ""
        for check_id, method in self.checks():
            start = time.perf_counter()
            if blocked and check_id not in ("invasiveness",):
                outcome = Outcome("skip", blocked)
            else:
                try:
                    if check_id == "grid":
                        outcome = method(ctx)
                        self.grid_seconds = time.perf_counter() - start
                    else:
                        outcome = method(ctx)
                except Exception as exc:  # a broken check is a result, not a crash
                    ctx.log(traceback.format_exc().rstrip())
                    outcome = Outcome("fail", f"{type(exc).__name__}: {exc}")
            if check_id in ("setup", "grid") and outcome.status == "fail":
                blocked = f"{check_id} failed"
            failed |= outcome.status == "fail"
            ctx.emitter.emit(
                "check",
                id=check_id,
                status=outcome.status,
                seconds=round(time.perf_counter() - start, 4),
                evidence=outcome.evidence,
                numbers=outcome.numbers,
            )
        for check_id in UNCONFIGURED:
            ctx.emitter.emit("check", id=check_id, status="skip", seconds=0.0, evidence="not configured", numbers={})
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
        _capture_output(emitter)

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
            ctx._prepare()
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
