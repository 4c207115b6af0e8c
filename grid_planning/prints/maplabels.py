"""Labels of the print map: real text on a white halo, moved apart with leader lines.

Kept apart from :mod:`grid_planning.prints.printmap` (which draws the map) so that a PDF's labels stay
text a reader can search: see :func:`halo_text`.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from functools import cache
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backend_bases import GraphicsContextBase, RendererBase
from matplotlib.font_manager import FontProperties
from matplotlib.patheffects import Stroke
from matplotlib.text import Text

from grid_planning.base.textsafe import terminal_text
from grid_planning.prints.fonts import TWO_EM_DASH
from grid_planning.prints.mapdata import MapData

#: Width (points) of the white halo drawn beneath a map label.
HALO_WIDTH = 2.6


class TextOf:
    """A renderer that draws every line of a wrapped text as a line of that text (its language
    and font features kept); everything else is the real renderer's."""

    def __init__(self, renderer: RendererBase, text: Text) -> None:
        self.renderer = renderer
        self.text = text

    def __getattr__(self, name: str) -> Any:  # any attribute of the renderer it stands in for
        return getattr(self.renderer, name)

    def draw_text(self, gc: GraphicsContextBase, x: float, y: float, s: str, prop: FontProperties,
                  angle: float, ismath: bool | str = False, mtext: Text | None = None) -> None:
        self.renderer.draw_text(gc, x, y, s, prop, angle, ismath=ismath,
                                       mtext=mtext if mtext is not None else self.text)


@cache
def halo_class() -> type:
    """The :class:`matplotlib.text.Text` subclass of :func:`halo_text`, made once per process
    (matplotlib documents every property of a new Text subclass when it is defined: ~20 ms each)."""
    class HaloText(Text):
        #: Draw the halo only (the label's letters are set elsewhere as text, e.g. by
        #: :mod:`grid_planning.prints.textlayer`).
        halo_only = False

        def draw(self, renderer: RendererBase) -> None:
            if not self.get_visible():
                return
            colour = self.get_color()
            self.set_path_effects([Stroke(linewidth=HALO_WIDTH, foreground="white")])
            self.set_color("white")
            super().draw(renderer)
            self.set_path_effects([])
            self.set_color(colour)
            if not self.halo_only:
                # matplotlib hands a line of a wrapped label to the renderer without its text, so
                # without the text's language (fonts.LANGUAGE) and with the font's other digits:
                # the PDF would embed the face twice.
                super().draw(TextOf(renderer, self) if "\n" in self.get_text() else renderer)
            self.stale = False

    return HaloText


def halo_text(ax: Axes, x: float, y: float, label: str, **kwargs: Any) -> Text:
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


def declutter(ax: Axes, texts: list, iterations: int = 60,
              obstacles: Sequence[tuple[float, float, float]] = ()) -> None:
    """Move overlapping grid labels apart (vertically first), with a thin leader line to where
    each label belongs when it had to move far; a label is kept inside the map's frame (a name cut
    at the frame's edge would not name its lead).

    ``obstacles`` are ``(x, y, radius_pt)`` marks in data coordinates (the leads' circles) a label
    moves off so that it never hides a lead.
    """
    if not texts:
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
    across = np.zeros(len(texts))
    scale = fig.dpi / 72.0
    marks = [(*ax.transData.transform((ox, oy)), r_pt * scale) for ox, oy, r_pt in obstacles]
    fx0, fy0, fx1, fy1 = ax.get_window_extent(renderer).extents

    def box(i: int) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = boxes[i]
        return x0 + across[i], y0 + shift[i], x1 + across[i], y1 + shift[i]

    for i in range(len(texts)):
        x0, _, x1, _ = box(i)
        if x1 - x0 < fx1 - fx0:
            across[i] += max(fx0 - x0, 0.0) - max(x1 - fx1, 0.0)
    for _ in range(iterations):
        moved = False
        for i in range(len(texts)):
            _, y0, _, y1 = box(i)
            if y1 - y0 < fy1 - fy0 and (y0 < fy0 or y1 > fy1):
                shift[i] += max(fy0 - y0, 0.0) - max(y1 - fy1, 0.0)
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
        if not shift[i] and not across[i]:
            continue
        px, py = ax.transData.transform((ax0, ay0))
        x, y = inv.transform((px + across[i], py + shift[i]))
        tx.set_position((x, y))
        if abs(shift[i]) > height[i] / 1.25 * 0.9:
            ax.plot([ax0, x], [ay0, y], color="#333333", linewidth=0.6, zorder=6.5)
            ax.scatter([ax0], [ay0], s=6, c="#333333", zorder=6.5)


