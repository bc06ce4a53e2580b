"""Charts drawn on the server as SVG: a line or bar chart with axes and labels, the numbers behind
it as a table, and the same numbers as CSV. No script and no CDN; the SVG says what it shows
(role="img" and a <title>) and the table is there for screen readers and for copying."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


def _n(value: float) -> str:
    """Return a coordinate with one decimal (format_html escapes arguments before formatting)."""
    return f"{value:.1f}"


def _short(label: str, length: int) -> str:
    return label if len(label) <= length else label[: length - 1] + "…"


def _nice_top(value: int) -> int:
    """Return a round number at least value (1, 2 or 5 times a power of ten), at least 1."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if top * step >= value:
                return top * step
        top *= 10


@dataclass
class Chart:
    """A chart of one or more series over the same labels (days, sources, links)."""

    slug: str
    title: str
    labels: list[str]
    series: list[tuple[str, list[int]]]
    kind: str = "line"  # or "bar"

    def svg(self) -> SafeString:
        """Return the chart as inline SVG."""
        count = len(self.labels)
        values = [v for _, vs in self.series for v in vs]
        low = min([0, *values])
        top = _nice_top(max([0, *values]))
        plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        span = top - low or 1

        def y(value: int) -> float:
            return TOP + plot_h * (top - value) / span

        def x(index: int) -> float:
            if self.kind == "bar":
                return LEFT + plot_w * (index + 0.5) / max(count, 1)
            return LEFT + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

        parts = []
        ticks = {0, top // 2, top}
        if low < 0 and -low / span > 0.15:  # a small dip below zero needs no label of its own
            ticks.add(low)
        for tick in sorted(ticks):
            parts.append(
                format_html(
                    '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                    '<text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
                    LEFT,
                    WIDTH - RIGHT,
                    _n(y(tick)),
                    _n(y(tick)),
                    LEFT - 6,
                    _n(y(tick) + 4),
                    tick,
                )
            )
        shown = {0, count - 1, (count - 1) // 2} if count > 3 else set(range(count))
        for index in sorted(i for i in shown if i >= 0):
            # The first and last labels of a line chart sit at its edges: keep them inside.
            anchor = "middle"
            if count > 4:
                anchor = {0: "start", count - 1: "end"}.get(index, "middle")
            parts.append(
                format_html(
                    '<text class="axis" x="{}" y="{}" text-anchor="{}">{}</text>',
                    _n(x(index)),
                    HEIGHT - 8,
                    anchor,
                    _short(self.labels[index], 24 if count <= 4 else 12),
                )
            )
        if self.kind == "bar":
            group = plot_w / max(count, 1) * 0.8
            width = group / max(len(self.series), 1)
            for number, (_, series_values) in enumerate(self.series):
                for index, value in enumerate(series_values):
                    left = x(index) - group / 2 + number * width
                    parts.append(
                        format_html(
                            '<rect class="series-{}" x="{}" y="{}" width="{}" height="{}"/>',
                            number,
                            _n(left),
                            _n(min(y(value), y(0))),
                            _n(max(width - 1, 1)),
                            _n(abs(y(0) - y(value))),
                        )
                    )
        else:
            for number, (_, series_values) in enumerate(self.series):
                points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(series_values))
                parts.append(
                    format_html('<polyline class="series-{}" points="{}"/>', number, points)
                )
        summary = "; ".join(f"{name}: {sum(vs)} in all" for name, vs in self.series)
        return format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="chart-{}-title">'
            '<title id="chart-{}-title">{} ({})</title>{}'
            '<line class="axis-line" x1="{}" x2="{}" y1="{}" y2="{}"/></svg>',
            WIDTH,
            HEIGHT,
            self.slug,
            self.slug,
            self.title,
            summary,
            mark_safe("".join(parts)),  # noqa: S308 (each part was built by format_html)  # nosec
            LEFT,
            WIDTH - RIGHT,
            _n(y(0)),
            _n(y(0)),
        )

    def legend(self) -> SafeString:
        return format_html_join(
            "",
            '<li><span class="swatch series-{}"></span>{}</li>',
            ((number, name) for number, (name, _) in enumerate(self.series)),
        )

    def rows(self) -> list[tuple[str, list[int]]]:
        """Return the table's rows: (label, one value per series)."""
        return [
            (label, [values[index] for _, values in self.series])
            for index, label in enumerate(self.labels)
        ]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["", *[name for name, _ in self.series]])
        for label, values in self.rows():
            # A spreadsheet must not run a title or a referring host as a formula.
            safe = f"'{label}" if label[:1] in {"=", "+", "-", "@"} else label
            writer.writerow([safe, *values])
        return out.getvalue()
