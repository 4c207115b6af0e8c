"""What a click on the plan map hit (a facility, a unit, or nothing), and the name a facility is listed under, with the tags a planner must not miss.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from grid_planning.base.i18n import t
from grid_planning.base.textsafe import display_text
from grid_planning.domain.rules import is_illustrative
from grid_planning.session.workspace import Workspace


# ---- map clicks and labels ----------------------------------------------------------------------
@dataclass(frozen=True)
class Click:
    """What a click on the plan map hit.

    Attributes
    ----------
    kind : {"facility", "unit", "none"}
    id : str or None
        The facility or unit id.
    lon, lat : float or None
        Where the map was clicked (for placing a planned hospital).
    """

    kind: str
    id: str | None = None
    lon: float | None = None
    lat: float | None = None


def interpret_click(ws: Workspace, returned: Mapping[str, Any] | None) -> Click:
    """Turn what the map component returned after a click (``pages._map.show_map``, the values
    ``st_folium`` returns) into a :class:`Click`.

    ``last_active_drawing`` is the GeoJSON of the clicked feature: a point is a facility (member
    markers carry their ``id``; lead markers are matched by position), a polygon with an ``id`` is
    a unit. Otherwise the click position (``last_clicked``) is looked up in the units.
    """
    if not returned:
        return Click("none")
    pos = returned.get("last_clicked") or returned.get("last_object_clicked") or {}
    lon = pos.get("lng") if isinstance(pos, Mapping) else None
    lat = pos.get("lat") if isinstance(pos, Mapping) else None
    feature = returned.get("last_active_drawing") or {}
    geom = feature.get("geometry") or {} if isinstance(feature, Mapping) else {}
    props = feature.get("properties") or {} if isinstance(feature, Mapping) else {}
    if geom.get("type") == "Point":
        fid = props.get("fid") or props.get("id")
        if fid is None:
            x, y = geom.get("coordinates", [None, None])[:2]
            fid = ws.facility_at(x, y, tolerance_m=25.0) if x is not None else None
        if fid is not None:
            return Click("facility", str(fid), lon, lat)
    if props.get("id") is not None and geom.get("type") in ("Polygon", "MultiPolygon"):
        return Click("unit", str(props["id"]), lon, lat)
    if lon is not None and lat is not None:
        uid = ws.unit_at(lon, lat)
        return Click("unit" if uid else "none", uid, float(lon), float(lat))
    return Click("none")


def facility_label(row: Mapping[str, Any], lang: str = "zh") -> str:
    """A facility's name for lists, with what the planner must not miss: illustrative data,
    an assumed level, a planned (what-if) facility. The name follows the rule of every label
    (:func:`~grid_planning.base.textsafe.display_text`): select boxes and the members table show
    no right-to-left override, escape sequence or control character."""
    name = display_text(row.get("name", row.get("id", "")))
    tags = []
    if is_illustrative(row, part="facility"):
        tags.append(t("workspace.tag.illustrative", lang))
    if str(row.get("source", "")) in ("planned", "what_if"):
        tags.append(t("workspace.tag.planned", lang))
    if str(row.get("level_source", "")) == "assumed":
        tags.append(t("workspace.tag.assumed", lang))
    elif str(row.get("level_source", "")) == "what_if":
        tags.append(t("workspace.tag.what_if_level", lang))
    return name + (f"（{'，'.join(tags)}）" if lang == "zh" and tags else f" ({', '.join(tags)})" if tags else "")
