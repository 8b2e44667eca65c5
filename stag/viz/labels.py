"""Point labels that do not overlap each other, the points or the frame."""

from __future__ import annotations

import numpy as np


# Label positions tried around a point, in points: beside it first, then further out with a
# leader line.
_OFFSETS = [(d * sx, d * sy) for d in (6, 16, 28, 42) for sx, sy in
            ((1, 0.3), (-1, 0.3), (1, -1), (-1, -1), (0, 1), (0, -1.4), (1, 1), (-1, 1))]


def place_labels(ax, xs, ys, labels, *, fontsize: float = 8, colours=None) -> None:
    """Annotate points without overlaps: each label takes the first of :data:`_OFFSETS` whose box
    meets no placed label, no point and stays inside the axes (else the least crowded one)."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    points = [to_px((x, y)) for x, y in zip(xs, ys)]
    r = 5  # marker half-size, pixels
    blocked = [(px - r, py - r, px + r, py + r) for px, py in points]
    frame = ax.get_window_extent(renderer)

    def distance(box, point) -> float:
        dx = max(box[0] - point[0], 0, point[0] - box[2])
        dy = max(box[1] - point[1], 0, point[1] - box[3])
        return float(np.hypot(dx, dy))

    def overlap(a, b) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return max(w, 0) * max(h, 0)

    for i, (x, y, label) in enumerate(zip(xs, ys, labels)):
        best = None
        # Beside a point with close neighbours a label is ambiguous: move it out, with a leader line.
        crowded = any(np.hypot(*(np.subtract(q, points[i]))) < 24 for j, q in enumerate(points) if j != i)
        for dx, dy in _OFFSETS[8:] if crowded else _OFFSETS:
            ha = "left" if dx > 0 else "right" if dx < 0 else "center"
            va = "bottom" if dy >= 0 else "top"
            ann = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha, va=va,
                              fontsize=fontsize, color=colours[i] if colours else "black")
            box = ann.get_window_extent(renderer)
            b = (box.x0, box.y0, box.x1, box.y1)
            outside = (box.x0 < frame.x0) + (box.x1 > frame.x1) + (box.y0 < frame.y0) + (box.y1 > frame.y1)
            # A label nearer to another point than to its own would name the wrong point.
            mine = distance(b, points[i])
            closer = sum(distance(b, q) < mine for j, q in enumerate(points) if j != i)
            cost = sum(overlap(b, o) for o in blocked) + 1e6 * outside + 400 * closer
            if best is None or cost < best[0]:
                if best is not None:
                    best[1].remove()
                best = (cost, ann, b, (dx, dy))
            else:
                ann.remove()
            if cost == 0:
                break
        _, ann, b, (dx, dy) = best
        if crowded or abs(dx) > 6 or abs(dy) > 8:
            ann.remove()
            ann = ax.annotate(label, (x, y), xytext=(dx, dy), textcoords="offset points",
                              ha="left" if dx > 0 else "right" if dx < 0 else "center",
                              va="bottom" if dy >= 0 else "top",
                              fontsize=fontsize, color=colours[i] if colours else "black",
                              arrowprops=dict(arrowstyle="-", color="0.5", lw=0.6, shrinkA=0, shrinkB=3))
        blocked.append(b)
