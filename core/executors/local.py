"""Starting runners: separate processes, own process groups, own workspaces, asyncio.

`RunnerProcess` runs one runner and folds its events into a `RunRecord`; `run_many`
runs several, at most *jobs* at a time. Whatever happens (the tool is missing, the
runner crashes, hangs past its timeout or is cancelled) the caller gets a record with a
status and a reason; the whole process group is killed at the end, so nothing the runner
started (a tracking server, DVC queue workers, Metaflow tasks) outlives it.

The runner's environment points HOME, TMPDIR, the XDG folders and git's global config
into its workspace, and stops git from looking above it, so a tool cannot write to the
user's home, git config or repository.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_compare import events, registry
from mlops_compare.events import EventCallback
from mlops_compare.infra import proctree
from mlops_compare.infra.redaction import Redactor
from mlops_compare.infra.threads import limit as limit_threads
from mlops_compare.results import RunRecord
from mlops_compare.store import Store

KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
MAX_LINE = 1 << 20  # longer lines are cut (the rest is dropped, with a marker)
_LIVE_GROUPS: set[int] = set()
_LIVE_TOKENS: set[str] = set()
TOKEN_VAR = "MLOPS_COMPARE_RUN"  # every process a runner starts inherits it, whatever its group


@dataclass
class RunRequest:
    tool: str
    exam: dict[str, Any]
    python: str = sys.executable
    timeout: float | None = 900.0
    workdir: Path | None = None  # parent folder of the temporary workspace
    env: dict[str, str] | None = None  # extra environment for the runner (e.g. site-specific settings)
    module: str | None = None  # the runner module to start; default: the registry's entry for `tool`
    # The tool environment to run in (`mlops_compare.envs`): {"root": folder, "spec": Spec.to_dict(),
    # "error": message when it could not be made}; `python` becomes its interpreter. None: `python` as given.
    environment: dict[str, Any] | None = None
    # False: once the record is stored, the workspace is removed but for the files the record
    # points to (the ui check's screenshot); `mlops-compare run` and the TUI pass False unless
    # --keep-workspaces. True (the default here): kept, for tests and benchmarks that look inside.
    keep_workspace: bool = True
    # About how long this runner takes (the runner class's `typical_seconds`): orders a first run,
    # before the store holds a run of the tool (`longest_first`). None: unknown.
    typical_seconds: float | None = None


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def sweep(token: str) -> int:
    """SIGKILL every process whose environment carries this run's token; return how many.

    Some tools detach their helpers into new sessions (DVC's queue workers do), so the
    process group alone does not reach them; the inherited environment variable does.
    """
    return proctree.kill(proctree.with_env(TOKEN_VAR, token))


def kill_all() -> None:
    """Kill every runner process group and every process of a live run (called at exit)."""
    for pgid in list(_LIVE_GROUPS):
        kill_group(pgid)
        _LIVE_GROUPS.discard(pgid)
    for token in list(_LIVE_TOKENS):
        sweep(token)
        _LIVE_TOKENS.discard(token)


atexit.register(kill_all)


def runner_env(workspace: Path, python: str | None = None, threads: int = 1) -> dict[str, str]:
    """The environment of a runner: everything it may write to lives in *workspace*.

    With *python* the interpreter of a virtual environment (a tool environment), that
    environment's bin folder comes first on PATH, so the tool's commands (`dvc`, `jupyter`)
    are the environment's. Every process it starts gets *threads* BLAS/OpenMP threads
    (`infra.threads`), unless the user's environment says how many.
    """
    home = workspace / "home"
    tmp = workspace / "tmp"
    for folder in (home, tmp):
        folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    for key in list(env):
        if key.startswith(("MLFLOW_", "METAFLOW_", "DVC_", "GIT_")):
            del env[key]
    user_base = env.get("PYTHONUSERBASE") or str(Path.home() / ".local")
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        PYTHONUSERBASE=user_base,  # keep packages installed with --user importable
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CEILING_DIRECTORIES=str(workspace.parent),
        GIT_AUTHOR_NAME="mlops-compare",
        GIT_AUTHOR_EMAIL="runner@mlops-compare.invalid",
        GIT_COMMITTER_NAME="mlops-compare",
        GIT_COMMITTER_EMAIL="runner@mlops-compare.invalid",
        USER=env.get("USER") or "mlops-compare",
        DO_NOT_TRACK="1",
        DVC_NO_ANALYTICS="1",
        MLFLOW_DISABLE_TELEMETRY="true",
        NO_COLOR="1",
    )
    if python is not None and (Path(python).parent.parent / "pyvenv.cfg").is_file():
        folder = Path(python).parent
        env["PATH"] = os.pathsep.join([str(folder), env.get("PATH", os.defpath)])
        env["VIRTUAL_ENV"] = str(folder.parent)
    limit_threads(env, threads)
    return env


def tidy_workspace(workspace: Path, record: RunRecord) -> None:
    """Remove *workspace* but for the files *record*'s checks name as ``*screenshot`` (the report links them)."""
    root = workspace.resolve()
    keep = set()
    for check in record.checks.values():
        numbers = check.get("numbers") if isinstance(check, dict) else None
        for key, value in (numbers or {}).items():
            if str(key).endswith("screenshot") and isinstance(value, str) and value:
                path = (root / value).resolve()
                if path.is_relative_to(root) and path.is_file():
                    keep.add(path)
    if not keep:
        shutil.rmtree(workspace, ignore_errors=True)
        return
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files + [d for d in dirs if (Path(folder) / d).is_symlink()]:
            path = Path(folder) / name
            if path not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()
        with contextlib.suppress(OSError):
            if Path(folder) != root:
                Path(folder).rmdir()  # only when empty: the kept files' folders stay


class RunnerProcess:
    """One runner run. `await run()` returns its record; `cancel()` stops it from anywhere."""

    def __init__(self, request: RunRequest, on_event: EventCallback | None = None, store: Store | None = None):
        self.request = request
        self.on_event = on_event
        self.store = store
        self.record = RunRecord(tool=request.tool, python=request.python)
        # Every credential in the runner's environment is masked in every event, hence in the
        # record, the store, the TUI and reports (runner_env only adds non-secret variables).
        self._redactor = Redactor.from_env({**os.environ, **(request.env or {})})
        self.pgid: int | None = None
        self.token = uuid.uuid4().hex  # marks every process of this run (see `sweep`)
        self._stop_reason: tuple[str, str] | None = None  # (status, reason)
        self._proc: asyncio.subprocess.Process | None = None
        # Set once the runner's process exists (pgid known), or once the run ended without one:
        # an owner awaits it instead of polling.
        self.started = asyncio.Event()

    def _emit(self, event: dict[str, Any]) -> None:
        event = self._redactor.redact_obj(event)
        self.record.apply(event)
        if self.on_event is not None:
            self.on_event(self.request.tool, event)

    def _finish(self, status: str, reason: str) -> None:
        self.started.set()  # nobody waits for a start that will not come
        event = {"v": events.SCHEMA_VERSION, "type": "result", "status": status, "reason": reason}
        event.update(tool=self.request.tool, tool_version=self.record.tool_version)
        self._emit(event)

    def cancel(self, reason: str = "cancelled by the user", status: str = "cancelled") -> None:
        """Terminate the runner's whole process group; `run` then returns with *status*."""
        if self._stop_reason is None:
            self._stop_reason = (status, reason)
        if self.pgid is not None:
            kill_group(self.pgid, signal.SIGTERM)
            asyncio.get_running_loop().call_later(KILL_GRACE, kill_group, self.pgid)

    async def run(self) -> RunRecord:
        request = self.request
        self.record.start()
        if self._stop_reason is not None:  # cancelled before it started
            self._finish(*self._stop_reason)
            return self._save()
        module = request.module
        if module is None:
            runner = registry.available().get(request.tool)
            if runner is None:
                names = ", ".join(registry.available()) or "none"
                self._finish("error", f"no runner called {request.tool!r} (installed: {names})")
                return self._save()
            module = runner.module
        if request.environment is not None and not await self.environment():
            return self._save()
        if request.workdir is not None:
            Path(request.workdir).mkdir(parents=True, exist_ok=True)
        workspace = Path(tempfile.mkdtemp(prefix=f"mlops-compare-{request.tool}-", dir=request.workdir))
        self.record.workspace = str(workspace)
        argv = [request.python, "-m", module, "--exam", json.dumps(request.exam), "--workspace", str(workspace)]
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                cwd=workspace,
                env={**runner_env(workspace, request.python), **(request.env or {}), TOKEN_VAR: self.token},
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,  # its own session and process group
            )
        except OSError as exc:
            self._finish("unavailable", f"cannot start {request.python}: {exc.strerror or exc}")
            return self._save()
        self.pgid = self._proc.pid
        _LIVE_GROUPS.add(self.pgid)
        _LIVE_TOKENS.add(self.token)
        self.started.set()
        if self._stop_reason is not None:  # cancel() came while the process was being created
            kill_group(self.pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self._pump(), timeout=request.timeout)
            await self._proc.wait()
        except TimeoutError:
            self._stop_reason = ("timeout", f"timed out after {request.timeout:g} s")
            await self._stop()
        except asyncio.CancelledError:
            self._stop_reason = self._stop_reason or ("cancelled", "cancelled by the user (interrupted)")
            try:
                await self._stop()
            except asyncio.CancelledError:  # cancelled again while stopping: no more grace
                kill_group(self.pgid)
            self._conclude()
            self._tidy()
            raise
        finally:
            kill_group(self.pgid)  # leave nothing of the group behind,
            sweep(self.token)  # nor anything that left the group
            _LIVE_GROUPS.discard(self.pgid)
            _LIVE_TOKENS.discard(self.token)
        self._conclude()
        self._tidy()
        return self.record

    def _tidy(self) -> None:
        """Remove the finished run's workspace (unless the request keeps it), as `tidy_workspace` does."""
        if not self.request.keep_workspace and self.record.workspace:
            tidy_workspace(Path(self.record.workspace), self.record)

    async def environment(self) -> bool:
        """Find or build the request's tool environment, showing progress; False (record finished) when it failed.

        On success `request.python` (and the record's) is the environment's interpreter and the
        record holds the exact versions installed in it.
        """
        from mlops_compare import envs

        request = self.request
        assert request.environment is not None
        if request.environment.get("error"):  # found out before any runner started (`run`)
            self._finish("error", request.environment["error"])
            return False
        spec = envs.Spec.from_dict(request.environment["spec"])
        where = envs.Envs(request.environment["root"])
        env = where.find(spec)
        if env is None:
            loop = asyncio.get_running_loop()
            label = f"building environment ({len(spec.requirements)} requirements, uv)"
            self._emit(events.make("progress", k=0, n=1, label=label))

            def line(text: str) -> None:
                event = events.make("log", line=text, stream="env")
                loop.call_soon_threadsafe(self._emit, event)

            try:
                env = await asyncio.to_thread(where.ensure, spec, line)
            except envs.EnvError as exc:
                self._finish("error", envs.failure_reason(request.tool, spec, exc))
                return False
            except OSError as exc:
                self._finish("error", f"tool environment under {where.root}: {exc}")
                return False
        request.python = env.python
        self.record.python = env.python
        self._emit({"v": events.SCHEMA_VERSION, "type": "environment", **env.record()})
        return True

    async def _stop(self) -> None:
        assert self._proc is not None and self.pgid is not None
        kill_group(self.pgid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self._proc.wait(), timeout=KILL_GRACE)
        except TimeoutError:
            pass
        kill_group(self.pgid)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._proc.wait(), timeout=KILL_GRACE)

    def _conclude(self) -> None:
        if self._stop_reason is not None:
            self._finish(*self._stop_reason)
        elif not self.record.finished:
            code = self._proc.returncode if self._proc else None
            last = next((line for line in reversed(self.record.log) if line.strip()), "")
            if "No module named mlops_compare" in last or "No module named 'mlops_compare" in last:
                python = self.request.python
                last = f"mlops-compare is not installed for {python}: {python} -m pip install mlops-compare"
            self._finish(
                "error", f"runner exited with code {code} before reporting a result" + (f": {last}" if last else "")
            )
        self._save()

    def _save(self) -> RunRecord:
        if self.store is not None:
            # a store that fails now (a full disk) keeps the record next to the workspace and
            # lists it in `store.unsaved`: the other runners' records are still saved
            self.store.save_or_keep(self.record)
        return self.record

    async def _pump(self) -> None:
        """Read the event channel line by line, cutting absurdly long lines."""
        assert self._proc is not None and self._proc.stdout is not None
        stream = self._proc.stdout
        buffer = b""
        dropping = False
        while chunk := await stream.read(1 << 16):
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0:
                line, buffer = buffer[:end], buffer[end + 1 :]
                if dropping:
                    dropping = False
                    continue
                self._emit(events.decode(line))
            if len(buffer) > MAX_LINE:
                self._emit(events.decode(buffer[:MAX_LINE] + b" [line cut at 1 MiB]"))
                buffer, dropping = b"", True
        if buffer and not dropping:
            self._emit(events.decode(buffer))


