"""The one CSV sniffer: a data file's delimiter and its header's column names.

The parent's data check (`mlops_compare.data_check`, before any runner starts) and the
runners' reading of the data (`example/common.py`, `read_csv`) must see the same columns,
or a file passes one and fails the other (a header ``, target``). Both use `sniff_delimiter`
below. The example cannot import it: example/common.py is copied alone into each runner's
workspace and imported there by the tool's own interpreter, which may not have
mlops_compare installed; and the core does not import the example (tests/test_layers.py).
So example/common.py holds a verbatim copy of the function, and
tests/test_data_check.py fails when the two differ by one character. Change it here, then
copy it there.

Standard library only.
"""

from __future__ import annotations

import csv
from pathlib import Path

# --- verbatim in example/common.py (tests/test_data_check.py compares them) ---
SNIFF_BYTES = 64 * 1024


def sniff_delimiter(path: Path | str) -> tuple[str, list[str]]:
    """The delimiter (',' or ';') of a CSV file and its header's column names, stripped.

    Reads the first 64 KiB as UTF-8 (a byte-order mark is skipped; bytes that are not UTF-8
    read as U+FFFD: the parent's data check refuses such files before any runner starts).
    Names are stripped of spaces, so ``a, target`` has the columns ``a`` and ``target``;
    `read_csv` strips the names pandas reads the same way.
    """
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as handle:
        head = handle.read(SNIFF_BYTES)
    try:
        delimiter = csv.Sniffer().sniff(head, delimiters=",;").delimiter
    except csv.Error:
        delimiter = ","
    header = next(csv.reader(head.splitlines(), delimiter=delimiter), [])
    return delimiter, [c.strip() for c in header]


# --- end of the verbatim copy ---
