"""Plan maps: the grids of a plan, their leads and members, travel times and coverage.

Built on :mod:`grid_planning.maps.mapview` (offline base map, outlines, legends, escaped tooltips); this
module only adds what a *plan* needs:

- units filled by grid (distinct colours) or by minutes to their grid's lead (sequential classes),
  with a legend either way;
- grid borders (the unit edges where the grid changes, thick) and grid labels;
- lead hospitals as large ringed markers labelled with their grid, other facilities by type and
  level as on the overview map, collaborators with a double ring; illustrative facilities hollow
  and dashed, assumed lead levels and planned (what-if) hospitals said so in the tooltip;
- every name, id and reason as data (:mod:`grid_planning.maps.mapelements`): tooltips are plain-text
  lines, labels are set escaped in the browser;
- the selected units and the locked units outlined, so hand edits are visible.

Speed: the simplified unit polygons and the edges shared by neighbouring units are computed once per
city (cached by the layers' fingerprint); a new plan only re-labels features and picks the shared
edges whose two sides differ, so a re-plan redraws without any polygon union.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from grid_planning.base.cache import SharedCache, memo
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.numfmt import whole_people
from grid_planning.base.textsafe import script_json
from grid_planning.city.layers import CityLayers
from grid_planning.city.planview import unit_grids
from grid_planning.domain.rules import hospital_masks, is_illustrative
from grid_planning.maps.labels import add_labels
from grid_planning.maps.mapelements import DataLayer, add_script
from grid_planning.maps.mapview import (
    NO_DATA_COLOUR,
    PlannerMap,
    add_districts,
    add_legend,
    add_outline,
    add_polygons,
    add_water,
    base_map,
    finish,
    fixed_style,
    for_display,
    swatch,
    units_geojson,
)
from grid_planning.maps.markers import (
    FACILITY_EACH_JS,
    FACILITY_POINT_JS,
    add_facility_legend,
    facility_lines,
    marker_svg,
)
from grid_planning.maps.shared import (
    dissolve,
    grid_colours,
    label_points,
    plan_facilities,
    short_name,
)

#: Travel-time class upper bounds (minutes); 15 and 30 are the planner's own yardsticks.
TRAVEL_BREAKS: tuple[float, ...] = (10, 15, 20, 30, 45, 60)


#: Green (near) to dark red (far), one colour per class of :data:`TRAVEL_BREAKS` plus "over".
TRAVEL_PALETTE: tuple[str, ...] = (
    "#1a9850", "#91cf60", "#d9ef8b", "#fee08b", "#fc8d59", "#d73027", "#7f0000",
)


#: Map columns the coverage page can show, each a per-unit column of ``metrics.unit_metrics``.
TRAVEL_COLUMNS: tuple[str, ...] = ("t_lead", "t_secondary", "t_primary")


SHADES: tuple[str, ...] = ("grid", "travel")


# ---- per-city display geometry (cached) ---------------------------------------------------------
@dataclass(frozen=True)
class UnitDisplay:
    """Simplified unit polygons and their shared edges, for drawing plans fast.

    Attributes
    ----------
    features : list of dict
        GeoJSON features in unit order (geometry only is used; properties are set per plan).
    ids : numpy.ndarray
        Unit ids (str) in the same order.
    pairs : numpy.ndarray
        ``(n_edges, 2)`` positions of neighbouring units.
    edges : numpy.ndarray
        The shared boundary of each pair (shapely lines, display coordinates).
    points : numpy.ndarray
        ``(n_units, 2)`` lon/lat of a point inside each unit (for labels).
    geoms : numpy.ndarray
        The display polygons as shapely geometries (empty where a unit has none), for dissolving
        units into grids.
    """

    features: list
    ids: np.ndarray
    pairs: np.ndarray
    edges: np.ndarray
    points: np.ndarray
    geoms: np.ndarray


#: The :class:`UnitDisplay` of recent cities, shared by the server's sessions: a few cities, each in
#: at most two projections (WGS84, GCJ-02).
UNIT_DISPLAYS: SharedCache = SharedCache(max_entries=6, per_city=2)


def _polygonal(feature: dict) -> dict:
    """The feature with only its polygons: simplifying a territory for display can leave a
    collection of polygons and slivers of line, which the map draws as a MultiPolygon."""
    geom = feature["geometry"]
    if geom.get("type") != "GeometryCollection":
        return feature
    shape = shapely.geometry.shape(geom)
    polys = [p for g in shapely.get_parts(shape) for p in shapely.get_parts(g)
             if p.geom_type == "Polygon" and not p.is_empty]
    out = json.loads(shapely.to_geojson(shapely.MultiPolygon(polys))) if polys else {
        "type": "Polygon", "coordinates": []}
    return {**feature, "geometry": out}


def unit_display(layers: CityLayers, *, gcj02: bool = False, tolerance_m: float = 30.0) -> UnitDisplay:
    """The :class:`UnitDisplay` of a city, computed once per layers fingerprint and projection for
    the server (:data:`UNIT_DISPLAYS`). Shared: read-only."""
    fp = layers.fingerprint()
    return UNIT_DISPLAYS.get((fp, gcj02, tolerance_m),
                             lambda: _unit_display(layers, gcj02, tolerance_m), city=fp)


def _unit_display(layers: CityLayers, gcj02: bool, tolerance_m: float) -> UnitDisplay:
    # The units' territories (units plus the unpopulated land around them): grids drawn from
    # them tile the city, with no holes where nobody lives.
    territory = gpd.GeoDataFrame(
        {"id": layers.units["id"].astype(str).to_numpy(), "population": 0.0},
        geometry=list(layers.index.territory), crs=layers.metric_crs,
    )
    data, _ = units_geojson(territory, metric_crs=layers.metric_crs, density=False, gcj02=gcj02,
                            tolerance_m=tolerance_m)
    by_id = {str(f["properties"]["id"]): _polygonal(f) for f in data["features"]}
    ids = layers.units["id"].astype(str).to_numpy()
    empty = {"type": "Polygon", "coordinates": []}
    features = [
        {"type": "Feature", "geometry": by_id[u]["geometry"] if u in by_id else empty, "properties": {}}
        for u in ids
    ]
    geoms = np.asarray([shapely.geometry.shape(f["geometry"])
                        if f["geometry"].get("coordinates") or f["geometry"].get("geometries") else None
                        for f in features], dtype=object)
    valid = np.asarray([g is not None and not g.is_empty for g in geoms])
    geoms = np.where(valid, geoms, shapely.Point())
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="intersects")
    keep = (a < b) & valid[a] & valid[b]
    a, b = a[keep], b[keep]
    bounds = shapely.boundary(geoms)
    shared = shapely.intersection(bounds[a], bounds[b], grid_size=1e-6)
    # Only a shared *edge* separates two units; corners touching in one point do not.
    is_line = shapely.length(shared) > 0
    pairs = np.column_stack([a[is_line], b[is_line]]).astype(np.int64)
    edges = shapely.line_merge(shared[is_line]) if is_line.any() else np.asarray([], dtype=object)
    pts = shapely.point_on_surface(geoms)
    points = shapely.get_coordinates(pts)
    if len(points) != len(ids):  # an empty geometry gives no coordinate: fall back per unit
        points = np.asarray([[p.x, p.y] if not p.is_empty else [np.nan, np.nan] for p in pts])
    # Shared by every session drawing this city: the arrays are made read-only.
    arrays = [np.array(a, copy=True) for a in (ids, pairs, np.asarray(edges, dtype=object), points, geoms)]
    for a in arrays:
        a.flags.writeable = False
    ids, pairs, edges, points, geoms = arrays
    return UnitDisplay(features=features, ids=ids, pairs=pairs, edges=edges, points=points, geoms=geoms)


def _collection(display: UnitDisplay, props: pd.DataFrame, mask: np.ndarray | None = None) -> dict:
    """A FeatureCollection of (a subset of) units with per-plan properties."""
    records = props.to_dict("records")
    idx = range(len(display.features)) if mask is None else np.flatnonzero(mask)
    feats = []
    for i in idx:
        f = display.features[i]
        if not f["geometry"]["coordinates"]:
            continue
        feats.append({"type": "Feature", "geometry": f["geometry"],
                      "properties": {k: _clean(v) for k, v in records[i].items()}})
    return {"type": "FeatureCollection", "features": feats}


def grid_collection(display: UnitDisplay, labels: np.ndarray, grids: Sequence[str],
                    props: Mapping[str, Mapping[str, object]]) -> dict:
    """One dissolved polygon per grid (a FeatureCollection), with ``k`` = the grid's position.

    The units of a grid tile it, so a coverage union is exact and fast (~20 ms for 7,000 units);
    drawing k polygons instead of every unit cuts the plan map from ~3 MB to well under 1 MB,
    which is what makes a re-plan show quickly.
    """
    feats = []
    for pos, grid in enumerate(grids):
        parts = display.geoms[(labels == grid) & ~shapely.is_empty(display.geoms)]
        if not len(parts):
            continue
        shape = dissolve(parts)
        if shape.is_empty:
            continue
        geom = json.loads(shapely.to_geojson(shape))
        feats.append({"type": "Feature", "geometry": geom,
                      "properties": {"k": pos, **{k: _clean(v) for k, v in props.get(grid, {}).items()}}})
    return {"type": "FeatureCollection", "features": feats}


def _clean(v: object) -> object:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


# ---- plan helpers -----------------------------------------------------------------------------
def grid_borders(display: UnitDisplay, labels: np.ndarray) -> dict:
    """GeoJSON of the unit edges where the grid changes (the internal grid borders)."""
    if len(display.pairs) == 0:
        return {"type": "FeatureCollection", "features": []}
    diff = labels[display.pairs[:, 0]] != labels[display.pairs[:, 1]]
    lines = display.edges[diff]
    if len(lines) == 0:
        return {"type": "FeatureCollection", "features": []}
    merged = shapely.line_merge(shapely.union_all(lines, grid_size=1e-6))
    return {"type": "FeatureCollection",
            "features": [{"type": "Feature", "properties": {},
                          "geometry": json.loads(shapely.to_geojson(merged))}]}


def grid_label_points(display: UnitDisplay, labels: np.ndarray, population: np.ndarray) -> dict[str, tuple[float, float]]:
    """A label position per grid (lon/lat): see :func:`label_points`."""
    pts = display.points
    finite = np.isfinite(pts[:, 0])
    # Rough metric coordinates: degrees of longitude shrink with latitude.
    lat0 = float(np.nanmean(pts[finite, 1])) if finite.any() else 0.0
    xy = np.column_stack([pts[:, 0] * np.cos(np.radians(lat0)), pts[:, 1]])
    return label_points(pts, xy, labels, population)


def travel_class(minutes: Iterable[float], breaks: Sequence[float] = TRAVEL_BREAKS) -> np.ndarray:
    """Class index of each travel time (``-1`` for unknown), for :data:`TRAVEL_PALETTE`."""
    arr = np.asarray(list(minutes), dtype=float)
    k = np.searchsorted(np.asarray(breaks, dtype=float), arr, side="left")
    return np.where(np.isfinite(arr), k, -1).astype(int)


def travel_legend_rows(lang: str = DEFAULT_LANGUAGE,
                       breaks: Sequence[float] = TRAVEL_BREAKS) -> list[tuple[str, str]]:
    """Legend rows (swatch, label) for the travel-time classes."""
    rows = []
    lo = 0.0
    for i, colour in enumerate(TRAVEL_PALETTE[: len(breaks) + 1]):
        if i < len(breaks):
            label = t("planmap.travel.range", lang, lo=f"{lo:g}", hi=f"{breaks[i]:g}")
            lo = float(breaks[i])
        else:
            label = t("planmap.travel.over", lang, lo=f"{lo:g}")
        rows.append((swatch(colour), label))
    rows.append((swatch(NO_DATA_COLOUR), t("planmap.travel.unknown", lang)))
    return rows


# ---- layers ---------------------------------------------------------------------------------
def _add_grid_borders(m: PlannerMap, display: UnitDisplay, labels: np.ndarray, lang: str) -> None:
    data = grid_borders(display, labels)
    if not data["features"]:
        return
    DataLayer(
        data,
        name=t("planmap.layer.borders", lang),
        style=fixed_style({"color": "#1b1b1b", "weight": 2.6, "opacity": 0.9}),
        interactive=False,
    ).add_to(m)


def island_links(layers: object, *, gcj02: bool = False, lang: str = DEFAULT_LANGUAGE) -> dict:
    """The links the planner added between separate parts of the city (islands, exclaves, units
    that touch the rest only at a corner; :attr:`grid_planning.city.index.CityIndex.links`) as
    GeoJSON lines between the two units' representative points, each with its tooltip lines."""
    links = layers.index.links
    if links.empty:
        return {"type": "FeatureCollection", "features": []}
    pts = gpd.GeoSeries(
        gpd.points_from_xy(*layers.index.points.T), crs=layers.metric_crs
    ).to_crs(4326)
    if gcj02:
        pts = for_display(gpd.GeoDataFrame(geometry=pts), gcj02=True).geometry
    xy = np.column_stack([pts.x, pts.y])
    feats = []
    for row in links.itertuples():
        a, b = xy[int(row.a)], xy[int(row.b)]
        tip = [
            [t("planmap.link.title", lang), "b"],
            f"{row.unit_a} {row.name_a} — {row.unit_b} {row.name_b}",
            t("planmap.link.gap", lang, km=f"{row.distance_m / 1000:.2f}"),
        ]
        feats.append({
            "type": "Feature",
            "properties": {"tip": tip},
            "geometry": {"type": "LineString",
                         "coordinates": [[round(float(a[0]), 6), round(float(a[1]), 6)],
                                         [round(float(b[0]), 6), round(float(b[1]), 6)]]},
        })
    return {"type": "FeatureCollection", "features": feats}


