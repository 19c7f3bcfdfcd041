"""How many BLAS and OpenMP threads each process a runner starts may use.

numpy's OpenBLAS, scikit-learn's OpenMP loops and MKL (where a tool brings it) start one
thread per core in every process by default. The exam's work is many small processes
running side by side (two runners at once, a tool's step processes, 12-32 concurrency tasks,
Slurm jobs of one CPU), and ElasticNet's coordinate descent is single-threaded work: the
extra threads bring no speed and spin on the other processes' cores. Measured on the 2-core
development machine (2026-12-07, Debian's Python 3.11, numpy/scikit-learn of the tool
environments): one training process on the study's grid, the same wall time and 15 % less
CPU with one thread; three fits at 1M rows, the same wall time and 30 % less CPU.

So every runner's environment holds one thread per process, unless the user set any of
these variables: then all of them are left as the user set them. A runner that is itself a
Slurm job (`--executor slurm`) gets the job's `SLURM_CPUS_PER_TASK` instead (`--cpus`: the
Slurm convention); the jobs a runner submits (the hpc check's grid, the concurrency array)
inherit the runner's setting with the rest of its environment. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping

# The variables the thread pools read: OpenMP (scikit-learn, and OpenBLAS's fallback),
# OpenBLAS (numpy's and scipy's wheels), MKL.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def user_set(env: Mapping[str, str]) -> bool:
    """True when *env* already says how many threads (any of `THREAD_VARS`, non-empty)."""
    return any(env.get(name) for name in THREAD_VARS)


def limit(env: MutableMapping[str, str], threads: int = 1) -> None:
    """Give every process started with *env* *threads* BLAS/OpenMP threads, unless the user chose already."""
    if not user_set(env):
        env.update(dict.fromkeys(THREAD_VARS, str(max(1, threads))))


def slurm_share(env: Mapping[str, str]) -> int:
    """The threads of a process in a Slurm job: the job's CPUs per task, else 1."""
    try:
        return max(1, int(env.get("SLURM_CPUS_PER_TASK") or 1))
    except ValueError:
        return 1


def describe(env: Mapping[str, str]) -> str:
    """One line for a runner's log: what its processes' thread pools get."""
    values = ", ".join(f"{name}={env.get(name) or 'unset'}" for name in THREAD_VARS)
    return f"threads per process: {values}"
