"""The print-ready plan map: a page (A4 or A3, portrait or landscape) for an approval file.

Drawn with matplotlib in the plan's metric CRS (so the scale bar of ``matplotlib-scalebar`` is
true), with no tiles: grids filled in the plan map's colours (:data:`shared.GRID_PALETTE`), grid
borders, city and district outlines, grid labels, lead hospitals as ringed markers, the other
facilities by type (colour) and level (size) as on the dashboard (:data:`shared.TYPE_COLOURS`,
:data:`shared.LEVEL_RADIUS`), illustrative facilities hollow and dashed, collaborators
double-ringed. Around the map: title, legend, scale bar, north arrow, data sources, dates and the
illustrative-data note. Chinese is set in the vendored Noto Sans SC (:mod:`grid_planning.prints.fonts`).

Output: PNG at 300 dpi (the page's exact pixel size, :func:`~grid_planning.prints.paper.paper_pixels`) or a vector PDF
(TrueType text, so names are searchable). :func:`draw_plan` draws the map alone on an Axes; the PDF
report (:mod:`grid_planning.prints.report_pdf`) uses it for the city map and one map per grid.

User text (city, facility and grid names) is drawn as plain text: matplotlib's mathtext is switched
off for every label (``usetex`` off, ``$`` escaped), so a name is never interpreted.
"""

from __future__ import annotations

import datetime as _dt
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrow, Rectangle
from matplotlib.path import Path
from matplotlib.transforms import Bbox
from matplotlib_scalebar.scalebar import ScaleBar
from pyproj import CRS, Transformer
from shapely.ops import polylabel

from grid_planning.base import localtime
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.numfmt import integer
from grid_planning.base.version import __version__
from grid_planning.city.planview import unit_grids
from grid_planning.city.provenance import city_name_in, source_lines
from grid_planning.domain.rules import is_illustrative
from grid_planning.maps.shared import (
    TYPE_COLOURS,
    dissolve,
    grid_colours,
    label_points,
    plan_facilities,
)
from grid_planning.prints.fonts import use_in_matplotlib
from grid_planning.prints.legend import (
    ASSUMED_RING,
    BORDER,
    DISTRICT,
    draw_legend,
    legend_handles,
    marker_size,
)
from grid_planning.prints.mapdata import MapData
from grid_planning.prints.maplabels import (
    balanced_columns,
    callouts,
    declutter,
    halo_text,
    inset_frame,
    lead_marks,
    lead_points,
    map_label,
    plain,
    plain_lines,
    wrap_em,
)
from grid_planning.prints.paper import FORMATS, MM_PER_INCH, PRINT_DPI, PrintMapError, paper_size_mm

if TYPE_CHECKING:
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan

_BACKGROUND = "#ffffff"


_OUTSIDE = "#eeeeea"


_FADED = "#e4e4e0"


# ---- what the map shows (computed once, drawn many times): a MapData -----------------------------
def map_data(layers: CityLayers, plan: Plan) -> MapData:
    """Compute the geometry a plan map draws (grids dissolved by a coverage union, borders,
    label points, facilities with their roles) in the layers' metric CRS.
    """
    crs = str(layers.metric_crs)
    units = layers.units
    labels = unit_grids(layers, plan)
    # the units in the metric CRS as the city's index keeps them (not projected a second time)
    geoms = shapely.make_valid(np.asarray(layers.index.geometry, dtype=object))
    # Grids are drawn from the units' territories (units plus the unpopulated land around them)
    # so the map has no holes; labels stay near where people live (the units themselves).
    unit_shapes = np.asarray(layers.index.geometry, dtype=object)
    land = np.asarray(layers.index.territory_land, dtype=object)
    population = pd.to_numeric(units["population"], errors="coerce").fillna(0).to_numpy(float)
    grids = [str(g) for g in plan.leads.index]
    colours = grid_colours(grids)
    fac = plan_facilities(layers, plan).to_crs(crs)
    names = fac.set_index("id")["name"].astype(str).to_dict()
    rows, shapes = [], []
    for g in grids:
        mask = labels == g
        shape = _grid_territory(unit_shapes[mask], land[mask]) if mask.any() else shapely.Polygon()
        lead = str(plan.leads[g])
        lead_name = names.get(lead, lead)
        rows.append({"grid_id": g, "colour": colours[g], "lead_id": lead, "lead_name": lead_name,
                     "label": f"{g} {lead_name}", "population": float(population[mask].sum())})
        shapes.append(shape)
    grid_gdf = gpd.GeoDataFrame(rows, geometry=shapes, crs=crs) if rows else gpd.GeoDataFrame(
        {"grid_id": []}, geometry=[], crs=crs)
    borders = _borders(grid_gdf)
    boundary = layers.boundary.to_crs(crs) if layers.boundary is not None and len(layers.boundary) else None
    grid_gdf["fill"] = _generalise(grid_gdf.geometry.to_numpy(), boundary)
    districts = getattr(layers, "districts", None)
    districts = districts.to_crs(crs) if districts is not None and len(districts) else None
    fac = fac[fac.geometry.notna() & ~fac.geometry.is_empty].copy()
    fac["illustrative"] = is_illustrative(fac, part="facility")
    fac["assumed"] = (fac["level_source"].astype(str) == "assumed") if "level_source" in fac else False
    points = _label_points(geoms, labels, population, grids)
    params = plan.param_map
    data = MapData(grids=grid_gdf, borders=borders, boundary=boundary, districts=districts,
                   facilities=fac, label_points=points, crs=crs, city=str(layers.name), k=plan.k,
                   created=localtime.local_stamp(params.get("created", ""), with_time=False)[:10])
    data.extra["small"], data.extra["inset"] = inset_frame(data)
    return data


