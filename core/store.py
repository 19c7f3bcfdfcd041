"""The results store: one JSON document per run under ``.mlops-compare/runs/``.

Documents are written atomically and never rewritten, so the folder is the history;
`latest` gives the newest record per tool, whatever its status, for screens that want "the
last results". Measured ratings do not come from `latest` but from every check's newest
run in which it ran (`evidence.Evidence.from_store`). NaN and infinite metrics are stored
as the strings "nan", "inf", "-inf" (strict JSON) and read back as floats.

Nothing is lost quietly:

- `probe` checks, before any runner starts, that a record can be stored here (the folder
  made, a probe file written, renamed and removed); `run` and the TUI refuse to start
  otherwise (exit 2, naming the path).
- `save_or_keep`: when saving fails anyway (a full disk), the record is written next to the
  runner's workspace (else into the temporary folder) and listed in `unsaved`, so the
  other tools' records are still saved and the command says where each one went.
- A record that cannot be read (not JSON, truncated, not a table, a field of the wrong
  type) is a `Damaged` file: every reader skips it, uses the rest and lists it in
  `damaged()`, so commands name it (once each) and the report lists it.

The index (``index.json`` beside ``runs/``) holds per file its size, modification time,
tool, the status of each check and, for a damaged file, why. It is rebuilt from the files
whenever it is missing, unreadable or stale (a file added, changed or removed: only those
files are read again), and it is never the only copy of anything. With it, finding each
check's newest run reads only the runs that matter instead of every file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_compare import atomic
from mlops_compare.errors import UserError
from mlops_compare.results import RunRecord

DEFAULT_DIR = ".mlops-compare"
INDEX_FILE = "index.json"
INDEX_VERSION = 2
# A record's fields and the JSON types they must have (a file with another type is damaged).
_SHAPE: dict[str, type | tuple[type, ...]] = {
    "tool": str,
    "status": str,
    "reason": str,
    "tool_version": str,
    "python": str,
    "workspace": str,
    "started_at": str,
    "seconds": (int, float),
    "dataset": dict,
    "grid": dict,
    "progress": dict,
    "checks": dict,
    "metrics": list,
    "log": list,
    "executor": dict,
    "environment": dict,
    "schema": int,
}


class DamagedRecord(ValueError):
    """A run file that is not a record: why, in a few words."""


@dataclass(frozen=True)
class Damaged:
    """A file in the store that could not be read as a record, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: unreadable record, not used ({self.reason})"


@dataclass(frozen=True)
class Unsaved:
    """A record the store could not take: where it was kept instead (None: nowhere)."""

    tool: str
    reason: str
    kept: Path | None

    def __str__(self) -> str:
        where = f"kept at {self.kept}" if self.kept is not None else "it could not be kept anywhere"
        return f"{self.tool}: the record was not stored ({self.reason}); {where}"


class Entry:
    """One run file as the index knows it: its tool and each check's status (empty when damaged)."""

    __slots__ = ("folder", "name", "tool", "_checks", "damaged")

    def __init__(self, folder: Path, name: str, tool: str, checks: str, damaged: str = ""):
        self.folder = folder
        self.name = name
        self.tool = tool
        self._checks = checks  # "id:status,id:status" as the index holds it, parsed when asked for
        self.damaged = damaged  # why the file is not a record ("" for a good one)

    @property
    def path(self) -> Path:
        return self.folder / self.name

    @property
    def checks_key(self) -> str:
        """The checks and statuses as one string: runs with equal keys ran the same checks alike."""
        return self._checks

    @property
    def checks(self) -> dict[str, str]:
        """Each check of the run and its status."""
        return dict(pair.split(":", 1) for pair in self._checks.split(",")) if self._checks else {}


