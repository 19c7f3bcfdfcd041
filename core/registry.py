"""The runner registry: entry points in the ``mlops_compare.runners`` group.

Listing runners reads entry-point metadata only; nothing is imported, so listing is fast
and a runner whose tool is missing (or whose module is broken) is still listed. Each
runner is started as ``python -m <module>`` by `mlops_compare.executors.local`, with the
interpreter of its tool environment (`mlops_compare.envs`): `requirements` loads the runner
class through its entry point (the plugin interface; runner modules import no tool at
module level) to read what that environment holds.
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
    dist: str = ""  # the distribution that registered it (its code goes into the tool environment)


def available() -> dict[str, RunnerInfo]:
    """Every registered runner by name, baseline first, without importing any of them."""
    found = {}
    for ep in entry_points(group=GROUP):
        module, _, attr = ep.value.partition(":")
        dist = ep.dist.metadata["Name"] if ep.dist is not None else ""
        found[ep.name] = RunnerInfo(ep.name, module.strip(), attr.strip(), dist)
    order = {name: i for i, name in enumerate(PREFERRED)}
    return dict(sorted(found.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


class RunnerLoadError(Exception):
    """A runner class that cannot be loaded (its module is broken), with why."""


def requirements(info: RunnerInfo, tool_part: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """What the runner's tool environment holds: ``exam_requirements + requirements`` of its class.

    *tool_part* replaces the class's own ``requirements`` (``[tool.NAME] requires``); the exam's
    part is always kept.
    """
    for ep in entry_points(group=GROUP, name=info.name):
        try:
            cls = ep.load()
        except Exception as exc:  # a plugin's module may fail in any way
            raise RunnerLoadError(f"runner {info.name!r} ({ep.value}) cannot be loaded: {exc}") from None
        own = tuple(getattr(cls, "requirements", ())) if tool_part is None else tuple(tool_part)
        return tuple(getattr(cls, "exam_requirements", ())) + own
    raise RunnerLoadError(f"no runner called {info.name!r}")
