"""The event schema and the check table: NaN metrics, check selection, the runner contract."""

from __future__ import annotations

import math

import pytest
from mlops_compare import events
from mlops_compare.results import RunRecord


def test_a_nan_metric_arrives_as_a_metric_and_round_trips_through_a_record():
    line = events.encode(events.make("metric", alpha=0.5, l1_ratio=0.5, rmse=1.0, mae=0.5, r2=math.nan))
    assert b"NaN" not in line  # valid JSON: no bare NaN token
    event = events.decode(line)
    assert event["type"] == "metric" and math.isnan(event["r2"]) and event["rmse"] == 1.0
    record = RunRecord(tool="x")
    record.apply(event)
    again = RunRecord.from_dict(record.to_dict())
    assert math.isnan(again.metrics[0]["r2"])
    infinite = events.make("metric", alpha=0, l1_ratio=0, rmse=math.inf, mae=-math.inf, r2=0)
    assert events.decode(events.encode(infinite))["mae"] == -math.inf


def test_a_string_that_is_not_a_number_is_still_no_metric():
    event = events.decode('{"v": 1, "type": "metric", "alpha": 0, "l1_ratio": 0, "rmse": "lots", "mae": 0, "r2": 0}')
    assert event["type"] == "log"


def test_check_ids_come_from_the_table_in_order():
    assert events.CHECK_IDS == tuple(c.id for c in events.CHECKS)
    assert events.CHECK_IDS[:2] == ("setup", "grid")
    assert {c.id for c in events.CHECKS if c.enabled_by} == {"remote_storage", "large_data", "hpc", "concurrency"}
    for check in events.CHECKS:
        assert all(need in events.CHECK_IDS for need in check.needs)


def test_choosing_a_check_brings_setup_and_what_it_needs():
    assert events.selected([]) == set(events.CHECK_IDS)
    assert events.selected(["baseline_match"]) == {"setup", "grid", "retrieve", "baseline_match"}
    assert events.selected(["models"]) == {"setup", "models"}


def test_a_shipped_runner_missing_a_check_is_rejected_when_its_class_is_made():
    from mlops_compare.runners.base import Outcome, Runner

    def setup(self, ctx):
        return Outcome("pass", "")

    namespace = {"__module__": "mlops_compare.runners.incomplete", "name": "incomplete", "setup": setup}
    namespace.update(grid=setup, retrieve=setup, models=setup, data_versioning=setup)
    with pytest.raises(TypeError, match="no method for check.*reproduce"):
        type(Runner)("Incomplete", (Runner,), namespace)

    class Intermediate(Runner):  # no name: a base for other runners, may stay abstract
        pass


def test_a_plugin_runner_may_leave_out_all_but_the_first_checks():
    from mlops_compare.runners.base import PLUGIN_REQUIRED, Outcome, Runner

    class Early(Runner):  # a plugin (not an mlops_compare module) written against the first table
        name = "early"

        def setup(self, ctx):
            return Outcome("pass", "")

        grid = retrieve = setup

    runner = Early()  # not abstract: every missing check has a method
    outcome = runner.ui(None)
    assert outcome.status == "skip"
    assert outcome.evidence == f"not implemented by this runner; added in {events.CHECKS_BY_ID['ui'].added}"
    assert runner.setup(None).status == "pass"
    assert PLUGIN_REQUIRED == ("setup", "grid", "retrieve")
    with pytest.raises(TypeError, match="no method for check.*retrieve"):

        class NoRetrieve(Runner):  # noqa: F841 - defining it is the test
            name = "no-retrieve"

            def setup(self, ctx):
                return Outcome("pass", "")

            grid = setup


def test_every_registered_runner_has_every_check():
    import importlib

    from mlops_compare import registry

    for info in registry.available().values():
        runner = getattr(importlib.import_module(info.module), info.attr)
        for check in events.CHECKS:
            method = getattr(runner, check.id)
            assert callable(method), (info.name, check.id)
            if info.module.startswith("mlops_compare."):  # shipped: written, not the plugin placeholder
                assert not getattr(method, "not_implemented", False), (info.name, check.id)