def _add_island_links(m: PlannerMap, layers: object, lang: str) -> None:
    data = memo(layers, ("island_links", m.gcj02, lang),
                lambda: island_links(layers, gcj02=m.gcj02, lang=lang))
    if not data["features"]:
        return
    DataLayer(
        data,
        name=t("planmap.layer.links", lang),
        style=fixed_style({"color": "#c2185b", "weight": 2.2, "dashArray": "6 4", "opacity": 0.95}),
        on_each_feature=JsCode(
            "function(f,layer){layer.bindTooltip(function(){return gpLines(f.properties.tip);},"
            "{className:'gp-tip',sticky:true});}"
        ),
    ).add_to(m)


def _add_grid_labels(m: PlannerMap, points: Mapping[str, tuple[float, float]], names: Mapping[str, str],
                     lang: str) -> None:
    add_labels(
        m,
        [(x, y, names.get(grid, grid)) for grid, (x, y) in points.items()],
        name=t("planmap.layer.labels", lang),
        style="boxed",
        z_index_offset=1000,  # above the lead markers, which would otherwise cover the text
    )


def _outline_units(m: PlannerMap, display: UnitDisplay, mask: np.ndarray, *, name: str, colour: str,
                   weight: float, dash: str | None = None) -> None:
    if not mask.any():
        return
    data = _collection(display, pd.DataFrame(index=range(len(display.ids))), mask)
    style = {"color": colour, "weight": weight, "fill": False, "opacity": 1.0}
    if dash:
        style["dashArray"] = dash
    DataLayer(data, name=name, style=fixed_style(style), interactive=False, precision=5).add_to(m)


