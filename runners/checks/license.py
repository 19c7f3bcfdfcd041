"""Licences from installed package metadata: a distribution's requirement closure and what each licence is.

What the ``license`` check reads (`Runner.license`), with no network and no licence files:

- the closure: a distribution and everything its ``Requires-Dist`` pulls in, recursively,
  with environment markers evaluated for this interpreter and no extras (what
  ``pip install <tool>`` installs); requirements that are not installed are counted;
- a tool's *own* dependencies: its closure minus the closure of what the plain baseline
  needs (`BASELINE`: numpy, pandas, scikit-learn and their dependencies);
- each distribution's licence, from the first of: ``License-Expression`` (an SPDX expression,
  PEP 639), ``License :: OSI Approved :: ...`` or ``License :: Other/Proprietary License``
  classifiers, a short ``License`` field that names a licence (e.g. "Apache 2.0", "new BSD").
  A ``License`` field holding a copyright line or a whole licence text says nothing.

OSI approval comes from a small list of SPDX ids (`OSI_APPROVED`, following the SPDX
licence list's ``isOsiApproved``) or from the trove classifier itself, which says so.
"""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

BASELINE = ("numpy", "pandas", "scikit-learn")

# SPDX ids (without -only / -or-later) that the SPDX list marks OSI-approved; the common ones.
# PSF-2.0 is not marked there, but it is the licence agreement of the OSI-approved Python-2.0
# and the trove classifier files it under "OSI Approved": counted as approved.
OSI_APPROVED = frozenset(
    {
        "0BSD", "AFL-3.0", "AGPL-3.0", "Apache-1.1", "Apache-2.0", "Artistic-2.0", "BSD-1-Clause",
        "BSD-2-Clause", "BSD-2-Clause-Patent", "BSD-3-Clause", "BSL-1.0", "CDDL-1.0", "ECL-2.0",
        "EPL-1.0", "EPL-2.0", "EUPL-1.2", "GPL-2.0", "GPL-3.0", "HPND", "ISC", "LGPL-2.0", "LGPL-2.1",
        "LGPL-3.0", "MIT", "MIT-0", "MPL-1.1", "MPL-2.0", "MS-PL", "NCSA", "OFL-1.1", "PostgreSQL",
        "PSF-2.0", "Python-2.0", "UPL-1.0", "Unlicense", "Zlib", "ZPL-2.0", "ZPL-2.1",
    }
)  # fmt: skip
_COPYLEFT = re.compile(r"^(A?GPL|LGPL|MPL|EPL|EUPL|CDDL)-")
_SPDX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")
_IDS = {spdx.lower(): spdx for spdx in OSI_APPROVED}

# Free-text ``License`` fields seen in the wild, lower-cased, "license"/"version"/punctuation dropped.
ALIASES = {
    "apache 2.0": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache software": "Apache-2.0",
    "mit": "MIT",
    "bsd": "BSD-3-Clause",  # unversioned "BSD": every BSD variant in use is OSI-approved
    "new bsd": "BSD-3-Clause",
    "modified bsd": "BSD-3-Clause",
    "3-clause bsd": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "simplified bsd": "BSD-2-Clause",
    "psf": "PSF-2.0",
    "python software foundation": "PSF-2.0",
    "gplv2": "GPL-2.0",
    "gplv3": "GPL-3.0",
    "eplv1": "EPL-1.0",
    "lgplv3": "LGPL-3.0",
    "mozilla public 2.0": "MPL-2.0",
    "isc": "ISC",
}


@dataclass(frozen=True)
class Licence:
    """One distribution's licence as its metadata states it."""

    name: str  # e.g. "MIT", "Apache-2.0 OR BSD-3-Clause", "Other/Proprietary License", "" (unknown)
    osi: bool | None  # True approved, False not approved, None: the metadata does not say
    source: str  # "License-Expression", "classifier", "License" or "none"
    copyleft: bool = False  # every alternative of the expression is a copyleft licence


def _base(spdx: str) -> str:
    return re.sub(r"(-only|-or-later|\+)$", "", spdx)


def _evaluate(expression: str) -> tuple[bool, bool] | None:
    """(OSI-approved, copyleft) of an SPDX expression, or None when it is not one.

    AND needs both sides, OR either; ``X WITH exception`` counts as X (an exception only adds rights).
    """
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    pos = 0

    def peek() -> str:
        return tokens[pos].upper() if pos < len(tokens) else ""

    def atom() -> tuple[bool, bool] | None:
        nonlocal pos
        if peek() == "(":
            pos += 1
            value = either()
            if peek() != ")":
                return None
            pos += 1
            return value
        if pos >= len(tokens) or not _SPDX_ID.fullmatch(tokens[pos]) or peek() in ("AND", "OR", "WITH"):
            return None
        spdx = _IDS.get(_base(tokens[pos]).lower(), _base(tokens[pos]))
        pos += 1
        if peek() == "WITH":
            pos += 2
        return spdx in OSI_APPROVED, bool(_COPYLEFT.match(spdx))

    def both() -> tuple[bool, bool] | None:
        nonlocal pos
        left = atom()
        while left is not None and peek() == "AND":
            pos += 1
            right = atom()
            left = None if right is None else (left[0] and right[0], left[1] or right[1])
        return left

    def either() -> tuple[bool, bool] | None:
        nonlocal pos
        left = both()
        while left is not None and peek() == "OR":
            pos += 1
            right = both()
            left = None if right is None else (left[0] or right[0], left[1] and right[1])
        return left

    value = either()
    return value if value is not None and pos == len(tokens) else None


