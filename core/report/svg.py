"""Hand-written inline SVG charts for the HTML report: horizontal bars, stacked bars, log-log lines.

Each function returns one ``<svg>`` element as `markupsafe.Markup`, every label XML-escaped
here (tool names come from criteria.toml and runners), sized by a viewBox so it scales with
the page and prints. Series are told apart by colour and by marker shape and legend, so the
charts read in black and white too. No script, no external reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")
MARKERS = ("circle", "square", "triangle", "diamond", "cross")
FONT = 'font-family="sans-serif" font-size="12"'


def _svg(width: int, height: int, body: list[str], title: str) -> Markup:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{escape(title)}" class="chart">'
    )
    return Markup(head + f"<title>{escape(title)}</title>" + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {FONT} {extra}>{escape(text)}</text>'


def bars(title: str, items: Sequence[tuple[str, float]], unit: str = "", maximum: float | None = None) -> Markup:
    """One horizontal bar per (label, value), the value written at the bar's end."""
    label_w, bar_w, row = 150, 300, 24
    top = 28
    height = top + row * len(items) + 10
    biggest = maximum or max((v for _, v in items), default=1.0) or 1.0
    body = [_text(0, 16, title, extra='font-weight="bold"')]
    for i, (label, value) in enumerate(items):
        y = top + i * row
        width = max(0.0, min(1.0, value / biggest)) * bar_w
        body.append(_text(label_w - 6, y + 15, _short(label, 21), "end"))
        body.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" fill="{COLOURS[i % len(COLOURS)]}"/>'
        )
        body.append(_text(label_w + width + 4, y + 15, f"{value:.2f}{unit}"))
    return _svg(label_w + bar_w + 70, height, body, title)


def stacked(title: str, items: Sequence[tuple[str, Sequence[float]]], legend: Sequence[str]) -> Markup:
    """One horizontal bar per label split into shares (each row sums to 1), with a legend."""
    label_w, bar_w, row = 150, 320, 24
    top = 28
    height = top + row * len(items) + 30
    body = [_text(0, 16, title, extra='font-weight="bold"')]
    for i, (label, shares) in enumerate(items):
        y = top + i * row
        body.append(_text(label_w - 6, y + 15, _short(label, 21), "end"))
        x = float(label_w)
        for k, share in enumerate(shares):
            width = max(0.0, share) * bar_w
            if width <= 0:
                continue
            body.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{width:.1f}" height="{row - 8}"'
                f' fill="{COLOURS[k % len(COLOURS)]}"><title>{escape(label)}: {escape(legend[k])} {share:.1%}</title></rect>'
            )
            if width > 30:
                body.append(_text(x + width / 2, y + 15, f"{share:.0%}", "middle", 'fill="white"'))
            x += width
    y = top + row * len(items) + 12
    for k, name in enumerate(legend):
        body.append(f'<rect x="{label_w + k * 70}" y="{y}" width="12" height="12" fill="{COLOURS[k % len(COLOURS)]}"/>')
        body.append(_text(label_w + k * 70 + 16, y + 11, name))
    return _svg(label_w + bar_w + 20, height, body, title)


def _marker(kind: str, x: float, y: float, colour: str) -> str:
    if kind == "square":
        return f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{colour}"/>'
    if kind == "triangle":
        return (
            f'<polygon points="{x:.1f},{y - 5:.1f} {x - 5:.1f},{y + 4:.1f} {x + 5:.1f},{y + 4:.1f}" fill="{colour}"/>'
        )
    if kind == "diamond":
        return f'<polygon points="{x:.1f},{y - 5:.1f} {x - 5:.1f},{y:.1f} {x:.1f},{y + 5:.1f} {x + 5:.1f},{y:.1f}" fill="{colour}"/>'
    if kind == "cross":
        return (
            f'<path d="M{x - 4:.1f},{y - 4:.1f}L{x + 4:.1f},{y + 4:.1f}M{x - 4:.1f},{y + 4:.1f}L{x + 4:.1f},{y - 4:.1f}"'
            f' stroke="{colour}" stroke-width="2"/>'
        )
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"/>'


def _decades(values: Sequence[float]) -> list[int]:
    low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
    return list(range(low, max(high, low + 1) + 1))


def loglog(
    title: str, lines: dict[str, list[tuple[float, float]]], x_label: str, y_label: str, y_format=None
) -> Markup:
    """Lines on log10 axes (one per series, markers and a legend); ticks at each power of ten."""
    left, right, top, bottom, width, height = 64, 120, 28, 40, 330, 220
    xs = [x for pts in lines.values() for x, _ in pts if x > 0]
    ys = [y for pts in lines.values() for _, y in pts if y > 0]
    body = [_text(0, 16, title, extra='font-weight="bold"')]
    if not xs or not ys:
        body.append(_text(left, top + 40, "nothing measured"))
        return _svg(left + width + right, top + 60, body, title)
    xd, yd = _decades(xs), _decades(ys)

    def px(x: float) -> float:
        return left + (math.log10(x) - xd[0]) / (xd[-1] - xd[0]) * width

    def py(y: float) -> float:
        return top + height - (math.log10(y) - yd[0]) / (yd[-1] - yd[0]) * height

    body.append(f'<rect x="{left}" y="{top}" width="{width}" height="{height}" fill="none" stroke="#999"/>')
    for e in xd:
        x = px(10.0**e)
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + height}" stroke="#eee"/>')
        body.append(_text(x, top + height + 14, _si(10.0**e), "middle"))
    for e in yd:
        y = py(10.0**e)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + width}" y2="{y:.1f}" stroke="#eee"/>')
        body.append(_text(left - 4, y + 4, (y_format or _si)(10.0**e), "end"))
    body.append(_text(left + width / 2, top + height + 32, x_label, "middle"))
    body.append(_text(12, top + height / 2, y_label, "middle", f'transform="rotate(-90 12 {top + height / 2:.1f})"'))
    for i, (name, pts) in enumerate(lines.items()):
        colour, kind = COLOURS[i % len(COLOURS)], MARKERS[i % len(MARKERS)]
        shown = [(px(x), py(y)) for x, y in sorted(pts) if x > 0 and y > 0]
        if len(shown) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in shown)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        body += [_marker(kind, x, y, colour) for x, y in shown]
        ly = top + 10 + i * 18
        body.append(_marker(kind, left + width + 14, ly, colour))
        body.append(_text(left + width + 24, ly + 4, _short(name, 14)))
    return _svg(left + width + right, top + height + bottom + 4, body, title)


def _si(value: float) -> str:
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def seconds_label(value: float) -> str:
    return f"{value:g} s" if value < 3600 else f"{value / 3600:g} h"


def _short(text: str, limit: int) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 1] + "…"
