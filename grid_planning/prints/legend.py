"""The print map's legend: its sections (grids and their leads, symbols, facility types, levels) in
balanced columns, in type small enough to stay inside its box; the line colours and marker sizes it
shares with the map (:mod:`grid_planning.prints.printmap`)."""

from __future__ import annotations

import math

from matplotlib.axes import Axes
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.maps.shared import LEVEL_RADIUS, TYPE_COLOURS, short_name
from grid_planning.prints.fonts import use_in_matplotlib
from grid_planning.prints.mapdata import MapData
from grid_planning.prints.maplabels import balanced_columns, plain

#: Grid borders and the city's outline.
BORDER = "#1b1b1b"


#: District outlines (dashed).
DISTRICT = "#6b6b6b"


#: Ring of a lead whose level is assumed (missing in the data).
ASSUMED_RING = "#b35900"


#: Marker diameter (points) per pixel of the dashboard's radius: the print hierarchy matches.
PT_PER_PX = 0.9


def marker_size(level: str) -> float:
    """Scatter ``s`` (points squared) for a facility level."""
    d = 2 * LEVEL_RADIUS.get(str(level), 4.0) * PT_PER_PX
    return d * d


def legend_handles(data: MapData, lang: str = DEFAULT_LANGUAGE, *, grid_limit: int = 30,
                   name_limit: int = 18) -> list[tuple[str, list]]:
    """Legend sections as ``[(title, [(handle, label), ...]), ...]``: grids, leads and marks,
    facility types, levels."""
    def dot(colour: str, size: float, *, hollow: bool = False, edge: str = "white", lw: float = 0.5,
            ls: str = "solid") -> Line2D:
        return Line2D([], [], linestyle="none", marker="o", markersize=size,
                      markerfacecolor="white" if hollow else colour,
                      markeredgecolor=colour if hollow else edge, markeredgewidth=lw,
                      fillstyle="full", dash_capstyle="butt") if ls == "solid" else Line2D(
            [], [], linestyle="none", marker="o", markersize=size, markerfacecolor="white",
            markeredgecolor=colour, markeredgewidth=lw)

    grids = []
    for _, row in data.grids.head(grid_limit).iterrows():
        grids.append((Patch(facecolor=row["colour"], edgecolor="#555555", linewidth=0.5),
                      plain(f"{row['grid_id']} {short_name(row['lead_name'], name_limit)}")))
    marks = [
        (Line2D([], [], linestyle="none", marker="o", markersize=11, markerfacecolor="#ffffff",
                markeredgecolor="black", markeredgewidth=2.0), t("exports.legend.lead", lang)),
    ]
    if data.facilities["assumed"].any():
        marks.append((Line2D([], [], linestyle="none", marker="o", markersize=11,
                             markerfacecolor="#ffffff", markeredgecolor=ASSUMED_RING,
                             markeredgewidth=2.0), t("exports.legend.lead_assumed", lang)))
    if (data.facilities["role"].astype(str) == "collaborator").any():
        marks.append((Line2D([], [], linestyle="none", marker="o", markersize=7,
                             markerfacecolor=TYPE_COLOURS["general"], markeredgecolor="black",
                             markeredgewidth=1.8), t("exports.legend.collaborator", lang)))
    marks.append((dot(TYPE_COLOURS["general"], 6.5), t("exports.legend.real", lang)))
    if data.facilities["illustrative"].any():
        marks.append((dot(TYPE_COLOURS["general"], 6.5, hollow=True, lw=1.2, ls="dashed"),
                      t("exports.legend.illustrative", lang)))
    marks.append((Line2D([], [], color=BORDER, linewidth=1.6), t("exports.legend.grid_border", lang)))
    if data.districts is not None:
        marks.append((Line2D([], [], color=DISTRICT, linewidth=0.8, linestyle=(0, (4, 3))),
                      t("exports.legend.district", lang)))
    present = set(data.facilities["type"].astype(str))
    types = [(dot(colour, 6.5), t(f"vocab.type.{ty}", lang)) for ty, colour in TYPE_COLOURS.items()
             if ty in present]
    present_levels = set(data.facilities["level"].astype(str))
    levels = [(dot("#777777", math.sqrt(marker_size(lv))), t(f"vocab.level.{lv}", lang))
              for lv in ("tertiary", "secondary", "primary") if lv in present_levels]
    sections = [(t("exports.legend.grids", lang), grids), (t("exports.legend.marks", lang), marks),
                (t("exports.legend.types", lang), types)]
    if levels:
        sections.append((t("exports.legend.levels", lang), levels))
    return sections


#: Smallest type of a legend made to fit its box (points).
MIN_LEGEND_PT = 5.5


def draw_legend(ax: Axes, data: MapData, *, lang: str = DEFAULT_LANGUAGE, fontsize: float = 7.5,
                ncols: int = 1) -> Legend:
    """The legend sections stacked in ``ax`` (an empty axes beside or below the map), in type
    small enough (down to :data:`MIN_LEGEND_PT`) to stay inside it; returns the Legend."""
    family = use_in_matplotlib()
    ax.axis("off")
    sections = legend_handles(data, lang)
    handles, labels = [], []

    blank = Line2D([], [], linestyle="none")
    blocks = [[(blank, title), *rows] for title, rows in sections if rows]
    # Whole sections per column (a heading never ends a column), the columns as even as can be;
    # matplotlib fills columns top to bottom, so each is padded to the longest.
    columns = balanced_columns([len(b) for b in blocks], ncols)
    height = max((sum(len(blocks[i]) for i in col) for col in columns), default=0)
    handles, labels = [], []
    for col in columns:
        entries = [entry for i in col for entry in blocks[i]]
        entries += [(blank, "")] * (height - len(entries))
        handles += [h for h, _ in entries]
        labels += [lab for _, lab in entries]
    ncols = max(len(columns), 1)
    titles = {title for title, rows in sections if rows}
    renderer = ax.figure.canvas.get_renderer()
    room = ax.get_window_extent(renderer)
    # The legend stays inside its box (below it are the sources): smaller type until it fits.
    for _ in range(8):
        leg = ax.legend(handles, labels, loc="upper left", frameon=False, ncols=ncols,
                        prop={"family": family, "size": fontsize}, handlelength=1.6,
                        handletextpad=0.6, borderaxespad=0.0, labelspacing=0.45, columnspacing=1.2)
        for text in leg.get_texts():
            if text.get_text() in titles:
                text.set_fontweight("bold")
                text.set_fontsize(fontsize + 0.5)
        box = leg.get_window_extent(renderer)
        if (box.height <= room.height and box.width <= room.width) or fontsize <= MIN_LEGEND_PT:
            break
        fontsize = max(MIN_LEGEND_PT, fontsize * 0.92)
        leg.remove()
    return leg