def _from_text(text: str) -> str | None:
    """An SPDX expression for a short free-text licence name, or None."""
    if not text or "\n" in text.strip() or len(text) > 60:
        return None  # a licence text or a copyright notice, not a name
    ids = [t for t in re.findall(r"[^\s()]+", text) if t.upper() not in ("AND", "OR")]
    if ids and all(_base(t).lower() in _IDS for t in ids) and _evaluate(text) is not None:
        return text  # already an SPDX expression of known ids
    parts = re.split(r"\s*(?:\||\bor\b)\s*", text, flags=re.I)
    names = []
    for part in parts:
        key = re.sub(r"\b(the|license|licence|version|v(?=\d))\b|[,()]", " ", part.lower())
        key = re.sub(r"\s+with\s+.*$", "", key)  # "GPLv2 with linking exception": the licence is GPLv2
        key = " ".join(key.split())
        if key in ALIASES:
            names.append(ALIASES[key])
        elif _base(key) in _IDS:
            names.append(_IDS[_base(key)])
        else:
            return None
    return " OR ".join(names)


def classify(metadata: Mapping[str, Any] | importlib.metadata.PackageMetadata) -> Licence:
    """The licence a distribution's metadata states (see the module docstring for the order)."""
    get = metadata.get  # type: ignore[union-attr]  # a mapping's, or the email.message.Message PackageMetadata is
    expression = (get("License-Expression") or "").strip()
    if expression:
        value = _evaluate(expression)
        if value is not None:
            return Licence(expression, value[0], "License-Expression", value[1])
        return Licence(expression, False, "License-Expression")
    getall = getattr(metadata, "get_all", None)
    classifiers = (getall("Classifier") if getall else get("Classifier", [])) or []
    licences = [c.split("::")[1:] for c in classifiers if c.startswith("License ::")]
    approved = [" ".join(parts[-1].split()) for parts in licences if parts[0].strip() == "OSI Approved"]
    if approved:
        copyleft = all(re.search(r"GPL|Mozilla|Eclipse|EUPL|CDDL", name) for name in approved)
        return Licence(" / ".join(approved), True, "classifier", copyleft)
    field = (get("License") or "").strip()
    named = _from_text(field)
    if named:
        value = _evaluate(named)
        assert value is not None
        return Licence(named, value[0], "License", value[1])
    if licences:  # e.g. "Other/Proprietary License", "Public Domain"
        return Licence(" / ".join(" ".join(parts[-1].split()) for parts in licences), False, "classifier")
    return Licence("", None, "none")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: Iterable[str]) -> tuple[dict[str, importlib.metadata.Distribution], set[str]]:
    """({name: distribution} of *roots* and everything they require, names of requirements not installed)."""
    from packaging.requirements import Requirement

    found: dict[str, importlib.metadata.Distribution] = {}
    missing: set[str] = set()
    todo = [_canonical(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in found or name in missing:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.add(name)
            continue
        found[name] = dist
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(_canonical(requirement.name))
    return found, missing


@dataclass
class LicenceReport:
    """The licences of one distribution's own dependencies."""

    distribution: str
    own: Licence  # the distribution's own licence
    licences: dict[str, Licence]  # tool-specific closure (the distribution included) -> licence
    closure_size: int
    baseline_size: int
    missing: set[str]
    is_baseline: bool = False  # the baseline's own closure was reported (the plain runner)

    @property
    def not_approved(self) -> dict[str, Licence]:
        """Distributions whose metadata does not show an OSI-approved licence (unknown included)."""
        return {name: lic for name, lic in self.licences.items() if lic.osi is not True}

    @property
    def copyleft(self) -> list[str]:
        return sorted(name for name, lic in self.licences.items() if lic.copyleft)


def report(distribution: str, baseline: Iterable[str] = BASELINE) -> LicenceReport:
    """Licences of *distribution* and of what it requires beyond *baseline*'s closure.

    For the baseline itself (*distribution* in *baseline*) the whole baseline closure is reported.
    """
    name = _canonical(distribution)
    roots = [_canonical(b) for b in baseline]
    base, _ = closure(roots)
    if name in roots:
        dists, missing = base, set[str]()
        own_closure = dists
    else:
        own_closure, missing = closure([name])
        dists = {n: d for n, d in own_closure.items() if n not in base or n == name}
    licences = {n: classify(d.metadata) for n, d in sorted(dists.items())}
    own = licences.get(name, Licence("", None, "none: not installed"))
    return LicenceReport(name, own, licences, len(own_closure), len(base), missing, name in roots)
