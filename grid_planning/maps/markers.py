"""Facilities on the dashboard maps: a marker per type and level (hollow and dashed where the facility is illustrative), its tooltip lines and details, and the legend of markers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import geopandas as gpd
import pandas as pd
from folium.utilities import JsCode

from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.textsafe import script_json
from grid_planning.domain.rules import is_illustrative
from grid_planning.maps.mapelements import DataLayer
from grid_planning.maps.mapview import PlannerMap, add_legend, display_geojson, for_display
from grid_planning.maps.shared import LEVEL_RADIUS, TYPE_COLOURS


def marker_svg(type_: str, level: str, illustrative: bool) -> str:
    """Inline SVG of the marker drawn for a facility (used in legends)."""
    colour = TYPE_COLOURS.get(type_, TYPE_COLOURS["other"])
    r = LEVEL_RADIUS.get(level, 4.0)
    size = int(2 * r + 4)
    c = size / 2
    if illustrative:
        shape = f'<circle cx="{c}" cy="{c}" r="{r}" fill="#ffffff" stroke="{colour}" stroke-width="2" stroke-dasharray="3 2"/>'
    else:
        shape = (
            f'<circle cx="{c}" cy="{c}" r="{r}" fill="{colour}" stroke="#ffffff" stroke-width="1"/>'
        )
    return f'<svg width="{size}" height="{size}">{shape}</svg>'


def facility_lines(row: Mapping[str, object], lang: str = DEFAULT_LANGUAGE) -> list:
    """Tooltip lines of one facility: name (bold), level and type, provenance.

    Each line is plain text, or ``[text, style]`` with style ``"b"`` (bold) or ``"n"`` (note);
    the browser escapes and styles them (``gpLines``). Names are never markup.
    """
    level = str(row.get("level", "unknown"))
    type_ = str(row.get("type", "other"))
    lines: list = [
        [str(row.get("name", "")), "b"],
        f"{t(f'vocab.level.{level}', lang)} · {t(f'vocab.type.{type_}', lang)}",
    ]
    if is_illustrative(row, part="facility"):
        lines.append([t("source.illustrative", lang), "n"])
    elif str(row.get("source", "")) == "real":
        lines.append(t("source.real", lang))
    if str(row.get("level_source", "")) == "assumed":
        lines.append([t("source.assumed", lang), "n"])
    return lines


def facility_details(row: Mapping[str, object], lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """Popup lines added below :func:`facility_lines`: id, owner, beds, district (plain text)."""
    owner = str(row.get("owner_level", "unknown"))
    details = [
        (t("map.facility.id", lang), row.get("id")),
        (t("map.facility.owner", lang), t(f"vocab.owner.{owner}", lang)),
        (t("map.facility.beds", lang), row.get("beds")),
        (t("map.facility.district", lang), row.get("district")),
    ]
    lines = []
    for label, value in details:
        if value is None or (isinstance(value, float) and not math.isfinite(value)) or value == "":
            continue
        if isinstance(value, float):
            value = f"{value:,.0f}"
        lines.append(f"{label}: {value}")
    return lines


#: ``pointToLayer`` of facility markers: colour by type, size by level, hollow when illustrative
#: (``i``), double-ringed when a collaborator (``c``).
FACILITY_POINT_JS = JsCode(
    "function(f,latlng){var C="
    + script_json(TYPE_COLOURS)
    + ",R="
    + script_json(LEVEL_RADIUS)
    + ";var p=f.properties,c=C[p.t]||C.other,r=R[p.l]||4;"
    "var o=p.i?{radius:r,color:c,weight:2,dashArray:'3 2',fillColor:'#ffffff',fillOpacity:0.85}"
    ":{radius:r,color:'#ffffff',weight:1,fillColor:c,fillOpacity:0.95};"
    "if(p.c){o.color='#000000';o.weight=3;o.dashArray=null;}"
    "return L.circleMarker(latlng,o);}"
)


#: ``onEachFeature`` binding a tooltip from ``tip`` lines and, when ``more`` lines exist, a popup.
FACILITY_EACH_JS = JsCode(
    "function(f,layer){var p=f.properties;"
    "layer.bindTooltip(function(){return gpLines(p.tip);},{className:'gp-tip'});"
    "if(p.more){layer.bindPopup(function(){return gpLines(p.tip.concat(p.more));},{maxWidth:320});}}"
)


def add_facilities(
    m: PlannerMap,
    facilities: gpd.GeoDataFrame,
    *,
    name: str | None = None,
    legend: bool = True,
    position: str = "bottomright",
    show: bool = True,
) -> DataLayer:
    """Facilities as circle markers in ONE layer: colour by type, size by level, hollow and dashed
    when illustrative (generated, not a real institution). Tooltips and popups are plain-text
    lines (:func:`facility_lines`, :func:`facility_details`) escaped in the browser.
    """
    lang = getattr(m, "lang", DEFAULT_LANGUAGE)
    shown = for_display(facilities, m)
    shown = shown[shown.geometry.notna() & ~shown.geometry.is_empty]
    # Big markers first so small primary-care dots stay visible on top of hospitals.
    order = shown["level"].map({"tertiary": 0, "secondary": 1, "unknown": 2}).fillna(3)
    shown = shown.assign(_o=order.to_numpy()).sort_values("_o", kind="stable")
    records = pd.DataFrame(shown.drop(columns=[shown.geometry.name, "_o"])).to_dict("records")
    props = pd.DataFrame(
        {
            "t": shown["type"].astype(str).to_numpy(),
            "l": shown["level"].astype(str).to_numpy(),
            "i": is_illustrative(shown, part="facility").to_numpy(),
            "tip": [facility_lines(r, lang) for r in records],
            "more": [facility_details(r, lang) for r in records],
        }
    )
    gdf = gpd.GeoDataFrame(props, geometry=shown.geometry.values, crs=4326)
    data = display_geojson(gdf, list(props.columns), tolerance_m=0, precision=6)
    layer = DataLayer(
        data,
        name=name or t("map.facilities.layer", lang),
        show=show,
        point_to_layer=FACILITY_POINT_JS,
        on_each_feature=FACILITY_EACH_JS,
    )
    layer.add_to(m)
    if legend and len(shown):
        add_facility_legend(m, shown, position=position)
    return layer


def add_facility_legend(
    m: PlannerMap, facilities: pd.DataFrame, *, position: str = "bottomright", sources: bool = True
) -> None:
    """Legend for :func:`add_facilities`: the types present, sizes by level and (``sources``)
    real vs illustrative (the plan map says that in its own key)."""
    lang = getattr(m, "lang", DEFAULT_LANGUAGE)
    present_types = [ty for ty in TYPE_COLOURS if ty in set(facilities["type"].astype(str))]
    present_levels = [
        lv
        for lv in ("tertiary", "secondary", "primary")
        if lv in set(facilities["level"].astype(str))
    ]
    rows = [
        (marker_svg(ty, "secondary", False), t(f"vocab.type.{ty}", lang)) for ty in present_types
    ]
    rows += [
        (marker_svg("other", lv, False), t(f"vocab.level.{lv}", lang)) for lv in present_levels
    ]
    present = set(facilities["source"].astype(str)) if "source" in facilities else set()
    if sources:
        rows.append((marker_svg("general", "secondary", False), t("map.facilities.solid", lang)))
        if "illustrative" in present:
            rows.append((marker_svg("general", "secondary", True), t("source.illustrative", lang)))
    add_legend(m, t("map.facilities.legend", lang), rows, position)
