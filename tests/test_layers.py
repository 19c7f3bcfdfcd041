"""The layering contract, enforced over full module names (what import-linter would check).

import-linter cannot see this project's layout (the `mlops_compare` package is spread over
core/, tui/, runners/ and example/ by setuptools' package-dir), so the same contract is
checked here from the source: every import, including those inside functions, resolved to
its full module name.

- the core (`mlops_compare.*` in core/) imports neither the TUI, nor the runners, nor the
  example, but for the example's shared data module (`mlops_compare.example.common`, standard
  library at import time), whose CSV sniffer the parent's data check shares with the runners;
- runners import from the core only the event schema and the infrastructure (`mlops_compare.infra`);
- the infrastructure imports nothing of mlops_compare but itself;
- the example imports nothing of mlops_compare (it is copied alone into workspaces);
- nothing but the TUI imports Textual.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"core": "mlops_compare", "tui": "mlops_compare.tui", "runners": "mlops_compare.runners"}
FOLDERS["example"] = "mlops_compare.example"
UI = ("textual", "textual_plotext")
# Runners may use the event schema and the infrastructure (Slurm client, S3 endpoint, process
# trees, redaction): two prefixes, nothing else of the core.
RUNNER_HELPERS = ("mlops_compare.events", "mlops_compare.infra")
INFRA = "mlops_compare.infra"

# (layer, the modules it may not import: prefix match on full names, minus the allowed ones)
CONTRACT = {
    "core": (
        ("mlops_compare.tui", "mlops_compare.runners", "mlops_compare.example", *UI),
        ("mlops_compare.example.common",),
    ),
    # the infrastructure knows nothing of exams: it imports nothing of mlops_compare but itself
    "infra": (("mlops_compare", *UI), (INFRA,)),
    "runners": (("mlops_compare", *UI), ("mlops_compare.runners", "mlops_compare.example", *RUNNER_HELPERS)),
    "example": (("mlops_compare", *UI), ()),
    "tui": ((), ()),
}


def module_name(folder: str, path: Path) -> str:
    parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([FOLDERS[folder], *parts])


def imports(module: str, source: str, is_package: bool) -> set[str]:
    """Every module *source* imports, as full names (relative imports resolved)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(parent + ([base] if base else []))
            # `from mlops_compare import events` imports mlops_compare.events; the package
            # itself holds only the version, so it counts as no import of its own.
            if base != "mlops_compare":
                found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _matches(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(files: dict[str, tuple[str, str, bool]]) -> list[str]:
    """Broken rules, for {module: (layer, source, is_package)}."""
    out = []
    for module, (layer, source, is_package) in sorted(files.items()):
        forbidden, allowed = CONTRACT[layer]
        for name in sorted(imports(module, source, is_package)):
            if _matches(name, forbidden) and not _matches(name, allowed):
                out.append(f"{module} ({layer}) imports {name}")
    return out


def project_files() -> dict[str, tuple[str, str, bool]]:
    files = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            layer = folder
            if folder == "core" and path.parent.name == "infra":
                layer = "infra"
            files[module_name(folder, path)] = (layer, path.read_text(), path.name == "__init__.py")
    return files


def test_the_project_keeps_its_layers():
    files = project_files()
    assert "mlops_compare.cli" in files and "mlops_compare.runners.dvc.runner" in files
    assert violations(files) == []


def test_the_contract_catches_each_kind_of_violation():
    bad = {
        "mlops_compare.cli": ("core", "def f():\n    from mlops_compare.tui.app import run_app\n", False),
        "mlops_compare.headless": ("core", "from mlops_compare.example.plain import train\n", False),
        "mlops_compare.runners.x": ("runners", "from mlops_compare import verdict\n", False),
        "mlops_compare.runners.dvc.y": ("runners", "from ...store import Store\n", False),
        "mlops_compare.example.common": ("example", "import mlops_compare.events\n", False),
        "mlops_compare.report": ("core", "import textual.app\n", False),
        "mlops_compare.infra.slurm": ("infra", "from mlops_compare import events\n", False),
    }
    found = violations(bad)
    assert {line.split(" ", 1)[0] for line in found} == set(bad), found
    assert "mlops_compare.runners.dvc.y (runners) imports mlops_compare.store" in found
    ok = {
        "mlops_compare.runners.z": ("runners", "from mlops_compare import events\nfrom . import base\n", False),
        "mlops_compare.tui.app": ("tui", "import textual\nfrom mlops_compare import cli\n", False),
    }
    assert violations(ok) == []
