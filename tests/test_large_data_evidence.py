"""The large_data evidence names the tool it measured and each size (a loop variable once overwrote the name)."""

from __future__ import annotations

from types import SimpleNamespace

from mlops_compare.runners.checks import large_data


def _figures(seconds: float) -> SimpleNamespace:
    steps = {step: SimpleNamespace(seconds=seconds / 3, rss=100_000_000) for step in large_data.STEPS}
    return SimpleNamespace(
        seconds=seconds, rss=100_000_000, stored=1_000_000, steps=steps, metrics={"rmse": 1.0, "mae": 1.0, "r2": 0.5}
    )


def test_the_evidence_names_the_tool_and_every_size():
    tool = SimpleNamespace(describe="mlflow.log_input", keeps_copy=True)
    measured = {rows: (_figures(10.0), _figures(2.0)) for rows in (10_000, 100_000)}
    numbers = {"point": "0.5/0.5"}
    outcome = large_data._verdict("mlflow", tool, numbers, measured, {}, {}, [], 10.0, 8e9)
    assert outcome.evidence.startswith("mlflow (mlflow.log_input) at 0.5/0.5"), outcome.evidence
    assert "10,000 rows: " in outcome.evidence and "100,000 rows: " in outcome.evidence
    assert "plain_" not in outcome.evidence
    assert {"time_exponent", "plain_time_exponent", "memory_exponent", "plain_memory_exponent"} <= set(numbers)
