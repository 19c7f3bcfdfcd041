"""Running mlops-compare as an unprivileged account, the way a cluster's users run it.

`.ci/user-setup` (called by `.ci/setup`) creates the account (default ``mlopsuser``,
``MLOPS_COMPARE_TEST_USER`` to change) with the project in its own venv (~/venvs/mc). Tests started as
root run commands as that account with ``runuser -u USER --`` and a clean environment: its
own HOME and USER, the machine's certificate and index settings passed through (an account
made with useradd does not inherit them), Slurm reached through SLURM_CONF.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import SHIPPED

USER = os.environ.get("MLOPS_COMPARE_TEST_USER", "mlopsuser")
PASS_PREFIXES = ("SSL_CERT_", "PIP_", "UV_")
PASS_SUFFIXES = ("_CA_BUNDLE",)
PASS_NAMES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


class User:
    def __init__(self, name: str):
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.gid, self.home = name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir)
        self.venv = self.home / "venvs" / "mc"  # where the README installs it
        self.command = self.venv / "bin" / "mlops-compare"
        self.source = self.home / "mlops-compare"

    @property
    def envs(self) -> str:
        """The tool environments prepared by .ci/user-setup, else none (the venv's interpreter)."""
        prepared = self.home / "envs"
        return str(prepared) if prepared.is_dir() else "none"

    def env(self, extra: Mapping[str, str] | None = None) -> list[str]:
        """`env -i` arguments: a clean environment as a fresh login would have, plus *extra*."""
        passed = {
            k: v
            for k, v in os.environ.items()
            if k.startswith(PASS_PREFIXES) or k.endswith(PASS_SUFFIXES) or "CA_CERTS" in k or k in PASS_NAMES
        }
        base = {
            "HOME": str(self.home),
            "USER": self.name,
            "LOGNAME": self.name,
            "PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "MLOPS_COMPARE_ENVS": self.envs,
        }
        return [f"{k}={v}" for k, v in {**passed, **base, **(extra or {})}.items()]

    def argv(self, argv: list[str], extra: Mapping[str, str] | None = None) -> list[str]:
        return ["runuser", "-u", self.name, "--", "env", "-i", *self.env(extra), *argv]

    def run(self, argv: list[str], *, cwd: Path, extra=None, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(argv, extra), cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )

    def popen(self, argv: list[str], *, cwd: Path, extra=None) -> subprocess.Popen:
        return subprocess.Popen(
            self.argv(argv, extra),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def folder(self, prefix: str) -> Path:
        """A new folder under /tmp owned by the account (its workspace, store and shared path)."""
        path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
        os.chown(path, self.uid, self.gid)
        path.chmod(0o755)
        return path


def require_user() -> User:
    """The account of .ci/user-setup; skipped when missing (failed in CI) or when not root."""
    if os.geteuid() != 0:
        pytest.skip("runs commands as the test account through runuser: needs root (CI runs as root)")
    try:
        user = User(USER)
    except KeyError:
        user = None
    if user is None or not user.command.exists():
        why = f"no account {USER!r} with mlops-compare in ~/venvs/mc: run `bash .ci/user-setup` as root"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the tests as a user, but {why}", pytrace=False)
        pytest.skip(why)
    return user


def criteria(user: User, folder: Path, *, points: int = 2, hpc: bool = False) -> Path:
    text = SHIPPED.read_text()
    alphas = ", ".join(f"{0.5 * i / max(points - 1, 1):.4f}" for i in range(points))
    text = re.sub(r"(?m)^alpha = .*$", f"alpha = [{alphas}]", text, count=1)
    text = re.sub(r"(?m)^l1_ratio = .*$", "l1_ratio = [0.5]", text, count=1)
    if hpc:
        text = re.sub(r"(?m)^# \[exam\.hpc\]$", "[exam.hpc]\npoll_seconds = 0.5", text, count=1)
        assert "\n[exam.hpc]\n" in text
    path = folder / "criteria.toml"
    path.write_text(text)
    os.chown(path, user.uid, user.gid)
    return path


def run_argv(user: User, folder: Path, crit: Path, *more: str) -> list[str]:
    store, work = folder / "store", folder / "work"
    return [str(user.command), "run", "--criteria", str(crit), "--store", str(store), "--workdir", str(work), *more]
