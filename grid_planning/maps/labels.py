"""Names on the dashboard maps: the zoom from which each label has room (so district names never overlap), and the labels drawn as text that carries a user's name only as data.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence

import folium
from folium.utilities import JsCode

from grid_planning.base.textsafe import script_json
from grid_planning.maps.mapelements import DataLayer, add_script

#: Zoom levels at which labels are laid out (a city opens at about 8-10).
LABEL_ZOOMS: tuple[int, ...] = tuple(range(4, 19))


#: Label font size (px) and the clear margin kept around each label (px), as in ``.gp-label``.
LABEL_FONT_PX = 13.0


LABEL_MARGIN_PX = 4.0


def _text_px(text: str, font_px: float) -> float:
    """Approximate rendered width: CJK and full-width characters one em, others 0.6 em."""
    return sum(font_px if unicodedata.east_asian_width(c) in "WF" else 0.6 * font_px for c in text)


def _world_px(lon: float, lat: float, zoom: int) -> tuple[float, float]:
    """Web Mercator pixel coordinates of a WGS84 point at ``zoom`` (256 px tiles)."""
    scale = 256.0 * 2.0**zoom
    lat = max(min(lat, 85.05112878), -85.05112878)
    y = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    return (lon + 180.0) / 360.0 * scale, (1.0 - y / math.pi) / 2.0 * scale


def label_min_zooms(
    points: Sequence[tuple[float, float, str]],
    priority: Sequence[float] | None = None,
    *,
    font_px: float = LABEL_FONT_PX,
    margin_px: float = LABEL_MARGIN_PX,
    zooms: Sequence[int] = LABEL_ZOOMS,
) -> list[int]:
    """The lowest zoom at which each centred label can be shown without overlapping another.

    Labels are placed greedily, zoom by zoom from the widest view, in order of ``priority``
    (highest first; e.g. district area): a label is shown from the first zoom at which its box
    clears every label already shown there. Distances double with each zoom while labels keep
    their size, so a label shown at one zoom stays clear at every closer one.

    Parameters
    ----------
    points : sequence of (lon, lat, text)
        WGS84 (display) coordinates of the label centres and their text.
    priority : sequence of float, optional
        Larger first (default: the order given).
    font_px, margin_px : float
        Label size: width from the text at ``font_px``, height 1.3 ``font_px``; ``margin_px``
        kept clear around each.
    zooms : sequence of int
        Zoom levels tried, widest first; a label that never clears gets the last one.

    Returns
    -------
    list of int
        Minimum zoom per label, in the order of ``points``.
    """
    n = len(points)
    order = list(range(n)) if priority is None else sorted(range(n), key=lambda i: -float(priority[i]))
    half = [(_text_px(str(text), font_px) / 2 + margin_px, 0.65 * font_px + margin_px)
            for _, _, text in points]
    least: list[int | None] = [None] * n
    for zoom in zooms:
        xy = [_world_px(float(lon), float(lat), zoom) for lon, lat, _ in points]
        shown = [i for i in range(n) if least[i] is not None]
        for i in order:
            if least[i] is not None:
                continue
            clear = all(
                abs(xy[i][0] - xy[j][0]) >= half[i][0] + half[j][0]
                or abs(xy[i][1] - xy[j][1]) >= half[i][1] + half[j][1]
                for j in shown
            )
            if clear:
                least[i] = zoom
                shown.append(i)
    return [z if z is not None else zooms[-1] for z in least]


#: Shows a label (a marker with the ``gpMinZoom`` option) only from its minimum zoom on.
_LABEL_ZOOM_JS = (
    "(function(map){function show(l){if(l.options&&l.options.gpMinZoom!==undefined&&l.setOpacity){"
    "l.setOpacity(map.getZoom()>=l.options.gpMinZoom?1:0);}}"
    "function all(){map.eachLayer(show);}"
    "map.on('zoomend',all);map.on('layeradd',function(e){if(map._loaded){show(e.layer);}});"
    "map.whenReady(all);})(map);"
)


def add_label_zoom_script(m: folium.Map) -> None:
    """Make labels drawn with ``min_zooms`` (:func:`add_labels`) appear from their zoom on
    (once per map)."""
    if getattr(m, "_gp_label_zoom", False):
        return
    m._gp_label_zoom = True
    add_script(m, _LABEL_ZOOM_JS)


#: The two kinds of map label: district names (plain) and grid names (on a white box).
_LABEL_DIVS = {
    "plain": "<div>",
    "boxed": "<div style='font-size:14px;background:rgba(255,255,255,.75);padding:1px 4px;"
    "border-radius:3px;white-space:nowrap;display:inline-block;transform:translate(-50%,-50%)'>",
}


def add_labels(
    parent: folium.Map | folium.FeatureGroup,
    points: Iterable[tuple[float, float, str]],
    *,
    name: str | None = None,
    style: str = "plain",
    control: bool = True,
    z_index_offset: int = 0,
    min_zooms: Sequence[int] | None = None,
) -> DataLayer:
    """Text labels centred on points, as ONE layer; the text is set HTML-escaped in the browser.

    Parameters
    ----------
    parent : folium.Map or folium.FeatureGroup
    points : iterable of (lon, lat, text)
        Display coordinates (already shifted for a GCJ-02 map) and the label text (any text).
    name : str, optional
        Name in the layer switcher.
    style : {"plain", "boxed"}
        District-style text, or a grid label on a white box.
    control : bool
        List the layer in the layer switcher.
    z_index_offset : int
        Raise the labels above markers (Leaflet ``zIndexOffset``).
    min_zooms : sequence of int, optional
        Per label, the zoom from which it shows (:func:`label_min_zooms`); needs
        :func:`add_label_zoom_script` on the map. Default: always shown.

    Returns
    -------
    DataLayer
    """
    points = list(points)
    zooms = list(min_zooms) if min_zooms is not None else [None] * len(points)
    features = [
        {
            "type": "Feature",
            "properties": {"t": str(text)} if z is None else {"t": str(text), "z": int(z)},
            "geometry": {"type": "Point", "coordinates": [round(float(x), 6), round(float(y), 6)]},
        }
        for (x, y, text), z in zip(points, zooms, strict=True)
        if math.isfinite(float(x)) and math.isfinite(float(y))
    ]
    point = JsCode(
        "function(f,ll){return L.marker(ll,{icon:L.divIcon({html:"
        + script_json(_LABEL_DIVS[style])
        + "+gpText(f.properties.t)+'</div>',className:'gp-label',iconSize:[0,0]}),"
        "interactive:false,gpMinZoom:f.properties.z,zIndexOffset:" + script_json(int(z_index_offset)) + "});}"
    )
    layer = DataLayer(
        {"type": "FeatureCollection", "features": features},
        name=name,
        control=control,
        point_to_layer=point,
        interactive=False,
    )
    layer.add_to(parent)
    return layer
