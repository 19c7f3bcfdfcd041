"""A plain (non-editable) install works from any directory and ships criteria.toml and example/.

The wheel is built from a temporary copy of the checkout: setuptools writes ``build/`` and
``*.egg-info`` next to the sources it builds, and the checkout must stay as it was.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# what a build does not need: VCS data, build output, caches, stores, the snapshot baselines
NOT_COPIED = shutil.ignore_patterns(
    ".git", "build", "dist", "*.egg-info", "__pycache__", "*_cache", ".venv", ".mlops-compare", "__snapshots__"
)


def build_outputs() -> dict[str, int]:
    """What a build writes into the checkout: build/, dist/ and *.egg-info, each with its mtime."""
    found = [ROOT / "build", ROOT / "dist", *ROOT.glob("*.egg-info")]
    return {path.name: path.stat().st_mtime_ns for path in found if path.exists()}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, int], dict[str, int]]:
    """The wheel, and the checkout's build outputs before and after building it."""
    before = build_outputs()
    source = tmp_path_factory.mktemp("src") / "mlops-compare"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED)  # symlinks followed: core/criteria.toml becomes a file
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    [path] = out.glob("mlops_compare-*.whl")
    return path, before, build_outputs()


@pytest.fixture(scope="module")
def wheel(built) -> Path:
    return built[0]


def test_building_leaves_the_checkout_alone(built):
    _, before, after = built
    assert after == before  # no new build/ or *.egg-info, none rewritten
    if shutil.which("git") and (ROOT / ".git").exists():
        status = subprocess.run(
            ["git", "status", "--porcelain", "--ignored", "--", "build", "dist", "*.egg-info"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        assert {line.split()[-1].rstrip("/") for line in status} <= set(before)


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
    assert "site-packages/mlops_compare/criteria.toml: ok (15 checkpoints, 3 profiles, 6 tools)" in out.stdout
    out = subprocess.run([str(exe), "--version"], cwd=elsewhere, capture_output=True, text=True)
    assert out.stdout.strip() == "mlops-compare 0.1.0"


# Distributions that belong in the tools' environments (core/envs.py), never in the comparer's.
TOOL_DISTRIBUTIONS = {
    "mlflow",
    "mlflow-skinny",
    "dvc",
    "dvc-s3",
    "metaflow",
    "moto",
    "boto3",
    "botocore",
    "aiobotocore",
    "jupyter-core",
    "nbclient",
    "ipykernel",
    "pandas",
    "scikit-learn",
    "pyarrow",
}


@pytest.mark.slow
def test_wheel_installs_light_with_the_interpreters_bundled_pip(wheel, tmp_path):
    """`python -m venv` + the pip that ensurepip bundles, dependencies resolved from the index: no tool comes along."""
    import json
    import time

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # ensurepip: the bundled pip
    python = str(venv / "bin" / "python")
    began = time.perf_counter()
    done = subprocess.run(
        [python, "-m", "pip", "install", "-q", str(wheel)], capture_output=True, text=True, timeout=900
    )
    seconds = time.perf_counter() - began
    assert done.returncode == 0, done.stderr[-2000:]
    listed = subprocess.run([python, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True)
    names = {item["name"].lower().replace("_", "-") for item in json.loads(listed.stdout)}
    assert not names & TOOL_DISTRIBUTIONS, f"tool distributions in the comparer's install: {names & TOOL_DISTRIBUTIONS}"
    assert {"mlops-compare", "textual", "uv"} <= names
    print(f"\ncomparer install: {seconds:.1f} s, {len(names)} distributions (pip, setuptools included)")
    uv_found = subprocess.run(
        [python, "-c", "import uv; print(uv.find_uv_bin())"], capture_output=True, text=True, check=True
    )
    assert uv_found.stdout.strip().startswith(str(venv))  # the binary shipped in the uv wheel
    out = subprocess.run([str(venv / "bin" / "mlops-compare"), "check"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
