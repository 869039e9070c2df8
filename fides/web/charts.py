"""Charts drawn on the server as inline SVG: no script, no external asset, readable offline.

Pure: values in, SVG text out. Each chart carries a <title> and a <desc> that lists its numbers,
so a screen reader (and a test) reads the same figures a person sees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: tuple[float, ...]


def nice_step(maximum: float, ticks: int = 4, integer: bool = False) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten; whole numbers only for counts) giving
    about `ticks` gridlines."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        step = mult * power
        if integer and (step < 1 or not float(step).is_integer()):
            continue
        if raw <= step:
            return step
    return max(10 * power, 1.0) if integer else 10 * power


def _fmt(value: float, percent: bool) -> str:
    if percent:
        text = f"{value * 100:.1f}".rstrip("0").rstrip(".")
        return text.replace(".", ",") + " %"
    if float(value).is_integer():
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:,.2f}".replace(",", "\u202f").replace(".", ",")


def bar_chart(title: str, categories: list[str], series: list[Series], *, stacked: bool = True,
              percent: bool = False, notes: list[str] | None = None, width: int = 640, height: int = 260,
              chart_id: str = "chart") -> str:
    """Vertical bars per category; several series are stacked (or side by side)."""
    n = len(categories)
    left, right, top, bottom = 56, 12, 16, 64 if len(series) > 1 else 44
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] for s in series) if stacked else max((s.values[i] for s in series), default=0)
              for i in range(n)]
    top_value = max(totals, default=0)
    counts = not percent and all(float(v).is_integer() for s in series for v in s.values)
    step = nice_step(top_value if top_value > 0 else (0.04 if percent else 4), integer=counts)
    ceiling = step * max(1, math.ceil(top_value / step)) if top_value > 0 else step * 4

    def y(value: float) -> float:
        return top + plot_h - (value / ceiling) * plot_h

    desc = []
    for i, cat in enumerate(categories):
        parts = ", ".join(f"{s.name} {_fmt(s.values[i], percent)}" for s in series)
        desc.append(f"{cat} : {parts}" + (f" ({notes[i]})" if notes else ""))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape("; ".join(desc) or "aucune donnée")}</desc>',
    ]
    # gridlines and axis labels
    tick = 0.0
    while tick <= ceiling + 1e-9:
        yy = y(tick)
        out.append(f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" stroke="#d9dde3" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="11" fill="#4b5563">'
                   f'{escape(_fmt(tick, percent))}</text>')
        tick += step
    if n == 0:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                   f'font-size="13" fill="#4b5563">Aucune donnée</text>')
    slot = plot_w / max(n, 1)
    bar_w = min(48.0, slot * 0.7)
    for i, cat in enumerate(categories):
        x0 = left + slot * i + (slot - bar_w) / 2
        base = 0.0
        for k, s in enumerate(series):
            value = s.values[i]
            if stacked:
                y_top, y_bottom, x, w = y(base + value), y(base), x0, bar_w
                base += value
            else:
                w = bar_w / len(series)
                y_top, y_bottom, x = y(value), y(0), x0 + k * w
            if value > 0:
                out.append(f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{w:.1f}" height="{y_bottom - y_top:.1f}" '
                           f'fill="{escape(s.color)}"><title>{escape(cat)} — {escape(s.name)} : '
                           f'{escape(_fmt(value, percent))}</title></rect>')
        label = _fmt(totals[i], percent)
        out.append(f'<text x="{x0 + bar_w / 2:.1f}" y="{y(totals[i]) - 4:.1f}" text-anchor="middle" '
                   f'font-size="11" fill="#111827">{escape(label)}</text>')
        out.append(f'<text x="{x0 + bar_w / 2:.1f}" y="{top + plot_h + 16:.1f}" text-anchor="middle" '
                   f'font-size="11" fill="#374151">{escape(cat)}</text>')
        if notes:
            out.append(f'<text x="{x0 + bar_w / 2:.1f}" y="{top + plot_h + 30:.1f}" text-anchor="middle" '
                       f'font-size="10" fill="#6b7280">{escape(notes[i])}</text>')
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#6b7280"/>')
    if len(series) > 1:
        x = left
        for s in series:
            out.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" fill="{escape(s.color)}"/>')
            out.append(f'<text x="{x + 14}" y="{height - 7}" font-size="11" fill="#374151">{escape(s.name)}</text>')
            x += 24 + 7 * len(s.name)
    out.append("</svg>")
    return "".join(out)
