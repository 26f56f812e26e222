"""Charts: coordinates for inline SVG (dashboard) and PNG files that travel (digest files, inline mail images)."""

from __future__ import annotations

import io
import statistics
from datetime import date


def svg_chart(series: list, recent: list[str], onset: str | None = None, width: int = 360,
              height: int = 90) -> dict:
    """A topic's share per period as a polyline; the recent window shaded and the onset marked.

    Args:
        series: (period 'YYYY-MM-DD', share, count) triples, oldest first.
        recent: the periods of the recent window.
        onset: the period the rise began, or None.
    """
    if not series:
        return {"points": "", "width": width, "height": height, "recent_x": None, "onset_x": None, "max_share": 0}
    shares = [s for _, s, _ in series]
    top = max(shares) or 1.0
    step = width / max(len(series) - 1, 1)
    points = " ".join(f"{i * step:.1f},{height - 4 - (s / top) * (height - 8):.1f}" for i, s in enumerate(shares))
    periods = [p for p, _, _ in series]
    first_recent = next((i for i, p in enumerate(periods) if p in recent), None)
    onset_index = next((i for i, p in enumerate(periods) if onset and p >= onset), None)
    return {"points": points, "width": width, "height": height, "max_share": top,
            "recent_x": None if first_recent is None else round(first_recent * step, 1),
            "onset_x": None if onset_index is None else round(onset_index * step, 1),
            "first": periods[0], "last": periods[-1]}


def svg_bars(rows: list[dict], value: str, label: str, width: int = 360, bar: int = 16,
             reference: float | None = 1.0) -> dict:
    """Horizontal bars of `rows[value]` labelled by `rows[label]`; a reference line (LQ = 1) when given."""
    values = [float(r.get(value) or 0) for r in rows]
    top = max([*values, reference or 0]) or 1.0
    left, usable = 120, width - 170
    bars = [{"y": i * (bar + 4), "w": round(v / top * usable, 1), "label": str(r.get(label) or "")[:18],
             "value": f"{v:.2f}", "x_text": left + round(v / top * usable, 1) + 4}
            for i, (r, v) in enumerate(zip(rows, values, strict=True))]
    return {"bars": bars, "width": width, "height": max(len(rows), 1) * (bar + 4), "bar": bar, "left": left,
            "ref_x": None if reference is None else left + round(reference / top * usable, 1)}


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
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100)
    ax = figure.add_subplot()
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
    ax.set_ylabel("% of documents")
    ax.set_ylim(bottom=0)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.grid(axis="y", color="#e9ecef")
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    ax.legend(fontsize=7, loc="upper left", frameon=False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
