"""The HTML report (issue 20): one self-contained file, escaped, read in headless Chromium.

The evidence is built by hand with hostile names and output (as in test_report_layers.py),
a screenshot for the ui check, large-data curves, overhead and fan-out. Without Chromium the
browser test is skipped, except under CI (where .ci/setup installs it): there it fails.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
from mlops_compare.evidence import Evidence
from mlops_compare.report.html_page import html_report
from mlops_compare.report.model import build
from mlops_compare.results import RunRecord
from mlops_compare.runners.checks import ui
from test_report_layers import IMG, TICK, hostile_criteria, hostile_evidence

BROWSER_HOSTS = ("google.com", "googleapis.com", "gvt1.com", "gstatic.com")  # Chromium's own background calls


def png(path: Path, width: int = 4, height: int = 3) -> None:
    """A tiny valid PNG (white), written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def evidence_with_figures(workspace: Path) -> Evidence:
    png(workspace / "ui" / "shot.png")
    base = hostile_evidence()
    records = {}
    for tool, found in base.tools.items():
        record = found.latest
        checks = dict(record.checks)
        checks["ui"] = {"status": "pass", "evidence": IMG, "numbers": {"screenshot": "ui/shot.png"}}
        checks["fan_out"] = {"status": "pass", "evidence": "ok", "numbers": {"speedup": 1.4, "seconds_1": 2.0}}
        checks["large_data"] = {
            "status": "pass",
            "evidence": "curves",
            "numbers": {
                f"{rows}:{key}": value * rows / 1000
                for rows in (1000, 10000, 100000)
                for key, value in (
                    ("tool_s", 1.0),
                    ("tool_register_s", 0.2),
                    ("tool_train_s", 0.5),
                    ("tool_read_s", 0.3),
                )
            }
            | {f"{rows}:tool_rss": 1e8 for rows in (1000, 10000, 100000)},
        }
        records[tool] = RunRecord(
            tool=tool,
            status="passed",
            tool_version=record.tool_version,
            checks=checks,
            metrics=record.metrics,
            workspace=str(workspace),
        )
    return Evidence(records)


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[Path, str, int]:
    folder = tmp_path_factory.mktemp("html")
    c = hostile_criteria()
    evidence = evidence_with_figures(folder / "workspace")
    html = html_report(c, c.profiles[TICK], evidence)
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    return path, html, len(build(c, c.profiles[TICK], evidence).appendix)


def test_one_file_escaped_without_script_or_outside_reference(page):
    _, html, _ = page
    parser = Tags()
    parser.feed(html)
    names = {tag for tag, _ in parser.tags}
    assert "script" not in names and "iframe" not in names
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    for tag, attrs in parser.tags:
        assert not any(key.startswith("on") for key in attrs), (tag, attrs)
        for key in ("src", "href"):
            value = attrs.get(key)
            if value is not None:
                assert value.startswith(("data:", "#")), (tag, key, value[:80])
    assert not re.search(r"url\(\s*['\"]?(https?:|//)", html)
    imgs = [attrs for tag, attrs in parser.tags if tag == "img"]
    assert len(imgs) == 3 and all(a["src"].startswith("data:image/png;base64,") for a in imgs)  # one per tool
    assert sum(tag == "svg" for tag, _ in parser.tags) >= 7  # score, acceptability, overhead, fan-out, 3 steps


def _chromium(argv: list[str], profile: Path, net: Path) -> subprocess.CompletedProcess:
    browser = ui.find()
    flags = [*ui.FLAGS, f"--user-data-dir={profile}", f"--log-net-log={net}", "--virtual-time-budget=2000"]
    return subprocess.run([browser, *flags, *argv], capture_output=True, text=True, timeout=120)


def _hosts(net: Path) -> set[str]:
    urls = re.findall(r'"url":"([^"]+)"', net.read_text(errors="replace"))
    return {urlparse(u).scheme + "://" + (urlparse(u).hostname or "") for u in urls}


@pytest.mark.skipif(
    ui.find() is None and not os.environ.get("CI"), reason="no headless Chromium (apt-get install chromium)"
)
def test_chromium_renders_it_and_nothing_leaves_the_file(page, tmp_path):
    path, _, items = page
    shot, net = tmp_path / "shot.png", tmp_path / "net.json"
    done = _chromium(
        ["--window-size=1280,1600", f"--screenshot={shot}", "--dump-dom", path.as_uri()], tmp_path / "p", net
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    dom = done.stdout
    assert 'id="ranking-table"' in dom and 'id="rank-acceptability"' in dom and 'id="matrix"' in dom
    assert dom.count('<details class="evidence-item"') == items > 0
    assert dom.count("<svg") >= 7 and dom.count("<img") == 3
    assert "<script" not in dom  # nothing ran that wrote markup
    # the page asked for nothing but itself: every scheme://host in the net log is the file or Chromium's own
    hosts = _hosts(net) - {"file://", "data://"}
    assert all(h.endswith(BROWSER_HOSTS) for h in hosts), hosts


def test_the_command_writes_html_and_chromium_prints_it_to_pdf(tmp_path, monkeypatch):
    from mlops_compare import cli

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "report.html"
    assert cli.main(["report", "--store", str(tmp_path / "empty"), "--format", "html", "-o", str(out)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "--format html -o report.html" in html
    if ui.find() is None:
        assert not os.environ.get("CI"), "CI needs Chromium"
        return
    pdf = tmp_path / "report.pdf"  # the command the report and README document
    done = _chromium(["--no-pdf-header-footer", f"--print-to-pdf={pdf}", out.as_uri()], tmp_path / "p", tmp_path / "n")
    assert done.returncode == 0 and pdf.read_bytes().startswith(b"%PDF")