def _role_line(row: Mapping[str, object], lang: str) -> str:
    role = str(row.get("role", ""))
    if not role:
        return ""
    if role == "collaborator":
        return t("planmap.role.collaborator_of", lang, grids=row.get("supports") or "-")
    text = t(f"planmap.role.{role}", lang, grid=row.get("grid_id") or "-")
    if role == "cross_grid" and row.get("supports"):
        text += " · " + t("planmap.role.serves", lang, grids=row.get("supports"))
    return text


def plan_tooltip_lines(row: Mapping[str, object], lang: str = DEFAULT_LANGUAGE) -> list:
    """Tooltip lines of a facility on a plan map: :func:`~grid_planning.maps.markers.facility_lines`,
    its role and grid, and whether it is a planned (what-if) hospital. Plain text throughout."""
    lines = facility_lines(row, lang)
    line = _role_line(row, lang)
    if line:
        lines.append(line)
    if str(row.get("source", "")) == "planned":
        lines.append([t("planmap.planned", lang), "n"])
    return lines


def add_plan_facilities(m: PlannerMap, fac: gpd.GeoDataFrame, *, lang: str = DEFAULT_LANGUAGE,
                        show_primary: bool = True, legend: bool = True, sources: bool = True) -> None:
    """Members by type and level (as on the overview map), collaborators double-ringed; leads
    are drawn by :func:`add_leads`. Tooltips say the role and grid; the legend names the colours
    (types) and sizes (levels) drawn, and (``sources``) real vs illustrative."""
    shown = for_display(fac, m)
    shown = shown[(shown["role"] != "lead") & shown.geometry.notna() & ~shown.geometry.is_empty]
    if not show_primary:
        shown = shown[shown["role"] != "primary"]
    if shown.empty:
        return
    order = shown["level"].map({"tertiary": 0, "secondary": 1, "unknown": 2}).fillna(3)
    shown = shown.assign(_o=order.to_numpy()).sort_values("_o", kind="stable")
    records = pd.DataFrame(shown.drop(columns=[shown.geometry.name, "_o"])).to_dict("records")
    props = pd.DataFrame({
        "t": shown["type"].astype(str).to_numpy(),
        "l": shown["level"].astype(str).to_numpy(),
        "i": is_illustrative(shown, part="facility").to_numpy(),
        "c": (shown["role"] == "collaborator").to_numpy(),
        "id": shown["id"].astype(str).to_numpy(),
        "tip": [plan_tooltip_lines(r, lang) for r in records],
    })
    feats = [
        {"type": "Feature", "properties": {k: _clean(v) for k, v in rec.items()},
         "geometry": {"type": "Point", "coordinates": [round(float(g.x), 6), round(float(g.y), 6)]}}
        for rec, g in zip(props.to_dict("records"), shown.geometry, strict=True)
    ]
    DataLayer({"type": "FeatureCollection", "features": feats}, name=t("planmap.layer.members", lang),
              point_to_layer=FACILITY_POINT_JS, on_each_feature=FACILITY_EACH_JS).add_to(m)
    if legend:
        add_facility_legend(m, shown, position="bottomright", sources=sources)