#: Gaps between population units narrower than twice this (metres) are filled in the grid's colour
#: on print maps: they are cells without resident data (fields, small ponds), and at city scale a
#: speckle of white specks reads as missing data. Lakes and rivers wider than that stay visible.
GENERALISE_M = 600.0


def _generalise(shapes: np.ndarray, boundary: gpd.GeoDataFrame | None) -> np.ndarray:
    """Grid fills for print: a morphological closing by :data:`GENERALISE_M`, kept inside the city.

    Only the fill is generalised; borders, labels and figures use the exact units.
    """
    if not len(shapes):
        return shapes
    simple = shapely.simplify(shapes, 40.0)
    closed = shapely.buffer(shapely.buffer(simple, GENERALISE_M, quad_segs=2), -GENERALISE_M,
                            quad_segs=2)
    closed = shapely.union(closed, simple)
    if boundary is not None:
        closed = shapely.intersection(closed, shapely.union_all(boundary.geometry.to_numpy()))
    return closed


def _grid_territory(units: np.ndarray, land: np.ndarray) -> shapely.Geometry:
    """A grid's territory: the union of its units (a coverage: :func:`dissolve`'s coverage union)
    and the unpopulated land their territories add. The same area as dissolving the territories,
    in a third of the time: territories cut by the land's Voronoi cells are not noded with each
    other, so their union needs the robust overlay over thousands of pieces."""
    body = dissolve(units, grid_size=None)
    land = land[~shapely.is_empty(land)]
    if not len(land):
        return body
    return shapely.make_valid(shapely.union_all(np.append(land, body)))


def _borders(grids: gpd.GeoDataFrame) -> shapely.Geometry:
    """Lines shared by two grids (the internal borders), drawn thick."""
    if len(grids) < 2:
        return shapely.LineString()
    bounds = shapely.boundary(grids.geometry.to_numpy())
    lines = []
    for i in range(len(bounds)):
        for j in range(i + 1, len(bounds)):
            shared = shapely.intersection(bounds[i], bounds[j], grid_size=0.01)
            if not shared.is_empty and shapely.length(shared) > 0:
                lines.append(shared)
    return shapely.line_merge(shapely.union_all(lines)) if lines else shapely.LineString()


def _label_points(geoms: np.ndarray, labels: np.ndarray, population: np.ndarray,
                  grids: Sequence[str]) -> dict[str, tuple[float, float]]:
    """A point inside each grid, as deep as possible and near where its people live
    (:func:`grid_planning.maps.shared.label_points`, in metric coordinates)."""
    surface = shapely.point_on_surface(geoms)
    pts = np.full((len(surface), 2), np.nan)
    full = ~shapely.is_empty(surface)
    pts[full] = shapely.get_coordinates(surface[full])
    found = label_points(pts, pts, np.asarray(labels, dtype=object), population)
    return {g: found[g] for g in grids if g in found}


