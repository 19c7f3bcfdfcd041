"""The headless core stays light: what `score` and the core import, checked in a fresh process."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("textual", "pandas", "sklearn", "mlflow", "dvc", "metaflow")


def imported_after(code: str) -> set[str]:
    probe = code + "\nimport sys, json\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT.parent)
    return set(json.loads(out.stdout.splitlines()[-1]))


def test_score_command_imports_no_ui_dataframe_or_tool(tmp_path):
    code = (
        "import contextlib, io\n"
        "from mlops_compare import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert cli.main(['score', '--store', {str(tmp_path)!r}]) == 0\n"
    )
    assert imported_after(code).isdisjoint(HEAVY)


@pytest.mark.parametrize("module", ["mlops_compare.executors.local", "mlops_compare.report", "mlops_compare.registry"])
def test_core_modules_import_no_heavy_package(module):
    assert imported_after(f"import {module}").isdisjoint(HEAVY)


def test_runner_modules_are_importable_without_their_tool():
    for path in sorted((ROOT / "runners").rglob("*.py")):
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.module}
        assert names.isdisjoint({"mlflow", "dvc", "metaflow", "textual"}), path.name


def test_core_never_imports_textual_or_tools():
    for path in sorted((ROOT / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                for name in names:
                    assert name.split(".")[0] not in {"textual", "mlflow", "dvc", "metaflow"}, (path.name, name)
