"""A tool's own UI as a person sees it: a screenshot with headless Chromium, and the page it rendered.

`capture` loads a page (a UI a tool serves on 127.0.0.1, or an HTML file it wrote) once in
headless Chromium, saves a PNG and returns the DOM after the page's scripts ran, so a check
can look for the exam's runs and metrics in what the browser really drew (MLflow's UI is a
single-page app: its first HTML holds no run at all). Chromium gets a new empty profile
inside the workspace and every background service switched off, so it talks to nothing but
the page. Without Chromium (`find` returns None) a UI check is ``skip``, never ``pass``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from mlops_compare.runners.context import CommandError, Context

BROWSERS = ("chromium", "chromium-browser", "google-chrome")  # Debian, Ubuntu, Google's build
INSTALL = "apt-get install chromium"
FLAGS = (
    "--headless",
    "--no-sandbox",  # runners run as root in CI, where the sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # no WebGL: a page's decorative WebGL background (ZenML's dashboard) is drawn in software,
    # frame after frame of virtual time: 24 s per screenshot instead of 3 s, the same picture
    "--disable-3d-apis",
)
TIMEOUT = 90.0
SOCKET_ROOM = 60  # longest TMPDIR that leaves Chromium's socket name room under the 107-byte limit
WAIT_MS = 15000  # virtual time for a page's scripts and its requests to the UI's API to settle


def find() -> str | None:
    """The headless browser's path, or None when none is installed."""
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def capture(ctx: Context, url: str, png: Path, size: tuple[int, int] = (1280, 800)) -> str:
    """Load *url*, save a screenshot to *png* and return the rendered DOM; raises `CommandError`."""
    browser = find()
    if browser is None:
        raise CommandError(f"no headless browser ({', '.join(BROWSERS)}): {INSTALL}")
    png.parent.mkdir(parents=True, exist_ok=True)
    profile = ctx.workspace / "tmp" / f"chromium-{time.monotonic_ns()}"  # new and empty
    profile.mkdir(parents=True)
    argv = [
        browser,
        *FLAGS,
        f"--user-data-dir={profile}",
        f"--window-size={size[0]},{size[1]}",
        f"--virtual-time-budget={WAIT_MS}",
        f"--screenshot={png}",
        "--dump-dom",
        url,
    ]
    png.unlink(missing_ok=True)
    # Chromium binds a Unix socket under TMPDIR, and a socket path has at most 107 bytes: under
    # a deep workspace (pytest's tmp_path, a long --workdir) it cannot start ("Socket path too
    # long"). Then, and only then, it gets a short private folder in /tmp, removed right after:
    # the one place a runner writes outside its workspace, for the length of one screenshot.
    short = None
    if len(str(ctx.workspace / "tmp")) > SOCKET_ROOM:
        short = tempfile.mkdtemp(prefix="mc-chromium-", dir="/tmp")
    try:
        dom = ctx.run(argv, output="capture", timeout=TIMEOUT, env={"TMPDIR": short} if short else None)
    finally:
        if short:
            shutil.rmtree(short, ignore_errors=True)
    if not png.is_file():
        raise CommandError(f"chromium wrote no screenshot of {url}")
    return dom