# ---- drawing ----------------------------------------------------------------------------------
def draw_plan(ax: Axes, data: MapData, *, lang: str = DEFAULT_LANGUAGE, focus: str | None = None,
              show_primary: bool = True, label_size: float = 8.5, scale: float = 1.0,
              margin: float = 0.03, view: tuple[float, float, float, float] | None = None,
              short_labels: Sequence[str] = ()) -> None:
    """Draw the plan on ``ax`` (metric CRS, equal aspect, no axes frame).

    Parameters
    ----------
    ax : matplotlib Axes
    data : MapData
    lang : {"zh", "en"}
    focus : str, optional
        A grid id: that grid in its colour and the view on it, the others faded (report pages).
    show_primary : bool
        Draw primary-care facilities (many small dots).
    label_size : float
        Font size of the grid labels (points).
    scale : float
        Marker size factor (smaller pages, smaller markers).
    margin : float
        Share of the extent added around the view.
    view : (x0, y0, x1, y1), optional
        Show this extent (an inset) instead of the city or the focus grid.
    short_labels : sequence of str
        Grids labelled by their id only (they are named in an inset and the legend).
    """
    family = use_in_matplotlib()
    ax.set_facecolor(_OUTSIDE)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
        spine.set_color("#444444")
    grids = data.grids
    if focus is None:
        colours = list(grids["colour"])
    else:
        colours = [c if g == focus else _FADED for g, c in zip(grids["grid_id"], grids["colour"], strict=True)]
    if data.boundary is not None:
        _polygons(ax, data.boundary.geometry.to_numpy(), [_BACKGROUND], zorder=0)
    if len(grids):
        _polygons(ax, grids["fill"].to_numpy(), colours, alpha=0.9, zorder=1)
    if data.districts is not None:
        _lines(ax, shapely.boundary(data.districts.geometry.to_numpy()), DISTRICT, 0.45 * scale,
               zorder=2, dashes=(4, 3))
    if not data.borders.is_empty:
        _lines(ax, [data.borders], BORDER, 1.4 * scale, zorder=3)
    if data.boundary is not None:
        _lines(ax, shapely.boundary(data.boundary.geometry.to_numpy()), BORDER, 1.0 * scale, zorder=3)
    if focus is not None and len(grids):
        sel = grids[grids["grid_id"] == focus]
        _lines(ax, shapely.boundary(sel["fill"].to_numpy()), BORDER, 2.0 * scale, zorder=3)
    _draw_facilities(ax, data, show_primary=show_primary, scale=scale, focus=focus,
                     light=focus is None and _span_km(data, view) > SMALL_SCALE_KM)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_aspect("equal", adjustable="datalim")
    _set_view(ax, data, focus, margin, view)
    texts = []
    renderer = ax.figure.canvas.get_renderer()
    vx0, vx1 = ax.get_xlim()
    vy0, vy1 = ax.get_ylim()
    inv = ax.transData.inverted()
    # An inset names every lead inside it, in columns along its edges with leader lines (the
    # leads of a dense core are too close for names beside them).
    inset = view is not None and focus is None
    leads = {g: p for g, p in lead_points(data).items()
             if vx0 <= p[0] <= vx1 and vy0 <= p[1] <= vy1} if inset else {}
    style = {"fontsize": label_size, "family": family, "weight": "bold", "ha": "center",
             "va": "center", "zorder": 7, "color": "#1b1b1b", "clip_on": True}
    for g, (x, y) in data.label_points.items():
        if (focus is not None and g != focus) or inset or not (vx0 <= x <= vx1 and vy0 <= y <= vy1):
            continue
        row = grids[grids["grid_id"] == g]
        named = len(row) and not inset and g not in short_labels
        label = map_label(g, row["lead_name"].iloc[0]) if named else g
        text = halo_text(ax, x, y, plain_lines(label), **style)
        if named and focus is None:
            # A label mostly outside its grid would sit over the neighbours: try the grid's pole
            # of inaccessibility (the point farthest inside).
            fill = row["fill"].iloc[0]
            candidates = [(x, y)]
            parts = [p for p in getattr(fill, "geoms", [fill]) if p.geom_type == "Polygon"]
            if parts:
                big = max(parts, key=lambda p: p.area)
                pole = polylabel(big, tolerance=max(big.length / 2000, 1.0))
                candidates.append((pole.x, pole.y))
            best, best_share = (x, y), -1.0
            for cx, cy in candidates:
                text.set_position((cx, cy))
                bb = text.get_window_extent(renderer)
                (bx0, by0), (bx1, by1) = inv.transform([(bb.x0, bb.y0), (bb.x1, bb.y1)])
                box = shapely.box(bx0, by0, bx1, by1)
                share = shapely.intersection(box, fill).area / max(box.area, 1e-9)
                if share > best_share:
                    best, best_share = (cx, cy), share
                if share >= 0.75:
                    break
            # A name wider than its grid still names the lead (on its halo, over the neighbour's
            # edge) rather than leave the grid with its id only.
            text.set_position(best)
        texts.append(text)
    names = dict(zip(grids["grid_id"], grids["lead_name"], strict=True))
    callouts(ax, [(x, y, plain_lines(map_label(g, names[g]))) for g, (x, y) in leads.items()], **style)
    declutter(ax, texts, obstacles=lead_marks(data, scale, focus))


