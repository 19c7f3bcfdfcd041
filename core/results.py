"""A runner's result record, built by folding its event stream.

The same `RunRecord` is used by the headless CLI, the TUI and the results store, so every
view shows the same thing. `apply` accepts any decoded event and never raises.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from mlops_compare import events

RECORD_SCHEMA = 1
ACTIVE = ("idle", "starting", "running")


@dataclass
class RunRecord:
    tool: str
    status: str = "idle"  # idle, starting, running, then one of events.RESULT_STATUSES
    reason: str = ""
    tool_version: str = ""
    python: str = ""
    workspace: str = ""
    started_at: str = ""
    seconds: float = 0.0
    dataset: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: list[dict[str, float]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    # where it ran, when not as a local process: {"name": "slurm", "job_id": ..., "state": ..., ...}
    executor: dict[str, Any] = field(default_factory=dict)
    # the tool environment it ran in (`mlops_compare.envs`): key, path, requirements, exact versions
    environment: dict[str, Any] = field(default_factory=dict)
    schema: int = RECORD_SCHEMA
    _t0: float = field(default=0.0, repr=False, compare=False)

    def start(self) -> None:
        self.status = "starting"
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._t0 = time.monotonic()

    @property
    def finished(self) -> bool:
        return self.status not in ACTIVE

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one event into the record."""
        kind = event.get("type")
        if kind == "log":
            self.log.append(str(event.get("line", "")))
            if event.get("stream") == "slurm" and event.get("job_id"):  # the Slurm executor's job states
                self.executor.update(name="slurm", job_id=event["job_id"], state=event.get("state", ""))
        elif kind == "progress":
            self.status = "running"
            self.progress = {k: event.get(k) for k in ("k", "n", "label")}
        elif kind == "metric":
            self.status = "running"
            self.metrics.append({k: events.number(event[k]) for k in events.METRIC_FIELDS})
        elif kind == "check":
            self.status = "running"
            self.checks[event["id"]] = {k: event.get(k) for k in ("status", "seconds", "evidence", "numbers")}
        elif kind == "environment":
            self.environment = {k: v for k, v in event.items() if k not in ("v", "type")}
        elif kind == "result":
            self.status = event.get("status", "error")
            self.reason = event.get("reason", "")
            self.tool_version = event.get("tool_version", "") or self.tool_version
            self.dataset = event.get("dataset") or self.dataset
            self.grid = event.get("grid") or self.grid
        if self._t0:
            self.seconds = round(time.monotonic() - self._t0, 3)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data: non-finite numbers become "nan"/"inf" (see events.jsonable)."""
        data = asdict(self)
        data.pop("_t0", None)
        return events.jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and not k.startswith("_")}
        record = cls(**known)
        # stored as JSON, where NaN is the string "nan" (see events.jsonable)
        record.metrics = [{k: events.number(v) for k, v in m.items()} for m in record.metrics]
        return record

    def counts(self) -> dict[str, int]:
        """How many checks ended in each status."""
        out = dict.fromkeys(events.CHECK_STATUSES, 0)
        for check in self.checks.values():
            out[check.get("status", "skip")] = out.get(check.get("status", "skip"), 0) + 1
        return out