def check_shape(data: Any) -> None:
    """Raise `DamagedRecord` unless *data* (decoded JSON) has the shape of a stored record."""
    if not isinstance(data, dict):
        raise DamagedRecord(f"holds a JSON {type(data).__name__ if data is not None else 'null'}, not a record")
    if not isinstance(data.get("tool"), str) or not data["tool"]:
        raise DamagedRecord("no tool name")
    for key, kind in _SHAPE.items():
        if key in data and (not isinstance(data[key], kind) or isinstance(data[key], bool)):
            raise DamagedRecord(f"{key!r} is a JSON {type(data[key]).__name__}, not a {_kind(kind)}")
    for check_id, check in (data.get("checks") or {}).items():
        if not isinstance(check, dict):
            raise DamagedRecord(f"check {check_id!r} is not a table")
    for metric in data.get("metrics") or []:
        if not isinstance(metric, dict):
            raise DamagedRecord("a metrics row is not a table")


def _kind(kind: type | tuple[type, ...]) -> str:
    names = {str: "text", dict: "table", list: "list", int: "whole number", float: "number"}
    return " or ".join(names.get(k, k.__name__) for k in (kind if isinstance(kind, tuple) else (kind,)))


def _current(row: Any, stat: os.stat_result) -> bool:
    """Whether an index row is well formed and describes the file as it is now."""
    return (
        type(row) is list
        and len(row) == 5
        and row[0] == stat.st_size
        and row[1] == stat.st_mtime_ns
        and type(row[2]) is str
        and type(row[3]) is str
        and type(row[4]) is str
    )


