"""Tool environments (`mlops_compare.envs`) with the real uv and real installs, kept tiny.

Each test uses a small requirement set (`six`, from uv's cache after the first time), so a
build takes seconds; the runner code (mlops-compare itself) goes in without dependencies.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from mlops_compare import envs
from mlops_compare.cli import main

TINY = ("six",)
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def spec() -> envs.Spec:
    return envs.spec_for(TINY)


def test_build_then_reuse_in_a_moment(tmp_path, spec):
    where = envs.Envs(tmp_path / "envs")
    lines: list[str] = []
    env = where.ensure(spec, lines.append)
    assert env.built and env.path == tmp_path / "envs" / spec.key
    assert any("installing 1 requirement" in line for line in lines)
    versions = env.versions()
    assert "six" in versions and "mlops-compare" in versions, versions
    # the runner code is importable with the environment's interpreter, its tools are not the comparer's
    out = subprocess.run(
        [env.python, "-c", "import six, mlops_compare.events, sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == str(env.path)
    meta = json.loads((env.path / envs.MARK).read_text())
    assert meta["requirements"] == ["six"] and meta["key"] == spec.key
    walked = envs._walk_size(env.path)  # the listing's size: walked once, then kept beside the environment
    assert env.size() == walked and (env.path / envs.SIZE).read_text().strip() == str(walked)
    assert envs.Env(env.path, env.meta).size() == walked  # read back, not walked again (the file adds bytes)
    assert (env.path / envs.FREEZE).read_text().count("six==") == 1

    began = time.perf_counter()
    again = where.ensure(spec)
    assert not again.built and again.path == env.path
    assert time.perf_counter() - began < 1.0
    assert [e.key for e in where.all()] == [spec.key]


def test_key_follows_requirements_python_and_runner_code(spec):
    same = envs.spec_for(["six "])
    assert same.key == spec.key  # whitespace and order do not matter
    assert envs.spec_for(["six", "packaging"]).key != spec.key
    other_python = envs.Spec(spec.requirements, spec.sources, spec.python, "cpython-3.99.0")
    assert other_python.key != spec.key
    moved = envs.Source("mlops-compare", "0.1.0", ("-e", "/elsewhere"), "editable:/elsewhere:0.1.0")
    assert envs.Spec(spec.requirements, (moved,), spec.python, spec.python_version).key != spec.key
    assert envs.Spec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


TEXT = {"capture_output": True, "text": True, "check": True}


def test_environments_are_made_from_mlops_compare_python_when_set(tmp_path, monkeypatch):
    """$MLOPS_COMPARE_PYTHON: the interpreter a tool environment is made from (the key holds its version)."""
    monkeypatch.delenv(envs.PYTHON_VAR, raising=False)
    assert envs.base_python() == sys.executable and envs.spec_for(TINY).python == sys.executable
    debian = Path("/usr/bin/python3")
    if not debian.exists() or Path(sys.base_prefix) == Path("/usr"):
        pytest.skip("no system Python besides this one (Debian's /usr/bin/python3 in CI)")
    monkeypatch.setenv(envs.PYTHON_VAR, str(debian))
    spec = envs.spec_for(TINY)
    version = subprocess.run([str(debian), "-c", "import platform; print(platform.python_version())"], **TEXT)
    assert spec.python == str(debian) and spec.python_version == f"cpython-{version.stdout.strip()}"
    env = envs.Envs(tmp_path / "envs").ensure(spec)
    base = subprocess.run([env.python, "-c", "import six, sys; print(sys.base_prefix)"], **TEXT)
    assert base.stdout.strip() == "/usr"  # a venv of Debian's interpreter, with the requirements in it


@pytest.mark.parametrize(
    "script, said",
    [
        (None, "no such interpreter; give the path of a Python 3.11+"),
        ("#!/bin/sh\necho 'no python here' >&2\nexit 1\n", "not a Python interpreter that runs (no python here)"),
        ("#!/bin/sh\necho cpython 3 9 2\n", "Python 3.9.2; the tool environments need Python 3.11 or newer"),
    ],
)
def test_a_wrong_mlops_compare_python_exits_2_saying_what_is_wrong(tmp_path, monkeypatch, capsys, script, said):
    python = tmp_path / "python"
    if script is not None:
        python.write_text(script)
        python.chmod(0o755)
    monkeypatch.setenv(envs.PYTHON_VAR, str(python))
    monkeypatch.setenv(envs.ENV_VAR, str(tmp_path / "envs"))
    code = main(["run", "--tool", "plain", "--check", "grid", "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 2 and said in err and "Traceback" not in err, err
    assert not (tmp_path / "envs").exists() or not list((tmp_path / "envs").iterdir())


def test_two_builds_of_one_key_wait_for_each_other(tmp_path, spec):
    where = envs.Envs(tmp_path / "envs")
    results: list[envs.Env] = []
    waits: list[str] = []

    building = threading.Event()  # the first build holds the lock: the second starts only now

    def said(line: str) -> None:
        if "waiting" in line:
            waits.append(line)
        if "uv venv" in line:
            building.set()

    def build() -> None:
        results.append(where.ensure(spec, said))

    threads = [threading.Thread(target=build) for _ in range(2)]
    threads[0].start()
    assert building.wait(120), "the first build did not start"
    threads[1].start()
    for thread in threads:
        thread.join(300)
    assert len(results) == 2
    assert sorted(env.built for env in results) == [False, True]  # one built it, the other reused it
    assert waits, "the second run should have said it waits for the first"
    assert len(where.all()) == 1 and not where.leftovers()


def test_an_interrupted_build_never_looks_complete(tmp_path, spec, monkeypatch):
    where = envs.Envs(tmp_path / "envs")
    real = envs._uv

    def interrupted(argv, say):
        if "freeze" in argv:  # everything installed, the mark not yet written
            raise KeyboardInterrupt
        return real(argv, say)

    monkeypatch.setattr(envs, "_uv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        where.ensure(spec)
    assert where.find(spec) is None and not where.leftovers() and not (where.root / spec.key).exists()

    # a build killed outright (SIGKILL, power cut) leaves a .build-* folder: never found, cleared by the next build
    half = where.root / f"{envs.BUILD_PREFIX}{spec.key}-99999"
    (half / "bin").mkdir(parents=True)
    (half / "bin" / "python").symlink_to(sys.executable)
    assert where.find(spec) is None and where.leftovers() == [half]
    monkeypatch.setattr(envs, "_uv", real)
    env = where.ensure(spec)
    assert env.built and not half.exists()


def test_a_complete_env_is_reused_from_a_read_only_folder(tmp_path, spec, monkeypatch):
    where = envs.Envs(tmp_path / "envs")
    where.ensure(spec)
    before = sorted((p.relative_to(where.root), p.stat().st_mtime_ns) for p in where.root.rglob("*"))
    for path in [where.root, *where.root.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    # root ignores permissions: make every write fail as it would for another user
    monkeypatch.setattr(Path, "touch", lambda self, *a, **k: (_ for _ in ()).throw(PermissionError(13, "read-only")))
    try:
        env = envs.Envs(where.root).ensure(spec)
        assert not env.built
        after = sorted((p.relative_to(where.root), p.stat().st_mtime_ns) for p in where.root.rglob("*"))
        assert after == before  # no lock file, no stamp, nothing written
    finally:
        for path in [where.root, *where.root.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)


def test_unsatisfiable_requirements_give_the_resolvers_message(tmp_path):
    bad = envs.spec_for(["mlops-compare-no-such-distribution-xyz==1.0"])
    where = envs.Envs(tmp_path / "envs")
    with pytest.raises(envs.EnvError) as caught:
        where.ensure(bad)
    assert caught.value.kind == "resolve"
    assert "mlops-compare-no-such-distribution-xyz" in caught.value.message
    assert "not found in the package registry" in caught.value.message
    assert where.find(bad) is None and not where.leftovers()


def _criteria(tmp_path: Path, tool_table: str = "") -> Path:
    shipped = (REPO / "criteria.toml").read_text()
    path = tmp_path / "criteria.toml"
    path.write_text(shipped + "\n" + tool_table)
    return path


def test_run_with_an_unwritable_envs_folder_exits_2_with_the_path(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(envs.ENV_VAR, str(blocker / "envs"))
    code = main(["run", "--tool", "plain", "--check", "grid", "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert str(blocker / "envs") in err and "cannot build tool environments there" in err


def test_run_without_network_and_without_env_exits_2_naming_prepare(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(envs.ENV_VAR, str(tmp_path / "envs"))
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")  # nothing listens there
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    criteria = _criteria(tmp_path, '[tool.plain]\nrequires = ["six"]\n')  # plus the exam's set: from that index
    code = main(["run", "--criteria", str(criteria), "--tool", "plain", "--store", str(tmp_path / "store")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "no environment yet for" in err and "six" in err and "mlops-compare envs --prepare" in err
    assert not (tmp_path / "store").exists() or not list((tmp_path / "store").rglob("*plain*.json"))


def test_run_records_the_resolvers_message_and_the_others_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(envs.ENV_VAR, str(tmp_path / "envs"))
    criteria = _criteria(tmp_path, '[tool.plain]\nrequires = ["mlops-compare-no-such-distribution-xyz==1.0"]\n')
    store = tmp_path / "store"
    code = main(["run", "--criteria", str(criteria), "--tool", "plain", "--check", "setup", "--store", str(store)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "not found in the package registry" in err
    (record_file,) = (store / "runs").glob("*plain*.json")
    record = json.loads(record_file.read_text())
    assert record["status"] == "error" and "mlops-compare-no-such-distribution-xyz" in record["reason"]


def test_envs_command_lists_prepares_and_removes(tmp_path, monkeypatch, capsys):
    from mlops_compare.runners.plain import PlainRunner

    monkeypatch.setenv(envs.ENV_VAR, str(tmp_path / "envs"))
    # plain's environment as `six` + the runner code (a real build, kept tiny as in every test here:
    # the exam's scientific stack compiled from nothing cost this test 20 CPU-s)
    monkeypatch.setattr(PlainRunner, "exam_requirements", ())
    criteria = _criteria(tmp_path, '[tool.plain]\nrequires = ["six"]\n')
    argv = ["envs", "--criteria", str(criteria), "--tool", "plain"]
    assert main(argv) == 0
    assert "not built yet: plain" in capsys.readouterr().out
    assert main([*argv, "--fresh"]) == 2  # says how --prepare builds: alone, a mistake
    assert "--prepare --fresh" in capsys.readouterr().err
    assert main([*argv, "--prepare", "--fresh"]) == 0
    out = capsys.readouterr().out
    assert "plain: " in out and "built in" in out
    assert main(argv) == 0
    listed = capsys.readouterr().out
    assert "last used" in listed and "plain" in listed
    assert f"Python {envs.python_version(envs.base_python()).removeprefix('cpython-')} (" in listed
    key = out.split("plain: ", 1)[1].split()[0]  # "plain: KEY built in N s"
    assert main(["envs", "--criteria", str(criteria), "--remove", key]) == 0
    assert f"removed {key}" in capsys.readouterr().out
    assert not (tmp_path / "envs" / key).exists()


def test_runner_runs_with_the_envs_interpreter_and_the_record_has_its_versions(tmp_path, monkeypatch, capsys):
    """plain in its own environment (the exam set only; it is the slow test of this file)."""
    monkeypatch.setenv(envs.ENV_VAR, os.environ.get("MLOPS_COMPARE_TEST_ENVS", str(envs.default_root())))
    store = tmp_path / "store"
    code = main(["run", "--tool", "plain", "--check", "grid", "--store", str(store)])
    capsys.readouterr()
    assert code == 0
    (record_file,) = (store / "runs").glob("*plain*.json")
    record = json.loads(record_file.read_text())
    assert record["python"].startswith(str(envs.root_for())) and record["python"].endswith("/bin/python")
    environment = record["environment"]
    assert environment["versions"]["scikit-learn"] and environment["versions"]["pandas"]
    assert "mlflow" not in environment["versions"]  # plain's environment holds no tool


def test_a_later_run_with_other_versions_makes_older_measurements_stale():
    """hpc measured with MLflow 2.22 (its environment), then a run with 3.17 that did not run hpc."""
    from mlops_compare import criteria
    from mlops_compare.evidence import Evidence, measured_cells, older_version
    from mlops_compare.results import RunRecord

    def record(version: str, started: str, **checks: str) -> RunRecord:
        return RunRecord(
            tool="mlflow",
            status="passed",
            tool_version=version,
            started_at=started,
            checks={c: {"status": s, "seconds": 1.0, "evidence": c, "numbers": {}} for c, s in checks.items()},
            environment={"key": "k", "versions": {"mlflow": version}},
        )

    shipped = criteria.load(criteria.SHIPPED)
    profile = shipped.profiles[shipped.default_profile]
    old = record("2.22.1", "2026-01-01T10:00:00+00:00", hpc="pass", grid="pass")
    new = record("3.17.2", "2026-01-02T10:00:00+00:00", grid="pass")
    cells = measured_cells(shipped, profile, Evidence({"mlflow": old}).with_record(new))["mlflow"]
    assert cells["hpc"].measured is not None and "stale" in cells["hpc"].flags  # measured with 2.22, newest is 3.17
    same = record("2.22.3", "2026-01-02T10:00:00+00:00", grid="pass")  # a patch release: not stale by version
    assert not older_version(Evidence({"mlflow": old}).with_record(same).measured("mlflow"), ["hpc"])
    assert older_version(Evidence({"mlflow": old}).with_record(new).measured("mlflow"), ["hpc"])


def test_a_runner_process_builds_its_environment_with_a_progress_line(tmp_path, small_exam):
    """What the TUI's pane and `run` see: a progress event while building, then the environment's versions."""
    import asyncio

    from mlops_compare.executors.local import RunnerProcess, RunRequest

    spec = envs.spec_for(TINY)  # six and the runner code only: the plain runner cannot get far in it
    environment = {"root": str(tmp_path / "envs"), "spec": spec.to_dict()}
    seen: list[dict] = []
    request = RunRequest("plain", small_exam, timeout=120, workdir=tmp_path / "work", environment=environment)
    record = asyncio.run(RunnerProcess(request, lambda tool, event: seen.append(event)).run())
    kinds = [event["type"] for event in seen]
    assert kinds[0] == "progress" and "building environment" in seen[0]["label"]
    assert any(event["type"] == "log" and event.get("stream") == "env" for event in seen)
    assert kinds.index("environment") < kinds.index("result")
    assert record.python == str(tmp_path / "envs" / spec.key / "bin" / "python")
    assert record.environment["versions"]["six"] and record.environment["key"] == spec.key
    # the runner really ran with that interpreter: its environment lacks what the exam needs (psutil,
    # pandas), which the comparer's has
    assert record.status in ("unavailable", "error", "failed"), record.reason
    assert "No module named" in record.reason


def test_envs_remove_unused_keeps_what_the_criteria_run_in(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(envs.ENV_VAR, str(tmp_path / "envs"))
    where = envs.Envs(tmp_path / "envs")
    stray = where.ensure(envs.spec_for(TINY))  # no tool of the shipped criteria runs in this one
    criteria = _criteria(tmp_path)
    assert main(["envs", "--criteria", str(criteria), "--remove", "unused"]) == 0
    out = capsys.readouterr().out
    assert f"removed {stray.key}" in out and not stray.path.exists()
    assert where.all() == []


def test_a_runner_installed_from_a_folder_that_is_gone_is_a_clear_build_error(monkeypatch, tmp_path):
    """A plugin installed from a local folder later moved or deleted: say so, and how to fix it (not uv's message)."""
    import json as json_module
    from importlib import metadata

    from mlops_compare import envs

    gone = tmp_path / "moved-away" / "mlops-compare-zenml"

    class Dist:
        metadata = {"Name": "mlops-compare-zenml"}
        version = "0.1.0"

        def read_text(self, name):
            return json_module.dumps({"url": gone.as_uri(), "dir_info": {}}) if name == "direct_url.json" else ""

    monkeypatch.setattr(metadata, "distributions", lambda name: [Dist()])
    with pytest.raises(envs.EnvError) as caught:
        envs.source_of("mlops-compare-zenml")
    assert caught.value.kind == "build"
    assert str(gone) in caught.value.message and "no longer there" in caught.value.message
    assert "install it again" in caught.value.message


def test_a_larger_set_is_seeded_from_a_smaller_one_which_stays_as_it_was(tmp_path):
    """`six` + `packaging` starts from the `six` environment (hard links), without the donor's plugin code."""
    where = envs.Envs(tmp_path / "envs")
    code = envs.spec_for(TINY).sources
    plugin = envs.Source("mlops-compare-notebook-log", "0.1.0", (str(REPO / "tests" / "plugin_example"),), "test")
    donor_spec = envs.Spec.make(TINY, (*code, plugin), envs.base_python())
    donor = where.ensure(donor_spec)
    assert "mlops-compare-notebook-log" in donor.versions()

    lines: list[str] = []
    spec = envs.spec_for(["six", "packaging"])
    env = where.ensure(spec, lines.append)
    assert env.built and env.meta["seeded_from"]["key"] == donor.key
    assert any(f"seeded from {donor.key}" in line for line in lines), lines
    versions = env.versions()
    assert {"six", "packaging", "mlops-compare"} <= set(versions) and "mlops-compare-notebook-log" not in versions
    run = [env.python, "-c", "import six, packaging, mlops_compare.events; import notebook_log_runner"]
    out = subprocess.run(run, capture_output=True, text=True)
    assert "No module named 'notebook_log_runner'" in out.stderr, out  # the rest imported
    six_py = [next((e.path / "lib").glob("python3.*/site-packages/six.py")) for e in (donor, env)]
    assert six_py[0].stat().st_ino == six_py[1].stat().st_ino  # linked, not copied
    # the donor is as it was: its plugin importable, no packaging
    again = where.find(donor_spec)
    assert again is not None and "packaging" not in again.versions()
    check = [donor.python, "-c", "import notebook_log_runner, six, mlops_compare.events"]
    assert subprocess.run(check, capture_output=True).returncode == 0
    assert subprocess.run([donor.python, "-c", "import packaging"], capture_output=True).returncode == 1

    fresh = envs.Envs(tmp_path / "fresh")
    fresh.ensure(envs.spec_for(TINY))
    built = fresh.ensure(spec, fresh=True)
    assert "seeded_from" not in built.meta and built.versions()["six"] == versions["six"]


def test_a_seeding_that_fails_builds_from_nothing(tmp_path, monkeypatch):
    """The donor gone half way (removed by another run, a full disk): the build goes on without it."""
    where = envs.Envs(tmp_path / "envs")
    where.ensure(envs.spec_for(TINY))

    def gone(self, donor, tmp, key, say):
        tmp.mkdir()
        raise FileNotFoundError(2, "No such file or directory", str(donor.path / "bin"))

    monkeypatch.setattr(envs.Envs, "_seed", gone)
    lines: list[str] = []
    env = where.ensure(envs.spec_for(["six", "packaging"]), lines.append)
    assert env.built and "seeded_from" not in env.meta and "packaging" in env.versions()
    assert any("seeding failed" in line and "building it from nothing" in line for line in lines), lines