def longest_first(requests: list[RunRequest], store: Store | None, jobs: int = 2) -> list[int]:
    """Indices of *requests* in the order to start them (`start_order` of their tools)."""
    return start_order([r.tool for r in requests], store, jobs, {r.tool: r.typical_seconds for r in requests})


def start_order(
    tools: list[str], store: Store | None, jobs: int = 2, typical: Mapping[str, float | None] | None = None
) -> list[int]:
    """Indices of *tools* in the order to start them: longest first, by the wall seconds of
    each tool's newest stored run, else by the runner's own figure in *typical* (a first run:
    `Runner.typical_seconds`); a tool with neither starts first, in the given order.

    With fewer slots than runners, a long runner started last decides when the whole run
    ends; longest first packs the slots about evenly. One slot per runner: the given order.
    """
    if jobs >= len(tools) or len(tools) < 2:
        return list(range(len(tools)))
    last: dict[str, float] = {}
    if store is not None:
        try:
            last = {tool: record.seconds for tool, record in store.latest().items()}
        except (OSError, ValueError):
            last = {}
    typical = typical or {}

    def expected(tool: str) -> float:
        seconds = last.get(tool, typical.get(tool))
        return float("inf") if seconds is None else seconds

    return sorted(range(len(tools)), key=lambda i: -expected(tools[i]))


