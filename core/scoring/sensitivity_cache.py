"""P(first) remembered between starts, so the TUI shows it in its first frame.

The Monte-Carlo P(first) (`scoring.p_first`) needs numpy, whose import is most of the time
between the TUI's first frame and the frame with P(first) in it. Its result depends only on
what `p_first` reads: the weights (in order: the order decides which draw goes to which
checkpoint), every tool's ratings (expert, or measured from the store's evidence), and the
sampler's settings. So the last results are kept, keyed by the sha256 of exactly those
inputs: a hit is the number `p_first` would compute, bit for bit; anything changed
(criteria, a weight, a new run's evidence) is a different key and is computed as before.

Where: in the results store (``<store>/cache/p-first.json``) when its folder exists (exams
ran here), else in the user's cache folder (``$XDG_CACHE_HOME/mlops-compare/p-first.json``,
``~/.cache/...``), so looking at scores in a folder leaves nothing behind in it.

Nothing here imports numpy. A damaged or unreadable cache file is a miss, never an error.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from mlops_compare import atomic, scoring

FILE = Path("cache") / "p-first.json"  # in the store's folder
USER_FILE = Path("mlops-compare") / "p-first.json"  # in the user's cache folder
KEEP = 32  # entries: profiles x recent weight changes; a few KB
VERSION = 1  # bump when p_first's meaning changes


def key(weights: Mapping[str, float], ratings: Mapping[str, Mapping[str, float]]) -> str:
    """The digest of everything `scoring.p_first(weights, ratings)` reads (order kept)."""
    inputs = [
        VERSION,
        scoring.SAMPLES,
        scoring.SEED,
        scoring.CONCENTRATION,
        list(weights.items()),
        [[t, list(per.items())] for t, per in ratings.items()],
    ]
    return hashlib.sha256(json.dumps(inputs, default=repr).encode()).hexdigest()


def location(root: Path) -> Path:
    """The cache file for the store at *root*: in it when its folder exists, else in the user's cache."""
    root = Path(root)
    if root.is_dir():
        return root / FILE
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / USER_FILE


def _read(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def lookup(root: Path, weights: Mapping[str, float], ratings: Mapping[str, Mapping[str, float]]) -> dict | None:
    """The remembered P(first) per tool for these inputs, or None."""
    found = _read(location(root)).get(key(weights, ratings))
    if not isinstance(found, dict) or set(found) != set(ratings):
        return None
    if not all(isinstance(v, int | float) for v in found.values()):
        return None
    return {t: float(found[t]) for t in ratings}


def remember(
    root: Path, weights: Mapping[str, float], ratings: Mapping[str, Mapping[str, float]], p_first: Mapping[str, float]
) -> None:
    """Keep this result (the newest KEEP entries stay). Best effort: a read-only store is left alone."""
    path = location(root)
    entries = _read(path)
    k = key(weights, ratings)
    entries.pop(k, None)
    entries[k] = dict(p_first)
    for old in list(entries)[: max(len(entries) - KEEP, 0)]:
        del entries[old]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps(entries) + "\n")
    except OSError:
        pass
