"""Small charts drawn as inline SVG on the server: no chart library, no JavaScript.

Colours come from the page's stylesheet (classes ``bar``, ``axis``, ``label``), so a chart
follows the light or dark theme; a ``<title>`` and ``<desc>`` make it readable aloud.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

SMALL = (100, 30)
LARGE = (480, 200)
GAP = 2
LABEL_BAND = 18  # room under the bars of a large chart for the axis labels
COUNT_BAND = 14  # room above its tallest bar for that bar's count


def bin_label(index: int, bins: int) -> str:
    """Name a histogram bin of scores in [0, 1] as a range of percentages."""
    low, high = 100 * index // bins, 100 * (index + 1) // bins
    return f"{low}–{high}%"


def histogram_svg(
    counts: Sequence[int], chart_id: str, title: str, noun: str = "learners", large: bool = False
) -> Markup:
    """Draw a histogram of scores in equal bins from 0 to 100%, with an accessible summary."""
    width, height = LARGE if large else SMALL
    chart_id = str(escape(chart_id))
    plot = height - (LABEL_BAND if large else 0)
    room = plot - (COUNT_BAND if large else 0)
    bins = max(len(counts), 1)
    step = width / bins
    peak = max(counts, default=0) or 1
    summary = ", ".join(f"{bin_label(i, bins)}: {count}" for i, count in enumerate(counts) if count)
    description = f"How many {noun} scored in each band. {summary or f'No {noun} yet.'}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart{" chart-large" if large else ""}"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for index, count in enumerate(counts):
        bar = room * count / peak
        x = index * step + GAP / 2
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{plot - bar:.1f}" width="{step - GAP:.1f}"'
            f' height="{bar:.1f}"><title>{bin_label(index, bins)}: {count} {escape(noun)}'
            "</title></rect>"
        )
    parts.append(f'<line class="axis" x1="0" y1="{plot}" x2="{width}" y2="{plot}"/>')
    if large:
        parts.extend(_labels(counts, step, plot, room / peak, height))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above is escaped or numeric


def _labels(
    counts: Sequence[int], step: float, plot: float, scale: float, height: int
) -> list[str]:
    """Return the axis labels (0%, 50%, 100%) and a count above each non-empty bar."""
    width = step * len(counts)
    ticks = ((0.0, "start", "0%"), (width / 2, "middle", "50%"), (width, "end", "100%"))
    labels = [
        f'<text class="label" x="{x:.1f}" y="{height - 4}" text-anchor="{anchor}">{text}</text>'
        for x, anchor, text in ticks
    ]
    labels += [
        f'<text class="label" x="{index * step + step / 2:.1f}" y="{plot - scale * count - 3:.1f}"'
        f' text-anchor="middle">{count}</text>'
        for index, count in enumerate(counts)
        if count
    ]
    return labels
