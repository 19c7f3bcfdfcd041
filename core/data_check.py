"""The exam's data set checked in the parent, before any runner starts.

Every runner reads the same data (example/common.py), and a file it cannot use made each of
five runners start, fail after seconds and leave a record and a workspace behind. So `run`,
the TUI's ``r`` and `check` (when the criteria name a data file) check it here first and
refuse it with one line naming the column, the line and what to do (`UserError`, exit 2):

- a readable encoding: UTF-8 (with or without a byte-order mark); another encoding is
  named (UTF-16, or "Latin-1 / Windows-1252" when the bytes read as that) with the
  ``iconv`` command that converts it;
- a header whose columns all have a name, each once (the runners' own sniffer:
  `sniff_delimiter` of example/common.py, the exam's shared data module);
- the target column present, with at least two different values;
- at least `MIN_ROWS` rows, each with as many fields as the header;
- every value a finite number (no text, no decimal comma, no empty cell, no ``nan``).

A ``sklearn:NAME`` data set must be one scikit-learn ships as a table, with the target.
"""

from __future__ import annotations

import codecs
import csv
import math
from pathlib import Path
from typing import Any

from mlops_compare.errors import UserError
from mlops_compare.events import SKLEARN_PREFIX
from mlops_compare.example.common import sniff_delimiter  # the runners' own (see tests/test_layers.py)

MIN_ROWS = 10  # the split keeps a quarter for testing: fewer rows leave a test set of one or two


def check(source: str, target: str, given: str) -> dict[str, Any]:
    """Refuse *source* (a CSV path or sklearn:NAME) with a `UserError` naming *given*; else its shape.

    *given* is how the user named the data (``--data x.csv`` or ``criteria.toml: exam.data``).
    Returns ``{"rows": ..., "columns": [...]}``.
    """
    if source.startswith(SKLEARN_PREFIX):
        return _check_sklearn(source, target, given)
    return check_csv(Path(source), target, given)


def check_csv(path: Path, target: str, given: str) -> dict[str, Any]:
    def refuse(message: str) -> UserError:
        return UserError(f"{given}: {message}")

    if not path.is_file():
        raise refuse(f"no such data file ({path}); give a CSV path or sklearn:diabetes")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise refuse(f"cannot read it ({exc.strerror or exc})") from None
    if not raw.strip():
        raise refuse("the file is empty: it needs a header line of column names and rows of numbers")
    text = _decode(raw, refuse)
    delimiter, columns = sniff_delimiter(path)
    for number, name in enumerate(columns, 1):
        if not name:
            raise refuse(f"column {number} of the header has no name: give every column a name")
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            raise refuse(f"column {name!r} appears twice in the header: give each column its own name")
        seen.add(name)
    if target not in columns:
        raise refuse(f"no column {target!r}; pass --target with one of: {', '.join(columns[:15])}")
    rows = 0
    target_values: set[float] = set()
    at = columns.index(target)
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    next(reader, None)
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue  # blank lines: pandas skips them too
        if len(row) != len(columns):
            raise refuse(
                f"line {line} has {len(row)} fields, the header {len(columns)}: "
                f"each line needs one value per column, separated by {delimiter!r}"
            )
        for name, cell in zip(columns, row, strict=True):
            value = cell.strip()
            if not value:
                raise refuse(
                    f"column {name!r} is empty at line {line}: fill in the missing value or drop the row "
                    "(every value must be a number)"
                )
            parsed = _number(value)
            if parsed is None:
                hint = (
                    f" (a decimal comma? write {value.replace(',', '.')})"
                    if _number(value.replace(",", ".")) is not None
                    else ""
                )
                raise refuse(
                    f"column {name!r} holds {value[:40]!r} at line {line}, not a number{hint}: every column "
                    "must be numeric; encode text columns as numbers or drop them"
                )
            if not math.isfinite(parsed):
                raise refuse(
                    f"column {name!r} holds {value!r} at line {line}: fill in the missing value or drop the row "
                    "(every value must be a finite number)"
                )
        target_values.add(_number(row[at].strip()) or 0.0)
        rows += 1
    if rows < MIN_ROWS:
        raise refuse(f"{rows} row(s) of data; the exam needs at least {MIN_ROWS} to train and test on")
    if len(target_values) < 2:
        raise refuse(
            f"the target column {target!r} holds the same value ({next(iter(target_values)):g}) in every row: "
            "there is nothing to learn; choose another --target"
        )
    return {"rows": rows, "columns": columns}


def _number(text: str) -> float | None:
    """*text* as a float the way pandas reads numbers (no '_' separators, unlike float())."""
    if "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _decode(raw: bytes, refuse) -> str:
    """The file's text if it is UTF-8; else refuse it, naming what it looks like."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise refuse(
            "the file is UTF-16 (it starts with a UTF-16 byte-order mark), not UTF-8: convert it, "
            "e.g. iconv -f UTF-16 -t UTF-8 in.csv > out.csv"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        where = "in the header" if line == 1 else f"at line {line}"
        try:
            raw.decode("cp1252")
            looks = "Latin-1 / Windows-1252"
            source = "LATIN1"
        except UnicodeDecodeError:
            looks, source = "another encoding", "ITS-ENCODING"
        raise refuse(
            f"the file is not UTF-8: byte 0x{raw[exc.start]:02x} {where} (column {column}); it looks like {looks}. "
            f"Convert it: iconv -f {source} -t UTF-8 in.csv > out.csv"
        ) from None


# The table data sets scikit-learn ships (``load_NAME(as_frame=True).frame``) and their target
# columns, written here so that the check needs no import of scikit-learn (seconds, in the TUI's
# ``r``); tests/test_data_check.py compares them with the installed scikit-learn.
SKLEARN_TABLES = {
    "breast_cancer": ("target",),
    "diabetes": ("target",),
    "digits": ("target",),
    "iris": ("target",),
    "linnerud": ("Weight", "Waist", "Pulse"),
    "wine": ("target",),
}


def _check_sklearn(source: str, target: str, given: str) -> dict[str, Any]:
    name = source[len(SKLEARN_PREFIX) :]
    if name not in SKLEARN_TABLES:
        raise UserError(
            f"{given}: scikit-learn ships no table data set called {name!r} "
            f"(its table sets: {', '.join(f'sklearn:{n}' for n in SKLEARN_TABLES)})"
        )
    targets = SKLEARN_TABLES[name]
    if target not in targets:
        raise UserError(f"{given}: no target column {target!r} in {source}; pass --target {targets[0]}")
    return {"rows": None, "columns": None}
