"""Following a runner's events file while another machine appends to it (the Slurm executor's channel).

A batch job's runner writes its events with ``--events FILE`` on a shared file system; the
parent calls `EventTail.read` every poll interval and gets the events completed since the
last call. A line is only decoded once its newline is there, so a half-written line waits
for the next read. The file is opened anew on every read (NFS re-validates a file on open,
so appends from another node become visible). A file that shrank or was replaced is read
again from its start, with a log event saying so. `finish` also returns a last line without
its newline (a runner killed mid-write). Decoding never raises (`events.decode`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlops_compare import events

MAX_LINE = 1 << 20  # longer lines are cut, like the launcher's pipe reader does
CHUNK = 1 << 22  # at most this much per read, so one poll never stalls on a huge file


class EventTail:
    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.offset = 0  # bytes of the file consumed (complete lines and the buffer)
        self._buffer = b""  # the start of a line whose newline has not arrived yet
        self._dropping = False  # inside a line that was cut: skip up to its newline
        self._inode: int | None = None

    def read(self) -> list[dict[str, Any]]:
        """The events completed since the last call (empty when the file does not exist yet)."""
        out: list[dict[str, Any]] = []
        try:
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                if self._inode is not None and (info.st_ino != self._inode or info.st_size < self.offset):
                    out.append(self._restart(info.st_size))
                self._inode = info.st_ino
                handle.seek(self.offset)
                data = handle.read(CHUNK)
        except FileNotFoundError:
            return out
        except OSError as exc:  # e.g. a stale NFS handle: try again next time
            return [events.make("log", line=f"cannot read {self.path}: {exc}", stream="slurm")]
        self.offset += len(data)
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
            if self._dropping:
                self._dropping = False
                continue
            out.append(events.decode(line))
        if len(self._buffer) > MAX_LINE:
            if not self._dropping:
                out.append(events.decode(self._buffer[:MAX_LINE] + b" [line cut at 1 MiB]"))
            self._buffer, self._dropping = b"", True
        return out

    def finish(self) -> list[dict[str, Any]]:
        """Whatever is left, including a last line without a newline: the writer is gone."""
        out = self.read()
        if self._buffer and not self._dropping:
            out.append(events.decode(self._buffer))
        self._buffer, self._dropping = b"", False
        return out

    def _restart(self, size: int) -> dict[str, Any]:
        note = f"{self.path.name} was truncated or replaced (now {size} bytes, read {self.offset}): reading it again"
        self.offset, self._buffer, self._dropping = 0, b"", False
        return events.make("log", line=note, stream="slurm")
