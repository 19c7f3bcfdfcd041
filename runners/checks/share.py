"""A second user for the ``share`` check: another HOME, another identity, its own folder.

The second user lives in ``<workspace>/<name>/`` (HOME in ``<name>/home``), runs commands
with `run` as that user, and reaches the first user's work only through what the tool shares
(a git remote and a DVC remote, a tracking server, a datastore): its scripts get no path into
the first user's files. A script it runs (`script`) prints one JSON document on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mlops_compare.runners.context import Context

NAME = "user2"


class SecondUser:
    def __init__(self, ctx: Context, name: str = NAME, env: dict[str, str] | None = None):
        self.ctx = ctx
        self.name = name
        self.root = ctx.workspace / name
        self.home = self.root / "home"
        for folder in (self.home / ".cache", self.home / ".config", self.home / ".local" / "share", self.root / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        email = f"{name}@mlops-compare.invalid"
        self.env = {
            "HOME": str(self.home),
            "TMPDIR": str(self.root / "tmp"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "GIT_CONFIG_GLOBAL": str(self.home / ".gitconfig"),
            "USER": name,
            "LOGNAME": name,
            "USERNAME": name,
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            **(env or {}),
        }

    def run(self, argv: list[str], **kwargs: Any) -> str:
        """A command as the second user, in its folder unless *cwd* says otherwise."""
        kwargs.setdefault("cwd", self.root)
        return self.ctx.run(argv, env={**self.env, **kwargs.pop("env", {})}, **kwargs)

    def script(self, name: str, source: str, *args: str, cwd: Path | None = None, timeout: float = 120) -> Any:
        """Write *source* as ``<name>`` in the second user's folder, run it with this Python, parse its JSON."""
        path = self.root / name
        path.write_text(source)
        out = self.run([sys.executable, str(path), *args], cwd=cwd or self.root, output="capture", timeout=timeout)
        return json.loads(out.strip().splitlines()[-1])
