"""Tool environments for tests that build `RunRequest`s by hand (issue 16).

`mlops-compare run` and the TUI give every request the environment its runner needs
(`plan.tool_environment`); a test that makes requests itself takes the same from here, so
its runners run in their own uv-built environments (shared with `run`: same key, same
folder), not in the comparer's interpreter, which holds no tool. The folder is fixed when
this module is imported, before any test points HOME elsewhere.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from mlops_compare import criteria, envs, plan

SHIPPED = Path(__file__).resolve().parent.parent / "criteria.toml"
ROOT = str(envs.root_for())


@functools.cache
def _shipped() -> criteria.Criteria:
    return criteria.load(SHIPPED)


def environment(tool: str) -> dict[str, Any] | None:
    """The `RunRequest.environment` of *tool* under the shipped criteria (None with MLOPS_COMPARE_ENVS=none)."""
    shipped = _shipped()
    found = plan.tool_environment(shipped, tool, plan.candidates(shipped)[tool])
    if found is not None and envs.ENV_VAR not in __import__("os").environ:
        found["root"] = ROOT
    return found
