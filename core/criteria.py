"""Loading and validating criteria.toml into typed, frozen objects.

`load` reports every problem at once, each with file, line and column, as a `UserError`.
The lookup order for the file is: an explicit path, else ``./criteria.toml``, else the
default shipped inside the package.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from mlops_compare.errors import Problem, UserError
from mlops_compare.exam_settings import Exam, parse_exam

SHIPPED = Path(__file__).with_name("criteria.toml")
LOCAL = Path("criteria.toml")
RATING_MIN, RATING_MAX = 0.0, 5.0
WEIGHT_MAX = 10.0  # the range the TUI keys and the flip analysis explore
# The largest weight accepted at all (criteria.toml and --weight): far beyond any sensible
# ratio of weights, yet small enough that weighted sums of 0-5 ratings stay exact in floats.
WEIGHT_LIMIT = 1e6
DEFAULT_WEIGHT = 1.0
RUN_KEYS = {"python", "requires", "runner", "name", "version"}  # a [tool.NAME] table may hold only these
RATING_MODES = ("expert", "measured", "measured-when-available")
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Checkpoint:
    id: str
    title: str
    question: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rating:
    value: float
    why: str
    source: str


@dataclass(frozen=True)
class Tool:
    id: str
    name: str
    version: str
    python: str
    ratings: MappingProxyType  # checkpoint id -> Rating
    # The runner this candidate runs (another tool's, for a version variant like "mlflow-2");
    # "" means the runner of the same name.
    runner: str = ""
    # [tool.NAME] requires: the tool's part of its environment instead of the runner's own
    # `requirements` (None: the runner's); the runner's `exam_requirements` are always added.
    requires: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Profile:
    id: str
    description: str
    ratings: str  # one of RATING_MODES
    weights: MappingProxyType  # checkpoint id -> float

    def with_weights(self, changes: dict[str, float]) -> Profile:
        return Profile(self.id, self.description, self.ratings, MappingProxyType({**self.weights, **changes}))


@dataclass(frozen=True)
class Criteria:
    path: Path
    shipped: bool
    checkpoints: tuple[Checkpoint, ...]
    profiles: MappingProxyType  # id -> Profile
    tools: MappingProxyType  # id -> Tool
    exam: Exam
    default_profile: str
    # [tool.NAME] tables without ratings, only how to run a runner (python, requires, runner)
    unrated: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    envs: str = ""  # [exam] envs: where tool environments live (relative to the criteria file); "" = the cache

    def checkpoint(self, checkpoint_id: str) -> Checkpoint:
        return next(c for c in self.checkpoints if c.id == checkpoint_id)

    def run_settings(self, tool: str) -> Tool | None:
        """How to run *tool*: its [tool.NAME] table, rated or not (None: no table)."""
        return self.tools.get(tool) or self.unrated.get(tool)

    def ratings(self) -> dict[str, dict[str, float]]:
        """Expert ratings as {tool: {checkpoint: value}}."""
        return {t.id: {c: r.value for c, r in t.ratings.items()} for t in self.tools.values()}


def locate(explicit: str | Path | None = None) -> Path:
    """Which criteria file to use: explicit, else ./criteria.toml, else the shipped one."""
    if explicit is not None:
        return Path(explicit)
    if LOCAL.is_file():
        return LOCAL
    return SHIPPED


class _Lines:
    """Finds the line and column of a key in the TOML text, for messages.

    tomllib gives positions only for syntax errors, so semantic errors are placed by a
    light scan of table headers and ``key =`` lines. A key not found falls back to its
    table's header line.
    """

    _HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?")
    _KEY = re.compile(r'^(\s*)("[^"]*"|[A-Za-z0-9_.-]+)\s*=')

    def __init__(self, text: str):
        self.keys: dict[tuple[str, ...], tuple[int, int]] = {}
        table: tuple[str, ...] = ()
        counters: dict[tuple[str, ...], int] = {}
        for number, line in enumerate(text.splitlines(), 1):
            header = self._HEADER.match(line)
            if header:
                table = tuple(part.strip().strip('"') for part in header.group(1).split("."))
                if line.lstrip().startswith("[["):
                    index = counters.get(table, 0)
                    counters[table] = index + 1
                    table = (*table, str(index))
                self.keys.setdefault(table, (number, line.index("[") + 1))
                continue
            key = self._KEY.match(line)
            if key:
                path = (*table, *(p.strip('"') for p in key.group(2).split(".")))
                self.keys.setdefault(path, (number, len(key.group(1)) + 1))

    def find(self, *path: str) -> tuple[int | None, int | None]:
        for end in range(len(path), 0, -1):
            if path[:end] in self.keys:
                return self.keys[path[:end]]
        return None, None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def load(path: str | Path | None = None) -> Criteria:
    """Load and validate the criteria file (see `locate`); raise UserError listing every problem."""
    path = locate(path)
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError([Problem(name, None, None, "no such file; give an existing path with --criteria")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError([Problem(name, None, None, f"cannot read it: {exc}")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        line, col = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        raise UserError(
            [Problem(name, line, col, f"TOML syntax error: {message}; fix the syntax and try again")]
        ) from None
    return parse(data, path, _Lines(text))


def parse(data: dict[str, Any], path: Path, lines: _Lines | None = None) -> Criteria:
    lines = lines or _Lines("")
    name = str(path)
    problems: list[Problem] = []

    def problem(message: str, *where: str) -> None:
        problems.append(Problem(name, *lines.find(*where), message))

    # --- checkpoints --------------------------------------------------------------
    checkpoints: list[Checkpoint] = []
    raw_checkpoints = data.get("checkpoint", [])
    if not isinstance(raw_checkpoints, list) or not raw_checkpoints:
        problem("no checkpoints: add [[checkpoint]] tables with id, title and question", "checkpoint")
        raw_checkpoints = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_checkpoints):
        where = ("checkpoint", str(index))
        if not isinstance(raw, dict):
            problem("a checkpoint must be a table", *where)
            continue
        cid = raw.get("id")
        if not isinstance(cid, str) or not _ID.match(cid):
            problem(f"checkpoint #{index + 1} needs an id of letters, digits, '_', '-' or '.'", *where, "id")
            continue
        if cid in seen:
            problem(f"duplicate checkpoint id {cid!r}; ids must be unique", *where, "id")
            continue
        seen.add(cid)
        evidence = raw.get("evidence", [])
        if not isinstance(evidence, list) or not all(isinstance(e, str) for e in evidence):
            problem(f"checkpoint {cid!r}: evidence must be a list of exam check ids", *where, "evidence")
            evidence = []
        else:
            from mlops_compare.events import CHECK_IDS

            for check in evidence:
                if check not in CHECK_IDS:
                    problem(
                        f"checkpoint {cid!r}: unknown exam check {check!r} in evidence (known: {', '.join(CHECK_IDS)})",
                        *where,
                        "evidence",
                    )
        title = raw.get("title", cid)
        question = raw.get("question", "")
        if not isinstance(title, str) or not isinstance(question, str):
            problem(f"checkpoint {cid!r}: title and question must be text", *where)
            title, question = str(title), str(question)
        checkpoints.append(Checkpoint(cid, title, question, tuple(e for e in evidence if isinstance(e, str))))
    known = [c.id for c in checkpoints]

    # --- profiles -----------------------------------------------------------------
    profiles: dict[str, Profile] = {}
    for pid, raw in _named_tables(data, "profile", "no profiles: add a [profile.NAME.weights] table", problem):
        where = ("profile", pid)
        mode = raw.get("ratings", "measured-when-available")
        if mode not in RATING_MODES:
            problem(f"profile {pid!r}: ratings = {mode!r}; use one of {', '.join(RATING_MODES)}", *where, "ratings")
            mode = "measured-when-available"
        raw_weights = raw.get("weights", {})
        if not isinstance(raw_weights, dict):
            problem(f"profile {pid!r}: weights must be a table of checkpoint = number", *where, "weights")
            raw_weights = {}
        weights = dict.fromkeys(known, DEFAULT_WEIGHT)
        for cid, value in raw_weights.items():
            at = (*where, "weights", cid)
            number = _number(value)
            if cid not in known:
                problem(f"profile {pid!r}: unknown checkpoint {cid!r} (known: {', '.join(known)})", *at)
            elif number is None:
                problem(f"profile {pid!r}: weight of {cid!r} is {value!r}; weights must be numbers >= 0", *at)
            elif not math.isfinite(number):
                problem(f"profile {pid!r}: weight of {cid!r} is {value}; weights must be finite numbers >= 0", *at)
            elif number < 0:
                problem(f"profile {pid!r}: weight of {cid!r} is {value:g}; weights must be >= 0", *at)
            elif number > WEIGHT_LIMIT:
                problem(
                    f"profile {pid!r}: weight of {cid!r} is {value:g}; weights must be at most {WEIGHT_LIMIT:g}", *at
                )
            else:
                weights[cid] = number
        if known and not any(weights.values()):
            problem(
                f"profile {pid!r}: every weight is zero, so nothing can be scored; give at least one checkpoint a weight > 0",
                *where,
                "weights",
            )
        description = raw.get("description", "")
        profiles[pid] = Profile(pid, str(description), mode, MappingProxyType(weights))

    # --- tools --------------------------------------------------------------------
    tools: dict[str, Tool] = {}
    shared_ratings: dict[str, str] = {}  # tool -> the tool whose ratings it shares
    unrated_tables: list[str] = []  # tables that only say how to run a runner: kept out of `tools`
    for tid, raw in _named_tables(data, "tool", "no tools: add [tool.NAME.ratings] tables", problem):
        where = ("tool", tid)
        if "ratings" not in raw and raw and set(raw) <= RUN_KEYS:
            # only how to run it (e.g. [tool.plain] requires = [...]): a runner without ratings
            unrated_tables.append(tid)
            raw = {**raw, "ratings": {}}
        raw_ratings = raw.get("ratings", {})
        if isinstance(raw_ratings, str):  # ratings = "mlflow": share that tool's expert ratings
            shared_ratings[tid] = raw_ratings
            raw_ratings = {cid: {"rating": 0} for cid in known}  # filled in below
        if not isinstance(raw_ratings, dict):
            problem(f"tool {tid!r}: ratings must be a table", *where, "ratings")
            raw_ratings = {}
        ratings: dict[str, Rating] = {}
        for cid, entry in raw_ratings.items():
            at = (*where, "ratings", cid)
            if cid not in known:
                problem(f"tool {tid!r}: rating for unknown checkpoint {cid!r} (known: {', '.join(known)})", *at)
                continue
            if not isinstance(entry, dict):
                entry = {"rating": entry}
            value = _number(entry.get("rating"))
            if value is None or not math.isfinite(value):
                problem(
                    f"tool {tid!r}: rating of {cid!r} is {entry.get('rating')!r}; give rating = a number from 0 to 5",
                    *at,
                )
                continue
            if not RATING_MIN <= value <= RATING_MAX:
                problem(f"tool {tid!r}: rating of {cid!r} is {value:g}, outside 0-5", *at)
                continue
            ratings[cid] = Rating(value, str(entry.get("why", "")), str(entry.get("source", "")))
        for cid in known if tid not in unrated_tables else ():
            if cid not in ratings and cid not in raw_ratings:
                problem(
                    f'tool {tid!r}: no rating for checkpoint {cid!r}; add {cid} = {{ rating = 0-5, why = "..." }}',
                    *where,
                    "ratings",
                )
        version = raw.get("version", "")
        runner = raw.get("runner", "")
        if not isinstance(runner, str) or (runner and not _ID.match(runner)):
            problem(f'tool {tid!r}: runner must be the name of a runner, e.g. runner = "mlflow"', *where, "runner")
            runner = ""
        requires = raw.get("requires")
        if requires is not None:
            if not isinstance(requires, list) or not all(isinstance(r, str) and r.strip() for r in requires):
                problem(
                    f'tool {tid!r}: requires must be a list of requirements, e.g. requires = ["mlflow>=2.19,<3"]',
                    *where,
                    "requires",
                )
                requires = None
            elif raw.get("python"):
                problem(
                    f"tool {tid!r}: give either python (an environment you manage) or requires (one mlops-compare "
                    "builds), not both",
                    *where,
                    "requires",
                )
            else:
                requires = tuple(r.strip() for r in requires)
        tools[tid] = Tool(
            tid,
            str(raw.get("name", tid)),
            str(version),
            str(raw.get("python", "")),
            MappingProxyType(ratings),
            runner if runner != tid else "",
            requires,
        )
    for tid, other in shared_ratings.items():
        source = tools.get(other)
        if source is None or other in shared_ratings:
            choices = ", ".join(t for t in tools if t not in shared_ratings)
            problem(
                f"tool {tid!r}: ratings = {other!r} names no tool with a ratings table (tools: {choices})",
                "tool",
                tid,
                "ratings",
            )
            continue
        tools[tid] = replace(tools[tid], ratings=source.ratings)
    unrated = {tid: tools.pop(tid) for tid in unrated_tables if tid in tools}
    envs = data.get("exam", {}).get("envs", "") if isinstance(data.get("exam"), dict) else ""
    if not isinstance(envs, str):
        problem(f"exam.envs is {envs!r}; give the folder for tool environments as a string", "exam", "envs")
        envs = ""

    # --- exam ---------------------------------------------------------------------
    exam = parse_exam(data.get("exam", {}), problem)
    default_profile = data.get("default_profile", next(iter(profiles), ""))
    if profiles and default_profile not in profiles:
        problem(
            f"default_profile {default_profile!r} is not a profile (profiles: {', '.join(profiles)})", "default_profile"
        )
    if problems:
        raise UserError(problems)
    return Criteria(
        path=path,
        shipped=path.resolve() == SHIPPED.resolve(),
        checkpoints=tuple(checkpoints),
        profiles=MappingProxyType(profiles),
        tools=MappingProxyType(tools),
        exam=exam,
        default_profile=default_profile,
        envs=envs,
        unrated=MappingProxyType(unrated),
    )


def _named_tables(data: dict[str, Any], key: str, missing: str, problem) -> list[tuple[str, dict[str, Any]]]:
    """The (name, table) pairs of ``[key.NAME]``; report a missing section and non-tables."""
    raw = data.get(key, {})
    if not isinstance(raw, dict) or not raw:
        problem(missing, key)
        return []
    pairs = []
    for name, table in raw.items():
        if isinstance(table, dict):
            pairs.append((name, table))
        else:
            problem(f"{key} {name!r} must be a table", key, name)
    return pairs
