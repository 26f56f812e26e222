"""Coordinates for inline SVG charts (no scripts, no external files): a share line and horizontal bars."""

from __future__ import annotations


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
