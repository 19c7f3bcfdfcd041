"""Tool environments: one virtual environment per requirement set, built with uv, reused after.

The comparer itself installs light (no MLOps tool in its own requirements); each runner runs
with the interpreter of an environment that holds exactly its tool and what its checks need
(`Runner.exam_requirements + Runner.requirements`, or ``[tool.NAME] requires``), plus the
runner code installed without its dependencies (editable from the source folder when
mlops-compare or the plugin was installed from one, else ``name==version`` from the index).

- **Keyed**: sha256 of the sorted requirement set, the Python version and the identity of the
  runner code; the folder is ``<root>/<key>``. Root: ``$MLOPS_COMPARE_ENVS``, else
  ``[exam] envs``, else ``$XDG_CACHE_HOME/mlops-compare/envs`` (``~/.cache/...``).
- **Complete or absent**: an environment is built in ``<root>/.build-<key>-<pid>`` (with
  ``uv venv --relocatable``, so its scripts survive the move) and renamed into place once
  ``uv pip freeze`` and its mark file are written. A build interrupted half way leaves only a
  ``.build-*`` folder, which the next build of that key removes.
- **Locked**: ``fcntl.flock`` on ``<root>/.locks/<key>.lock`` around a build, so two runs (two
  terminals, two login nodes on a shared file system) never build the same one at once; the
  second waits and reuses the first's.
- **Made from** ``$MLOPS_COMPARE_PYTHON`` (a path or a name on PATH: a site's or the
  distribution's Python 3.11+) when set, else the interpreter mlops-compare runs in
  (`base_python`). The key holds its version, not its path.
- **Read-only reuse**: finding a complete environment writes nothing (its last-use stamp is
  best effort), so a root prepared by someone else can be read-only.
- **Seeded**: a new environment starts as hard links of the complete one in the same root,
  made from the same Python, whose requirements are the largest subset of the new set (plain's
  exam set is in every tool's): the donor's runner code is uninstalled, then ``uv pip install``
  adds what is missing and compiles only files without current bytecode. The packages both
  hold stay at the donor's versions, so the tools' environments share numpy, pandas and
  scikit-learn; the mark file names the donor (``seeded_from``). ``fresh`` (``envs --prepare
  --fresh``) builds from nothing instead. uv links its cache into environments the same way;
  every later write (uv, compileall) replaces files, so the donor never changes.

`uv` comes from the ``uv`` distribution on the package index (`uv.find_uv_bin`).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

ENV_VAR = "MLOPS_COMPARE_ENVS"
MARK = "mlops-compare-env.json"  # written last: its presence makes an environment complete
FREEZE = "freeze.txt"  # `uv pip freeze` of the environment
LAST_USE = ".last-use"
SIZE = ".size"  # bytes of the environment, kept after the first walk (the listing)
BUILD_PREFIX = ".build-"
LOCKS = ".locks"
PREPARE_HINT = "mlops-compare envs --prepare"
BUILD_TIMEOUT = 1800.0

Line = Callable[[str], None]

# uv's words for "the index could not be reached" (as opposed to "no version fits").
_NETWORK = re.compile(
    r"dns error|failed to lookup address|connection refused|tcp connect error|error sending request|"
    r"network is unreachable|timed out|operation timed out|could not connect|network was disabled|"
    r"failed to fetch|connection reset|no route to host",
    re.IGNORECASE,
)
_RESOLVER = re.compile(
    r"no solution found|unsatisfiable|not found in the package registry|no matching distribution", re.I
)


class EnvError(Exception):
    """An environment could not be made. kind: "unwritable", "network", "resolve" or "build"."""

    def __init__(self, kind: str, message: str, path: Path | None = None):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.path = path


def disabled() -> bool:
    """``MLOPS_COMPARE_ENVS=none``: every runner runs with mlops-compare's own interpreter."""
    return os.environ.get(ENV_VAR, "").strip().lower() in ("none", "off", "0")


