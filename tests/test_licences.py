"""The `license` check's reading of package metadata: SPDX expressions, classifiers, free text, closures."""

from __future__ import annotations

import email.message
import json
import subprocess
from pathlib import Path

import envs_support
import pytest
from mlops_compare import envs
from mlops_compare.evidence import check_score
from mlops_compare.runners.checks import license as metadata


def meta(**fields) -> email.message.Message:
    """Core metadata as importlib.metadata hands it out (repeated fields allowed)."""
    message = email.message.Message()
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            message[name.replace("_", "-")] = item
    return message


@pytest.mark.parametrize(
    ("fields", "name", "osi", "source", "copyleft"),
    [
        (
            {"License_Expression": "Apache-2.0 OR BSD-3-Clause"},
            "Apache-2.0 OR BSD-3-Clause",
            True,
            "License-Expression",
            False,
        ),
        (
            {"License_Expression": "MIT-CMU"},
            "MIT-CMU",
            False,
            "License-Expression",
            False,
        ),  # pillow: not on the OSI list
        (
            {"License_Expression": "BSD-3-Clause AND CC0-1.0"},
            "BSD-3-Clause AND CC0-1.0",
            False,
            "License-Expression",
            False,
        ),
        (
            {"License_Expression": "MIT OR (CC0-1.0 AND Zlib)"},
            "MIT OR (CC0-1.0 AND Zlib)",
            True,
            "License-Expression",
            False,
        ),
        (
            {"License_Expression": "GPL-2.0-or-later WITH Classpath-exception-2.0"},
            "GPL-2.0-or-later WITH Classpath-exception-2.0",
            True,
            "License-Expression",
            True,
        ),
        ({"License_Expression": "MPL-2.0 AND MIT"}, "MPL-2.0 AND MIT", True, "License-Expression", True),
        # mlflow: a copyright line in License, the licence in the classifier
        (
            {
                "License": "Copyright 2018 Databricks, Inc.  All rights reserved.",
                "Classifier": ["License :: OSI Approved :: Apache Software License"],
            },
            "Apache Software License",
            True,
            "classifier",
            False,
        ),
        ({"Classifier": ["License :: OSI Approved"]}, "OSI Approved", True, "classifier", False),  # skops
        (
            {"Classifier": ["License :: Other/Proprietary License"]},
            "Other/Proprietary License",
            False,
            "classifier",
            False,
        ),
        ({"License": "Apache License, Version 2.0"}, "Apache-2.0", True, "License", False),
        ({"License": "3-Clause BSD License"}, "BSD-3-Clause", True, "License", False),
        ({"License": "new BSD"}, "BSD-3-Clause", True, "License", False),
        ({"License": "GPLv2 | EPLv1"}, "GPL-2.0 OR EPL-1.0", True, "License", True),  # grandalf
        ({"License": "GPLv2 with linking exception"}, "GPL-2.0", True, "License", True),  # pygit2
        ({"License": "ZPL-2.1"}, "ZPL-2.1", True, "License", False),
        ({"License": "=========================\nlicence text"}, "", None, "none", False),
        ({}, "", None, "none", False),  # huey: no licence in its metadata at all
    ],
)
def test_classify(fields, name, osi, source, copyleft):
    found = metadata.classify(meta(**fields))
    assert (found.name, found.osi, found.source, found.copyleft) == (name, osi, source, copyleft)


def test_an_expression_wins_over_classifiers_and_text():
    found = metadata.classify(
        meta(License_Expression="MIT", License="GPL", Classifier=["License :: Other/Proprietary License"])
    )
    assert (found.name, found.osi) == ("MIT", True)


PROBE = """
import json
from mlops_compare.runners.checks import license as metadata
out = {}
for name in ("mlflow", "scikit-learn"):
    r = metadata.report(name)
    out[name] = {"osi": r.own.osi, "distribution": r.distribution, "licences": sorted(r.licences),
                 "closure_size": r.closure_size, "baseline_size": r.baseline_size, "is_baseline": r.is_baseline}
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_tool_specific_closure_leaves_out_the_baseline():
    """Read in MLflow's tool environment (the comparer holds no tool since issue 16), as the runner reads it."""
    found = envs_support.environment("mlflow")
    assert found is not None and "spec" in found, found
    env = envs.Envs(Path(found["root"])).ensure(envs.Spec.from_dict(found["spec"]))
    out = subprocess.run([env.python, "-c", PROBE], capture_output=True, text=True, timeout=300, check=True)
    reports = json.loads(out.stdout)
    report, baseline = reports["mlflow"], reports["scikit-learn"]
    assert report["osi"] is True and report["distribution"] == "mlflow"
    assert "mlflow" in report["licences"] and "mlflow-skinny" in report["licences"]
    assert not {"numpy", "pandas", "scikit-learn", "scipy"} & set(report["licences"])
    assert report["closure_size"] > len(report["licences"]) >= report["closure_size"] - report["baseline_size"]
    assert baseline["is_baseline"] and {"numpy", "pandas", "scikit-learn"} <= set(baseline["licences"])


def test_license_scores_the_share_of_approved_metadata():
    numbers = {"osi_share": 76 / 78}
    assert check_score("license", {"status": "partial", "numbers": numbers}) == pytest.approx(0.974, abs=1e-3)
    assert check_score("license", {"status": "pass", "numbers": {"osi_share": 1.0}}) == 1.0
    assert check_score("license", {"status": "fail", "numbers": {"osi_share": 0.99}}) == 0.0


def test_a_distribution_that_is_not_installed_has_no_licence():
    report = metadata.report("mlops-compare-no-such-distribution")
    assert report.own.osi is None and report.licences == {} and report.missing == {"mlops-compare-no-such-distribution"}
