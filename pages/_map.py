"""The map component: a folium map in the page, every asset served locally, clicks sent back.

Why a component of our own rather than ``streamlit_folium.st_folium``
---------------------------------------------------------------------
``st_folium`` renders the whole map on every rerun of every session (folium's templates, then a
pass over every element's script): on the sample city that is most of what a click on the plan
page costs. Its public API takes a map, never a map already rendered, and its component function
is private. Its default for the click counter (``None``) also made every newly drawn map send one
value as soon as it was drawn: one more rerun per map, which under load could land on the next
click and drop that click's button press.

So the front-end of streamlit-folium 0.27.4 (the version requirements.txt pins; MIT licence) is
vendored verbatim in ``static/vendor/streamlit-folium-0.27.4/`` (see ``static/vendor/README.md``)
and declared here with ``streamlit.components.v1.declare_component``; its arguments are built with
streamlit-folium's public functions (``generate_leaflet_string``, ``get_full_id``,
``generate_js_hash``) in st_folium's order, so the browser receives exactly what ``st_folium``
would send (``tests/base/test_cache.py`` compares the two, so an upgrade that changes them fails
there). A map is rendered once per content key for the whole server (:func:`show_map`) and the
click counter starts at 0, as in the browser.

This module stays in ``pages/``: streamlit-folium imports Streamlit, which the library never does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from textwrap import dedent

import folium
import streamlit as st
import streamlit.components.v1 as components
from folium.elements import JSCSSMixin
from streamlit_folium import generate_js_hash, generate_leaflet_string, get_full_id

from grid_planning.base.cache import SharedCache
from grid_planning.maps.mapview import finish
from grid_planning.session.message_bound import map_refusal, text_bytes
from pages._common import lang

#: The vendored front-end (index.html and its script), served by Streamlit's component server.
FRONTEND = Path(__file__).resolve().parents[1] / "static" / "vendor" / "streamlit-folium-0.27.4"
#: The iframe is titled after this name ("pages._map.st_folium"): the browser tests find maps by it.
map_component = components.declare_component("st_folium", path=str(FRONTEND))

#: What the browser sends back about each interaction, and its value before any.
_NOTHING = {
    "last_clicked": None, "last_object_clicked": None,
    # The browser starts counting clicks at 0 and sends its value whenever it differs from this
    # default (see the module docstring).
    "last_object_clicked_count": 0,
    "last_object_clicked_tooltip": None, "last_object_clicked_popup": None,
    "all_drawings": None, "last_active_drawing": None,
    "last_circle_radius": None, "last_circle_polygon": None,
    "selected_layers": None, "selected_tags": None, "last_geocoder_result": None,
}


@dataclass
class MapPayload:
    """A map rendered for the component: what it sends to the browser.

    Rendering is most of a map's cost; the payload is what is kept and shared between sessions.
    """

    script: str
    header: str
    html: str
    map_id: str
    css_links: list[str]
    js_links: list[str]
    bounds: list
    zoom: object
    #: The component key per widget key (a hash over the whole script).
    hashes: dict[str, str] = field(default_factory=dict)


def _header(m: folium.Map, map_id: str) -> str:
    """The map's ``<head>`` additions without the script and stylesheet links (the component
    loads those itself from ``js_links``/``css_links``), with Leaflet's marker image path fixed."""
    header = m.get_root().header.render()
    header = re.sub(r'<script\b[^>]*\bsrc=["\'][^"\']*["\'][^>]*>.*?</script\b[^>]*>', "", header,
                    flags=re.IGNORECASE | re.DOTALL)
    header = re.sub(r'<link rel="stylesheet" href=".*?"/>', "", header)
    header = re.sub(r'(L\.Icon\.Default\.imagePath\s*=\s*["\'])([^"\']*?/dist)(["\'])', r"\1\2/images/\3", header)
    return header.replace(map_id, "map_div")


def _html(m: folium.Map) -> str:
    """The map's ``<body>`` additions without the map's own div (the component has one)."""
    html = m.get_root().html.render()
    return re.sub(r'<div class="folium-map" id=".*" ></div>', "", html).strip()


def _script(m: folium.Map) -> str:
    """Every element's script, with the names the front-end expects (``map_div``, ``drawnItems``)."""
    leaflet = generate_leaflet_string(m).replace("alert(coords);", "")
    leaflet = dedent(re.sub(r"drawnItems_draw_control_div_\d+", "drawnItems", leaflet))
    if "drawnItems" not in leaflet:
        leaflet += "\nvar drawnItems = [];"
    return leaflet