def default_root() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "mlops-compare" / "envs"


def root_for(configured: str | None = None, base: Path | None = None) -> Path:
    """Where environments live: $MLOPS_COMPARE_ENVS, else *configured* ([exam] envs), else the cache folder."""
    chosen = os.environ.get(ENV_VAR) or configured
    if not chosen:
        return default_root()
    path = Path(chosen).expanduser()
    if not path.is_absolute() and base is not None:
        path = base / path
    return path.absolute()


def uv_bin() -> str:
    """The uv executable of the `uv` distribution (a dependency of mlops-compare), else one on PATH."""
    try:
        import uv

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
        raise EnvError(
            "build", "uv is not installed: pip install uv (mlops-compare needs it to build tool environments)"
        ) from None


# --- what goes into an environment ----------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The runner code installed into an environment without its dependencies."""

    dist: str  # the distribution, e.g. "mlops-compare" or a plugin's
    version: str
    install: tuple[str, ...]  # `uv pip install --no-deps` arguments
    identity: str  # changes when the installed code may differ (part of the key)

    def to_dict(self) -> dict[str, Any]:
        return {"dist": self.dist, "version": self.version, "install": list(self.install), "identity": self.identity}


def source_of(dist_name: str) -> Source:
    """How to put *dist_name*'s code into a tool environment, read from its installed metadata (PEP 610)."""
    # The first installed copy that says where it came from (a source tree's own egg-info,
    # importable from the current folder, says nothing).
    found = list(metadata.distributions(name=dist_name))
    if not found:
        raise EnvError("build", f"the runner's distribution {dist_name!r} is not installed")
    dist = next((d for d in found if d.read_text("direct_url.json")), found[0])
    name, version = dist.metadata["Name"], dist.version
    direct = dist.read_text("direct_url.json")
    if direct:
        with contextlib.suppress(ValueError, KeyError):
            info = json.loads(direct)
            url = urlparse(info["url"])
            if url.scheme == "file":
                path = unquote(url.path)
                editable = bool((info.get("dir_info") or {}).get("editable"))
                if not os.path.exists(path):
                    raise EnvError(
                        "build",
                        f"{name} {version} was installed from {path}, which is no longer there: its runner code "
                        "cannot go into a tool environment; install it again from where it is now "
                        f"(pip install {'-e ' if editable else ''}NEW_FOLDER)",
                    )
                if editable:
                    # the code is the folder itself: edits show up in every environment at once
                    return Source(name, version, ("-e", path), f"editable:{path}:{version}")
                record = hashlib.sha256((dist.read_text("RECORD") or "").encode()).hexdigest()[:16]
                return Source(name, version, (path,), f"local:{path}:{version}:{record}")
    return Source(name, version, (f"{name}=={version}",), f"index:{name}=={version}")


PYTHON_VAR = "MLOPS_COMPARE_PYTHON"
_PYTHON_HINT = f"{PYTHON_VAR} must name a Python 3.11+ (or leave it unset: mlops-compare's own interpreter)"
MIN_PYTHON = (3, 11)  # the runner code's (pyproject's requires-python)


def base_python() -> str:
    """The interpreter tool environments are made from: $MLOPS_COMPARE_PYTHON, else mlops-compare's own.

    A site's or the distribution's build may run the tools faster than the interpreter
    mlops-compare was installed with (Debian's python3.11 is built with PGO and LTO; a
    pyenv build by default is not: 7-8 % less CPU for the exam here, README). A name on
    PATH or a path; one that is not there or not Python 3.11+ is the user's mistake (exit 2).
    """
    chosen = os.environ.get(PYTHON_VAR, "").strip()
    if not chosen:
        return sys.executable
    found = shutil.which(os.path.expanduser(chosen))
    if found is None:
        from mlops_compare.errors import UserError

        raise UserError(
            f"{PYTHON_VAR}={chosen}: no such interpreter; give the path of a Python 3.11+ "
            f"(e.g. /usr/bin/python3) or unset it to use mlops-compare's own ({sys.executable})"
        )
    python_version(found)  # says what is wrong with it now, not at the first build
    return found


