"""Runners start longest first by their last stored run, so the longest does not start last (issue 23)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from mlops_compare.executors.local import RunRequest, longest_first, run_many
from mlops_compare.results import RunRecord
from mlops_compare.store import Store

EXAM = {"data": "sklearn:diabetes", "target": "target", "grid": {"alpha": [0.0], "l1_ratio": [0.5]}}


def _stored(store: Store, tool: str, seconds: float) -> None:
    store.save(RunRecord(tool, status="passed", seconds=seconds))
    time.sleep(0.002)  # distinct stamps


def test_longest_first_by_the_last_stored_run_unknown_tools_first(tmp_path):
    store = Store(tmp_path / "store")
    _stored(store, "plain", 300.0)  # an older, longer run of plain does not count
    _stored(store, "plain", 5.0)
    _stored(store, "mlflow", 120.0)
    _stored(store, "dvc", 400.0)
    requests = [RunRequest(t, EXAM) for t in ("plain", "mlflow", "dvc", "metaflow")]
    assert longest_first(requests, store, jobs=2) == [3, 2, 1, 0]  # metaflow (never ran), dvc, mlflow, plain
    assert longest_first(requests, None, jobs=2) == [0, 1, 2, 3]  # no store: as given
    assert longest_first(requests, store, jobs=4) == [0, 1, 2, 3]  # a slot each: order does not matter
    assert longest_first(requests, Store(tmp_path / "empty"), jobs=2) == [0, 1, 2, 3]


def test_a_first_run_goes_by_each_runners_typical_seconds_and_a_stored_run_wins(tmp_path):
    hints = {"plain": 18.0, "mlflow": 220.0, "dvc": 450.0, "dvc-mlflow": 537.0, "mine": None}
    requests = [RunRequest(t, EXAM, typical_seconds=s) for t, s in hints.items()]
    empty = Store(tmp_path / "empty")
    # a plugin without a figure first (unknown may be longest), then the runners' own figures
    assert longest_first(requests, empty, jobs=2) == [4, 3, 2, 1, 0]
    assert longest_first(requests, None, jobs=2) == [4, 3, 2, 1, 0]
    store = Store(tmp_path / "store")
    _stored(store, "dvc-mlflow", 30.0)  # measured here: faster than the figure says
    _stored(store, "mine", 1.0)
    assert longest_first(requests, store, jobs=2) == [2, 1, 3, 0, 4]


def test_the_run_plan_carries_the_built_in_runners_figures(tmp_path):
    from mlops_compare import registry
    from mlops_compare.criteria import load
    from mlops_compare.plan import Choices, plan

    criteria = load(Path(__file__).parents[1] / "criteria.toml")
    requests = plan(criteria, Choices(tools=("plain", "dvc", "dvc-mlflow")))
    figures = {r.tool: r.typical_seconds for r in requests}
    assert figures["dvc-mlflow"] > figures["dvc"] > figures["plain"] > 0, figures
    assert registry.typical_seconds(registry.RunnerInfo("nope", "no.such.module", "Nope")) is None


class _Fake:
    """A runner process that only notes when it started."""

    started: list[str] = []

    def __init__(self, request, on_event, store):
        self.record = RunRecord(request.tool)

    async def run(self) -> RunRecord:
        _Fake.started.append(self.record.tool)
        await asyncio.sleep(0.01)
        self.record.status = "passed"
        return self.record


def test_run_many_starts_longest_first_and_returns_records_in_request_order(tmp_path):
    store = Store(tmp_path / "store")
    for tool, seconds in (("plain", 3.0), ("mlflow", 60.0), ("dvc", 200.0)):
        _stored(store, tool, seconds)
    _Fake.started = []
    requests = [RunRequest(t, EXAM) for t in ("plain", "mlflow", "dvc")]
    records = asyncio.run(run_many(requests, 1, None, store, factory=_Fake))
    assert _Fake.started == ["dvc", "mlflow", "plain"]
    assert [r.tool for r in records] == ["plain", "mlflow", "dvc"]
