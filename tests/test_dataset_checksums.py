"""The data set's checksums: the user's file as `sha256sum` sees it, and the normalised copy, named apart.

`example.common.materialize` writes the comma CSV every tool reads; a reviewer verifies the
report against the file they have, so the report must carry that file's sha256 too.
"""

from __future__ import annotations

import hashlib

import pytest
from conftest import WINE
from mlops_compare import criteria
from mlops_compare.evidence import Evidence
from mlops_compare.example.common import materialize
from mlops_compare.report import decision_report
from mlops_compare.results import RunRecord

WINE_SHA256 = "a48f0cc6bc35a5ffcc820c5b75d1a5c745522f6763921745d2141fb9916fa726"


@pytest.fixture
def data_file(tmp_path):
    """The shared wine file when it is there (its sha256 is published), else a small ';' CSV."""
    if WINE.exists():
        return WINE, WINE_SHA256
    path = tmp_path / "wine.csv"
    path.write_bytes(b'"a";"b";"quality"\n1;2.5;6\n3;4.5;5\n2;1.5;7\n')
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_materialize_records_the_source_file_and_the_normalised_copy(data_file, tmp_path):
    path, source_sha = data_file
    dest = tmp_path / "workspace" / "data.csv"
    info = materialize(str(path), "quality", dest)
    assert info["source_sha256"] == source_sha  # what `sha256sum` of the user's file prints
    assert info["normalised_sha256"] == hashlib.sha256(dest.read_bytes()).hexdigest() != source_sha
    assert "sha256" not in info  # one name per checksum: old records' `sha256` is read as the normalised one


def test_sklearn_data_has_no_source_file_checksum(tmp_path):
    info = materialize("sklearn:diabetes", "target", tmp_path / "data.csv")
    assert "source_sha256" not in info and info["normalised_sha256"]


def test_report_names_both_checksums(data_file, tmp_path):
    path, source_sha = data_file
    dataset = materialize(str(path), "quality", tmp_path / "data.csv")
    record = RunRecord(tool="plain", status="passed", dataset=dataset, checks={"grid": {"status": "pass"}})
    c = criteria.load(criteria.SHIPPED)
    md = decision_report(c, c.profiles["research-institute"], Evidence({"plain": record}))
    assert f"Source file sha256 `{source_sha}`" in md
    assert f"Normalised copy (the comma CSV every tool read) sha256 `{dataset['normalised_sha256']}`" in md


def test_report_reads_the_old_single_checksum_as_the_normalised_one():
    old = {"source": "sklearn:diabetes", "target": "target", "rows": 442, "sha256": "ab" * 32}
    record = RunRecord(tool="plain", status="passed", dataset=old, checks={"grid": {"status": "pass"}})
    c = criteria.load(criteria.SHIPPED)
    md = decision_report(c, c.profiles["research-institute"], Evidence({"plain": record}))
    assert f"Normalised copy (the comma CSV every tool read) sha256 `{'ab' * 32}`" in md
    assert "Source file sha256" not in md