def _ring_codes(n: int) -> list[int]:
    return [Path.MOVETO] + [Path.LINETO] * (n - 2) + [Path.CLOSEPOLY]


def _polygon_path(geom: shapely.Geometry) -> Path:
    """A matplotlib Path of a (multi)polygon, holes included (even-odd filling)."""
    verts, codes = [], []
    for poly in getattr(geom, "geoms", [geom]):
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        for ring in (poly.exterior, *poly.interiors):
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            verts.append(xy)
            codes += _ring_codes(len(xy))
    if not verts:
        return None
    return Path(np.concatenate(verts), codes)


def _polygons(ax: Axes, geoms: Sequence[Any], colours: Sequence[str], *, alpha: float = 1.0,
              zorder: float = 1) -> None:
    """Filled polygons as one PathCollection (geopandas' plot redraws the figure per call)."""
    paths, faces = [], []
    for i, geom in enumerate(geoms):
        if geom is None:
            continue
        if geom.geom_type == "GeometryCollection":
            geom = shapely.MultiPolygon([g for g in geom.geoms if g.geom_type == "Polygon"])
        path = _polygon_path(geom)
        if path is not None:
            paths.append(path)
            faces.append(colours[i % len(colours)])
    if paths:
        ax.add_collection(PathCollection(paths, facecolors=faces, edgecolors="none", alpha=alpha,
                                         zorder=zorder), autolim=True)


def _lines(ax: Axes, geoms: Sequence[Any], colour: str, width: float, *, zorder: float = 2,
           dashes: tuple[float, float] | None = None) -> None:
    """Line geometries (and polygon boundaries) as one LineCollection."""
    segs = []
    for geom in geoms:
        if geom is None or geom.is_empty:
            continue
        for part in getattr(geom, "geoms", [geom]):
            if part.geom_type in ("LineString", "LinearRing"):
                segs.append(np.asarray(part.coords))
            elif part.geom_type == "Polygon":
                segs += [np.asarray(r.coords) for r in (part.exterior, *part.interiors)]
            elif part.geom_type in ("MultiLineString", "GeometryCollection"):
                segs += [np.asarray(p.coords) for p in part.geoms if p.geom_type == "LineString"]
    if segs:
        ls = (0, dashes) if dashes else "solid"
        ax.add_collection(LineCollection(segs, colors=colour, linewidths=width, linestyles=ls,
                                         zorder=zorder, capstyle="round", joinstyle="round"))


#: A map wider than this (km) is at small scale: members are drawn lighter so the leads stand out.
SMALL_SCALE_KM = 40.0

#: Opacity of the members at small scale.
LIGHT_MEMBERS = 0.45


def _span_km(data: MapData, view: tuple[float, float, float, float] | None) -> float:
    """Width of what a map shows (km): its view, else the city's."""
    if view is not None:
        return (view[2] - view[0]) / 1000.0
    frame = data.boundary if data.boundary is not None else data.grids
    x0, _, x1, _ = frame.total_bounds if len(frame) else (0.0, 0.0, 0.0, 0.0)
    return (x1 - x0) / 1000.0