async def run_many(
    requests: list[RunRequest],
    jobs: int = 2,
    on_event: EventCallback | None = None,
    store: Store | None = None,
    on_start: Callable[[RunnerProcess], None] | None = None,
    factory: Callable[[RunRequest, EventCallback | None, Store | None], RunnerProcess] = RunnerProcess,
) -> list[RunRecord]:
    """Run *requests*, at most *jobs* at once; records come back in request order.

    They start longest first by the store's last run of each tool (`longest_first`), so the
    longest runner does not start last and hold up the end. *factory* makes each run:
    `RunnerProcess` here, or an executor's (e.g. a Slurm batch job).
    """
    gate = asyncio.Semaphore(max(1, jobs))
    processes = [factory(r, on_event, store) for r in requests]

    async def one(process: RunnerProcess) -> RunRecord:
        async with gate:
            if on_start is not None:
                on_start(process)
            return await process.run()

    # the gate lets tasks in in the order they were created
    by_index = {i: asyncio.ensure_future(one(processes[i])) for i in longest_first(requests, store, jobs)}
    tasks = [by_index[i] for i in range(len(processes))]
    try:
        return list(await asyncio.gather(*tasks))
    except asyncio.CancelledError:
        # gather has cancelled every task already; let them stop their runners and conclude
        await asyncio.gather(*tasks, return_exceptions=True)
        for process in processes:
            if not process.record.finished:
                started = process.record.status != "idle"
                process._finish(
                    "cancelled", "cancelled by the user (interrupted)" if started else "cancelled before it started"
                )
                if not started:
                    process._save()
        raise
