"""One task of the `concurrency` check: wait for the release, run the tool's command, record how it ended.

    python -m mlops_compare.runners.checks.concurrency_task SPEC [INDEX]

SPEC is the JSON file the runner wrote (`runners/checks/concurrency.py`): ``tasks`` (one
``{"argv", "cwd", "env"}`` per task; an env value null removes the variable), ``results`` (a folder), and for local runs
``ready``/``start`` (folder and file of the release). INDEX defaults to Slurm's
``SLURM_ARRAY_TASK_ID``: the same program is one array task on Slurm and one local process.

Locally each task says it is ready (``ready/<i>``), then waits for the start file, so every
task starts the tool in the same instant. It writes ``results/<i>.json`` (atomically:
written beside, then renamed): exit code, wall-clock start and end, its output's last lines
and the first error line. Standard library only: 32 of these start at once.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

START_WAIT = 600.0  # seconds a ready task waits for the release before giving up
TAIL = 30  # lines of the command's output kept in the result
ERROR = re.compile(r"^(?:[\w.]+\.)?(\w*(?:Error|Exception|Exit|Interrupt|Timeout))\b:?\s*(.*)$")


def first_error(lines: list[str]) -> str:
    """The line that says what went wrong: the last `XxxError: ...`, else the first `ERROR`/`error` line."""
    found = [line.strip() for line in lines if ERROR.match(line.strip())]
    if found:
        return found[-1]
    flagged = [line.strip() for line in lines if re.match(r"^\s*(ERROR|Error|error|FATAL|fatal)\b", line)]
    if flagged:
        return flagged[0]
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text())
    index = int(args[1] if len(args) > 1 else os.environ["SLURM_ARRAY_TASK_ID"])
    task = spec["tasks"][index]
    results = Path(spec["results"])
    if spec.get("start"):
        Path(spec["ready"], str(index)).touch()
        deadline = time.monotonic() + START_WAIT
        while not os.path.exists(spec["start"]):
            if time.monotonic() > deadline:
                return 3
            time.sleep(0.005)
    log = results / f"{index}.log"
    began = time.time()
    with open(log, "wb") as out:
        try:
            code = subprocess.run(
                task["argv"],
                cwd=task["cwd"],
                # unbuffered: a task killed at the timeout still leaves what it printed
                env={
                    k: v
                    for k, v in {**os.environ, "PYTHONUNBUFFERED": "1", **task.get("env", {})}.items()
                    if v is not None
                },
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=spec.get("timeout"),
            ).returncode
        except subprocess.TimeoutExpired:
            code = -9
            out.write(f"TaskTimeout: killed after {spec.get('timeout'):g} s (the check's task timeout)\n".encode())
        except OSError as exc:
            out.write(f"OSError: {exc}\n".encode())
            code = 127
    ended = time.time()
    lines = log.read_text(errors="replace").splitlines()
    record = {
        "index": index,
        "code": code,
        "start": began,
        "end": ended,
        "host": os.uname().nodename,
        "slurm_job": os.environ.get("SLURM_JOB_ID", ""),
        "error": "" if code == 0 else first_error(lines) or f"exit status {code}",
        "tail": lines[-TAIL:],
    }
    part = results / f".{index}.json.part"
    part.write_text(json.dumps(record))
    part.rename(results / f"{index}.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
