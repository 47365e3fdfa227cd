"""Charts as inline SVG, rendered on the server (no JavaScript, no build step).

``activity_chart(days, title)`` draws one bar per UTC day with a labelled value axis (0, the
middle and the maximum) and date labels about every two weeks. It is an accessible image:
``role="img"`` with ``<title>`` and ``<desc>`` (the total, the busiest day, the last 7
days), and a table with every day's number can sit beside it for screen readers. Colours
are SVG presentation attributes bound to ``currentColor``, so the page's CSS (light or
dark) decides them and the Content-Security-Policy (no inline styles) is respected.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 28, 30
_ids = itertools.count(1)


def _nice_max(value: int) -> int:
    """The smallest of 1, 2, 5 x 10^k that is >= value (a readable top of the axis)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def describe(days: Sequence[tuple[date, int]]) -> str:
    """The chart in words (its text alternative)."""
    if not days:
        return "No days to show."
    total = sum(n for _, n in days)
    if total == 0:
        return f"No activity between {days[0][0]:%d %b %Y} and {days[-1][0]:%d %b %Y}."
    peak_day, peak = max(days, key=lambda d: (d[1], d[0]))
    last7 = sum(n for _, n in days[-7:])
    active = sum(1 for _, n in days if n)
    return (
        f"{total:,} activity message{'' if total == 1 else 's'} over {len(days)} "
        f"day{'' if len(days) == 1 else 's'} ({days[0][0]:%d %b %Y} to {days[-1][0]:%d %b %Y}), "
        f"on {active} active day{'' if active == 1 else 's'}; "
        f"busiest day {peak_day:%d %b %Y} with {peak:,}; {last7:,} in the last 7 days."
    )


def activity_chart(days: Sequence[tuple[date, int]], title: str) -> Markup:
    n = max(len(days), 1)
    top = _nice_max(max((c for _, c in days), default=0))
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    bar_w = plot_w / n
    uid = next(_ids)
    t_id, d_id = f"chart-title-{uid}", f"chart-desc-{uid}"
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'aria-labelledby="{t_id} {d_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{t_id}">{escape(title)}</title>',
        f'<desc id="{d_id}">{escape(describe(days))}</desc>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="600" fill="currentColor">'
        f"{escape(title)}</text>",
    ]
    for frac in (0.0, 0.5, 1.0):
        value = top * frac
        y = TOP + plot_h * (1 - frac)
        label = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="currentColor" stroke-opacity="0.2" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="currentColor">{label}</text>'
        )
    for i, (day, count) in enumerate(days):
        h = plot_h * count / top
        x = LEFT + i * bar_w
        out.append(
            f'<rect x="{x + 0.5:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
            f'height="{h:.1f}" fill="currentColor" fill-opacity="0.75">'
            f"<title>{day:%d %b %Y}: {count:,}</title></rect>"
        )
        last = len(days) - 1
        if (i % 14 == 0 and last - i >= 7) or i == last:
            out.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - 10}" font-size="11" '
                f'text-anchor="middle" fill="currentColor">{day:%d %b}</text>'
            )
    out.append(
        f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" '
        f'stroke="currentColor" stroke-width="1"/>'
    )
    out.append("</svg>")
    return Markup("".join(out))
