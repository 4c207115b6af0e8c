"""Labels of the print map: real text on a white halo, moved apart with leader lines.

Kept apart from :mod:`grid_planning.prints.printmap` (which draws the map) so that a PDF's labels stay
text a reader can search: see :func:`halo_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

#: Width (points) of the white halo drawn beneath a map label.
HALO_WIDTH = 2.6


@cache
def halo_class() -> type:
    """The :class:`matplotlib.text.Text` subclass of :func:`halo_text`, made once per process
    (matplotlib documents every property of a new Text subclass when it is defined: ~20 ms each)."""
    from matplotlib.patheffects import Stroke
    from matplotlib.text import Text

    class HaloText(Text):
        def draw(self, renderer: Any) -> None:
            if not self.get_visible():
                return
            colour = self.get_color()
            self.set_path_effects([Stroke(linewidth=HALO_WIDTH, foreground="white")])
            self.set_color("white")
            super().draw(renderer)
            self.set_path_effects([])
            self.set_color(colour)
            super().draw(renderer)
            self.stale = False

    return HaloText


def halo_text(ax: Any, x: float, y: float, label: str, **kwargs: Any) -> Any:
    """A map label that stays real text in a PDF (searchable, selectable), on a white halo.

    A path effect on the label itself would turn its glyphs into outlines (matplotlib draws a
    text with path effects as paths), so the halo is drawn first as outlines in white and the
    label above it as plain text.
    """
    clip = kwargs.pop("clip_on", True)
    text = halo_class()(x, y, label, **kwargs)
    text.set_transform(ax.transData)
    ax.add_artist(text)
    text.set_clip_on(clip)
    if clip:
        text.set_clip_path(ax.patch)
    return text


def declutter(ax: Any, texts: list, iterations: int = 60,
              obstacles: Sequence[tuple[float, float, float]] = ()) -> None:
    """Move overlapping grid labels apart (vertically first), with a thin leader line to where
    each label belongs when it had to move far.

    ``obstacles`` are ``(x, y, radius_pt)`` marks in data coordinates (the leads' circles) a label
    moves off so that it never hides a lead.
    """
    if not texts or (len(texts) < 2 and not obstacles):
        return
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    inv = ax.transData.inverted()
    anchors = [tx.get_position() for tx in texts]
    # A label's box only moves (its size does not change): measure each once, in display pixels,
    # and move the boxes; the labels are placed once at the end.
    boxes = np.asarray([tx.get_window_extent(renderer).expanded(1.08, 1.25).extents for tx in texts])
    height = boxes[:, 3] - boxes[:, 1]
    shift = np.zeros(len(texts))
    scale = fig.dpi / 72.0
    marks = [(*ax.transData.transform((ox, oy)), r_pt * scale) for ox, oy, r_pt in obstacles]

    def box(i: int) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = boxes[i]
        return x0, y0 + shift[i], x1, y1 + shift[i]

    for _ in range(iterations):
        moved = False
        for i in range(len(texts)):
            for cx, cy, r in marks:
                x0, y0, x1, y1 = box(i)
                if x1 < cx - r or x0 > cx + r or y1 < cy - r or y0 > cy + r:
                    continue
                # Off the mark vertically, on the side the label's centre already is.
                up = (y0 + y1) / 2 >= cy
                shift[i] += (cy + r - y0 + 1) if up else -(y1 - (cy - r) + 1)
                moved = True
        for i in range(len(texts)):
            for j in range(i + 1, len(texts)):
                a, b = box(i), box(j)
                if a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]:
                    continue
                step = (min(a[3], b[3]) - max(a[1], b[1])) / 2 + 1
                sign = 1 if (a[1] + a[3]) >= (b[1] + b[3]) else -1
                shift[i] += sign * step
                shift[j] -= sign * step
                moved = True
        if not moved:
            break
    for i, (tx, (ax0, ay0)) in enumerate(zip(texts, anchors, strict=True)):
        if not shift[i]:
            continue
        px, py = ax.transData.transform((ax0, ay0))
        x, y = inv.transform((px, py + shift[i]))
        tx.set_position((x, y))
        if abs(shift[i]) > height[i] / 1.25 * 0.9:
            ax.plot([ax0, x], [ay0, y], color="#333333", linewidth=0.6, zorder=6.5)
            ax.scatter([ax0], [ay0], s=6, c="#333333", zorder=6.5)


def lead_marks(data: Any, scale: float, focus: str | None) -> list[tuple[float, float, float]]:
    """Where the leads' circles are (data coordinates) and their radius (points): labels keep off."""
    fac = data.facilities.set_index(data.facilities["id"].astype(str))
    marks = []
    for g, lead in zip(data.grids["grid_id"], data.grids["lead_id"], strict=True):
        if lead in fac.index and (focus is None or g == focus):
            pt = fac.loc[lead].geometry
            if isinstance(pt, pd.Series):
                pt = pt.iloc[0]
            marks.append((float(pt.x), float(pt.y), 8.5 * scale))
    return marks


def balanced_columns(sizes: Sequence[int], ncols: int) -> list[list[int]]:
    """Split consecutive sections (their row counts) into at most ``ncols`` columns, keeping each
    section whole and making the longest column as short as possible."""
    n = len(sizes)
    if n == 0:
        return []
    ncols = max(1, min(ncols, n))
    best: tuple[int, list[list[int]]] | None = None
    for cuts in combinations(range(1, n), ncols - 1):
        bounds = [0, *cuts, n]
        cols = [list(range(bounds[i], bounds[i + 1])) for i in range(ncols)]
        longest = max(sum(sizes[i] for i in col) for col in cols)
        if best is None or longest < best[0]:
            best = (longest, cols)
    return best[1] if best else [list(range(n))]
