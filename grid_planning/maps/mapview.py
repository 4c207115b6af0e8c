"""Folium map builders for the dashboard: a base map plus layers added by small functions.

Every page builds its maps the same way::

    m = base_map(layers.boundary.total_bounds, tiles="none", lang="zh")
    add_outline(m, layers.boundary)
    add_districts(m, layers.districts)
    add_choropleth(m, units_geojson(layers), legend_title="...")
    add_facilities(m, layers.facilities)
    localise(m)        # grid_planning.maps.offline: every asset from the app itself

Design points:

- **Offline first.** No tiles by default (``tiles="none"``): a light background, the city and
  district outlines and district labels keep the map readable. Markers are circle markers, labels
  Leaflet ``divIcon``s with inline CSS, legends plain HTML in a Leaflet control, so nothing needs
  an icon font, jQuery or d3 (branca's colormap would make streamlit-folium fetch d3 from a CDN).
- **Amap tiles are GCJ-02.** With ``tiles="amap"`` the map remembers it (:attr:`PlannerMap.gcj02`)
  and every ``add_*`` function shifts its vector data WGS84 -> GCJ-02 so the overlays line up.
- **One layer per dataset.** The ~7,000 population units are a single ``L.geoJson`` whose style is a
  JavaScript function reading a class index ``k`` from each feature (no per-feature style table),
  drawn on a canvas (``preferCanvas``); geometry is simplified in metric CRS and rounded to 5
  decimals (~1 m) for display (:func:`display_geojson`), cached by the layers' fingerprint.
- **A user's text is data.** Names, ids and reasons come from users' files. They reach the page
  only as :func:`grid_planning.base.textsafe.script_json` inside the elements of
  :mod:`grid_planning.maps.mapelements` (never folium's ``GeoJson``, ``DivIcon``, ``Tooltip`` or
  ``Popup``, whose output branca parses as a template again), and the browser turns them into
  DOM only HTML-escaped (``gpText``, ``gpFill``, ``gpLines``) or as ``textContent``. Tooltips and
  popups are lists of plain-text lines (:func:`facility_lines`), styled in JavaScript.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from grid_planning.base.cache import SharedCache, memo
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.textsafe import script_json
from grid_planning.city.layers import CityLayers
from grid_planning.geo.coords import convert_geometry, utm_epsg, wgs84_to_gcj02
from grid_planning.maps.labels import add_label_zoom_script, add_labels, label_min_zooms
from grid_planning.maps.mapelements import HELPERS_JS, DataLayer, LayerSwitcher, add_script
from grid_planning.maps.offline import VENDOR_URL, localise

T = TypeVar("T")


#: Basemap choices; "none" is the default and needs no network.
TILES: tuple[str, ...] = ("none", "osm", "tianditu", "amap")


#: Sequential palette for population density (ColorBrewer YlOrRd, 6 classes).
DENSITY_PALETTE: tuple[str, ...] = (
    "#ffffb2",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#f03b20",
    "#bd0026",
)


NO_DATA_COLOUR = "#d9d9d9"


_BACKGROUND = "#f3f2ee"


_CSS = f"""
.leaflet-container {{ background: {_BACKGROUND};
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }}
.gp-label div {{ display: inline-block; transform: translate(-50%, -50%); white-space: nowrap; font-size: 13px;
  font-weight: 600; color: #37352f; pointer-events: none;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; }}
.gp-legend {{ background: rgba(255,255,255,0.93); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 11.5px; line-height: 1.3; color: #222;
  max-height: 45vh; overflow-y: auto; }}
.gp-legend summary {{ font-weight: 600; cursor: pointer; margin-bottom: 3px; }}
.gp-legend .gp-row {{ display: flex; align-items: center; gap: 6px; white-space: nowrap; }}
.gp-legend .gp-sw {{ display: inline-block; width: 16px; height: 12px; border: 1px solid #888; }}
.gp-legend svg {{ flex: none; }}
.gp-tip b {{ font-weight: 600; }}
.gp-tip .gp-note {{ color: #a04000; }}
"""


class PlannerMap(folium.Map):
    """A :class:`folium.Map` that knows its display conventions.

    Attributes
    ----------
    gcj02 : bool
        True when the basemap is in GCJ-02 (Amap); overlays are shifted to match.
    lang : str
        Language of legends and tooltips.
    """

    def __init__(self, *, gcj02: bool = False, lang: str = DEFAULT_LANGUAGE, **kwargs) -> None:
        super().__init__(**kwargs)
        self.gcj02 = gcj02
        self.lang = lang
        self.view_bounds: list[list[float]] | None = None

    def get_bounds(self) -> list[list[float | None]]:
        """The bounds the map was fitted to, ``[[south, west], [north, east]]``.

        folium computes bounds by walking every coordinate of every layer, and streamlit-folium
        asks for them on each rerun (~0.2 s for the 7,000-unit choropleth). The map already knows
        the area it shows, so it answers with that.
        """
        if self.view_bounds is not None:
            return [list(corner) for corner in self.view_bounds]
        return super().get_bounds()


def _validate_key(key: str | None) -> str:
    if not key or not re.fullmatch(r"[A-Za-z0-9]{8,64}", key.strip()):
        raise ValueError(t("map.tiles.bad_key", DEFAULT_LANGUAGE))
    return key.strip()


def check_tiles(tiles: str, tianditu_key: str | None = None) -> None:
    """Check a basemap choice before building a map with it.

    Raises
    ------
    ValueError
        Unknown ``tiles``, or ``"tianditu"`` without a well-formed key (the message says so).
    """
    if tiles not in TILES:
        raise ValueError(f"tiles must be one of {TILES}, not {tiles!r}")
    if tiles == "tianditu":
        _validate_key(tianditu_key)


def base_map(
    bounds: Sequence[float],
    *,
    tiles: str = "none",
    tianditu_key: str | None = None,
    lang: str = DEFAULT_LANGUAGE,
    prefer_canvas: bool = True,
    layer_control: bool = True,
) -> PlannerMap:
    """An empty map fitted to ``bounds`` (WGS84 ``minx, miny, maxx, maxy``), assets localised.

    Parameters
    ----------
    bounds : sequence of 4 floats
        Area to show, e.g. ``layers.boundary.total_bounds``.
    tiles : {"none", "osm", "tianditu", "amap"}
        Basemap. ``"none"`` needs no network; the others fetch tiles from their servers.
    tianditu_key : str, optional
        The user's Tianditu (天地图) key, required for ``tiles="tianditu"``.
    lang : {"zh", "en"}
        Language of legends, tooltips and tile labels.
    prefer_canvas : bool
        Draw vectors on one canvas (fast for thousands of polygons) instead of SVG.
    layer_control : bool
        Add a layer switcher; it is added when the map is rendered so it lists every layer.

    Returns
    -------
    PlannerMap

    Raises
    ------
    ValueError
        Unknown ``tiles`` or a missing/malformed Tianditu key.
    """
    check_tiles(tiles, tianditu_key)
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    gcj02 = tiles == "amap"
    if gcj02:
        (minx, maxx), (miny, maxy) = _shift_xy([minx, maxx], [miny, maxy])
    m = PlannerMap(
        gcj02=gcj02,
        lang=lang,
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=9,
        tiles=None,
        prefer_canvas=prefer_canvas,
        zoom_snap=0.25,
    )
    m.view_bounds = [[miny, minx], [maxy, maxx]]
    m.fit_bounds(m.view_bounds)
    add_script(
        m,
        HELPERS_JS
        + "(function(){var id='gp-style';if(!document.getElementById(id)){"
        "var s=document.createElement('style');s.id=id;s.textContent="
        + script_json(_CSS)
        + ";document.head.appendChild(s);}})();"
        # Metric-only scale bar (folium's control_scale adds miles too).
        "L.control.scale({imperial:false,position:'bottomleft'}).addTo(map);"
        # No third-party mark (Leaflet's flag and link) in the corner: the attribution names the
        # data sources only (the tile layers' own credits, when a basemap is on).
        "if(map.attributionControl){map.attributionControl.setPrefix(false);}",
    )
    if tiles == "osm":
        folium.TileLayer(
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            attr="&copy; OpenStreetMap contributors",
            name=t("map.tiles.osm", lang),
            max_zoom=19,
        ).add_to(m)
    elif tiles == "tianditu":
        key = _validate_key(tianditu_key)
        label_layer = "cva" if lang == "zh" else "eva"
        for layer, overlay in (("vec", False), (label_layer, True)):
            folium.TileLayer(
                f"https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile"
                f"&VERSION=1.0.0&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
                f"&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}",
                attr="&copy; 天地图 Tianditu",
                name=t("map.tiles.tianditu", lang) + (" ·" if overlay else ""),
                subdomains="01234567",
                overlay=overlay,
                control=not overlay,
                max_zoom=18,
            ).add_to(m)
    elif tiles == "amap":
        amap_lang = "zh_cn" if lang == "zh" else "en"
        folium.TileLayer(
            f"https://webrd0{{s}}.is.autonavi.com/appmaptile?lang={amap_lang}&size=1&scale=1"
            "&style=8&x={x}&y={y}&z={z}",
            attr="&copy; 高德地图 AutoNavi",
            name=t("map.tiles.amap", lang),
            subdomains="1234",
            max_zoom=18,
        ).add_to(m)
    if layer_control:
        m._gp_layer_control = True
    return m


def finish(m: folium.Map, base_url: str = VENDOR_URL) -> folium.Map:
    """Add the layer switcher (if requested) and localise assets; call once, before rendering."""
    if getattr(m, "_gp_layer_control", False):
        LayerSwitcher(collapsed=True, position="topright").add_to(m)
        m._gp_layer_control = False
    return localise(m, base_url)


def map_html(m: folium.Map, base_url: str = VENDOR_URL) -> str:
    """The whole map as a standalone HTML page (after :func:`finish`)."""
    finish(m, base_url)
    return m.get_root().render()


def _shift_xy(lon: Sequence[float], lat: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = wgs84_to_gcj02(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.atleast_1d(x), np.atleast_1d(y)


def for_display(
    gdf: gpd.GeoDataFrame, m: PlannerMap | None = None, gcj02: bool = False
) -> gpd.GeoDataFrame:
    """``gdf`` in WGS84, shifted to GCJ-02 when the map (or ``gcj02``) asks for it."""
    out = gdf.to_crs(4326) if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") else gdf
    if gcj02 or getattr(m, "gcj02", False):
        out = convert_geometry(out, "wgs84", "gcj02")
    return out


def _utm(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> str:
    """UTM zone of the data's centre (geopandas' estimate_utm_crs costs ~50 ms per call)."""
    minx, miny, maxx, maxy = gdf.to_crs(4326).total_bounds if gdf.crs else gdf.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])):
        return "EPSG:3857"
    return utm_epsg((minx + maxx) / 2, (miny + maxy) / 2)


def _simplify(geoms: np.ndarray, metric_crs: str | None, tolerance_m: float) -> np.ndarray:
    """Simplify polygons in metric CRS; a coverage (tessellation) keeps its shared edges."""
    if tolerance_m <= 0 or len(geoms) == 0:
        return geoms
    series = gpd.GeoSeries(geoms, crs=4326)
    crs = metric_crs or _utm(series)
    metric = np.asarray(series.to_crs(crs).values)
    try:
        simple = shapely.coverage_simplify(metric, tolerance_m)
    except Exception:  # noqa: BLE001 - not a valid coverage (overlaps): plain per-polygon simplify
        simple = shapely.simplify(metric, tolerance_m, preserve_topology=True)
    simple = shapely.make_valid(simple)
    return np.asarray(gpd.GeoSeries(simple, crs=crs).to_crs(4326).values)


def _round_coords(geoms: np.ndarray, precision: int) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, precision))


def _feature_collection(geoms: np.ndarray, props: pd.DataFrame) -> dict:
    features = []
    records = props.to_dict("records")
    mapping = shapely.to_geojson  # vectorised: one JSON string per geometry
    texts = mapping(geoms)
    for geom_json, rec in zip(texts, records, strict=True):
        if geom_json is None:
            continue
        clean = {k: _json_value(v) for k, v in rec.items()}
        features.append({"type": "Feature", "properties": clean, "geometry": json.loads(geom_json)})
    return {"type": "FeatureCollection", "features": features}


def _json_value(v: object) -> object:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def display_geojson(
    gdf: gpd.GeoDataFrame,
    properties: Iterable[str] = (),
    *,
    metric_crs: str | None = None,
    tolerance_m: float = 30.0,
    precision: int = 5,
    gcj02: bool = False,
) -> dict:
    """A compact GeoJSON FeatureCollection for drawing ``gdf``.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any CRS; converted to WGS84.
    properties : iterable of str
        Columns kept as feature properties; everything else is dropped.
    metric_crs : str, optional
        CRS in metres for simplification (estimated from the data when omitted).
    tolerance_m : float
        Simplification tolerance in metres (0 disables). 20-50 m is invisible at city zoom.
    precision : int
        Decimals kept in lon/lat (5 decimals ~ 1 m).
    gcj02 : bool
        Shift WGS84 -> GCJ-02 (for Amap tiles), after simplifying.

    Returns
    -------
    dict
        GeoJSON FeatureCollection; features with empty geometry are dropped.
    """
    wgs = gdf.to_crs(4326) if gdf.crs is not None else gdf.set_crs(4326)
    geoms = np.asarray(wgs.geometry.values)
    geoms = _simplify(geoms, metric_crs, tolerance_m)
    if gcj02:
        shifted = convert_geometry(gpd.GeoDataFrame(geometry=geoms, crs=4326), "wgs84", "gcj02")
        geoms = np.asarray(shifted.geometry.values)
    if precision is not None:
        geoms = _round_coords(geoms, precision)
    geoms = np.where(shapely.is_empty(geoms), None, geoms)
    props = pd.DataFrame(wgs[list(properties)]).reset_index(drop=True)
    return _feature_collection(geoms, props)


def nice_breaks(values: Iterable[float], n_classes: int = 6) -> list[float]:
    """Class breaks (upper bounds of all but the last class) at quantiles, rounded to 2 digits.

    Quantiles suit population density, which is very skewed (a few dense inner-city cells, many
    sparse rural ones); rounding keeps the legend readable. Duplicate breaks are merged.
    """
    arr = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if arr.size == 0:
        return []
    qs = np.quantile(arr, np.linspace(0, 1, n_classes + 1)[1:-1])
    out: list[float] = []
    for q in qs:
        if q <= 0:
            continue
        digits = -int(math.floor(math.log10(q))) + 1
        r = float(round(q, digits))
        if r not in out and (not out or r > out[-1]):
            out.append(r)
    return out


def classify(values: Iterable[float], breaks: Sequence[float]) -> np.ndarray:
    """Class index of each value for ``breaks`` (``-1`` for missing values)."""
    arr = np.asarray(list(values), dtype=float)
    k = np.searchsorted(np.asarray(breaks, dtype=float), arr, side="right")
    return np.where(np.isfinite(arr), k, -1).astype(int)


def units_geojson(
    units: gpd.GeoDataFrame,
    *,
    metric_crs: str | None = None,
    column: str = "population",
    density: bool = True,
    n_classes: int = 6,
    tolerance_m: float = 30.0,
    precision: int = 5,
    gcj02: bool = False,
) -> tuple[dict, list[float]]:
    """Population units as display GeoJSON with a class index, and the class breaks.

    Each feature keeps ``id``, ``name`` (when present), ``v`` (the value: people per km² when
    ``density``, else ``column``), ``p`` (the ``column`` total, rounded) and ``k`` (class index
    into :data:`DENSITY_PALETTE`, -1 for no data).
    """
    metric_crs = metric_crs or _utm(units)
    values = pd.to_numeric(units[column], errors="coerce").to_numpy(dtype=float)
    if density:
        area_km2 = units.to_crs(metric_crs).area.to_numpy() / 1e6
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.where(area_km2 > 0, values / area_km2, np.nan)
    else:
        shown = values
    breaks = nice_breaks(shown, n_classes)
    props = pd.DataFrame(
        {
            "id": units["id"].astype(str).to_numpy()
            if "id" in units
            else np.arange(len(units)).astype(str),
            "v": np.round(shown, 0),
            "p": np.round(values, 0),
            "k": classify(shown, breaks),
        }
    )
    if "name" in units:
        names = units["name"].astype(str).to_numpy()
        ids = props["id"].to_numpy()
        # A name equal to the id adds nothing to the tooltip and costs payload.
        props["n"] = np.where(names == ids, "", names)
    gdf = gpd.GeoDataFrame(props, geometry=units.geometry.values, crs=units.crs)
    data = display_geojson(
        gdf,
        list(props.columns),
        metric_crs=metric_crs,
        tolerance_m=tolerance_m,
        precision=precision,
        gcj02=gcj02,
    )
    return data, breaks


#: The display GeoJSON of recent cities' units, shared by the server's sessions: a few cities, each
#: in at most two projections (WGS84, GCJ-02).
UNITS_GEOJSON: SharedCache = SharedCache(max_entries=6, per_city=2)


def units_geojson_for(
    layers: CityLayers, *, gcj02: bool = False, tolerance_m: float = 30.0
) -> tuple[dict, list[float]]:
    """:func:`units_geojson` of ``layers.units``, computed once per city (layers fingerprint),
    projection and tolerance for the server (:data:`UNITS_GEOJSON`). Shared: read-only."""
    fp = layers.fingerprint()
    return UNITS_GEOJSON.get(
        (fp, gcj02, tolerance_m),
        lambda: units_geojson(layers.units, metric_crs=layers.metric_crs, gcj02=gcj02,
                              tolerance_m=tolerance_m),
        city=fp,
    )


def _fmt_number(v: float, lang: str) -> str:
    if v >= 1000:
        return f"{v:,.0f}"
    return f"{v:.0f}" if v >= 10 else f"{v:.1f}".rstrip("0").rstrip(".")


def add_legend(
    m: folium.Map, title: str, rows: Sequence[tuple[str, str]], position: str = "bottomleft"
) -> None:
    """A legend box on the map.

    Parameters
    ----------
    m : folium.Map
    title : str
        Plain text (set as the box's text, never markup).
    rows : sequence of (swatch_html, label)
        ``swatch_html`` is the app's own markup (a coloured box or SVG symbol from :func:`swatch`,
        :func:`marker_svg`); ``label`` is plain text and may hold a user's names.
    position : {"topleft", "topright", "bottomleft", "bottomright"}
    """
    add_script(
        m,
        "gpLegend(map,"
        + script_json(position)
        + ","
        + script_json(str(title))
        + ","
        + script_json([[str(sw), str(label)] for sw, label in rows])
        + ");",
    )


def swatch(colour: str) -> str:
    """Legend swatch: a filled box."""
    return f'<span class="gp-sw" style="background:{html.escape(colour)}"></span>'


def add_polygons(
    m: folium.Map,
    data: dict,
    *,
    name: str,
    palette: Sequence[str],
    tooltip: str | None = None,
    stroke: str = "#ffffff",
    weight: float = 0.3,
    fill_opacity: float = 0.75,
    show: bool = True,
    no_data: str = NO_DATA_COLOUR,
    precision: int = 5,
) -> DataLayer:
    """Many polygons as ONE layer, coloured by each feature's class index ``properties.k``.

    Parameters
    ----------
    m : folium.Map
    data : dict
        GeoJSON FeatureCollection (already shifted for ``m.gcj02``, e.g. from :func:`display_geojson`
        with ``gcj02=m.gcj02``); each feature has an integer ``k`` property (-1 = no data).
    name : str
        Layer name in the layer switcher.
    palette : sequence of str
        Fill colour of class ``k``.
    tooltip : str, optional
        The app's own HTML template with ``{property}`` placeholders (catalogue words in it already
        HTML-escaped), filled in the browser by ``gpFill`` with the feature's properties
        (HTML-escaped; numbers with thousands separators).
    stroke, weight, fill_opacity : outline colour, outline width (px) and fill opacity.
    show : bool
        Whether the layer is on when the map opens.
    precision : int
        Decimals of the coordinates sent (:func:`display_geojson` rounds to 5 by default).

    Returns
    -------
    DataLayer
    """
    base = {"color": stroke, "weight": weight, "fillOpacity": fill_opacity, "opacity": 0.8}
    style = JsCode(
        "function(f){var P=" + script_json(list(palette)) + ";var k=f.properties.k;"
        "var s="
        + script_json(base)
        + ";s.fillColor=(k>=0&&k<P.length)?P[k]:"
        + script_json(no_data)
        + ";return s;}"
    )
    each = "function(f,layer){"
    if tooltip:
        each += (
            "var tpl=" + script_json(tooltip) + ";"
            "layer.bindTooltip(function(){return gpFill(tpl,f.properties);},{sticky:true,className:'gp-tip'});"
        )
    each += (
        "layer.on('mouseover',function(e){e.target.setStyle({weight:2,color:'#222'});});"
        "layer.on('mouseout',function(e){e.target.setStyle({weight:"
        + script_json(weight)
        + ",color:"
        + script_json(stroke)
        + "});});}"
    )
    layer = DataLayer(
        data,
        name=name,
        show=show,
        style=style,
        on_each_feature=JsCode(each),
        precision=precision,
        smoothFactor=1.0,
    )
    layer.add_to(m)
    return layer


def add_choropleth(
    m: PlannerMap,
    data: dict,
    breaks: Sequence[float],
    *,
    name: str | None = None,
    legend_title: str | None = None,
    palette: Sequence[str] = DENSITY_PALETTE,
    position: str = "bottomleft",
    show: bool = True,
) -> DataLayer:
    """Population density choropleth with its legend (data from :func:`units_geojson`).

    ``data`` must already match the map's coordinate system (``units_geojson(..., gcj02=m.gcj02)``).
    """
    lang = getattr(m, "lang", DEFAULT_LANGUAGE)
    pal = list(palette)[: len(breaks) + 1]
    tip = (
        "<b>{n}</b> <span style='color:#666'>{id}</span><br>"
        + html.escape(t("map.units.population", lang))
        + " {p}<br>"
        + html.escape(t("map.units.density", lang))
        + " {v}"
    )
    layer = add_polygons(
        m, data, name=name or t("map.units.layer", lang), palette=pal, tooltip=tip, show=show
    )
    rows = []
    lows = [0.0, *breaks]
    for i, colour in enumerate(pal):
        lo = lows[i]
        label = (
            f"{_fmt_number(lo, lang)} – {_fmt_number(breaks[i], lang)}"
            if i < len(breaks)
            else f"≥ {_fmt_number(lo, lang)}"
        )
        rows.append((swatch(colour), label))
    add_legend(m, legend_title or t("map.units.legend", lang), rows, position)
    return layer


def add_outline(
    m: PlannerMap,
    boundary: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    colour: str = "#3a3a3a",
    weight: float = 2.5,
) -> DataLayer:
    """The city outline: a dark line, no fill, not interactive."""
    lang = getattr(m, "lang", DEFAULT_LANGUAGE)
    gcj02 = bool(getattr(m, "gcj02", False))
    data = memo(boundary, ("outline", gcj02), lambda: display_geojson(
        boundary[[boundary.geometry.name]], tolerance_m=10.0, gcj02=gcj02
    ))
    layer = DataLayer(
        data,
        name=name or t("map.boundary.layer", lang),
        style=fixed_style({"color": colour, "weight": weight, "fill": False}),
        interactive=False,
        control=False,
        precision=5,
    )
    layer.add_to(m)
    return layer


def add_districts(
    m: PlannerMap,
    districts: gpd.GeoDataFrame | None,
    *,
    name_column: str = "name",
    labels: bool = True,
    name: str | None = None,
    colour: str = "#5b5b5b",
) -> folium.FeatureGroup | None:
    """District outlines (dashed) and, optionally, their names as labels at interior points."""
    if districts is None or len(districts) == 0:
        return None
    lang = getattr(m, "lang", DEFAULT_LANGUAGE)
    group = folium.FeatureGroup(name=name or t("map.districts.layer", lang), show=True)
    gcj02 = bool(getattr(m, "gcj02", False))
    data, label_points, label_zooms = memo(districts, ("districts", name_column, gcj02),
                                           lambda: _district_display(districts, name_column, gcj02))
    DataLayer(
        data,
        style=fixed_style({"color": colour, "weight": 1.2, "dashArray": "5 4", "fill": False}),
        interactive=False,
        control=False,
        precision=5,
    ).add_to(group)
    if labels and label_points:
        # The small districts of a city core crowd each other at the city's zoom: the larger
        # ones are named first, a name that would overlap waits for a closer zoom.
        add_labels(group, label_points, control=False, min_zooms=label_zooms)
        add_label_zoom_script(m)
    group.add_to(m)
    return group


def add_water(
    m: PlannerMap,
    water: gpd.GeoDataFrame | None,
    crossings: gpd.GeoDataFrame | None,
    *,
    colour: str = "#2b7bba",
) -> folium.FeatureGroup | None:
    """The water straight-line travel crosses only at a crossing (``--water``, the data page's
    water slot) and its crossings (bridges, tunnels, ferries) as small white rings, named on hover;
    None when the city has neither."""
    if (water is None or not len(water)) and (crossings is None or not len(crossings)):
        return None
    lang = getattr(m, "lang", DEFAULT_LANGUAGE)
    gcj02 = bool(getattr(m, "gcj02", False))
    group = folium.FeatureGroup(name=t("map.water.layer", lang), show=True)
    if water is not None and len(water):
        data = memo(water, ("water", gcj02), lambda: display_geojson(
            water[[water.geometry.name]], tolerance_m=10.0, gcj02=gcj02))
        DataLayer(data, style=fixed_style({"color": colour, "weight": 2.0, "fillColor": colour,
                                           "fillOpacity": 0.35}),
                  interactive=False, control=False, precision=5).add_to(group)
    if crossings is not None and len(crossings):
        cols = ["name"] if "name" in crossings else []
        data = memo(crossings, ("crossings", gcj02), lambda: display_geojson(
            crossings[[*cols, crossings.geometry.name]], cols, tolerance_m=0.0, gcj02=gcj02))
        DataLayer(data, control=False, precision=5, point_to_layer=JsCode(
            "function(f,ll){var c=L.circleMarker(ll,{radius:4,color:" + script_json(colour)
            + ",weight:2,fillColor:'#ffffff',fillOpacity:1});"
            "if(f.properties.name){c.bindTooltip(gpText(f.properties.name));}return c;}")).add_to(group)
    group.add_to(m)
    return group


def _district_display(
    districts: gpd.GeoDataFrame, name_column: str, gcj02: bool
) -> tuple[dict, list[tuple[float, float, str]], list[int]]:
    """Display GeoJSON of the district outlines, their label points (lon, lat, name) and the
    zoom from which each label shows (:func:`label_min_zooms`, larger districts first)."""
    cols = [name_column] if name_column in districts else []
    shown = for_display(districts, gcj02=gcj02)
    data = display_geojson(shown[[*cols, shown.geometry.name]], cols, tolerance_m=10.0)
    if not cols:
        return data, [], []
    metric = shown.to_crs(_utm(shown))
    points = gpd.GeoSeries(metric.geometry.representative_point(), crs=metric.crs).to_crs(4326)
    keep = ~points.is_empty.to_numpy()
    placed = [
        (pt.x, pt.y, label)
        for label, pt, ok in zip(shown[name_column].astype(str), points, keep, strict=True)
        if ok
    ]
    return data, placed, label_min_zooms(placed, metric.geometry.area.to_numpy(float)[keep])


def fixed_style(style: Mapping[str, object]) -> JsCode:
    """A Leaflet style function returning the same style for every feature."""
    return JsCode("function(){return " + script_json(dict(style)) + ";}")


