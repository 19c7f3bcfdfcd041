"""A real single-node Slurm for the tests, shared by the whole session.

Register the fixture in tests/conftest.py (pytest only reads fixtures from conftest files):

    from slurm_support import slurm_cluster  # noqa: F401  (the session's Slurm)

Tests reach the cluster through `slurm_cluster.env` (SLURM_CONF); os.environ is left alone,
so a test that runs a command against Slurm passes or monkeypatches that itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlops_compare.infra import slurm_cluster as cluster_module


def require_slurm() -> None:
    """Skip when Slurm cannot run here; in CI (where `.ci/run` installs it) fail instead."""
    why = cluster_module.missing()
    if why is None:
        return
    if os.environ.get("CI"):
        # A skip would hide that CI never ran the Slurm tests.
        pytest.fail(f"CI must run the Slurm tests, but {why}", pytrace=False)
    pytest.skip(why)


def running_cluster(folder: Path | None = None, settings: dict[str, Any] | None = None) -> Iterator[Any]:
    """A started throwaway cluster for a fixture to yield from; at teardown no job may be left in its queue."""
    require_slurm()
    cluster = cluster_module.Cluster(folder, settings=settings)
    cluster.start()
    try:
        yield cluster
    finally:
        try:
            left = cluster.jobs()
        finally:
            cluster.stop()
    assert not left, f"jobs left in the Slurm queue after the tests: {left}"


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """A running cluster; at teardown no job may be left in its queue and its daemons are gone."""
    # Logs and state stay in pytest's temporary folder, for a look after a failure. Jobs start as
    # soon as the node is free (batch_sched_delay=0, as the other test clusters): Slurm's default
    # of up to 3 s before a batch job is scheduled is a high-throughput site's tuning, and here
    # only time every job-waiting test spent idle (an empty job: 3.0 s -> 1.0 s to COMPLETED).
    settings = {"SchedulerParameters": "batch_sched_delay=0"}
    for cluster in running_cluster(tmp_path_factory.mktemp("slurm"), settings=settings):
        yield cluster
    alive = [name for name, proc in cluster.processes.items() if proc.poll() is None]
    assert not alive, f"Slurm daemons still running after stop(): {alive}"
