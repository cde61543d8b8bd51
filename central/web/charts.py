"""Charts drawn on the server as SVG: no script, no inline style (the pages' CSP allows
neither), readable at 375 px wide. Each chart names itself for screen readers; the page
shows the same numbers as text beside it."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

WIDTH = 640


def _svg(height: int, label: str, body: str, kind: str) -> Markup:
    return Markup(
        f'<svg class="chart {kind}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def bars(points: Sequence[tuple[str, int]], label: str) -> Markup:
    """A bar per point (label under it, value over it); every label is shown up to 10 bars,
    every 7th past that."""
    height, top, bottom, left = 220, 20, 30, 8
    most = max((value for _, value in points), default=0) or 1
    step = (WIDTH - 2 * left) / max(len(points), 1)
    parts = [f'<line x1="{left}" y1="{height - bottom}" x2="{WIDTH - left}" '
             f'y2="{height - bottom}" class="axis"/>']
    every = 1 if len(points) <= 10 else 7
    for n, (name, value) in enumerate(points):
        tall = (height - top - bottom) * max(value, 0) / most
        x = left + n * step + step * 0.15
        y = height - bottom - tall
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                     f'height="{tall:.1f}" class="bar"><title>{escape(name)}: {value}</title></rect>')
        middle = x + step * 0.35
        if len(points) <= 10 and value:
            parts.append(f'<text x="{middle:.1f}" y="{y - 4:.1f}" text-anchor="middle">{value}</text>')
        if n % every == 0 or n == len(points) - 1:
            parts.append(f'<text x="{middle:.1f}" y="{height - 10}" text-anchor="middle">'
                         f'{escape(name)}</text>')
    return _svg(height, label, "".join(parts), "bars")


def heat_map(cells: Sequence[Sequence[int]], rows: Sequence[str], label: str) -> Markup:
    """A grid: one row per `rows` name (weekdays), one column per hour 0..23; the darker,
    the more visits. Each cell's tooltip tells its count."""
    left, top, cell_w, cell_h = 44, 18, (WIDTH - 48) / 24, 24
    height = top + cell_h * len(rows) + 4
    most = max((max(row, default=0) for row in cells), default=0) or 1
    parts = []
    for hour in range(0, 24, 3):
        parts.append(f'<text x="{left + hour * cell_w + cell_w / 2:.1f}" y="12" '
                     f'text-anchor="middle">{hour}h</text>')
    for r, name in enumerate(rows):
        y = top + r * cell_h
        parts.append(f'<text x="{left - 6}" y="{y + cell_h * 0.68:.1f}" text-anchor="end">'
                     f'{escape(name)}</text>')
        for hour in range(24):
            value = cells[r][hour]
            shade = 0.06 + 0.94 * value / most if value else 0.0
            parts.append(
                f'<rect x="{left + hour * cell_w:.1f}" y="{y:.1f}" width="{cell_w - 2:.1f}" '
                f'height="{cell_h - 2}" class="cell" fill-opacity="{shade:.2f}">'
                f'<title>{escape(name)} {hour}h: {value}</title></rect>')
    return _svg(int(height), label, "".join(parts), "heat")
