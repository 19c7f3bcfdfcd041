"""The ``cost`` check's reading: did anything in the run ask for a paid service, an account or a key?

Three sources, all from this run:

- the tools' own output (every ``stdout``/``stderr`` log line so far, not the runner's own
  lines, so ``$ dvc config core.analytics false`` is not a finding): login or sign-up
  prompts, API-key or token requests, authentication failures, links to hosted services;
- the tool's configuration: its config files (a runner's `config_files`) and the environment
  (variables of the tool's family that hold a token, key or password, or a hosted URL);
- the network: hosts other than loopback that a Python process of the run tried to reach
  (`netwatch`).

A tool's telemetry (a runner's `telemetry`: what it is, where it sends, which switches turn it
off) is reported as on or off in this run, read from the environment the tool ran with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from mlops_compare.runners.checks import cost_netwatch as netwatch


class Telemetry(NamedTuple):
    """Usage reporting a tool does by default."""

    what: str  # e.g. "DVC usage analytics"
    sends_to: str  # the endpoint its code names
    switches: tuple[str, ...]  # environment variables, any of which (truthy) turns it off


# (what it is, pattern) over the tools' output lines
PROMPTS = (
    (
        "login prompt",
        re.compile(r"\bplease (?:log ?in|sign ?in|authenticate)\b|\blog ?in to\b|\bnot logged in\b", re.I),
    ),
    ("sign-up", re.compile(r"\bsign[ -]?up\b|\bcreate an account\b|\bfree trial\b", re.I)),
    ("API key or token request", re.compile(r"\bapi[ _-]?key\b|\b(?:access|auth|api|studio)[ _-]?token\b", re.I)),
    ("authentication failure", re.compile(r"\bunauthori[sz]ed\b|NoCredentialsError|\bnot authenticated\b", re.I)),
    ("telemetry notice", re.compile(r"\btelemetry\b|\busage (?:data|statistics|analytics)\b", re.I)),
)
# Hosted (paid or sign-up) services of these tools' vendors, in links or by name.
HOSTED = re.compile(
    r"studio\.(?:iterative\.ai|dvc\.ai|datachain\.ai)|\bDVC Studio\b|outerbounds\.(?:com|co)\b|\bOuterbounds\b|"
    r"databricks\.com|\bDatabricks\b|mlflow-telemetry\.io|\bmanaged MLflow\b",
    re.I,
)
# An access-log line of the tool's own server on loopback: a request, not something the tool says to the user.
LOCAL_REQUEST = re.compile(r'(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)? - "(?:GET|POST|PUT|PATCH|DELETE) ([^\s?"]+)')
URL = re.compile(r"https?://([^/\s:'\"<>)]+)")
SECRET_ENV = re.compile(r"TOKEN|API_?KEY|PASSWORD|SECRET|AUTH", re.I)
CONFIG_KEYS = re.compile(
    r"""^\s*["']?([\w.-]*(?:token|password|secret|api_?key|auth|url)[\w.-]*)["']?\s*[=:]\s*["']?([^"'\n]*)""",
    re.I | re.M,
)


@dataclass
class Findings:
    """Everything the check names; empty lists mean nothing was found."""

    lines_scanned: int = 0
    prompts: dict[str, list[str]] = field(default_factory=dict)  # kind -> first lines
    hosted: list[str] = field(default_factory=list)
    links: set[str] = field(default_factory=set)  # other non-loopback hosts linked in output
    config: list[str] = field(default_factory=list)  # "file: key" / "env NAME"
    local_telemetry: set[str] = field(default_factory=set)  # telemetry paths requested from the tool's own server
    telemetry_on: list[str] = field(default_factory=list)
    telemetry_off: list[str] = field(default_factory=list)
    network: netwatch.Seen = field(default_factory=netwatch.Seen)

    @property
    def failed(self) -> bool:
        return bool(self.prompts.get("authentication failure"))

    @property
    def asked(self) -> bool:
        return bool(self.prompts or self.hosted or self.telemetry_on or self.network.outside or self.config)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() not in ("", "0", "false", "no", "off")


def scan_lines(lines: Iterable[str], findings: Findings) -> None:
    for line in lines:
        findings.lines_scanned += 1
        if request := LOCAL_REQUEST.search(line):
            if re.search(r"telemetry", request.group(1), re.I):
                findings.local_telemetry.add(request.group(1))
            continue
        for kind, pattern in PROMPTS:
            if pattern.search(line):
                found = findings.prompts.setdefault(kind, [])
                if len(found) < 3:
                    found.append(line.strip()[:160])
        if (match := HOSTED.search(line)) and match.group(0) not in findings.hosted:
            findings.hosted.append(match.group(0))
        for host in URL.findall(line):
            if not netwatch.is_loopback(host) and not HOSTED.search(host):
                findings.links.add(host)


def scan_config(files: Iterable[Path], env: dict[str, str], prefixes: tuple[str, ...], findings: Findings) -> None:
    for path in files:
        text = path.read_text(errors="replace") if path.is_file() else ""
        for key, value in CONFIG_KEYS.findall(text):
            if key.lower().endswith("url") and (
                not value.strip() or value.startswith(("/", "file:", ".")) or netwatch.is_loopback(_host(value))
            ):
                continue  # a local remote or store is no service
            findings.config.append(f"{path.name}: {key}")
    for name in sorted(env):
        if name.startswith(prefixes) and SECRET_ENV.search(name) and env[name]:
            findings.config.append(f"environment: {name}")


def _host(url: str) -> str:
    match = URL.match(url)
    return match.group(1) if match else ""


def telemetry_state(telemetry: Iterable[Telemetry], env: dict[str, str], findings: Findings) -> None:
    for item in telemetry:
        switched = [name for name in item.switches if _truthy(env.get(name))]
        if switched:
            findings.telemetry_off.append(f"{item.what} (to {item.sends_to}): off by {', '.join(switched)}")
        else:
            findings.telemetry_on.append(
                f"{item.what} (to {item.sends_to}): ON, none of {', '.join(item.switches)} set"
            )


def scan(
    workspace: Path,
    lines: Iterable[str],
    files: Iterable[Path],
    telemetry: Iterable[Telemetry],
    prefixes: tuple[str, ...],
    env: dict[str, str] | None = None,
) -> Findings:
    env = dict(os.environ) if env is None else env
    findings = Findings()
    scan_lines(lines, findings)
    scan_config(files, env, prefixes, findings)
    telemetry_state(telemetry, env, findings)
    findings.network = netwatch.read(workspace)
    return findings


def describe(findings: Findings) -> tuple[str, str, dict[str, int]]:
    """(status, evidence, numbers) of the ``cost`` check from its findings."""
    seen = findings.network
    parts = [f"scanned {findings.lines_scanned} lines of tool output (every check before this one)"]
    if findings.prompts:
        parts.append(
            "; ".join(f"{kind}: {' | '.join(repr(x) for x in lines)}" for kind, lines in findings.prompts.items())
        )
    else:
        parts.append("no login, sign-up, API-key or telemetry prompt")
    parts.append(
        f"hosted services named: {', '.join(findings.hosted)}" if findings.hosted else "no hosted service named"
    )
    if findings.links:
        parts.append(f"other links (documentation, not asked for): {', '.join(sorted(findings.links))}")
    parts.append(
        f"tool config/environment with keys, tokens or hosted URLs: {', '.join(findings.config)}"
        if findings.config
        else "no key, token or hosted URL in the tool's config or environment"
    )
    parts.extend(findings.telemetry_on + findings.telemetry_off)
    if findings.local_telemetry:
        parts.append(
            f"{len(findings.local_telemetry)} telemetry path(s) requested from the tool's own server on loopback "
            f"(its UI asks the server, whose telemetry setting answers): {', '.join(sorted(findings.local_telemetry))}"
        )
    if not findings.telemetry_on and not findings.telemetry_off:
        parts.append("no telemetry of its own")
    outside = ", ".join(f"{host} ({', '.join(sorted(p))})" for host, p in sorted(seen.outside.items()))
    parts.append(
        f"network: {seen.processes} Python processes watched, {seen.loopback} loopback calls, "
        + (f"tried to reach {outside}" if outside else "no other host tried")
    )
    numbers = {
        "lines_scanned": findings.lines_scanned,
        "prompts": sum(len(v) for v in findings.prompts.values()),
        "hosted_services": len(findings.hosted),
        "config_secrets": len(findings.config),
        "telemetry_default_on": len(findings.telemetry_on) + len(findings.telemetry_off),
        "telemetry_on": len(findings.telemetry_on),
        "local_telemetry_requests": len(findings.local_telemetry),
        "processes_watched": seen.processes,
        "loopback_calls": seen.loopback,
        "outside_hosts": len(seen.outside),
    }
    status = "fail" if findings.failed else "partial" if findings.asked else "pass"
    return status, "; ".join(parts), numbers