def callouts(ax: Axes, marks: Sequence[tuple[float, float, str]], gap_pt: float = 3.0,
             **style: Any) -> list:
    """Names of crowded marks (an inset's leads) set in two columns along the frame's left and
    right edges, each as near its mark's height as the others allow, joined to its mark by a
    leader line; the names never overlap each other and stay whole inside the frame.

    ``marks`` are ``(x, y, label)`` in data coordinates; ``style`` goes to :func:`halo_text`.
    Returns the labels (left column first).
    """
    if not marks:
        return []
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    inv = ax.transData.inverted()
    fx0, fy0, fx1, fy1 = ax.get_window_extent(renderer).extents
    pad = gap_pt * fig.dpi / 72.0
    pixels = [ax.transData.transform((x, y)) for x, y, _ in marks]
    by_x = sorted(range(len(marks)), key=lambda i: pixels[i][0])
    half = (len(marks) + 1) // 2
    out = []
    for column, side in ((by_x[:half], "left"), (by_x[half:], "right")):
        texts = {}
        for i in column:
            x, y, label = marks[i]
            texts[i] = halo_text(ax, x, y, label, **{**style, "ha": side, "va": "center"})
        heights = {i: tx.get_window_extent(renderer).height for i, tx in texts.items()}
        order = sorted(column, key=lambda i: -pixels[i][1])
        centre = {}
        top = fy1 - pad
        for i in order:  # from the top down, each at its mark's height or just below the last
            centre[i] = min(pixels[i][1], top - heights[i] / 2)
            top = centre[i] - heights[i] / 2 - pad
        bottom = fy0 + pad
        for i in reversed(order):  # then up from the frame's foot where the column ran out
            centre[i] = max(centre[i], bottom + heights[i] / 2)
            bottom = centre[i] + heights[i] / 2 + pad
        for i in order:
            tx = texts[i]
            px = fx0 + pad if side == "left" else fx1 - pad
            tx.set_position(inv.transform((px, centre[i])))
            box = tx.get_window_extent(renderer)
            end = (box.x1 + pad / 2, centre[i]) if side == "left" else (box.x0 - pad / 2, centre[i])
            (ex, ey) = inv.transform(end)
            ax.plot([marks[i][0], ex], [marks[i][1], ey], color="#333333", linewidth=0.6, zorder=5.5)
            out.append(tx)
    return out


def lead_marks(data: MapData, scale: float, focus: str | None) -> list[tuple[float, float, float]]:
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


# ---- label texts ---------------------------------------------------------------------------------
def plain(text: object) -> str:
    """``text`` for a matplotlib label: shown as typed (``$`` would start mathtext); control
    characters, escape sequences and bidirectional overrides dropped (they have no glyph)."""
    return terminal_text(text).replace("\n", " ").replace("$", r"\$").replace("——", TWO_EM_DASH)


def plain_lines(text: object) -> str:
    """Like :func:`plain`, keeping the line breaks of a label wrapped by :func:`map_label`."""
    return "\n".join(plain(line) for line in str(text).split("\n"))


#: Widest line of a lead's name on a map (ems): longer names wrap.
LABEL_EM = 13.0


def map_label(grid: str, lead_name: object, max_em: float = LABEL_EM) -> str:
    """``"G8 武汉市第四医院"`` and, on the next lines, the rest of the lead's full name (a trailing
    bracketed alias starts a line), each line at most ``max_em`` ems and the lines of a part about
    as long as each other (no closing bracket left alone on a line)."""
    name = terminal_text(lead_name).replace("\n", " ").strip()
    cut = name.find("（") if name.endswith("）") else -1
    if cut <= 0 and name.endswith(")"):
        cut = name.rfind("(")
    parts = [f"{grid} {name[:cut].strip()}", name[cut:]] if cut > 0 else [f"{grid} {name}"]
    lines = []
    for part in parts:
        width = sum(em_width(ch) for ch in part)
        count = math.ceil(width / max_em - 1e-9) or 1
        lines += wrap_em(part, min(max_em, width / count + 1.0))
    return "\n".join(lines)