#: ``pointToLayer`` of lead markers: a ring in the grid's colour (``c``), dashed orange when the
#: lead's level was assumed (``a``). The colour is the app's palette, escaped all the same.
_LEAD_POINT_JS = JsCode(
    "function(f,ll){var p=f.properties,ring=p.a?'#b35900':'#111111',"
    "dash=p.a?\" stroke-dasharray='4 2'\":'';"
    "var svg=\"<svg width='30' height='30' viewBox='0 0 30 30'><circle cx='15' cy='15' r='12' fill='\""
    "+gpEsc(p.c)+\"' stroke='\"+ring+\"' stroke-width='3'\"+dash+\"/><circle cx='15' cy='15' r='5' "
    "fill='#111'/></svg>\";"
    "return L.marker(ll,{icon:L.divIcon({html:\"<div style='position:relative;width:30px;height:30px'>\""
    "+svg+'</div>',iconSize:[30,30],iconAnchor:[15,15],className:'gp-lead'})});}"
)


def add_leads(m: PlannerMap, fac: gpd.GeoDataFrame, plan: object, colours: Mapping[str, str], *,
              lang: str = DEFAULT_LANGUAGE) -> DataLayer:
    """Each grid's lead hospital: a ringed marker in the grid's colour, labelled with the grid.

    An assumed lead level (the data did not give the grade) gets a dashed orange ring and says so.
    Each marker's feature carries the lead's ``id`` (a click on it names the hospital).
    """
    shown = for_display(fac, m).set_index("id", drop=False)
    feats = []
    for grid, lead in plan.leads.items():
        lead = str(lead)
        if lead not in shown.index:
            continue
        row = shown.loc[lead]
        if row.geometry is None or row.geometry.is_empty:
            continue
        rec = row.drop(labels=[shown.geometry.name]).to_dict()
        feats.append({
            "type": "Feature",
            "properties": {
                "id": lead,
                "c": colours.get(str(grid), "#ffffff"),
                "a": str(rec.get("level_source", "")) == "assumed",
                "tip": plan_tooltip_lines(rec | {"role": "lead", "grid_id": str(grid)}, lang),
            },
            "geometry": {"type": "Point",
                         "coordinates": [round(float(row.geometry.x), 6), round(float(row.geometry.y), 6)]},
        })
    layer = DataLayer({"type": "FeatureCollection", "features": feats}, name=t("planmap.layer.leads", lang),
                      point_to_layer=_LEAD_POINT_JS, on_each_feature=JsCode(
                          "function(f,layer){layer.bindTooltip(function(){return gpLines(f.properties.tip);},"
                          "{className:'gp-tip'});}"))
    layer.add_to(m)
    return layer


