"""Small inline SVG charts, computed here and drawn by templates/charts.html: no chart library, no script."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 600, 160


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


def stacked_bars(buckets: list[dict[str, int]], keys: tuple[str, ...], labels: list[str]) -> dict:
    """One bar per bucket, stacked by key (e.g. events per status per minute)."""
    top = max((sum(b.get(k, 0) for k in keys) for b in buckets), default=0) or 1
    slot = WIDTH / max(len(buckets), 1)
    rects = []
    for i, bucket in enumerate(buckets):
        y = HEIGHT
        for key in keys:
            count = bucket.get(key, 0)
            if not count:
                continue
            height = HEIGHT * count / top
            y -= height
            rects.append(Rect(i * slot + 1, y, max(slot - 2, 1), height, f"s-{key}", f"{labels[i]} {key}: {count}"))
    return {"rects": rects, "top": top, "width": WIDTH, "height": HEIGHT, "first": labels[0] if labels else "",
            "last": labels[-1] if labels else ""}


def lines(series: dict[str, list[float | None]], labels: list[str], unit: str = "") -> dict:
    """One polyline per series over the same buckets; a missing value (None) breaks the line."""
    top = max((v for values in series.values() for v in values if v is not None), default=0) or 1
    slot = WIDTH / max(len(labels) - 1, 1)
    drawn = {}
    for name, values in series.items():
        segments, current = [], []
        for i, value in enumerate(values):
            if value is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append(f"{i * slot:.1f},{HEIGHT - HEIGHT * value / top:.1f}")
        if current:
            segments.append(current)
        drawn[name] = [" ".join(points) for points in segments]
    return {"series": drawn, "top": top, "unit": unit, "width": WIDTH, "height": HEIGHT,
            "first": labels[0] if labels else "", "last": labels[-1] if labels else ""}