def _assets(m: folium.Map) -> tuple[list[str], list[str]]:
    """The stylesheets and scripts of every element, in tree order, once each."""
    css: list[str] = []
    js: list[str] = []
    stack: list = [m]
    while stack:
        el = stack.pop(0)
        if isinstance(el, JSCSSMixin):
            css += [href for _, href in getattr(el, "default_css", [])]
            js += [src for _, src in getattr(el, "default_js", [])]
        stack[:0] = list(getattr(el, "_children", {}).values())
    return list(dict.fromkeys(css)), list(dict.fromkeys(js))


def render_payload(m: folium.Map) -> MapPayload:
    """What the component sends for ``m`` (as ``st_folium`` computes it), without showing it.

    ``m`` is finished first (layer switcher, local assets)."""
    finish(m)
    m.get_root().render()
    m.render()
    # In st_folium's order: the header and body before the script, whose renaming changes the
    # map's id ("map_<hex>" before, "map_div" after).
    html = _html(m)
    header = _header(m, get_full_id(m))
    script = _script(m)
    map_id = get_full_id(m)
    css, js = _assets(m)
    try:
        bounds = m.get_bounds()
    except AttributeError:
        bounds = [[None, None], [None, None]]
    return MapPayload(script=script, header=header, html=html, map_id=map_id, css_links=css, js_links=js,
                      bounds=bounds, zoom=m.options.get("zoom"))


#: One rendered map per content key for the whole server (the one cache idiom, grid_planning.base.cache).
SHARED_MAPS: SharedCache[MapPayload] = SharedCache(max_entries=48)


def _shared_payload(key: str, build: Callable[[], folium.Map]) -> MapPayload:
    return SHARED_MAPS.get(("map", key), lambda: render_payload(build()))


def clear_shared_maps() -> None:
    """Forget every rendered map of this server (tests; a map's look changed without its key)."""
    SHARED_MAPS.clear()


def show_map(
    m: folium.Map | Callable[[], folium.Map],
    *,
    key: str,
    height: int = 640,
    cache_key: str | None = None,
    returned_objects: Sequence[str] = (),
) -> dict | None:
    """Show a map (every asset served locally) and return what the browser sent back.

    Parameters
    ----------
    m : folium.Map or callable
        The map, or a function building it.
    key : str
        Widget key.
    height : int
        Pixels.
    cache_key : str, optional
        :func:`grid_planning.base.cache.content_key` of everything the map is drawn from. With it, ``m``
        (a function) is called only when no session of this server has shown that map yet; the
        rendered map is shared, so reruns and other sessions cost no map building at all.
    returned_objects : sequence of str
        What the browser sends back on interaction (``st_folium``'s names); nothing by default,
        so panning and zooming cause no rerun.

    Returns
    -------
    dict or None
        The values of ``returned_objects`` (``st_folium``'s return value).
    """
    build = m if callable(m) and not isinstance(m, folium.Map) else (lambda: m)
    payload = _shared_payload(cache_key, build) if cache_key is not None else render_payload(build())
    # A map over the bound on one message (setting max_message_mb) is not sent: the planner reads
    # why and what to do instead of Streamlit's error or a crashed tab.
    returned = list(returned_objects)
    if (refusal := map_refusal(text_bytes(payload.script, payload.header, payload.html), lang())) is not None:
        st.warning(refusal)
        return {k: v for k, v in _NOTHING.items() if k in returned}
    hash_key = payload.hashes.get(key)
    if hash_key is None:
        hash_key = payload.hashes[key] = generate_js_hash(payload.script, key, False)
    (south, west), (north, east) = payload.bounds
    nothing = {**_NOTHING, "zoom": payload.zoom,
               "bounds": {"_southWest": {"lat": south, "lng": west}, "_northEast": {"lat": north, "lng": east}}}

    def on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    return map_component(
        script=payload.script, header=payload.header, html=payload.html, id=payload.map_id,
        key=hash_key, height=height, width=None, returned_objects=returned,
        default={k: v for k, v in nothing.items() if k in returned}, zoom=None, center=None,
        feature_group=None, return_on_hover=False, layer_control=None, pixelated=False,
        css_links=payload.css_links, js_links=payload.js_links, on_change=on_change,
        wrap_longitude=False,
    )
