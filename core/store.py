"""The results store: one JSON document per run under ``.mlops-compare/runs/``.

Documents are written atomically and never rewritten, so the folder is the history;
`latest` gives the newest record per tool, whatever its status, for screens that want "the
last results". Measured ratings do not come from `latest` but from every check's newest
run in which it ran (`evidence.Evidence.from_store`). NaN and infinite metrics are stored
as the strings "nan", "inf", "-inf" (strict JSON) and read back as floats.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from mlops_compare import atomic
from mlops_compare.results import RunRecord

DEFAULT_DIR = ".mlops-compare"


class Store:
    def __init__(self, root: Path | str = DEFAULT_DIR):
        self.root = Path(root)
        self.runs = self.root / "runs"

    def save(self, record: RunRecord) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.runs / f"{stamp}-{record.tool}.json"
        self.runs.mkdir(parents=True, exist_ok=True)
        # ensure_ascii: a runner's log may hold lone surrogates, which UTF-8 cannot encode;
        # allow_nan=False: to_dict already wrote non-finite numbers as strings, keep it strict JSON
        atomic.write_text(path, json.dumps(record.to_dict(), indent=1, allow_nan=False) + "\n")
        return path

    def history(self) -> list[Path]:
        """Every stored run, oldest first."""
        return sorted(self.runs.glob("*.json")) if self.runs.is_dir() else []

    def load(self, path: Path) -> RunRecord:
        return RunRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @staticmethod
    def tool_of(path: Path) -> str:
        """The tool a run file belongs to: ``<stamp>-<tool>.json`` (stamps have no '-')."""
        return path.stem.split("-", 1)[1] if "-" in path.stem else path.stem

    def latest(self) -> dict[str, RunRecord]:
        """The newest readable record per tool whatever its status, reading only as many files as needed."""
        found: dict[str, RunRecord] = {}
        for path in reversed(self.history()):
            tool = self.tool_of(path)
            if tool in found:
                continue
            try:
                record = self.load(path)
            except (OSError, ValueError, TypeError):
                continue  # unreadable: fall back to the tool's previous run
            found[record.tool] = record
        return found