def _draw_facilities(ax: Axes, data: MapData, *, show_primary: bool, scale: float,
                     focus: str | None, light: bool = False) -> None:
    alpha = LIGHT_MEMBERS if light else 1.0
    fac = data.facilities
    if focus is not None:
        supports = fac["supports"].astype(str).str.split(",") if "supports" in fac else None
        keep = (fac["grid_id"].astype(str) == focus) | (
            supports.map(lambda s: focus in [x.strip() for x in s]) if supports is not None else False)
        fac = fac[keep]
    others = fac[fac["role"].astype(str) != "lead"]
    if not show_primary:
        others = others[others["role"].astype(str) != "primary"]
    order = others["level"].map({"tertiary": 0, "secondary": 1, "unknown": 2}).fillna(3)
    others = others.assign(_o=order.to_numpy()).sort_values("_o", kind="stable")
    xs, ys = others.geometry.x.to_numpy(), others.geometry.y.to_numpy()
    colours = [TYPE_COLOURS.get(str(ty), TYPE_COLOURS["other"]) for ty in others["type"]]
    sizes = np.asarray([marker_size(lv) for lv in others["level"]]) * scale * scale
    ill = others["illustrative"].to_numpy(bool)
    collab = (others["role"].astype(str) == "collaborator").to_numpy()
    real = ~ill & ~collab
    if real.any():
        ax.scatter(xs[real], ys[real], s=sizes[real], c=np.asarray(colours, dtype=object)[real].tolist(),
                   edgecolors="white", linewidths=0.5 * scale, zorder=4, alpha=alpha)
    hollow = ill & ~collab
    if hollow.any():
        ax.scatter(xs[hollow], ys[hollow], s=sizes[hollow], facecolors="white",
                   edgecolors=np.asarray(colours, dtype=object)[hollow].tolist(), linewidths=1.0 * scale,
                   linestyles=(0, (2, 1.2)), zorder=4, alpha=alpha)
    if collab.any():
        face = np.where(ill[collab], "white", np.asarray(colours, dtype=object)[collab]).tolist()
        ax.scatter(xs[collab], ys[collab], s=sizes[collab] * 1.3, facecolors=face, edgecolors="black",
                   linewidths=1.8 * scale, zorder=5, alpha=alpha)
    _draw_leads(ax, data, scale=scale, focus=focus)


def _draw_leads(ax: Axes, data: MapData, *, scale: float, focus: str | None) -> None:
    fac = data.facilities.set_index(data.facilities["id"].astype(str))
    xs, ys, faces, rings, styles = [], [], [], [], []
    for _, row in data.grids.iterrows():
        g, lead = row["grid_id"], row["lead_id"]
        if lead not in fac.index or (focus is not None and g != focus):
            continue
        pt = fac.loc[lead].geometry
        pt = pt.iloc[0] if isinstance(pt, pd.Series) else pt
        assumed = fac.loc[lead, "assumed"]
        assumed = bool(assumed.iloc[0] if isinstance(assumed, pd.Series) else assumed)
        xs.append(pt.x)
        ys.append(pt.y)
        faces.append(row["colour"])
        rings.append(ASSUMED_RING if assumed else "black")
        styles.append((0, (3, 1.5)) if assumed else "solid")
    if not xs:
        return
    # One collection for the rings, one for the centres (a scatter call per lead cost ~15 ms).
    ax.scatter(xs, ys, s=(15 * scale) ** 2, facecolors=faces, edgecolors=rings,
               linewidths=2.2 * scale, linestyles=styles, zorder=6)
    ax.scatter(xs, ys, s=(5 * scale) ** 2, c="black", zorder=6)


def _set_view(ax: Axes, data: MapData, focus: str | None, margin: float,
              view: tuple[float, float, float, float] | None = None) -> None:
    if view is not None:
        x0, y0, x1, y1 = view
    elif focus is not None and len(data.grids):
        geom = data.grids.loc[data.grids["grid_id"] == focus].geometry
        x0, y0, x1, y1 = geom.total_bounds
    elif data.boundary is not None:
        x0, y0, x1, y1 = data.boundary.total_bounds
    else:
        x0, y0, x1, y1 = data.grids.total_bounds
    dx, dy = (x1 - x0) or 1000.0, (y1 - y0) or 1000.0
    x0, x1, y0, y1 = x0 - dx * margin, x1 + dx * margin, y0 - dy * margin, y1 + dy * margin
    # Fill the axes box: widen the short side so the map is centred with equal aspect.
    bbox = ax.get_position()
    fig_w, fig_h = ax.figure.get_size_inches()
    box_ratio = (bbox.height * fig_h) / max(bbox.width * fig_w, 1e-9)
    w, h = x1 - x0, y1 - y0
    if h / w < box_ratio:
        extra = (w * box_ratio - h) / 2
        y0, y1 = y0 - extra, y1 + extra
    else:
        extra = (h / box_ratio - w) / 2
        x0, x1 = x0 - extra, x1 + extra
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)


