"""Issue 18 item 4: the data is checked in the parent, before any runner starts.

Text or decimal-comma columns, empty cells, one row, a file that is not UTF-8, an unknown
``sklearn:`` set, a constant target: `run` exits 2 with one line naming the column and the
line, and no runner starts (no workspace, no record). The parent and the runners read the
same header (one sniffer: example/common.py's, which the data check imports).
"""

from __future__ import annotations

import pytest
from mlops_compare import cli, data_check
from mlops_compare.example import common
from test_criteria import MINIMAL

ROWS = "".join(f"{i},{i * 2},{i % 3}\n" for i in range(12))
GOOD = "a,b,target\n" + ROWS


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "content, message",
    [
        (GOOD.replace("3,6,0", "3,x,0"), "column 'b' holds 'x' at line 5, not a number"),
        ("a;target\n" + "".join(f"{i},5;{i}\n" for i in range(12)), "column 'a' holds '0,5' at line 2, not a number"),
        ("a;target\n" + "".join(f"{i},5;{i}\n" for i in range(12)), "(a decimal comma? write 0.5)"),
        (GOOD.replace("3,6,0", "3,,0"), "column 'b' is empty at line 5: fill in the missing value or drop the row"),
        (GOOD.replace("3,6,0", "3,nan,0"), "column 'b' holds 'nan' at line 5"),
        (GOOD.replace("3,6,0", "3,6"), "line 5 has 2 fields, the header 3"),
        ("a,b,target\n1,2,3\n", "1 row(s) of data; the exam needs at least 10"),
        ("a,b,target\n" + "".join(f"{i},{i},7\n" for i in range(12)), "holds the same value (7) in every row"),
        ("", "the file is empty"),
        ("\n\n", "the file is empty"),
        (", target\n" + "".join(f"{i},{i % 2}\n" for i in range(12)), "column 1 of the header has no name"),
        ("a,a,target\n" + ROWS, "column 'a' appears twice"),
        ("a,b,quality\n" + ROWS, "no column 'target'; pass --target with one of: a, b, quality"),
    ],
)
def test_unusable_data_is_refused_before_any_runner_starts(capsys, tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text(content, encoding="utf-8")
    code, _, err = run(capsys, "run", "--data", "d.csv", "--workdir", "work")
    assert code == 2, err
    [line] = err.splitlines()
    assert line.startswith("error: mlops-compare: d.csv: ") and message in line, line
    assert not (tmp_path / "work").exists() and not (tmp_path / ".mlops-compare").exists()


def test_an_encoding_other_than_utf8_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_bytes(("a,qualité\n" + ROWS.replace(",0\n", ",1\n", 3)).encode("latin-1"))
    code, _, err = run(capsys, "run", "--data", "d.csv", "--target", "qualité")
    assert code == 2
    assert "the file is not UTF-8: byte 0xe9 in the header (column 9); it looks like Latin-1 / Windows-1252" in err
    assert "iconv -f LATIN1 -t UTF-8" in err and "\ufffd" not in err
    (tmp_path / "d.csv").write_text("a,target\n1,2\n", encoding="utf-16")
    code, _, err = run(capsys, "run", "--data", "d.csv")
    assert code == 2 and "the file is UTF-16" in err


def test_an_unknown_sklearn_set_and_a_wrong_target_are_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "run", "--data", "sklearn:nope")
    assert code == 2 and "scikit-learn ships no table data set called 'nope'" in err
    code, _, err = run(capsys, "run", "--data", "sklearn:files")
    assert code == 2 and "called 'files'" in err
    code, _, err = run(capsys, "run", "--data", "sklearn:diabetes", "--target", "quality")
    assert code == 2 and "no target column 'quality' in sklearn:diabetes; pass --target target" in err


def test_check_refuses_the_data_file_the_criteria_name(capsys, tmp_path):
    (tmp_path / "d.csv").write_text(GOOD.replace("3,6,0", "3,six,0"))
    path = tmp_path / "c.toml"
    path.write_text(MINIMAL + '[exam]\ndata = "d.csv"\n')
    code, _, err = run(capsys, "check", "--criteria", str(path))
    assert code == 2 and f"{path}: exam.data 'd.csv': column 'b' holds 'six' at line 5" in err
    (tmp_path / "d.csv").write_text(GOOD)
    code, out, err = run(capsys, "check", "--criteria", str(path))
    assert code == 0 and "d.csv: 12 rows, 3 columns" in out, err


def test_good_data_passes(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("\ufeff a , b ;x\n".replace(";x", ",target") + ROWS.replace(",", " , "), encoding="utf-8")
    assert data_check.check(str(path), "target", "d.csv") == {"rows": 12, "columns": ["a", "b", "target"]}


def test_the_runners_read_the_columns_the_parent_checked(tmp_path):
    """One sniffer: the parent's data check uses example/common.py's, which the runners read with."""
    assert data_check.sniff_delimiter is common.sniff_delimiter
    path = tmp_path / "d.csv"
    path.write_text("a, target\n" + "".join(f"{i};{i % 2}\n".replace(";", ",") for i in range(12)))
    checked = data_check.check(str(path), "target", "d.csv")["columns"]
    assert list(common.read_csv(path).columns) == checked == ["a", "target"]
    assert list(common.load_source(str(path), "target").columns) == checked


def test_the_sklearn_tables_are_the_ones_scikit_learn_ships():
    from sklearn import datasets

    for name, targets in data_check.SKLEARN_TABLES.items():
        frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
        assert set(targets) <= set(frame.columns), name
    tables = set()
    for attr in dir(datasets):
        if attr.startswith("load_"):
            try:
                if getattr(datasets, attr)(as_frame=True).frame is not None:
                    tables.add(attr.removeprefix("load_"))
            except (TypeError, ValueError, AttributeError):
                pass
    assert tables == set(data_check.SKLEARN_TABLES)
