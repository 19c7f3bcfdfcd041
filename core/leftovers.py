"""What runs leave behind in the temporary folder, and `mlops-compare clean` removing it.

A finished run removes its own workspace (unless ``--keep-workspaces``), keeping only the
files its record links (the ui check's screenshot). Runs that were killed, timed out or
kept leave ``mlops-compare-<tool>-XXXXXXXX`` workspaces, and a remote_storage check stopped
half-way its ``mlops-compare-shared-<tool>-...`` folder. `find` lists them for the known
tools, `in_use` spares those a live process works in (a run going on in another terminal,
and the shared folders next to it), and `remove` deletes the rest and says how much.
Records kept next to a workspace (``*.record.json``) are files, never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

_WORKSPACE = re.compile(r"^mlops-compare-(?P<tool>.+)-[A-Za-z0-9_]{8}$")
# remote_storage: mlops-compare-shared-<tool>-<YYYYmmdd-HHMMSS-hex8>-<mkdtemp's 8 characters>
_SHARED = re.compile(r"^mlops-compare-shared-(?P<tool>.+)-\d{8}-\d{6}-[0-9a-f]{8}-[A-Za-z0-9_]{8}$")


def find(folder: Path, tools: Iterable[str]) -> list[Path]:
    """Workspaces of *tools* and shared folders in *folder*, sorted."""
    known = set(tools)
    out = []
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    for path in children:
        if path.is_symlink() or not path.is_dir():
            continue
        shared = _SHARED.match(path.name)
        workspace = _WORKSPACE.match(path.name)
        if shared or (workspace and workspace["tool"] in known):
            out.append(path)
    return sorted(out)


def in_use(paths: list[Path]) -> set[Path]:
    """The *paths* a live process works in (its current folder inside), and shared folders beside them."""
    from mlops_compare.infra import proctree

    busy = {p for p in paths if _WORKSPACE.match(p.name) and proctree.working_in(p)}
    # a shared folder belongs to a run of its tool next to it: spare it while such a run is alive
    busy_tools = {(p.parent, m["tool"]) for p in busy if (m := _WORKSPACE.match(p.name))}
    busy |= {p for p in paths if (m := _SHARED.match(p.name)) and ((p.parent, m["tool"]) in busy_tools)}
    return busy


def size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


def remove(paths: list[Path]) -> tuple[int, int]:
    """Delete *paths*; (how many, bytes) actually removed."""
    count = nbytes = 0
    for path in paths:
        found = size(path)
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            count += 1
            nbytes += found
    return count, nbytes


def clean(folder: Path | None, tools: Iterable[str]) -> tuple[Path, int, int, int]:
    """Remove leftovers in *folder* (default: the temporary folder): (folder, removed, bytes, spared in use)."""
    folder = folder or Path(tempfile.gettempdir())
    found = find(folder, tools)
    busy = in_use(found)
    count, nbytes = remove([p for p in found if p not in busy])
    return folder, count, nbytes, len(busy)
