"""The [exam] tables that switch checks on: storage, large_data, hpc; validated with their lines."""

from __future__ import annotations

import pytest
from conftest import without_large_data, without_storage
from mlops_compare import criteria as criteria_mod
from mlops_compare.checks import large_data
from mlops_compare.errors import UserError
from mlops_compare.plan import Choices, exam_for


def _with(criteria_copy, text: str):
    criteria_copy.write_text(without_storage(without_large_data(criteria_copy.read_text())) + "\n" + text)
    return criteria_mod.load(criteria_copy)


def test_without_the_tables_the_checks_are_not_configured(criteria_copy):
    exam = criteria_mod.load(criteria_copy).exam.to_dict()
    assert "hpc" not in exam
    # remote_storage ships switched on: a temporary shared folder and the exam's own local S3 server
    s3 = {"endpoint_url": "", "bucket": "mlops-compare", "prefix": "exam", "region": "us-east-1"}
    assert exam["storage"] == {"shared_path": "", "timeout": 60.0, "s3": s3}
    # large_data ships switched on, at the default sizes, with the cache outside any workspace
    assert exam["large_data"] == {"rows": [10_000, 100_000], "slow_factor": 10.0, "data": "", "cache": ""}
    planned = exam_for(criteria_mod.load(criteria_copy), Choices())["large_data"]["cache"]
    assert planned == str(large_data.default_cache()) and planned.endswith("mlops-compare/large-data")
    text = criteria_copy.read_text()
    criteria_copy.write_text(text[: text.index("[exam.large_data]")])  # deleting the table switches it off
    assert "large_data" not in exam_for(criteria_mod.load(criteria_copy), Choices())


def test_tables_reach_the_runner_with_defaults_and_resolved_paths(criteria_copy, tmp_path):
    criteria = _with(
        criteria_copy,
        '[exam.storage]\nshared_path = "shared"\n\n[exam.large_data]\nrows = [1000, 500]\n\n'
        '[exam.hpc]\npartition = "debug"\ncpus = 2\noptions = ["--qos=short"]\n',
    )
    exam = exam_for(criteria, Choices())
    assert exam["storage"]["shared_path"] == str(tmp_path / "shared")
    assert exam["storage"]["s3"] == {
        "endpoint_url": "",
        "bucket": "mlops-compare",
        "prefix": "exam",
        "region": "us-east-1",
    }
    assert exam["large_data"]["rows"] == [500, 1000] and exam["large_data"]["slow_factor"] == 10
    assert exam["hpc"] == {"partition": "debug", "cpus": 2, "options": ["--qos=short"]}


def test_s3_can_be_pointed_at_an_endpoint_or_switched_off(criteria_copy):
    criteria = _with(criteria_copy, '[exam.storage.s3]\nendpoint_url = "http://127.0.0.1:9000"\nbucket = "lab"\n')
    assert criteria.exam.to_dict()["storage"]["s3"]["endpoint_url"] == "http://127.0.0.1:9000"
    assert criteria.exam.to_dict()["storage"]["s3"]["bucket"] == "lab"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[exam.storage.s3]\nsecret_access_key = "x"\n', "credentials never go in criteria.toml"),
        ('[exam.storage]\nshared = "x"\n', "exam.storage.shared is not a setting; known: shared_path"),
        ("[exam.large_data]\nrows = [10, 1000]\n", "rows must be a list of whole numbers >= 100"),
        ('[exam.hpc]\ncpus = "two"\n', "exam.hpc.cpus is 'two'; expected a whole number"),
        ("[exam.hpc]\noptions = [1]\n", "exam.hpc.options must be a list of sbatch options"),
    ],
)
def test_bad_settings_name_the_line_and_what_to_do(criteria_copy, text, message):
    with pytest.raises(UserError) as caught:
        _with(criteria_copy, text)
    problems = [str(p) for p in caught.value.problems]
    assert any(message in p for p in problems), problems
    assert all(":" in p.split(" ")[0] for p in problems)  # file:line[:column]


def test_fan_out_runs_the_grids_corner_the_same_for_every_tool(criteria_copy):
    from mlops_compare.runners.checks.operations import fan_out_grid

    exam = criteria_mod.load(criteria_copy).exam.to_dict()
    assert exam["fan_out_points"] == 4  # shipped: the 2 x 2 corner of the 3 x 3 grid
    assert fan_out_grid(exam) == {"alpha": [0.0, 0.5], "l1_ratio": [0.0, 0.5]}
    grid = {"alpha": [0.0, 0.5, 1.0], "l1_ratio": [0.0, 0.5, 1.0]}
    assert fan_out_grid({"grid": grid, "fan_out_points": 6}) == {"alpha": [0.0, 0.5, 1.0], "l1_ratio": [0.0, 0.5]}
    assert fan_out_grid({"grid": grid, "fan_out_points": 3}) == {"alpha": [0.0, 0.5, 1.0], "l1_ratio": [0.0]}
    for whole in (0, 9, 50, None):  # 0, the grid's size or more, or an exam without the key: the whole grid
        exam = {"grid": grid} if whole is None else {"grid": grid, "fan_out_points": whole}
        assert fan_out_grid(exam) == grid
    text = criteria_copy.read_text().replace("fan_out_points = 4", "fan_out_points = 0")
    criteria_copy.write_text(text)
    assert fan_out_grid(criteria_mod.load(criteria_copy).exam.to_dict()) == grid


@pytest.mark.parametrize("value", ["-1", "2.5", '"all"', "true"])
def test_a_bad_fan_out_size_names_its_line(criteria_copy, value):
    text = criteria_copy.read_text().replace("fan_out_points = 4", f"fan_out_points = {value}")
    criteria_copy.write_text(text)
    with pytest.raises(UserError) as caught:
        criteria_mod.load(criteria_copy)
    line = text[: text.index("fan_out_points")].count("\n") + 1
    problems = [str(p) for p in caught.value.problems]
    assert any(f":{line}" in p and "exam.fan_out_points" in p and "0: the whole grid" in p for p in problems), problems