def add_scalebar(ax: Axes, *, lang: str = DEFAULT_LANGUAGE, fontsize: float = 8) -> None:
    """A scale bar (matplotlib-scalebar) in the lower left; the axes are in metres."""
    family = use_in_matplotlib()
    bar = ScaleBar(1.0, units="m", location="lower left", length_fraction=0.22, box_alpha=0.85,
                   border_pad=0.6, color="#222222", font_properties={"family": family, "size": fontsize})
    bar.set_zorder(8)  # above the facilities' circles (a dense inset put one over "5 km")
    ax.add_artist(bar)


def add_north_arrow(ax: Axes, crs: str, *, lang: str = DEFAULT_LANGUAGE, size: float = 0.07) -> None:
    """A north arrow in the upper right pointing to true north at the map centre (UTM grid north
    differs from it by the meridian convergence, up to a few degrees)."""
    family = use_in_matplotlib()
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    to_ll = Transformer.from_crs(crs, 4326, always_xy=True)
    to_xy = Transformer.from_crs(4326, crs, always_xy=True)
    lon, lat = to_ll.transform(cx, cy)
    nx, ny = to_xy.transform(lon, lat + 0.01)
    angle = math.atan2(nx - cx, ny - cy)  # clockwise from grid north
    bx, by = 0.93, 0.86
    dx, dy = math.sin(angle) * size, math.cos(angle) * size
    ax.add_patch(FancyArrow(bx - dx / 2, by - dy / 2, dx, dy, width=0.012, head_width=0.035,
                            head_length=0.035, length_includes_head=True, transform=ax.transAxes,
                            color="#222222", zorder=9))
    ax.text(bx + dx / 2 + 0.004, by + dy / 2 + 0.012, t("exports.map.north", lang), transform=ax.transAxes,
            ha="center", va="bottom", fontsize=11, family=family, weight="bold", zorder=9)


# ---- texts around the map -----------------------------------------------------------------------
def title_text(data: MapData, lang: str = DEFAULT_LANGUAGE) -> str:
    """``<city> 紧密型城市医疗集团网格化布局图`` with the number of grids."""
    return t("exports.map.title", lang, city=city_name_in(data.city, lang), k=data.k)


def projection_line(data: MapData, lang: str = DEFAULT_LANGUAGE) -> str:
    """The map's projection in plain words (its UTM zone), for the colophon."""
    zone = CRS.from_user_input(data.crs).utm_zone
    if zone:
        # "50N": Chinese maps name the zone by its number (every Chinese city is north).
        return t("exports.map.projection", lang, zone=zone if lang == "en" else zone.rstrip("NS"))
    return t("exports.map.projection_other", lang)


def date_line(data: MapData, lang: str = DEFAULT_LANGUAGE, *, today: _dt.date | None = None) -> str:
    """Plan date and print date, in the city's time zone (the tool is named in the colophon)."""
    today = today or localtime.today()
    return t("exports.map.dates", lang, created=data.created or "—", printed=today.isoformat())


# ---- the page -----------------------------------------------------------------------------------
def print_map(
    layers: CityLayers,
    plan: Plan,
    *,
    fmt: str = "png",
    paper: str = "A4",
    orientation: str = "landscape",
    lang: str = DEFAULT_LANGUAGE,
    dpi: int = PRINT_DPI,
    title: str | None = None,
    sample: bool | None = None,
    source_names: Sequence[str] | None = None,
    data: MapData | None = None,
) -> bytes:
    """The plan as a print-ready page.

    Parameters
    ----------
    layers : CityLayers
    plan : Plan
    fmt : {"png", "pdf"}
        PNG at ``dpi`` (page size exactly :func:`~grid_planning.prints.paper.paper_pixels`) or vector PDF.
    paper : {"A4", "A3"}
    orientation : {"landscape", "portrait"}
    lang : {"zh", "en"}
    dpi : int
        PNG resolution (300 for print).
    title : str, optional
        Replaces the default title (shown as typed).
    sample : bool, optional
        Cite the sample city's sources (detected when omitted).
    source_names : sequence of str, optional
        The user's layer file names for the sources line.
    data : MapData, optional
        Precomputed :func:`map_data`.

    Returns
    -------
    bytes
        The PNG or PDF file.
    """
    if fmt not in FORMATS:
        raise PrintMapError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    fig = print_figure(layers, plan, paper=paper, orientation=orientation, lang=lang, title=title,
                       sample=sample, source_names=source_names, data=data, dpi=dpi)
    buf = io.BytesIO()
    try:
        meta = {"Title": title or title_text(data or fig._gp_data, lang), "Creator": f"Grid Planner {__version__}"}
        if fmt == "png":
            fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": meta["Creator"]})
        else:
            fig.savefig(buf, format="pdf", metadata=meta)
    finally:
        plt.close(fig)
    return buf.getvalue()


