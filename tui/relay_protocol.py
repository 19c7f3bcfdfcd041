"""The relay protocol: the messages between the TUI and its relay process, one JSON line each.

The TUI's side (`relay_client.RelayClient`) writes to the relay's stdin::

    Run      start a runner: the fields of the `RunRequest` the run plan made, and the store
    Cancel   stop the tool's run (before it starts, too), with the reason to record
    Detach   SIGHUP: stop following the tool's Slurm job and leave it running (the relay
             writes the detached run's state file for `mlops-compare run --attach`); a
             local run is cancelled with the reason, as by Cancel

and the relay (`relay.RelayServer`) answers on its stdout::

    Started  the runner's process exists: its process group and run token, so the TUI can
             kill what the run left behind even when the relay is gone
    Submitted the run is a Slurm batch job (``--executor slurm``): its id, so the TUI can
             scancel it even when the relay is gone
    Events   everything one runner sent since the previous flush, in order: an event dict,
             or a str (a log line's text, which is cheaper to forward)
    Finished the run ended; its record as saved to the results store, without the log

End of stdin (the TUI closed or died) tells the relay to cancel every run, wait for their
records to be saved and exit. Lines are strict JSON in ASCII: a lone surrogate from a
runner's output travels safely, and NaN or infinity travel as "nan"/"inf" (as in the
runner event schema) and come back as floats. Nothing here imports Textual.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, ClassVar

from mlops_compare import events
from mlops_compare.executors.local import RunRequest
from mlops_compare.results import RunRecord


class ProtocolError(ValueError):
    """A line that is not a message of this protocol."""


@dataclass(frozen=True)
class Run:
    op: ClassVar[str] = "run"
    tool: str
    exam: dict[str, Any]
    python: str
    timeout: float | None
    workdir: str | None
    module: str | None
    env: dict[str, str] | None = None
    store: str | None = None  # the results store's folder; None: the record is not saved
    executor: dict[str, Any] | None = None  # `executors` spec (Slurm); None: a local process
    environment: dict[str, Any] | None = None  # the tool environment (`RunRequest.environment`)
    keep_workspace: bool = True  # `RunRequest.keep_workspace`: False removes it once the record is stored

    @classmethod
    def of(cls, request: RunRequest, store: Path | str | None, executor: dict[str, Any] | None = None) -> Run:
        workdir = str(request.workdir) if request.workdir is not None else None
        return cls(
            request.tool,
            request.exam,
            request.python,
            request.timeout,
            workdir,
            request.module,
            request.env,
            str(store) if store is not None else None,
            executor,
            request.environment,
            request.keep_workspace,
        )

    def request(self) -> RunRequest:
        workdir = Path(self.workdir) if self.workdir is not None else None
        return RunRequest(
            self.tool,
            self.exam,
            self.python,
            self.timeout,
            workdir,
            self.env,
            self.module,
            self.environment,
            keep_workspace=self.keep_workspace,
        )


@dataclass(frozen=True)
class Cancel:
    op: ClassVar[str] = "cancel"
    tool: str
    reason: str


@dataclass(frozen=True)
class Detach:
    op: ClassVar[str] = "detach"
    tool: str
    reason: str


@dataclass(frozen=True)
class Started:
    op: ClassVar[str] = "started"
    tool: str
    pgid: int
    token: str


@dataclass(frozen=True)
class Submitted:
    op: ClassVar[str] = "submitted"
    tool: str
    job_id: str
    env: dict[str, str]  # what the Slurm commands need to reach the cluster (e.g. SLURM_CONF)


@dataclass(frozen=True)
class Events:
    op: ClassVar[str] = "events"
    tool: str
    items: list[dict[str, Any] | str]


@dataclass(frozen=True)
class Finished:
    op: ClassVar[str] = "finished"
    tool: str
    record: RunRecord


ToRelay = Run | Cancel | Detach
FromRelay = Started | Submitted | Events | Finished
Message = ToRelay | FromRelay
MESSAGES: dict[str, type] = {kind.op: kind for kind in (Run, Cancel, Detach, Started, Submitted, Events, Finished)}


def encode(message: Message) -> bytes:
    """One message as one line (newline included)."""
    data: dict[str, Any] = {"op": message.op}
    for field in fields(message):
        value = getattr(message, field.name)
        data[field.name] = value.to_dict() if isinstance(value, RunRecord) else value
    return (json.dumps(events.jsonable(data), allow_nan=False) + "\n").encode()


def decode(line: bytes | str) -> Message:
    """The message on *line*; raises ProtocolError for anything else."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    op = data.get("op") if isinstance(data, dict) else None
    kind = MESSAGES.get(op) if isinstance(op, str) else None
    if kind is None:
        raise ProtocolError(f"not a relay message: {str(line)[:80]!r}")
    values = {f.name: data[f.name] for f in fields(kind) if f.name in data}
    try:
        if kind is Finished:
            values["record"] = RunRecord.from_dict(values["record"])
        elif kind is Events:
            values["items"] = [_number_fields(item) for item in values["items"]]
        return kind(**values)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"bad {op} message: {exc}") from None


def _number_fields(item: Any) -> Any:
    # metric values arrive as floats from the launcher; JSON carried NaN as "nan"
    if isinstance(item, dict) and item.get("type") == "metric":
        return {**item, **{k: events.number(item[k]) for k in events.METRIC_FIELDS if k in item}}
    return item
