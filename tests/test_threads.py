"""One BLAS/OpenMP thread per process a runner starts, unless the user chose (infra.threads).

The behaviour test asks the thread pools themselves: the plain tool environment's Python,
started with a runner's environment, imports numpy and scikit-learn and reports through
threadpoolctl (a scikit-learn dependency) how many threads each loaded pool will use.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from envs_support import environment
from mlops_compare import envs
from mlops_compare.executors.local import runner_env
from mlops_compare.infra import threads

POOLS = (
    "import json, numpy, sklearn.linear_model, threadpoolctl;"
    "print(json.dumps({p['internal_api']: p['num_threads'] for p in threadpoolctl.threadpool_info()}))"
)


def test_limit_sets_every_pool_and_keeps_what_the_user_chose():
    env: dict[str, str] = {"PATH": "/bin"}
    threads.limit(env)
    assert {v: env[v] for v in threads.THREAD_VARS} == dict.fromkeys(threads.THREAD_VARS, "1")
    mine = {"OPENBLAS_NUM_THREADS": "4"}
    threads.limit(mine, 2)
    assert mine == {"OPENBLAS_NUM_THREADS": "4"}  # the user's choice, and nothing added beside it
    blank = {"OMP_NUM_THREADS": ""}
    threads.limit(blank, 3)
    assert blank["OMP_NUM_THREADS"] == "3"  # an empty value chooses nothing


@pytest.mark.parametrize(("value", "share"), [(None, 1), ("4", 4), ("", 1), ("two", 1), ("0", 1)])
def test_a_slurm_jobs_share_is_its_cpus_per_task(value, share):
    assert threads.slurm_share({} if value is None else {"SLURM_CPUS_PER_TASK": value}) == share


def _pools(tmp_path, monkeypatch, user: dict[str, str]) -> dict[str, int]:
    for name in threads.THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    for name, value in user.items():
        monkeypatch.setenv(name, value)
    found = environment("plain")
    assert found is not None, "the plain tool environment (MLOPS_COMPARE_ENVS=none is not for this test)"
    # the environment a run finds (or builds, as a run would)
    python = envs.Envs(found["root"]).ensure(envs.Spec.from_dict(found["spec"])).python
    env = runner_env(tmp_path / "ws", python)
    out = subprocess.run([python, "-c", POOLS], env=env, capture_output=True, text=True, timeout=120, check=True)
    pools = json.loads(out.stdout)
    assert "openblas" in pools and "openmp" in pools, pools  # numpy's BLAS and scikit-learn's OpenMP
    return pools


def test_a_runners_processes_get_one_thread_in_every_pool(tmp_path, monkeypatch):
    assert set(_pools(tmp_path, monkeypatch, {}).values()) == {1}


def test_the_users_thread_setting_reaches_the_pools(tmp_path, monkeypatch):
    if (os.cpu_count() or 1) < 2:
        pytest.fail("this test needs a machine of at least 2 cores, as every machine of this project")
    assert set(_pools(tmp_path, monkeypatch, {"OMP_NUM_THREADS": "2"}).values()) == {2}
