"""How Slurm jobs are submitted and followed: `SlurmOptions`, from `[exam.hpc]` and the flags.

The sbatch resources (partition, account, time limit, CPUs, memory, more options as given)
and how the executor follows a job (poll interval, queue and controller limits); plain
data, so a detached run keeps them in its state file (`to_dict` / `from_dict`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from mlops_compare.infra import slurm

LIMIT_MARGIN = 120  # seconds added to the runner timeout for the job's own Slurm time limit
DEFAULT_MEM = "4G"  # per runner job when neither [exam.hpc] mem nor --mem says (a tool's server + data)


@dataclass(frozen=True)
class SlurmOptions:
    """How jobs are submitted and followed: `[exam.hpc]` of criteria.toml, then command-line flags."""

    partition: str | None = None
    account: str | None = None
    time_limit: str | None = None  # a Slurm time ("30", "1:00:00"); None: the runner timeout + 2 min
    cpus: int | None = None
    # e.g. "4G"; never the site's default: without DefMemPerCPU a job would get the whole node
    mem: str | None = DEFAULT_MEM
    options: tuple[str, ...] = ()  # more sbatch options, as given
    poll: float = 2.0  # seconds between job state queries
    queue_timeout: float = 3600.0  # seconds a job may wait in the queue
    controller_grace: float = 120.0  # seconds without an answer from Slurm before a job is given up
    command_timeout: float = slurm.TIMEOUT  # seconds for one Slurm command
    env: Mapping[str, str] = field(default_factory=dict)  # for Slurm commands and the job (e.g. SLURM_CONF)

    @classmethod
    def from_settings(cls, hpc: Mapping[str, Any] | None, **flags: Any) -> SlurmOptions:
        """`[exam.hpc]` values overridden by the flags that are not None (``options`` add up)."""
        hpc = dict(hpc or {})
        values: dict[str, Any] = {
            key: hpc[key] for key in ("partition", "account", "time_limit", "cpus", "mem") if key in hpc
        }
        if "poll_seconds" in hpc:
            values["poll"] = float(hpc["poll_seconds"])
        if "queue_timeout" in hpc:
            values["queue_timeout"] = float(hpc["queue_timeout"])
        values["options"] = tuple(hpc.get("options", ())) + tuple(flags.pop("options", None) or ())
        values.update({key: value for key, value in flags.items() if value is not None})
        return cls(**values)

    def time_for(self, timeout: float | None) -> str | None:
        if self.time_limit:
            return str(self.time_limit)
        return None if timeout is None else str(math.ceil((timeout + LIMIT_MARGIN) / 60))

    def sbatch_args(self, timeout: float | None) -> list[str]:
        """The resource options as sbatch flags (what `slurm.submit` passes too)."""
        chosen = {
            "partition": self.partition,
            "account": self.account,
            "time": self.time_for(timeout),
            "cpus-per-task": self.cpus,
            "mem": self.mem,
        }
        return [f"--{key}={value}" for key, value in chosen.items() if value is not None] + list(self.options)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"], data["env"] = list(self.options), dict(self.env)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlurmOptions:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["options"] = tuple(known.get("options", ()))
        return cls(**known)
