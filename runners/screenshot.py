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
)
TIMEOUT = 90.0
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
    dom = ctx.run(argv, output="capture", timeout=TIMEOUT)
    if not png.is_file():
        raise CommandError(f"chromium wrote no screenshot of {url}")
    return dom
