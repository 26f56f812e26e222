"""Charts: PNG files that travel (digest files, inline mail images, dashboard)."""

from __future__ import annotations

import io
import statistics
from datetime import date


def baseline_band(series: list, recent: list[str]) -> tuple[float, float, float] | None:
    """(low, mean, high) of the baseline periods' share: mean ± 2 standard deviations (low clipped at 0)."""
    shares = [s for p, s, _ in series if not recent or p < recent[0]]
    if not shares:
        return None
    mean = statistics.fmean(shares)
    spread = 2 * statistics.pstdev(shares) if len(shares) > 1 else 0.0
    return max(mean - spread, 0.0), mean, mean + spread


def png_chart(series: list, recent: list[str], onset: str | None = None, *, title: str = "",
              forecast: list | None = None, width: float = 6.4, height: float = 2.6) -> bytes:
    """A topic's share per period as a PNG: axes with dates and %, counts on the recent points, the baseline
    band (mean ± 2 sd), the recent window shaded, the onset dashed.

    Args:
        series: (period 'YYYY-MM-DD', share, count) triples, oldest first.
        recent: the periods of the recent window.
        onset: the period the rise began, or None.
        forecast: optional (period, low, mid, high) shares drawn as a fan after the last period.
    """
    figure, ax = _axes(width, height)
    days = [date.fromisoformat(p) for p, _, _ in series]
    shares = [100 * s for _, s, _ in series]
    band = baseline_band(series, recent)
    if band and days:
        ax.axhspan(100 * band[0], 100 * band[2], color="#dee2e6", label="baseline: mean ± 2 sd")
        ax.axhline(100 * band[1], color="#868e96", linewidth=0.8)
    if recent and days:
        ax.axvspan(date.fromisoformat(recent[0]), days[-1], color="#ffe8cc", alpha=0.7, label="recent window")
    ax.plot(days, shares, color="#364fc7", marker="o", markersize=3, linewidth=1.8, label="share of documents")
    for day, share, (period, _, count) in zip(days, shares, series, strict=True):
        if period in recent:
            ax.annotate(str(count), (day, share), textcoords="offset points", xytext=(0, 5), ha="center", fontsize=7)
    if onset:
        ax.axvline(date.fromisoformat(onset[:10]), color="#e8590c", linestyle="--", linewidth=1, label=f"onset {onset}")
    if forecast:
        f_days = [date.fromisoformat(p) for p, *_ in forecast]
        ax.fill_between(f_days, [100 * lo for _, lo, _, _ in forecast], [100 * hi for *_, hi in forecast],
                        color="#364fc7", alpha=0.15, label="forecast")
        ax.plot(f_days, [100 * mid for _, _, mid, _ in forecast], color="#364fc7", linestyle=":")
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    return _png(figure, ax)


def png_lines(lines: dict[str, list], *, width: float = 9.6, height: float = 3.0) -> bytes:
    """Several themes' share per period (label -> (period, share, count) triples) on one PNG with axes."""
    figure, ax = _axes(width, height)
    for label, series in lines.items():
        ax.plot([date.fromisoformat(p) for p, _, _ in series], [100 * s for _, s, _ in series], marker="o",
                markersize=2.5, linewidth=1.5, label=label)
    return _png(figure, ax)


def _axes(width: float, height: float):
    from matplotlib.figure import Figure  # the object API: no pyplot state, safe in the dashboard's threads

    figure = Figure(figsize=(width, height), dpi=100)
    return figure, figure.add_subplot()


def _png(figure, ax) -> bytes:
    """Date axis, % axis, grid and legend; the figure as PNG bytes."""
    from matplotlib import dates as mdates

    ax.set_ylabel("% of documents")
    ax.set_ylim(bottom=0)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="y", color="#e9ecef")
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="upper left", frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
