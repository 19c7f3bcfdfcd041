"""Shared fixtures: paths, a small exam, and a writable copy of the shipped criteria."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from mlops_compare.infra.threads import THREAD_VARS

# The session's real single-node Slurm (tests/slurm_support.py): pytest takes fixtures only from conftest.
from slurm_support import slurm_cluster  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "criteria.toml"
WINE = ROOT.parent / "shared" / "data" / "wine-quality.csv"

# The tests see the runners' own thread default (infra.threads): a thread setting in the shell
# that starts pytest (common on HPC login nodes) would be kept as the user's choice.
for _name in THREAD_VARS:
    os.environ.pop(_name, None)

SMALL_EXAM = {
    "data": "sklearn:diabetes",
    "target": "target",
    "test_size": 0.25,
    "random_state": 42,
    "grid": {"alpha": [0.0, 0.5], "l1_ratio": [0.5]},
}


def plain_baseline(exam: dict, folder: Path, monkeypatch) -> dict[str, dict[str, float]]:
    """The grid through example/plain/train.py, the way a user without any tool runs it."""
    import importlib.util
    import json
    import sys

    from mlops_compare.example import common

    example = Path(common.__file__).parent
    folder.mkdir()
    for name in ("common.py", "plain/train.py"):
        shutil.copy2(example / name, folder / Path(name).name)
    settings = {k: exam[k] for k in ("target", "test_size", "random_state", "grid")}
    (folder / common.EXAM_FILE).write_text(json.dumps(settings))
    common.materialize(exam["data"], exam["target"], folder / common.DATA_FILE)
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location("_plain_train_for_tests", folder / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop("common", None)
    return {common.point_key(**p): module.train(p["alpha"], p["l1_ratio"]) for p in common.grid_points(exam["grid"])}


def assert_baseline_metrics(metrics: list[dict], baseline: dict[str, dict[str, float]], where: str = "") -> None:
    """Every point's rmse, mae and r2 in *metrics* (a record's) equal *baseline*'s (`plain_baseline`) to 1e-9."""
    import pytest
    from mlops_compare.example import common

    for metric in metrics:
        expected = baseline[common.point_key(metric["alpha"], metric["l1_ratio"])]
        for name in ("rmse", "mae", "r2"):
            assert metric[name] == pytest.approx(expected[name], abs=1e-9), (where, name)


def without_large_data(text: str) -> str:
    """Criteria text without its ``[exam.large_data]`` table (the shipped file switches the check on)."""
    return re.sub(r"(?m)^\[exam\.large_data\]\n(?:[^\[\n].*\n|\n)*", "", text)


def without_storage(text: str) -> str:
    """Criteria text without ``[exam.storage]`` and ``[exam.storage.s3]`` (the shipped file switches remote_storage on)."""
    return re.sub(r"(?m)^\[exam\.storage(?:\.s3)?\]\n(?:[^\[\n].*\n|\n)*", "", text)


def without_tool(text: str, tool: str) -> str:
    """Criteria text without ``[tool.<tool>]`` and its ratings table (the tool becomes unrated)."""
    return re.sub(rf"(?m)^\[tool\.{re.escape(tool)}(?:\.ratings)?\]\n(?:[^\[\n].*\n|\n)*", "", text)


# Parallel runs (`pytest -n auto`, README): `--dist loadgroup` (pyproject addopts) sends every test of
# one xdist group to one worker, so each expensive fixture is built once per pytest run: the exam
# (`exam_run`), the throwaway Slurm (`slurm_cluster`) and a module's own module-scoped fixture.
# Groups go out in collection (file) order: xdist's own order (groups with most tests first) is
# switched off below. Longest first was tried and was not faster (README, Testing: 12:23 against
# 11:23 and 13:08 in file order from fresh clones, the machine's drift as large as the difference);
# file order mixes the heavy fixtures with tests that mostly wait.
SESSION_GROUPS = ("exam_run", "slurm_cluster")  # a session fixture of ours -> one group for all its tests


def xdist_group_of(item: pytest.Item) -> str | None:
    """The group an item must share a worker with, or None when it can run anywhere."""
    names = item.fixturenames
    for name in SESSION_GROUPS:
        if name in names:
            return name
    defs = getattr(item, "_fixtureinfo", None)
    for name in names:
        fixturedefs = defs.name2fixturedefs.get(name) if defs else None
        if fixturedefs and fixturedefs[-1].scope == "module":
            return item.nodeid.split("::")[0]  # the module's own fixture: its tests together
    return None


