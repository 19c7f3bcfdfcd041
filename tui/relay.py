"""The relay server: a helper process that runs the runners for the TUI and forwards their events in batches.

``python -m mlops_compare.tui.relay`` is started by the TUI (`relay_client.RelayClient`)
on the first run; the two speak the messages of `relay_protocol` over the relay's stdin
and stdout. `RelayServer` drives each runner through the core launcher (`RunnerProcess`,
the same path as ``mlops-compare run``: own process group, own workspace, record saved to
the results store; with ``--executor slurm`` a `SlurmJob`, one batch job per runner) and does the per-line work here: reading the pipes and decoding every
JSON line. The TUI receives one message per runner every `FLUSH_SECONDS`, so a runner
printing 20,000 lines a second costs the UI process a few JSON parses a second, on
another core.

End of stdin (the TUI closed or died) cancels every run, waits for their records to be
saved and exits. A `Detach` (the TUI got SIGHUP) leaves a Slurm job running instead and
writes the detached run's state file, as ``mlops-compare run`` does on SIGHUP, so
``mlops-compare run --attach`` collects it later. Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import copy
import sys
from typing import Any

from mlops_compare import executors
from mlops_compare.executors import local as launcher
from mlops_compare.results import ACTIVE, RunRecord
from mlops_compare.store import Store
from mlops_compare.tui import relay_protocol as protocol

FLUSH_SECONDS = 0.05
MAX_LINES = 5_000  # per runner per flush: the TUI's log pane keeps no more than this anyway


class RelayServer:
    """The relay process's side: runs the runners the TUI asks for and reports on them."""

    def __init__(self, out=None) -> None:
        self.processes: dict[str, launcher.RunnerProcess] = {}
        self.tasks: set[asyncio.Task] = set()
        self.pending: dict[str, list[Any]] = {}
        self.started: dict[str, protocol.Run] = {}  # what each run was started with (its store, its executor)
        self.left: dict[str, list[dict[str, Any]]] = {}  # detached Slurm run id -> tickets of jobs left running
        self.out = out if out is not None else sys.stdout.buffer

    def send(self, message: protocol.FromRelay) -> None:
        self.out.write(protocol.encode(message))
        self.out.flush()

    def on_event(self, tool: str, event: dict[str, Any]) -> None:
        # a log line travels as its text, but the Slurm executor's job states keep their fields
        item = event.get("line", "") if event.get("type") == "log" and event.get("stream") != "slurm" else event
        self.pending.setdefault(tool, []).append(item)

    def flush(self) -> None:
        pending, self.pending = self.pending, {}
        for tool, items in pending.items():
            lines = sum(isinstance(i, str) for i in items)
            if lines > MAX_LINES:  # keep every event, and the newest lines
                skip = lines - MAX_LINES
                kept = []
                for item in items:
                    if isinstance(item, str) and skip:
                        skip -= 1
                        continue
                    kept.append(item)
                note = f"[{lines - MAX_LINES:,} lines not shown here; the results store has them all]"
                items = [note, *kept]
            self.send(protocol.Events(tool, items))

    async def flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()

    def start(self, command: protocol.Run) -> None:
        """Register the run at once, so a Cancel read right after it always finds it."""
        store = Store(command.store) if command.store else None
        # a local process, or a Slurm batch job (`mlops-compare tui --executor slurm`)
        process = executors.from_spec(command.executor).process(command.request(), self.on_event, store)
        self.processes[command.tool] = process
        self.started[command.tool] = command
        task = asyncio.ensure_future(self.run(process))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def run(self, process: launcher.RunnerProcess) -> None:
        tool = process.request.tool
        task = asyncio.ensure_future(process.run())
        # the launcher says when the runner's process group exists (or that it never will)
        started = asyncio.ensure_future(process.started.wait())
        await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if process.pgid is not None:
            self.send(protocol.Started(tool, process.pgid, process.token))
        elif job_id := getattr(process, "job_id", None):  # a Slurm job
            slurm_job: Any = process
            self.send(protocol.Submitted(tool, job_id, dict(slurm_job.options.env)))
        try:
            record: RunRecord = await task
        except asyncio.CancelledError:
            record = process.record
        except Exception as exc:  # e.g. the store could not write the record: still a result, never a hang
            record = process.record
            if record.status in ACTIVE:
                record.status = "error"
            note = f"not saved to the results store: {type(exc).__name__}: {exc}"
            record.reason = f"{record.reason}; {note}" if record.reason else note
        if self.processes.get(tool) is process:
            del self.processes[tool]
        if getattr(process, "left_running", False):
            self.keep_detached(process)
        self.flush()  # every event before the final record
        light = copy.copy(record)
        light.log = []  # the TUI shows the log from the events; the store has all of it
        self.send(protocol.Finished(tool, light))

    def cancel(self, command: protocol.Cancel) -> None:
        process = self.processes.get(command.tool)
        if process is not None:
            process.cancel(command.reason)  # before the process exists, the launcher does not start it

    def detach(self, command: protocol.Detach) -> None:
        """SIGHUP in the TUI: a Slurm job is left running (`keep_detached`); a local run is cancelled."""
        process = self.processes.get(command.tool)
        if process is None:
            return
        if hasattr(process, "detach"):
            process.detach()
        else:
            process.cancel(command.reason)

    def keep_detached(self, process: Any) -> None:
        """Write (again) the state file of the detached run *process* belongs to, with its ticket added."""
        from mlops_compare.executors import detached as slurm_runs

        command = self.started.get(process.request.tool)
        spec = (command.executor if command else None) or {}
        if command is None or not command.store or not spec.get("run"):
            return
        tickets = self.left.setdefault(spec["run"], [])
        tickets.append(slurm_runs.ticket(process))
        try:
            path = slurm_runs.save(Store(command.store), spec["run"], spec.get("options") or {}, tickets)
        except OSError as exc:  # still said on stderr; the jobs run on and their folders stay
            print(f"relay: could not write the detached run's state file: {exc}", file=sys.stderr, flush=True)
            return
        line = f"collect it with: mlops-compare run --attach {spec['run']} --store {command.store} (state file {path})"
        self.on_event(process.request.tool, {"type": "log", "stream": "stderr", "line": line})

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        flusher = asyncio.ensure_future(self.flusher())
        while line := await reader.readline():
            try:
                command = protocol.decode(line)
            except protocol.ProtocolError as exc:  # a bug on the TUI's side: said on stderr, not fatal
                print(f"relay: {exc}", file=sys.stderr, flush=True)
                continue
            if isinstance(command, protocol.Run):
                self.start(command)
            elif isinstance(command, protocol.Cancel):
                self.cancel(command)
            elif isinstance(command, protocol.Detach):
                self.detach(command)
        for tool in list(self.processes):  # the TUI is gone: stop everything, keep the records
            self.cancel(protocol.Cancel(tool, "mlops-compare was closed"))
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=launcher.KILL_GRACE * 2 + 5)
        flusher.cancel()
        launcher.kill_all()


def main() -> int:
    server = RelayServer()
    try:
        asyncio.run(server.serve())
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        launcher.kill_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
