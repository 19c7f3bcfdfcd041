"""The event channel of a runner process: events out, and the process's own output turned into logs.

`Emitter` writes events (see `mlops_compare.events`) to the transport, stdout or a file a
batch scheduler's parent follows. `capture_output` points file descriptors 1 and 2 at a
pipe whose lines become ``log`` events, so a print or warning from a tool, or from any
subprocess that inherits them, reaches the parent as a log line and never corrupts the
channel.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, BinaryIO

from mlops_compare import events


class Emitter:
    """Writes events to the transport (a binary stream); safe to call from any thread."""

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._lock = threading.Lock()
        self.tool_lines: list[str] = []  # the tools' output so far (not the runner's own lines), for `cost`
        # Set while a check holds credentials the core does not know (a local S3 server's
        # throwaway keys): a `mlops_compare.infra.redaction.Redactor` applied to every event.
        self.redactor: Any = None

    def emit(self, kind: str, **fields: Any) -> None:
        if self.redactor is not None:
            fields = self.redactor.redact_obj(fields)
        line = events.encode(events.make(kind, **fields))
        with self._lock:
            self._stream.write(line)
            self._stream.flush()

    def log(self, line: str, stream: str = "runner") -> None:
        if stream != "runner":
            self.tool_lines.append(line)
        self.emit("log", line=line, stream=stream)


def capture_output(emitter: Emitter) -> None:
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