class Store:
    def __init__(self, root: Path | str = DEFAULT_DIR):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.index_path = self.root / INDEX_FILE
        self.unsaved: list[Unsaved] = []  # records `save_or_keep` could not store here
        self._damaged: dict[Path, str] = {}  # unreadable files seen by this store's reads
        self._just_read: dict[Path, RunRecord] = {}  # records read to index them, not read twice

    # --- writing ------------------------------------------------------------------
    def save(self, record: RunRecord) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.runs / f"{stamp}-{record.tool}.json"
        self.runs.mkdir(parents=True, exist_ok=True)
        # ensure_ascii: a runner's log may hold lone surrogates, which UTF-8 cannot encode;
        # allow_nan=False: to_dict already wrote non-finite numbers as strings, keep it strict JSON
        atomic.write_text(path, json.dumps(record.to_dict(), indent=1, allow_nan=False) + "\n")
        return path

    def save_or_keep(self, record: RunRecord) -> Path | None:
        """`save`; when that fails, keep the record next to its workspace (else in the temp folder).

        Never raises: what could not be stored is in `unsaved` (with where it was kept).
        """
        try:
            return self.save(record)
        except (OSError, ValueError) as exc:
            reason = f"{self.runs}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
        text = json.dumps(record.to_dict(), indent=1) + "\n"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        workspace = Path(record.workspace) if record.workspace else None
        places = [workspace.parent / f"{workspace.name}.record.json"] if workspace is not None else []
        places.append(Path(tempfile.gettempdir()) / f"mlops-compare-record-{stamp}-{record.tool}.json")
        for place in places:
            try:
                atomic.write_text(place, text)
            except OSError:
                continue
            self.unsaved.append(Unsaved(record.tool, reason, place))
            return place
        self.unsaved.append(Unsaved(record.tool, reason, None))
        return None

    def probe(self) -> None:
        """Raise `UserError` unless records can be stored: the runs folder made, a file written and renamed."""
        if self.root.exists() and not self.root.is_dir():
            raise UserError(f"{self.root}: the results store is a file, not a folder; choose another --store")
        probe = self.runs / f".probe-{os.getpid()}.tmp"
        try:
            self.runs.mkdir(parents=True, exist_ok=True)
            atomic.write_text(probe, "probe\n")  # a temporary file written, then renamed to *probe*
            probe.unlink()
        except OSError as exc:
            with_path = exc.filename or self.runs
            raise UserError(
                f"{self.root}: the results store cannot be written ({with_path}: {exc.strerror or exc}); "
                "free some space, fix its permissions or choose another --store"
            ) from None

    # --- reading ------------------------------------------------------------------
    def history(self) -> list[Path]:
        """Every stored run, oldest first."""
        return sorted(self.runs.glob("*.json")) if self.runs.is_dir() else []

    def load(self, path: Path) -> RunRecord:
        """The record in *path*; `DamagedRecord` when it is not one (OSError when it cannot be read)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise DamagedRecord("not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            size = path.stat().st_size if path.exists() else 0
            raise DamagedRecord(f"not valid JSON ({size} bytes; truncated?): {exc.msg} at line {exc.lineno}") from None
        check_shape(data)
        try:
            return RunRecord.from_dict(data)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise DamagedRecord(f"not a record: {exc}") from None

    def read(self, path: Path) -> RunRecord | None:
        """The record in *path*, or None when it is damaged or unreadable (then listed in `damaged`)."""
        if path in self._just_read:
            return self._just_read.pop(path)
        try:
            return self.load(path)
        except (OSError, DamagedRecord) as exc:
            self._damaged[path] = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
            return None

    def damaged(self) -> list[Damaged]:
        """The unreadable files this store's reads met (`entries` meets every one), oldest first."""
        return [Damaged(path, reason) for path, reason in sorted(self._damaged.items())]

    @staticmethod
    def tool_of(path: Path) -> str:
        """The tool a run file belongs to: ``<stamp>-<tool>.json`` (stamps have no '-')."""
        return path.stem.split("-", 1)[1] if "-" in path.stem else path.stem

    def entries(self) -> list[Entry]:
        """Every run file, oldest first, as the index knows it (refreshed for files added or changed)."""
        if not self.runs.is_dir():
            return []
        index = self._read_index()
        fresh: dict[str, list[Any]] = {}
        out = []
        with os.scandir(self.runs) as found:
            files = [(e.name, e) for e in found if e.name.endswith(".json") and not e.name.startswith(".")]
        files.sort()
        for name, dir_entry in files:
            try:
                stat = dir_entry.stat()
            except OSError:  # removed meanwhile
                continue
            row: Any = index.get(name)
            if not _current(row, stat):
                row = [stat.st_size, stat.st_mtime_ns, *self._index_row(self.runs / name)]
            fresh[name] = row
            out.append(Entry(self.runs, name, row[2], row[3], row[4]))
            if row[4]:
                self._damaged[self.runs / name] = row[4]
        if fresh != index:
            self._write_index(fresh)
        return out

    def _index_row(self, path: Path) -> list[Any]:
        """[tool, "check:status,...", damaged reason] of one run file, read in full."""
        try:
            record = self.load(path)
        except (OSError, DamagedRecord) as exc:
            reason = (exc.strerror or str(exc)) if isinstance(exc, OSError) else str(exc)
            return [self.tool_of(path), "", reason]
        self._just_read[path] = record
        if len(self._just_read) > 16:  # a cold rebuild reads every file: keep only the newest few
            self._just_read.pop(next(iter(self._just_read)))
        statuses = ",".join(  # an id with ',' or ':' is no check of the exam: left out of the index
            f"{cid}:{check.get('status')}" for cid, check in record.checks.items() if not set(cid) & {",", ":"}
        )
        return [record.tool, statuses, ""]

    def _read_index(self) -> dict[str, Any]:
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("version") != INDEX_VERSION or not isinstance(data.get("runs"), dict):
            return {}
        return data["runs"]

    def _write_index(self, rows: dict[str, list[Any]]) -> None:
        """Best effort: a store that cannot be written is still read (the index is rebuilt each time)."""
        try:
            atomic.write_text(self.index_path, json.dumps({"version": INDEX_VERSION, "runs": rows}) + "\n")
        except (OSError, ValueError):
            pass

    def latest(self) -> dict[str, RunRecord]:
        """The newest readable record per tool whatever its status, reading only as many files as needed."""
        found: dict[str, RunRecord] = {}
        for entry in reversed(self.entries()):
            if entry.damaged or entry.tool in found:
                continue
            record = self.read(entry.path)
            if record is not None:  # else: fall back to the tool's previous run
                found[record.tool] = record
        return found