def print_figure(layers: CityLayers, plan: Plan, *, paper: str = "A4", orientation: str = "landscape",
                 lang: str = DEFAULT_LANGUAGE, title: str | None = None, sample: bool | None = None,
                 source_names: Sequence[str] | None = None, data: MapData | None = None,
                 dpi: int = PRINT_DPI, chrome: bool = True,
                 size_mm: tuple[float, float] | None = None):
    """The print page as a matplotlib Figure (caller closes it).

    ``chrome=False`` leaves out title, subtitle and footer (the report has its own); ``size_mm``
    replaces the paper size (``orientation`` still picks the layout).
    """
    matplotlib.use("Agg", force=False)

    family = use_in_matplotlib()
    w_mm, h_mm = size_mm or paper_size_mm(paper, orientation)
    data = data or map_data(layers, plan)
    big = paper == "A3"
    k = 1.3 if big else 1.0
    # Size in whole pixels at print resolution (+ a quarter pixel: matplotlib truncates), so a
    # 300 dpi PNG is exactly paper_pixels().
    px_w, px_h = round(w_mm / MM_PER_INCH * dpi), round(h_mm / MM_PER_INCH * dpi)
    fig = plt.figure(figsize=((px_w + 0.25) / dpi, (px_h + 0.25) / dpi), dpi=100)
    fig._gp_data = data
    fig.patch.set_facecolor("white")
    margin_mm = 12 if chrome else 1
    m = margin_mm / w_mm
    mv = margin_mm / h_mm
    footer = source_lines(layers, lang, sample=sample, source_names=source_names) if chrome else []
    if chrome:
        footer += [projection_line(data, lang), date_line(data, lang)]
    width_em = (1 - 2 * m) * w_mm / MM_PER_INCH * 72 / (6.8 * k)
    n_lines = sum(len(wrap_em(line, width_em)) for line in footer)
    footer_h = (n_lines * 3.6 * k + 4) / h_mm if chrome else 0.0
    top = 1 - mv - 17 / h_mm * k if chrome else 1 - mv
    bottom = mv + footer_h
    if chrome:
        _title_block(fig, data, lang, title, m, mv, h_mm, k, family)
    cw, ch = w_mm - 2 * margin_mm, (top - bottom) * h_mm  # content box in mm
    inset = data.extra.get("inset")
    x0, y0, x1, y1 = (data.boundary if data.boundary is not None else data.grids).total_bounds
    city_aspect = (x1 - x0) / max(y1 - y0, 1.0)

    def box(left_mm: float, bottom_mm: float, width_mm: float, height_mm: float) -> list[float]:
        return [m + left_mm / w_mm, bottom + bottom_mm / h_mm, width_mm / w_mm, height_mm / h_mm]

    inset_box = None
    if orientation == "landscape":
        if inset is not None:
            mw = min(cw * 0.55, ch * city_aspect * 1.08)
            rw = cw - mw - 5
            # The legend's two columns below the inset keep their type size (~3.7 mm a row).
            blocks = [len(rows) + 1 for _, rows in legend_handles(data, lang) if rows]
            rows = max((sum(blocks[i] for i in col) for col in balanced_columns(blocks, 2)), default=0)
            ih = min(ch * 0.55, rw * (inset[3] - inset[1]) / max(inset[2] - inset[0], 1.0),
                     max(ch - 5 - rows * 3.7 * k - 2, ch * 0.38))
            map_box = box(0, 0, mw, ch)
            inset_box = box(mw + 5, ch - ih, rw, ih)
            leg_box = box(mw + 5, 0, rw, ch - ih - 5)
            ncols = 2
        else:
            lw = 68 * k
            map_box = box(0, 0, cw - lw - 4, ch)
            leg_box = box(cw - lw, 0, lw, ch)
            ncols = 1
    else:
        ncols_est = 2 if inset is not None else 3
        entries = sum(len(rows) + 1 for _, rows in legend_handles(data, lang))
        # rows x line height (7 pt type, 1.45 spacing: ~3.6 mm) + a margin, within 36 % of the page
        lh = min(ch * 0.36, (math.ceil(entries / ncols_est) * 3.65 + 4) * k)
        if inset is not None:
            lh = max(lh, ch * 0.3)
        gap = 4 + (6 * k if inset is not None else 0)  # the inset's title sits above it
        map_box = box(0, lh + gap, cw, ch - lh - gap)
        if inset is not None:
            iw = cw * 0.46
            inset_box = box(0, 0, iw, lh)
            leg_box = box(iw + 5, 0, cw - iw - 5, lh)
            ncols = 2
        else:
            leg_box = box(0, 0, cw, lh)
            ncols = 3
    ax = fig.add_axes(map_box)
    small = data.extra.get("small", []) if inset is not None else []
    draw_plan(ax, data, lang=lang, label_size=9 * k, scale=k, short_labels=small)
    add_scalebar(ax, lang=lang, fontsize=8 * k)
    add_north_arrow(ax, data.crs, lang=lang)
    if inset_box is not None:
        iax = fig.add_axes(inset_box)
        draw_plan(iax, data, lang=lang, label_size=8.5 * k, scale=k, view=inset, margin=0.0)
        add_scalebar(iax, lang=lang, fontsize=7 * k)
        iax.set_title(plain(t("exports.map.inset", lang)), fontsize=8.5 * k, family=family,
                      loc="left", weight="bold")
        _mark_extent(ax, iax, lang)
    leg_ax = fig.add_axes(leg_box)
    legend = draw_legend(leg_ax, data, lang=lang, fontsize=7 * k, ncols=ncols)
    size = 6.8 * k
    width_pt = (1 - 2 * m) * w_mm / MM_PER_INCH * 72
    lines = [part for line in footer for part in wrap_em(line, width_pt / size)]
    y = mv + footer_h - 3 / h_mm
    sources = []
    for line in lines:
        sources.append(fig.text(m, y, plain(line), fontsize=size, family=family, va="top", ha="left",
                                color="#333333"))
        y -= 3.6 * k / h_mm
    fig.gp_parts = {"map": ax, "inset": iax if inset_box is not None else None, "legend": legend,
                    "sources": sources}
    return fig


