"""The relay: a helper process that runs the runners for the TUI and forwards their events in batches.

``python -m mlops_compare.tui.relay`` is started by the TUI (see `relay_client`) on the
first run. It drives each runner through the core launcher (`RunnerProcess`, the same
path as ``mlops-compare run``: own process group, own workspace, record saved to the
results store) and does the per-line work there: reading the pipes and decoding every
JSON line. The TUI receives one line per runner every `FLUSH_SECONDS`, so a runner
printing 20,000 lines a second costs the UI process a few JSON parses a second, on
another core.

Protocol, JSON lines. TUI to relay (stdin)::

    {"op": "run", "tool": T, "runner": {"name", "module", "attr"}, "request": {...}, "store": DIR|null}
    {"op": "cancel", "tool": T, "reason": TEXT}

End of stdin (the TUI closed or died) cancels every run, waits for their records to be
saved and exits. Relay to TUI (stdout)::

    {"op": "started", "tool": T, "pgid": N, "token": RUN_TOKEN}
    {"op": "events", "tool": T, "items": [...]}   # an event dict, or a str: a log line's text
    {"op": "finished", "tool": T, "record": {...}}   # the RunRecord without its log

Nothing here imports Textual.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from mlops_compare import launcher
from mlops_compare.results import RunRecord
from mlops_compare.store import Store

FLUSH_SECONDS = 0.05
MAX_LINES = 5_000  # per runner per flush: the TUI's log pane keeps no more than this anyway


class Relay:
    def __init__(self) -> None:
        self.processes: dict[str, launcher.RunnerProcess] = {}
        self.tasks: set[asyncio.Task] = set()
        self.pending: dict[str, list[Any]] = {}
        self.out = sys.stdout.buffer

    def send(self, message: dict[str, Any]) -> None:
        self.out.write(json.dumps(message).encode() + b"\n")  # ASCII: even a lone surrogate travels safely
        self.out.flush()

    def on_event(self, tool: str, event: dict[str, Any]) -> None:
        item = event.get("line", "") if event.get("type") == "log" else event
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
            self.send({"op": "events", "tool": tool, "items": items})

    async def flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            self.flush()

    async def run(self, command: dict[str, Any]) -> None:
        tool = command["tool"]
        info = command.get("runner") or {}
        # the TUI's registry names the module, so both processes agree on what runs
        request = launcher.RunRequest(tool=tool, module=info.get("module"), **command["request"])
        if request.workdir is not None:
            request.workdir = Path(request.workdir)
        store = Store(command["store"]) if command.get("store") else None
        process = launcher.RunnerProcess(request, self.on_event, store)
        self.processes[tool] = process
        task = asyncio.ensure_future(process.run())
        while process.pgid is None and not task.done():
            await asyncio.sleep(0.01)
        if process.pgid is not None:
            self.send({"op": "started", "tool": tool, "pgid": process.pgid, "token": process.token})
        try:
            record: RunRecord = await task
        except asyncio.CancelledError:
            record = process.record
        except Exception as exc:  # e.g. the store could not write the record: still a result, never a hang
            record = process.record
            if record.status in ("idle", "starting", "running"):
                record.status = "error"
            note = f"not saved to the results store: {type(exc).__name__}: {exc}"
            record.reason = f"{record.reason}; {note}" if record.reason else note
        self.processes.pop(tool, None)
        self.flush()  # every event before the final record
        data = record.to_dict()
        data["log"] = []
        self.send({"op": "finished", "tool": tool, "record": data})

    def cancel(self, tool: str, reason: str) -> None:
        process = self.processes.get(tool)
        if process is not None:
            process.cancel(reason)  # before the process exists, the launcher does not start it

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 24)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        flusher = asyncio.ensure_future(self.flusher())
        while line := await reader.readline():
            command = json.loads(line)
            if command.get("op") == "run":
                task = asyncio.ensure_future(self.run(command))
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
            elif command.get("op") == "cancel":
                self.cancel(command["tool"], command.get("reason") or "cancelled by the user")
        for tool in list(self.processes):  # the TUI is gone: stop everything, keep the records
            self.cancel(tool, "mlops-compare was closed")
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=launcher.KILL_GRACE * 2 + 5)
        flusher.cancel()
        launcher.kill_all()


def main() -> int:
    relay = Relay()
    try:
        asyncio.run(relay.serve())
    except (BrokenPipeError, KeyboardInterrupt):
        pass
    finally:
        launcher.kill_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