def python_version(python: str | None = None) -> str:
    if python is None or python == sys.executable:
        return f"{platform.python_implementation().lower()}-{platform.python_version()}"
    return _other_python_version(python)


@functools.cache
def _other_python_version(python: str) -> str:
    """'cpython-3.11.2' of another interpreter (asked once per process); UserError if it is no Python 3.11+."""
    from mlops_compare.errors import UserError

    ask = "import platform, sys; print(platform.python_implementation().lower(), *sys.version_info[:3])"
    try:
        out = subprocess.run([python, "-c", ask], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UserError(f"{python}: cannot run it as the tool environments' Python ({exc}); {_PYTHON_HINT}") from None
    words = out.stdout.split()
    if out.returncode != 0 or len(words) != 4 or not all(w.isdigit() for w in words[1:]):
        lines = [line.strip() for line in out.stderr.splitlines() if line.strip()] or ["no version printed"]
        said = lines[-1] if lines[0].startswith("Traceback") else lines[0]  # Python's last line, a shell's first
        raise UserError(f"{python}: not a Python interpreter that runs ({said}); {_PYTHON_HINT}")
    version = tuple(int(w) for w in words[1:])
    if version[:2] < MIN_PYTHON:
        raise UserError(
            f"{python}: Python {'.'.join(words[1:])}; the tool environments need Python "
            f"{'.'.join(map(str, MIN_PYTHON))} or newer (mlops-compare's runner code runs in them)"
        )
    return f"{words[0]}-{'.'.join(words[1:])}"


def _canonical(requirement: str) -> str:
    return " ".join(requirement.split())


@dataclass(frozen=True)
class Spec:
    """One environment's recipe: requirements, the Python it is made from, and the runner code."""

    requirements: tuple[str, ...]
    sources: tuple[Source, ...]  # mlops-compare's runner code, and a plugin's
    python: str = sys.executable  # the interpreter the venv is made from
    python_version: str = ""

    @classmethod
    def make(cls, requirements: Iterable[str], sources: Iterable[Source], python: str = sys.executable) -> Spec:
        reqs = tuple(sorted({_canonical(r) for r in requirements if r.strip()}, key=str.lower))
        return cls(reqs, tuple(sources), python, python_version(python))

    @property
    def identity(self) -> str:
        return " + ".join(source.identity for source in self.sources)

    @property
    def key(self) -> str:
        blob = json.dumps(
            {"requirements": list(self.requirements), "python": self.python_version, "source": self.identity},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    def describe(self) -> str:
        return ", ".join(self.requirements) or "(no requirements)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirements": list(self.requirements),
            "sources": [source.to_dict() for source in self.sources],
            "python": self.python,
            "python_version": self.python_version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Spec:
        sources = tuple(Source(s["dist"], s["version"], tuple(s["install"]), s["identity"]) for s in data["sources"])
        return cls(tuple(data["requirements"]), sources, data.get("python") or sys.executable, data["python_version"])


@dataclass
class Env:
    """A complete environment."""

    path: Path
    meta: dict[str, Any] = field(default_factory=dict)
    built: bool = False  # built by this call (else reused)
    seconds: float = 0.0  # to build or to find

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    @property
    def bin(self) -> str:
        return str(self.path / "bin")

    @property
    def key(self) -> str:
        return self.path.name

    def freeze(self) -> str:
        try:
            return (self.path / FREEZE).read_text()
        except OSError:
            return ""

    def versions(self) -> dict[str, str]:
        """{distribution: version or how it was installed} from the stored `uv pip freeze`."""
        out = {}
        for line in self.freeze().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if "==" in line:
                name, _, version = line.partition("==")
                out[name.strip()] = version.strip()
            elif " @ " in line:
                name, _, where = line.partition(" @ ")
                out[name.strip()] = where.strip()
            elif line.startswith("-e "):
                where = line[3:].strip()
                sources = self.meta.get("sources", [])
                source: dict[str, Any] = next((s for s in sources if where.endswith(s["install"][-1])), {})
                out[source.get("dist") or where] = f"{source.get('version', '')} (editable {where})"
        return out

    def record(self) -> dict[str, Any]:
        """What a run record keeps of the environment it ran in."""
        return {
            "key": self.key,
            "path": str(self.path),
            "requirements": self.meta.get("requirements", []),
            "python_version": self.meta.get("python_version", ""),
            "sources": [s.get("identity", "") for s in self.meta.get("sources", [])],
            "built_at": self.meta.get("built_at", ""),
            "build_seconds": self.meta.get("build_seconds"),
            "built": self.built,
            "seconds": round(self.seconds, 3),
            "versions": self.versions(),
        }

    def size(self) -> int:
        """Bytes on disk: walked once, then kept beside the environment, which does not change once built.

        Listing 60 environments by walking them took 14 s, 0.4 s with the kept figures. Best
        effort, like the last-use stamp: a read-only folder is walked each time. Not walked at
        build time, where it would add ~1 s to every new environment.
        """
        kept = self.path / SIZE
        with contextlib.suppress(OSError, ValueError):
            return int(kept.read_text())
        total = _walk_size(self.path)
        with contextlib.suppress(OSError):
            kept.write_text(f"{total}\n")
        return total

    def last_use(self) -> float:
        for name in (LAST_USE, MARK):
            with contextlib.suppress(OSError):
                return (self.path / name).stat().st_mtime
        return 0.0


def _walk_size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, name)).st_size
    return total