# ---- whole maps ---------------------------------------------------------------------------------
def plan_map(
    layers: object,
    plan: object,
    *,
    unit_df: pd.DataFrame | None = None,
    shade: str = "grid",
    selection: Iterable[str] = (),
    grid_names: Mapping[str, str] | None = None,
    show_primary: bool = True,
    lang: str = DEFAULT_LANGUAGE,
    tiles: str = "none",
    tianditu_key: str | None = None,
    tolerance_m: float = 30.0,
    view_key: str | None = None,
) -> PlannerMap:
    """The plan on a map: grids, borders, labels, leads, members; selection and locks outlined.

    Parameters
    ----------
    layers : CityLayers
        The city (source layers; the plan's what-if edits are applied for the facilities).
    plan : Plan
    unit_df : DataFrame, optional
        :func:`grid_planning.assess.metrics.unit_metrics` of the plan (needed for ``shade="travel"`` and
        for travel minutes in the tooltips).
    shade : {"grid", "travel"}
        Fill units by grid colour, or by minutes to their grid's lead.
    selection : iterable of str
        Unit ids outlined as selected.
    grid_names : mapping, optional
        Grid id -> label text (default ``"G1"`` ...).
    show_primary : bool
        Draw primary-care facilities (many small dots).
    lang, tiles, tianditu_key, tolerance_m
        As for :func:`grid_planning.maps.mapview.base_map` / :func:`units_geojson`.
    view_key : str, optional
        Keep the planner's view (centre, zoom) under this name across re-draws: see
        :func:`keep_view`.

    Returns
    -------
    PlannerMap
        Finished (layer control, offline assets): ready for ``st_folium`` or ``map_html``.
    """
    if shade not in SHADES:
        raise ValueError(f"shade must be one of {SHADES}")
    m = base_map(layers.boundary.total_bounds, tiles=tiles, tianditu_key=tianditu_key, lang=lang)
    display = unit_display(layers, gcj02=m.gcj02, tolerance_m=tolerance_m)
    labels = unit_grids(layers, plan)
    grids = [str(g) for g in plan.leads.index]
    colours = grid_colours(grids)
    gpos = {g: i for i, g in enumerate(grids)}
    population = pd.to_numeric(layers.units["population"], errors="coerce").fillna(0).to_numpy(float)
    minutes = (unit_df["t_lead"].reindex(display.ids).to_numpy(float) if unit_df is not None
               else np.full(len(display.ids), np.nan))
    locks = plan.lock_map
    props = pd.DataFrame({
        "id": display.ids,
        "n": layers.units["name"].astype(str).to_numpy() if "name" in layers.units else display.ids,
        "g": labels,
        "p": np.round(population),
        "m": np.round(minutes, 1),
        "lk": [t("planmap.locked", lang) if u in locks else "" for u in display.ids],
    })
    if shade == "grid":
        props["k"] = [gpos.get(g, -1) for g in labels]
        palette = [colours[g] for g in grids]
        name = t("planmap.layer.grids", lang)
    else:
        props["k"] = travel_class(minutes)
        palette = list(TRAVEL_PALETTE)
        name = t("planmap.layer.travel", lang)
    if shade == "grid":
        # Grids drawn as k dissolved polygons; a click still finds its unit by position
        # (workspace.interpret_click falls back to Workspace.unit_at).
        fac_names0 = plan_facilities(layers, plan).set_index("id")["name"].astype(str).to_dict()
        # whole people adding up to the city's total, as in the grid tables (numfmt.whole_people)
        shown = dict(zip(grids, whole_people([population[labels == g].sum() for g in grids]), strict=True))
        grid_props = {
            g: {"g": g, "lead": fac_names0.get(str(plan.leads[g]), str(plan.leads[g])),
                "p": float(shown[g]), "nu": int((labels == g).sum())}
            for g in grids
        }
        tip = ("<b>{g}</b> {lead}<br>"
               + html.escape(t("planmap.tip.population", lang)) + " {p}<br>"
               + html.escape(t("planmap.tip.units", lang)) + " {nu}")
        add_polygons(m, grid_collection(display, labels, grids, grid_props), name=name,
                     palette=palette, tooltip=tip, fill_opacity=0.7, weight=0.2)
    else:
        tip = ("<b>{n}</b> <span style='color:#666'>{id}</span><br>"
               + html.escape(t("planmap.tip.grid", lang)) + " {g} <i>{lk}</i><br>"
               + html.escape(t("planmap.tip.population", lang)) + " {p}<br>"
               + html.escape(t("planmap.tip.minutes", lang)) + " {m}")
        add_polygons(m, _collection(display, props), name=name, palette=palette, tooltip=tip,
                     fill_opacity=0.8, weight=0.2)
    _add_grid_borders(m, display, labels, lang)
    _add_island_links(m, layers, lang)
    add_outline(m, layers.boundary)
    add_districts(m, layers.districts, labels=False)
    add_water(m, getattr(layers, "water", None), getattr(layers, "crossings", None))
    sel = set(map(str, selection))
    _outline_units(m, display, np.isin(display.ids, list(locks)), name=t("planmap.layer.locked", lang),
                   colour="#222222", weight=1.6, dash="2 3")
    _outline_units(m, display, np.isin(display.ids, list(sel)), name=t("planmap.layer.selected", lang),
                   colour="#0050ff", weight=3.0)
    fac = plan_facilities(layers, plan)
    # Colours by type and sizes by level get their legend; real vs illustrative is in the key.
    add_plan_facilities(m, fac, lang=lang, show_primary=show_primary, sources=False)
    add_leads(m, fac, plan, colours, lang=lang)
    fac_names = fac.set_index("id")["name"].astype(str).to_dict()
    names = dict(grid_names or {g: f"{g} {short_name(fac_names.get(str(plan.leads[g]), ''))}" for g in grids})
    _add_grid_labels(m, grid_label_points(display, labels, population),
                     {g: names.get(g, g) for g in grids}, lang)
    if shade == "grid":
        fac_by_id = fac.set_index("id")
        rows = []
        for g in grids:
            lead = str(plan.leads[g])
            lead_name = str(fac_by_id.at[lead, "name"]) if lead in fac_by_id.index else lead
            rows.append((swatch(colours[g]), f"{g} · {short_name(lead_name, 20)}"))
        add_legend(m, t("planmap.legend.grids", lang), rows, "bottomleft")
    else:
        add_legend(m, t("planmap.legend.travel", lang), travel_legend_rows(lang), "bottomleft")
    add_legend(m, t("planmap.legend.marks", lang), [
        (_lead_svg("#ffffff", False), t("planmap.legend.lead", lang)),
        (_lead_svg("#ffffff", True), t("planmap.legend.lead_assumed", lang)),
        ("<span class='gp-sw' style='border:2px solid #0050ff;background:none'></span>",
         t("planmap.legend.selected", lang)),
        ("<span class='gp-sw' style='border:2px dashed #222;background:none'></span>",
         t("planmap.legend.locked", lang)),
        (marker_svg("general", "secondary", False), t("planmap.legend.real", lang)),
        (marker_svg("general", "secondary", True), t("source.illustrative", lang)),
        (_collaborator_svg(), t("planmap.legend.collaborator", lang)),
        ("<svg width='22' height='10'><line x1='1' y1='5' x2='21' y2='5' stroke='#c2185b' "
         "stroke-width='2.2' stroke-dasharray='6 4'/></svg>", t("planmap.legend.link", lang)),
    ], "topleft")
    if view_key:
        keep_view(m, f"{view_key}:{layers.fingerprint()}")
    return finish(m)