def page_boxes(fig: Figure) -> dict[str, Bbox]:
    """Where the parts of a page from :func:`print_figure` lie (matplotlib ``Bbox`` in the page's
    display pixels): ``map``, ``inset`` (when drawn), ``legend`` and ``sources`` (the footer's
    lines together), so a layout can be checked for parts running into each other."""
    renderer = fig.canvas.get_renderer()
    parts = getattr(fig, "gp_parts", {})
    boxes = {}
    for name in ("map", "inset", "legend"):
        if parts.get(name) is not None:
            boxes[name] = parts[name].get_window_extent(renderer)
    if parts.get("sources"):
        boxes["sources"] = Bbox.union([t.get_window_extent(renderer) for t in parts["sources"]])
    return boxes


def _title_block(fig: Figure, data: MapData, lang: str, title: str | None, m: float, mv: float,
                 h_mm: float, k: float, family: list[str]) -> None:
    title = plain(title) if title is not None else plain(title_text(data, lang))
    fig.text(m, 1 - mv, title, fontsize=17 * k, family=family, weight="bold", va="top", ha="left")
    sub = t("exports.map.subtitle", lang, city=data.city, k=data.k,
            population=integer(data.grids["population"].sum(), lang))
    fig.text(m, 1 - mv - 9.5 / h_mm * k, plain(sub), fontsize=9.5 * k, family=family, va="top",
             ha="left", color="#444444")


def _mark_extent(ax: Axes, iax: Axes, lang: str) -> None:
    """Outline the inset's extent on the main map."""
    x0, x1 = iax.get_xlim()
    y0, y1 = iax.get_ylim()
    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor="#c0392b",
                           linewidth=1.1, linestyle=(0, (4, 2)), zorder=8))
    for spine in iax.spines.values():
        spine.set_edgecolor("#c0392b")
        spine.set_linewidth(1.1)