def em_width(ch: str) -> float:
    """Width of a character in ems (CJK and full-width forms 1, Latin about half)."""
    return 1.0 if unicodedata.east_asian_width(ch) in ("W", "F") else 0.56


def wrap_em(text: str, max_em: float) -> list[str]:
    """Break ``text`` into lines of at most ``max_em`` ems, at spaces for Latin text and anywhere
    between CJK characters."""
    lines: list[str] = []
    line, width, last_space = "", 0.0, -1
    for ch in str(text):
        line += ch
        width += em_width(ch)
        if ch == " ":
            last_space = len(line) - 1
        if width > max_em:
            if last_space > len(line) // 2:
                lines.append(line[:last_space])
                line = line[last_space + 1:]
            else:
                lines.append(line[:-1])
                line = ch
            width = sum(em_width(c) for c in line)
            last_space = line.rfind(" ")
    if line:
        lines.append(line)
    return lines


# ---- the inset of the dense core ----------------------------------------------------------------
#: A grid smaller than this share of the city's extent is shown again in the inset of the core.
INSET_SHARE = 0.03


#: Leads closer to each other than this share of the city's extent crowd each other (their circles
#: and names) on the city map: the inset frames them.
CROWD_SHARE = 0.06


def lead_points(data: MapData) -> dict[str, tuple[float, float]]:
    """Grid id -> where its lead hospital is (metric coordinates)."""
    fac = data.facilities.drop_duplicates("id").set_index(data.facilities.drop_duplicates("id")["id"].astype(str))
    out = {}
    for g, lead in zip(data.grids["grid_id"], data.grids["lead_id"], strict=True):
        if lead in fac.index:
            pt = fac.geometry.loc[lead]
            out[str(g)] = (float(pt.x), float(pt.y))
    return out


def _crowded(points: dict[str, tuple[float, float]], reach: float) -> list[str]:
    """The largest group of leads linked by distances under ``reach`` (at least two), else []."""
    ids = list(points)
    parent = list(range(len(ids)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(ids)):
        for j in range(i + 1, len(ids)):
            (xa, ya), (xb, yb) = points[ids[i]], points[ids[j]]
            if math.hypot(xa - xb, ya - yb) < reach:
                parent[root(i)] = root(j)
    groups: dict[int, list[str]] = {}
    for i, g in enumerate(ids):
        groups.setdefault(root(i), []).append(g)
    best = max(groups.values(), key=len, default=[])
    return best if len(best) >= 2 else []


def inset_frame(data: MapData) -> tuple[list[str], tuple[float, float, float, float] | None]:
    """The grids named in the inset of the core instead of on the city map, and the inset's extent.

    The inset frames the crowded leads (those closer than :data:`CROWD_SHARE` of the city's extent
    to another lead), with room around them for their names, so that it magnifies the dense core;
    a small grid (under :data:`INSET_SHARE` of the extent) whose lead is in the frame is named
    there only. Without crowded leads, the inset shows the small grids, if any.
    """
    grids = data.grids
    if len(grids) < 2:
        return [], None
    x0, y0, x1, y1 = (data.boundary if data.boundary is not None else grids).total_bounds
    size = max(x1 - x0, y1 - y0, 1.0)
    extent = max((x1 - x0) * (y1 - y0), 1.0)
    small = [g for g, geom in zip(grids["grid_id"], grids.geometry, strict=True)
             if geom.area / extent < INSET_SHARE]
    leads = lead_points(data)
    core = _crowded(leads, CROWD_SHARE * size)
    if core:
        xs = [leads[g][0] for g in core]
        ys = [leads[g][1] for g in core]
        bx0, by0, bx1, by1 = min(xs), min(ys), max(xs), max(ys)
        pad = max(0.35 * max(bx1 - bx0, by1 - by0), 0.04 * size)
    elif small:
        sel = grids[grids["grid_id"].isin(small)]
        bx0, by0, bx1, by1 = sel.total_bounds
        pad = 0.06 * max(bx1 - bx0, by1 - by0)
    else:
        return [], None
    frame = (bx0 - pad, by0 - pad, bx1 + pad, by1 + pad)
    named = [g for g in small if g in leads and frame[0] <= leads[g][0] <= frame[2]
             and frame[1] <= leads[g][1] <= frame[3]]
    return named, frame
