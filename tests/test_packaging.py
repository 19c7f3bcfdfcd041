"""A plain (non-editable) install works from any directory and ships criteria.toml and example/."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [path] = out.glob("mlops_compare-*.whl")
    return path


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "mlops_compare/criteria.toml",
        "mlops_compare/cli.py",
        "mlops_compare/runners/base.py",
        "mlops_compare/tui/__init__.py",
        "mlops_compare/example/common.py",
        "mlops_compare/example/plain/train.py",
    ):
        assert required in names
    assert not any(n.startswith(("tui/", "runners/", "core/", "example/")) for n in names)  # all namespaced
    shipped = zipfile.ZipFile(wheel).read("mlops_compare/criteria.toml").decode()
    assert shipped == (ROOT / "criteria.toml").read_text()  # the real file, not a symlink
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "mlops-compare = mlops_compare.cli:main" in text and "[mlops_compare.runners]" in text


def test_plain_install_in_fresh_venv_runs_from_any_directory(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    exe = venv / "bin" / "mlops-compare"
    out = subprocess.run([str(exe), "check"], cwd=elsewhere, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "site-packages/mlops_compare/criteria.toml: ok (15 checkpoints, 3 profiles, 3 tools)" in out.stdout
    out = subprocess.run([str(exe), "--version"], cwd=elsewhere, capture_output=True, text=True)
    assert out.stdout.strip() == "mlops-compare 0.1.0"