@pytest.hookimpl(tryfirst=True)  # before xdist's worker hook reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        group = xdist_group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("dist", "no") == "loadgroup":
        config.option.loadscopereorder = False  # xdist would order groups by test count instead


@pytest.fixture
def small_exam() -> dict:
    return {**SMALL_EXAM, "grid": {k: list(v) for k, v in SMALL_EXAM["grid"].items()}}


@pytest.fixture
def criteria_copy(tmp_path: Path) -> Path:
    path = tmp_path / "criteria.toml"
    shutil.copy(SHIPPED, path)
    return path


# The runners tests/test_hpc.py runs as Slurm runner jobs (grid and hpc check, metrics against the
# plain baseline); tests/test_slurm_executor.py runs the rest of the registry (and plain) as jobs,
# so every registered runner is run as a job once per test run.
HPC_TOOLS = ("plain", "dvc", "mlflow", "metaflow", "dvc-mlflow")

# Runners whose tests run them on their own instead: the DVC + MLflow combination repeats the
# DVC runner's work, which would lengthen every session using exam_run by a third; the ZenML
# and W&B plugins (plugins/, issue 22) are not this package's runners and answer only some
# checks: tests/test_field_plugins.py runs them.
OWN_FIXTURE = ("dvc-mlflow", "zenml", "wandb")


class ExamRun:
    """Every registered runner (but OWN_FIXTURE) run once, for real, on the small grid (shared by the slow tests)."""

    def __init__(self, records, events, store, repo, home, before, after):
        self.records = records  # tool -> RunRecord
        self.events = events  # tool -> list of events, in order
        self.store = store  # the results store they were saved to
        self.repo = repo  # the git repository the run was started from
        self.home = home  # the HOME the parent process had
        self.before, self.after = before, after  # snapshots of repo status and git config


def _snapshot(repo: Path, home: Path) -> dict:
    import subprocess

    status = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=repo, capture_output=True, text=True)
    files = sorted(str(p.relative_to(home)) for p in home.rglob("*"))
    return {
        "status": status.stdout,
        "repo_config": (repo / ".git" / "config").read_text(),
        "gitconfig": (home / ".gitconfig").read_text(),
        "home_files": files,
        "head": subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout,
    }


@pytest.fixture(scope="session")
def exam_run(tmp_path_factory) -> ExamRun:
    """Run plain, mlflow, dvc and metaflow (jobs=2) from inside a user's git repository.

    The parent's cwd is a git repo with a commit and its HOME holds a .gitconfig; both are
    snapshotted before and after, so tests can prove the runners wrote nothing there.
    """
    import asyncio
    import subprocess

    from envs_support import environment
    from mlops_compare import registry
    from mlops_compare.executors.local import RunRequest, run_many
    from mlops_compare.store import Store

    base = tmp_path_factory.mktemp("exam")
    repo, home = base / "user-repo", base / "user-home"
    repo.mkdir()
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = user@example.invalid\n")
    env = {**os.environ, "HOME": str(home)}
    for argv in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "--allow-empty", "-m", "user work"],
    ):
        subprocess.run(argv, cwd=repo, env=env, check=True)
    (repo / "notes.txt").write_text("the user's own file\n")
    subprocess.run(["git", "add", "notes.txt"], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "notes"], cwd=repo, env=env, check=True)

    old_cwd, old_home = os.getcwd(), os.environ.get("HOME")
    os.chdir(repo)
    os.environ["HOME"] = str(home)
    try:
        before = _snapshot(repo, home)
        events: dict[str, list] = {}
        store = Store(base / "store")
        exam = {**SMALL_EXAM, "grid": {k: list(v) for k, v in SMALL_EXAM["grid"].items()}}
        tools = [t for t in registry.available() if t not in OWN_FIXTURE]
        # each runner in its own tool environment, as `mlops-compare run` starts it (issue 16)
        requests = [RunRequest(t, exam, timeout=600, environment=environment(t)) for t in tools]
        records = asyncio.run(run_many(requests, 2, lambda t, e: events.setdefault(t, []).append(e), store))
        after = _snapshot(repo, home)
    finally:
        os.chdir(old_cwd)
        if old_home is None:
            os.environ.pop("HOME", None)
        else:
            os.environ["HOME"] = old_home
    return ExamRun({r.tool: r for r in records}, events, store, repo, home, before, after)