class Envs:
    """The environments under one root folder."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    # --- finding ---------------------------------------------------------------------
    def find(self, spec: Spec) -> Env | None:
        """The complete environment for *spec*, or None; writes nothing (the root may be read-only)."""
        start = time.perf_counter()
        env = self._load(self.root / spec.key)
        if env is None:
            return None
        env.seconds = time.perf_counter() - start
        with contextlib.suppress(OSError):  # best effort: a read-only root stays as it is
            (env.path / LAST_USE).touch()
        return env

    def _load(self, path: Path) -> Env | None:
        try:
            meta = json.loads((path / MARK).read_text())
        except (OSError, ValueError):
            return None
        if not (path / "bin" / "python").exists():
            return None
        return Env(path, meta)

    def all(self) -> list[Env]:
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            if path.name.startswith("."):
                continue
            env = self._load(path)
            if env is not None:
                found.append(env)
        return found

    def leftovers(self) -> list[Path]:
        """Folders of builds that never finished."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.name.startswith(BUILD_PREFIX))

    def remove(self, key: str) -> bool:
        path = self.root / key
        if key.startswith(".") or not (path / MARK).is_file():
            return False
        with self._lock(key):
            trash = self.root / f"{BUILD_PREFIX}removed-{key}-{os.getpid()}"
            os.rename(path, trash)  # gone at once for readers; then deleted
            shutil.rmtree(trash, ignore_errors=True)
        return True

    # --- building --------------------------------------------------------------------
    def writable(self) -> None:
        """Raise EnvError("unwritable") unless environments can be built under the root."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{os.getpid()}"
            probe.touch()
            probe.unlink()
        except OSError as exc:
            raise EnvError(
                "unwritable",
                f"{self.root}: cannot build tool environments there ({exc.strerror or exc}); "
                f"set {ENV_VAR} or [exam] envs to a writable folder",
                self.root,
            ) from None

    @contextlib.contextmanager
    def _lock(self, key: str, on_line: Line | None = None):
        locks = self.root / LOCKS
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{key}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_line is not None:
                    on_line(f"waiting: another mlops-compare is building environment {key}")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ensure(self, spec: Spec, on_line: Line | None = None, fresh: bool = False) -> Env:
        """The environment for *spec*: found, or built now (locked; complete or not there at all).

        A build is seeded from a donor environment (`donor`) unless *fresh*.
        """
        env = self.find(spec)
        if env is not None:
            return env
        self.writable()
        with self._lock(spec.key, on_line):
            env = self.find(spec)  # built by another run while this one waited
            if env is not None:
                return env
            return self._build(spec, on_line, None if fresh else self.donor(spec))

    def donor(self, spec: Spec) -> Env | None:
        """The complete environment a build of *spec* starts from: same Python, the most of its requirements, none other."""
        wanted = set(spec.requirements)

        def fits(env: Env) -> bool:
            held = set(env.meta.get("requirements") or [])
            same_python = (env.meta.get("python"), env.meta.get("python_version")) == (spec.python, spec.python_version)
            return bool(held) and held <= wanted and same_python and env.key != spec.key

        def rank(env: Env) -> tuple[int, str]:  # the most requirements, then the newest
            return len(env.meta["requirements"]), str(env.meta.get("built_at", ""))

        return max(filter(fits, self.all()), key=rank, default=None)

    def _seed(self, donor: Env, tmp: Path, key: str, say: Line) -> None:
        """*tmp* as hard links of *donor*'s files (copies where links cannot be made), without its runner code."""

        def link(src: str, dst: str) -> None:
            if os.path.basename(src) == "pyvenv.cfg":
                shutil.copy2(src, dst)  # a file uv may rewrite in place: never through a link
                return
            try:
                os.link(src, dst)
            except OSError:  # another file system, or links not allowed there
                shutil.copy2(src, dst)

        def own_records(folder: str, names: list[str]) -> list[str]:  # mark, freeze, stamps: the build writes its own
            return [n for n in names if n in (MARK, FREEZE, LAST_USE, SIZE)] if folder == str(donor.path) else []

        shutil.copytree(donor.path, tmp, symlinks=True, copy_function=link, ignore=own_records)
        dists = [s["dist"] for s in donor.meta.get("sources", []) if s.get("dist")]
        if dists:
            say(f"environment {key}: without the donor's runner code ({', '.join(dists)})")
            _uv([uv_bin(), "pip", "uninstall", "--python", str(tmp / "bin" / "python"), *dists], say)

    def _build(self, spec: Spec, on_line: Line | None, donor: Env | None = None) -> Env:
        say = on_line or (lambda line: None)
        start = time.perf_counter()
        for stale in self.root.glob(f"{BUILD_PREFIX}{spec.key}-*"):  # a build that was interrupted
            shutil.rmtree(stale, ignore_errors=True)
        tmp = self.root / f"{BUILD_PREFIX}{spec.key}-{os.getpid()}"
        final = self.root / spec.key
        uv = uv_bin()
        try:
            if donor is not None:
                held = len(donor.meta.get("requirements") or [])
                say(
                    f"environment {spec.key}: seeded from {donor.key} "
                    f"(Python {spec.python_version}, {held} of its {len(spec.requirements)} requirements; hard links)"
                )
                try:
                    self._seed(donor, tmp, spec.key, say)
                except (OSError, shutil.Error, EnvError) as exc:  # the donor removed meanwhile, a full disk...
                    say(f"environment {spec.key}: seeding failed ({exc}); building it from nothing")
                    shutil.rmtree(tmp, ignore_errors=True)
                    donor = None
            if donor is None:
                say(f"environment {spec.key}: uv venv (Python {spec.python_version})")
                _uv([uv, "venv", "--relocatable", "--quiet", "--python", spec.python, str(tmp)], say)
            python = str(tmp / "bin" / "python")
            if spec.requirements:
                say(f"environment {spec.key}: installing {len(spec.requirements)} requirement(s): {spec.describe()}")
                # bytecode compiled now: a read-only environment (shared, prepared) cannot cache it later
                _uv([uv, "pip", "install", "--compile-bytecode", "--python", python, *spec.requirements], say)
            install = [arg for source in spec.sources for arg in source.install]
            say(f"environment {spec.key}: runner code {' '.join(install)} (without dependencies)")
            with self._source_lock():
                _uv([uv, "pip", "install", "--python", python, "--no-deps", *install], say)
            freeze = _uv([uv, "pip", "freeze", "--python", python], None)
            (tmp / FREEZE).write_text(freeze)
            seconds = time.perf_counter() - start
            meta = {
                **spec.to_dict(),
                "key": spec.key,
                "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "build_seconds": round(seconds, 1),
                "uv": _uv([uv, "--version"], None).strip(),
            }
            if donor is not None:
                meta["seeded_from"] = {"key": donor.key, "built_at": donor.meta.get("built_at", "")}
            (tmp / MARK).write_text(json.dumps(meta, indent=1) + "\n")
            if final.exists():  # an incomplete folder without a mark (made by hand?): replace it
                shutil.rmtree(final)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        say(f"environment {spec.key}: ready in {seconds:.1f} s")
        return Env(final, meta, built=True, seconds=seconds)

    @contextlib.contextmanager
    def _source_lock(self):
        # setuptools writes egg-info into a source folder it builds: one build of a folder at a time
        with open(self.root / LOCKS / "source.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _uv(argv: list[str], say: Line | None) -> str:
    """Run uv; return its stdout; raise EnvError with uv's own message when it fails."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "CONDA_PREFIX"))}
    env.setdefault("UV_NO_PROGRESS", "1")
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    except OSError as exc:
        raise EnvError("build", f"cannot start uv ({argv[0]}): {exc.strerror or exc}") from None
    err_lines: list[str] = []
    out_chunks: list[str] = []

    def pump_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            line = line.rstrip()
            if line:
                err_lines.append(line)
                if say is not None:
                    say(line)

    def pump_out() -> None:
        assert proc.stdout is not None
        out_chunks.append(proc.stdout.read())

    readers = [threading.Thread(target=pump, daemon=True) for pump in (pump_err, pump_out)]
    for reader in readers:
        reader.start()
    try:
        proc.wait(timeout=BUILD_TIMEOUT)
    except BaseException as exc:  # timeout, Ctrl+C: no uv left behind
        proc.kill()
        proc.wait()
        if isinstance(exc, subprocess.TimeoutExpired):
            raise EnvError("build", f"uv did not finish within {BUILD_TIMEOUT:g} s: {' '.join(argv[1:4])}") from None
        raise
    finally:
        for reader in readers:
            reader.join(timeout=5)
    out = "".join(out_chunks)
    if proc.returncode != 0:
        message = "\n".join(err_lines[-40:]) or f"uv exited with code {proc.returncode}"
        kind = "resolve" if _RESOLVER.search(message) and not _NETWORK.search(message) else "build"
        if _NETWORK.search(message):
            kind = "network"
        raise EnvError(kind, message)
    return out


# --- what the core asks ----------------------------------------------------------------------


RUNNER_CODE = "mlops-compare"  # the runner base classes every runner needs


def spec_for(requirements: Iterable[str], dist: str = RUNNER_CODE, python: str | None = None) -> Spec:
    """The recipe for a runner of distribution *dist*: its requirements, mlops-compare's code and the plugin's.

    Made from *python*, else `base_python()` ($MLOPS_COMPARE_PYTHON or mlops-compare's own).
    """
    sources = [source_of(RUNNER_CODE)]
    if dist and dist.lower().replace("_", "-") != RUNNER_CODE:
        sources.append(source_of(dist))
    return Spec.make(requirements, sources, python or base_python())


def failure_reason(tool: str, spec: Spec, error: EnvError) -> str:
    """The one line a record and stderr say when *tool*'s environment could not be made."""
    if error.kind == "network":
        return missing_message(tool, spec, error)
    if error.kind == "resolve":
        return f"{tool}: its requirements cannot be installed ({spec.describe()}); uv says: {error.message}"
    return f"{tool}: tool environment: {error.message}"


def missing_message(tool: str, spec: Spec, error: EnvError) -> str:
    return (
        f"{tool}: no environment yet for {spec.describe()} (Python {spec.python_version}) and the package index "
        f"cannot be reached: {error.message.splitlines()[-1] if error.message else ''}; on a machine with network, "
        f"run `{PREPARE_HINT}` with the same envs folder ({ENV_VAR} or [exam] envs)"
    )


def _headline(line: str) -> bool:
    """The uv lines worth a progress line (not every installed distribution)."""
    text = line.split(": ", 1)[-1]
    starts = ("environment ", "seeded from ", "Resolved ", "Installed ", "Prepared ", "waiting:")
    return text.startswith(starts) or "error" in text


def prepare_requests(requests: list, say: Line | None = None, fresh: bool = False) -> dict[str, Env]:
    """Find or build the environment of every request before any runner starts (`run`, `envs --prepare`).

    A found or built environment becomes the request's interpreter. No network and no
    environment yet: `UserError` naming the set and `envs --prepare` (exit 2). The folder
    not writable: `UserError` with its path. Requirements that cannot be resolved: that
    request carries the resolver's message as its error (its record says it; the others run).
    The smaller requirement sets are built first, so the larger ones can be seeded from them
    (`Envs.donor`; not when *fresh*).
    """
    from mlops_compare.errors import UserError

    def size(request) -> int:
        return len((request.environment or {}).get("spec", {}).get("requirements", [])) if usable(request) else 0

    done: dict[str, Env] = {}
    for request in sorted(requests, key=size):
        plan = request.environment
        if plan is None or plan.get("error"):
            if plan is not None and say is not None:
                say(f"{request.tool}: {plan['error']}")
            continue
        spec = Spec.from_dict(plan["spec"])
        where = Envs(plan["root"])
        env = done.get(f"{where.root}/{spec.key}") or where.find(spec)
        if env is None:
            began = time.perf_counter()
            if say is not None:
                say(
                    f"{request.tool}: building its environment in {where.root} ({len(spec.requirements)} requirements, uv)"
                )
            try:
                env = where.ensure(
                    spec,
                    _prefixed(say, request.tool, _headline) if say else None,
                    fresh=fresh,
                )
            except EnvError as exc:
                if exc.kind in ("unwritable", "network"):
                    raise UserError(
                        exc.message if exc.kind == "unwritable" else failure_reason(request.tool, spec, exc)
                    ) from None
                plan["error"] = failure_reason(request.tool, spec, exc)
                if say is not None:
                    say(plan["error"])
                continue
            if say is not None and not env.built:
                say(
                    f"{request.tool}: environment {env.key} was built by another run meanwhile ({time.perf_counter() - began:.0f} s)"
                )
        done[f"{where.root}/{spec.key}"] = env
        request.python = env.python
    return done


# --- what `prepare_requests` and the `envs` command share ------------------------------------


def spec_key(request) -> str:
    """The key of a usable request's environment (see `usable`)."""
    return Spec.from_dict((request.environment or {})["spec"]).key


def _prefixed(
    say: Callable[[str], object], tool: str, keep: Callable[[str], bool] | None = None
) -> Callable[[str], None]:
    """*say* for one tool's lines: each prefixed with the tool's name; only those *keep* accepts."""

    def out(line: str) -> None:
        if keep is None or keep(line):
            say(f"{tool}: {line}")

    return out


def usable(request) -> bool:
    return request.environment is not None and not request.environment.get("error") and "spec" in request.environment
