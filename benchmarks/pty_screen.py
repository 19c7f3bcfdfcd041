"""A program in a pseudo-terminal and a tiny screen model of what it drew, for the TUI benchmarks.

`PtyApp` starts a command on a pty of a given size (its controlling terminal, as over
SSH) and keeps reading its output into `Screen`, which understands just what Textual
writes: cursor moves (CSI row;col H), erases and text; colours and modes are ignored.
That is enough to ask "is this text on screen yet?" with the time it appeared.
"""

from __future__ import annotations

import codecs
import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
import unicodedata
from collections.abc import Callable

_TOKEN = re.compile(
    r"\x1b\[([0-9;?<=>]*)([ -/]*)([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[^\[\]()]"
)


# East Asian wide and fullwidth characters (and emoji) take two cells; anything else one
_WIDE = re.compile(
    "[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\U0001f300-\U0001faff\U00020000-\U0003fffd]"
)


class Screen:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.rows = [[" "] * width for _ in range(height)]
        self.x = self.y = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""

    def feed(self, data: bytes) -> None:
        text = self._pending + self._decoder.decode(data)
        self._pending = ""
        cut = text.rfind("\x1b")
        if cut != -1 and not _TOKEN.match(text, cut):  # an escape sequence cut in two: finish it next time
            text, self._pending = text[:cut], text[cut:]
        pos = 0
        for match in _TOKEN.finditer(text):
            self._text(text[pos : match.start()])
            if match.group(3):
                self._csi(match.group(1), match.group(3))
            pos = match.end()
        self._text(text[pos:])

    def _text(self, text: str) -> None:
        if not text:
            return
        if "\r" not in text and "\n" not in text and not _WIDE.search(text):
            # the common case (Textual positions every run of text): one slice assignment
            if 0 <= self.y < self.height and self.x < self.width:
                end = min(self.width, self.x + len(text))
                self.rows[self.y][self.x : end] = text[: end - self.x]
            self.x += len(text)
            return
        for char in text:
            if char == "\r":
                self.x = 0
            elif char == "\n":
                self.y = min(self.y + 1, self.height - 1)
            elif char >= " ":
                if 0 <= self.y < self.height and 0 <= self.x < self.width:
                    self.rows[self.y][self.x] = char
                self.x += 2 if unicodedata.east_asian_width(char) in "WF" else 1

    def _csi(self, params: str, final: str) -> None:
        numbers = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params and params[0] != "?" else []
        if final in "Hf":
            row = numbers[0] if numbers and numbers[0] else 1
            col = numbers[1] if len(numbers) > 1 and numbers[1] else 1
            self.y, self.x = min(row, self.height) - 1, min(col, self.width) - 1
        elif final == "J" and numbers[:1] == [2]:
            self.rows = [[" "] * self.width for _ in range(self.height)]
        elif final == "K":
            for x in range(self.x, self.width):
                self.rows[self.y][x] = " "

    def lines(self) -> list[str]:
        return ["".join(row) for row in self.rows]

    def text(self) -> str:
        return "\n".join(self.lines())


class PtyApp:
    def __init__(self, argv: list[str], width: int = 80, height: int = 24, cwd=None, env=None):
        self.screen = Screen(width, height)
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        env = {**(env or os.environ), "TERM": "xterm-256color", "COLUMNS": str(width), "LINES": str(height)}

        def controlling_tty() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, preexec_fn=controlling_tty
        )
        os.close(slave)
        self.master = master
        self.bytes_read = 0

    def pump(self, timeout: float = 0.01) -> bool:
        """Read what is there (waiting up to *timeout*); False once the program closed the pty."""
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.master, 1 << 16)
        except OSError:
            return False
        if not data:
            return False
        self.bytes_read += len(data)
        self.screen.feed(data)
        return True

    def wait_for(self, condition: Callable[[Screen], bool], timeout: float = 30.0) -> float:
        """Seconds until *condition* holds for the screen (reading all the while)."""
        start = time.perf_counter()
        while not condition(self.screen):
            if time.perf_counter() - start > timeout:
                raise TimeoutError("the screen never showed what was expected:\n" + self.screen.text())
            if not self.pump(0.005):
                raise RuntimeError("the program ended:\n" + self.screen.text())
        return time.perf_counter() - start

    def send(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self, timeout: float = 10.0) -> int | None:
        deadline = time.perf_counter() + timeout
        while self.proc.poll() is None and time.perf_counter() < deadline:
            self.pump(0.01)
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)
        return self.proc.returncode