def keep_view(m: folium.Map, key: str) -> None:
    """Keep the map's centre and zoom across re-draws, in the browser tab only.

    ``st_folium`` builds a new map whenever its content changes (a click that selects a unit, a
    move, a lock), which would throw the planner back to the whole city after every edit. The view
    is kept in the tab's ``sessionStorage`` under ``key`` and restored when the map is rebuilt;
    it never goes to the server, so panning causes no rerun.

    Parameters
    ----------
    m : folium.Map
    key : str
        Name of the view (one per map and city: a different city starts from its full extent).
    """
    store = script_json("gp-view:" + key)
    add_script(m, (
        "(function(map){var k=" + store + ",s;"
        "try{s=window.sessionStorage;var v=JSON.parse(s.getItem(k)||'null');"
        "if(v&&isFinite(v.lat)&&isFinite(v.lng)&&isFinite(v.zoom)){map.setView([v.lat,v.lng],v.zoom,{animate:false});}}"
        "catch(e){return;}"
        "map.on('moveend',function(){var c=map.getCenter();"
        "try{s.setItem(k,JSON.stringify({lat:c.lat,lng:c.lng,zoom:map.getZoom()}));}catch(e){}});"
        "})(map);"
    ))


def _collaborator_svg() -> str:
    return ("<svg width='18' height='18'><circle cx='9' cy='9' r='6' fill='#1f4e9c' stroke='#000' "
            "stroke-width='3'/></svg>")


