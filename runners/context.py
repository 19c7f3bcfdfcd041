"""What a runner's checks get: the workspace, the exam, the plain baseline, and ways to report.

`Context.run` is the one way a runner runs a tool's command: its output becomes ``log``
events line by line (or is captured, for a command that prints data such as JSON), every
call can have a timeout, and a failure raises with the command's last lines, which the
check then reports as its evidence.

The plain baseline (example/plain/train.py over the grid, in-process) is computed in the
workspace before any check, so `baseline_match` and `overhead` compare every tool with
the same numbers and the same clock.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_compare.example import common
from mlops_compare.runners.channel import Emitter

EXAMPLE_DIR = Path(common.__file__).parent


@dataclass
class Outcome:
    """What a check found: status (pass/partial/fail/skip), evidence text, numbers."""

    status: str
    evidence: str
    numbers: dict[str, Any] = field(default_factory=dict)


class CommandError(RuntimeError):
    """A tool command failed or timed out; the message carries its last lines."""

    def __init__(self, message: str, timed_out: bool = False):
        super().__init__(message)
        self.timed_out = timed_out


class Context:
    def __init__(self, workspace: Path, exam: dict[str, Any], emitter: Emitter):
        self.workspace = workspace
        self.exam = exam
        self.emitter = emitter
        self.points = common.grid_points(exam["grid"])
        self.baseline: dict[str, dict[str, float]] = {}
        self.dataset: dict[str, Any] = {}
        self.plain_grid_seconds: dict[str, float] = {}
        # time.monotonic() by which a check must be done (set by a check with a budget, e.g.
        # remote_storage): `run` cuts every command's timeout to what is left
        self.deadline: float | None = None

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
        self,
        argv: list[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str | None] | None = None,
        check: bool = True,
        timeout: float | None = None,
        output: str = "stream",
        on_line: Callable[[str], None] | None = None,
    ) -> str:
        """Run a command in the workspace and return its output.

        output:
            "stream"  each line becomes a log event as it comes (and *on_line* sees it);
            "capture" stdout is returned, not logged (data such as JSON); stderr is logged;
            "file"    output goes through a file and is logged when the command ends: for
                      commands whose forked children keep a pipe open after they exit
                      (``dvc queue start``).
        A timeout kills the command and raises `CommandError`, as a non-zero exit does when
        *check* is true.
        """
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise CommandError(f"`{shlex.join(argv[:4])}` not started: the check's time budget is spent", True)
            timeout = left if timeout is None else min(timeout, left)
        self.log("$ " + shlex.join(argv))
        kwargs: dict[str, Any] = {
            "cwd": cwd or self.workspace,
            # a value of None removes the variable (e.g. credentials a client must do without)
            "env": {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None},
            "stdin": subprocess.DEVNULL,
        }
        if output == "capture":
            try:
                proc = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=timeout, **kwargs)
            except subprocess.TimeoutExpired:
                raise CommandError(f"`{shlex.join(argv[:4])}` timed out after {timeout:g} s", timed_out=True) from None
            for line in proc.stderr.splitlines():
                self.emitter.log(line, stream="stderr")
            code, text, tail = proc.returncode, proc.stdout, proc.stderr.splitlines()[-3:]
        elif output == "file":
            out = self.workspace / "tmp" / f"command-{time.monotonic_ns()}.out"
            out.parent.mkdir(parents=True, exist_ok=True)
            with open(out, "wb") as handle:
                try:
                    code = subprocess.run(
                        argv, stdout=handle, stderr=subprocess.STDOUT, timeout=timeout, **kwargs
                    ).returncode
                except subprocess.TimeoutExpired:
                    code = None
            text = out.read_text(errors="replace")
            for line in text.splitlines():
                self.emitter.log(line, stream="stdout")
            tail = text.splitlines()[-3:]
            if code is None:
                raise CommandError(
                    f"`{shlex.join(argv[:4])}` timed out after {timeout:g} s: {' | '.join(tail)}", timed_out=True
                )
        else:
            code, text, tail = self._stream(argv, kwargs, timeout, on_line)
        if check and code != 0:
            raise CommandError(f"`{shlex.join(argv[:4])}` exited with {code}: {' | '.join(tail)}")
        return text

    def _stream(self, argv, kwargs, timeout, on_line) -> tuple[int | None, str, list[str]]:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kwargs)
        timer = threading.Timer(timeout, proc.kill) if timeout else None
        if timer is not None:
            timer.start()
        lines = []
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                lines.append(line)
                self.emitter.log(line, stream="stdout")
                if on_line is not None:
                    on_line(line)
            code = proc.wait()
        finally:
            if timer is not None:
                timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if timer is not None and timer.finished.is_set() and code < 0:
            tail = " | ".join(lines[-3:])
            raise CommandError(f"`{shlex.join(argv[:4])}` timed out after {timeout:g} s: {tail}", timed_out=True)
        return code, "\n".join(lines), lines[-3:]

    def copy_example(self, folder: str | Path) -> list[str]:
        """Copy an example folder and ``common.py`` into the workspace; return file names.

        *folder* is a folder name under this project's ``example/``, or a path: a plugin's
        own example folder (`Runner.example_dir`). ``common.py`` always comes from here.
        """
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
        assert spec is not None and spec.loader is not None, path
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    # --- the plain baseline ----------------------------------------------------------
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

    def prepare(self) -> None:
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


@contextlib.contextmanager
def cleanup_on_term(cleanup: Callable[[], object]) -> Iterator[None]:
    """Run *cleanup* when the block ends, and also when SIGTERM arrives (the core's cancel or timeout).

    For what lives outside the runner's process group (Slurm jobs, a tool's daemon): a SIGTERM
    handler already installed runs first, then *cleanup*, then the process exits 128 + signal.
    """
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        try:
            if callable(previous):
                previous(signum, frame)
        finally:
            cleanup()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        cleanup()
