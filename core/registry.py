"""The runner registry: entry points in the ``mlops_compare.runners`` group.

Listing runners reads entry-point metadata only; nothing is imported, so listing is fast
and a runner whose tool is missing (or whose module is broken) is still listed. Each
runner is started as ``python -m <module>`` by `mlops_compare.executors.local`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points

GROUP = "mlops_compare.runners"
# The order a person expects to read them in: the baseline first, then the study's order.
PREFERRED = ("plain", "mlflow", "dvc", "metaflow")


@dataclass(frozen=True)
class RunnerInfo:
    name: str
    module: str  # e.g. "mlops_compare.runners.mlflow"
    attr: str  # the Runner subclass in that module


def available() -> dict[str, RunnerInfo]:
    """Every registered runner by name, baseline first, without importing any of them."""
    found = {}
    for ep in entry_points(group=GROUP):
        module, _, attr = ep.value.partition(":")
        found[ep.name] = RunnerInfo(ep.name, module.strip(), attr.strip())
    order = {name: i for i, name in enumerate(PREFERRED)}
    return dict(sorted(found.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))