def _lead_svg(colour: str, assumed: bool) -> str:
    ring = "#b35900" if assumed else "#111111"
    dash = " stroke-dasharray='4 2'" if assumed else ""
    return (f"<svg width='18' height='18'><circle cx='9' cy='9' r='7' fill='{colour}' stroke='{ring}' "
            f"stroke-width='2.5'{dash}/><circle cx='9' cy='9' r='3' fill='#111'/></svg>")


def coverage_map(
    layers: object,
    plan: object,
    unit_df: pd.DataFrame,
    column: str = "t_lead",
    *,
    lang: str = DEFAULT_LANGUAGE,
    tiles: str = "none",
    tianditu_key: str | None = None,
    tolerance_m: float = 30.0,
) -> PlannerMap:
    """Choropleth of one travel-time column (to lead / secondary-or-higher / primary care).

    Grid borders and labels are drawn on top, with the facilities the column refers to.
    """
    if column not in TRAVEL_COLUMNS:
        raise ValueError(f"column must be one of {TRAVEL_COLUMNS}")
    m = base_map(layers.boundary.total_bounds, tiles=tiles, tianditu_key=tianditu_key, lang=lang)
    display = unit_display(layers, gcj02=m.gcj02, tolerance_m=tolerance_m)
    labels = unit_grids(layers, plan)
    population = pd.to_numeric(layers.units["population"], errors="coerce").fillna(0).to_numpy(float)
    minutes = unit_df[column].reindex(display.ids).to_numpy(float)
    props = pd.DataFrame({
        "id": display.ids,
        "n": layers.units["name"].astype(str).to_numpy() if "name" in layers.units else display.ids,
        "g": labels,
        "p": np.round(population),
        "m": np.round(minutes, 1),
        "k": travel_class(minutes),
    })
    tip = ("<b>{n}</b> <span style='color:#666'>{id}</span><br>"
           + html.escape(t("planmap.tip.grid", lang)) + " {g}<br>"
           + html.escape(t("planmap.tip.population", lang)) + " {p}<br>"
           + html.escape(t(f"planmap.column.{column}", lang)) + ": {m}")
    add_polygons(m, _collection(display, props), name=t(f"planmap.column.{column}", lang),
                 palette=list(TRAVEL_PALETTE), tooltip=tip, fill_opacity=0.8, weight=0.2)
    _add_grid_borders(m, display, labels, lang)
    add_outline(m, layers.boundary)
    add_districts(m, layers.districts, labels=False)
    add_water(m, getattr(layers, "water", None), getattr(layers, "crossings", None))
    fac = plan_facilities(layers, plan)
    if column == "t_lead":
        add_leads(m, fac, plan, grid_colours([str(g) for g in plan.leads.index]), lang=lang)
    else:
        secondary, primary = hospital_masks(fac)  # what metrics.unit_metrics measures to
        keep = secondary if column == "t_secondary" else primary
        subset = fac[keep]
        add_plan_facilities(m, subset.assign(role=subset["role"].replace("lead", "member")), lang=lang)
    _add_grid_labels(m, grid_label_points(display, labels, population),
                     {str(g): str(g) for g in plan.leads.index}, lang)
    add_legend(m, t("planmap.legend.column", lang, what=t(f"planmap.column.{column}", lang)),
               travel_legend_rows(lang), "bottomleft")
    return finish(m)
