"""Shared page plumbing: language, the active layers, the error guard and map display.

Everything computed lives in ``grid_planning`` (see ``grid_planning.session.ui_state``); this module only
holds what needs Streamlit: session state, caching and widgets.

A user's text is never Markdown. Streamlit renders titles, captions, ``st.markdown``, alerts
(``st.error`` ...), metric and expander labels, radio options and tooltips (``help``) as Markdown,
so text that holds names, ids or reasons goes there through :func:`tr_md` (a catalogue message
with its parameters escaped) or :func:`md_text` (any text, e.g. a library's message). Plain-text
places (select box and multiselect options, data frames) take the text as it is.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import folium
import pandas as pd
import streamlit as st
import streamlit_folium as sf
from folium.elements import JSCSSMixin

from grid_planning.base.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from grid_planning.base.textsafe import escape_markdown, markdown_params
from grid_planning.city.layers import CityLayers
from grid_planning.city.provenance import load_sample_city
from grid_planning.maps.mapview import finish
from grid_planning.session.ui_state import keep_widget, remember_widget

log = logging.getLogger("grid_planner")

#: Session-state keys shared by the pages (one place, so pages agree on them).
LANG = "lang"
#: "sample" or "uploaded": which data every page uses. A plain session key, not a widget's: Streamlit
#: deletes a widget's state when a page that does not draw it runs (see ui_state.seed_widget).
DATA_CHOICE = "data_choice"
#: grid_planning.session.ui_state.UploadResult of the last upload that validated (the uploaded city that
#: can be in use). A refused upload never replaces it: it is kept under LAST_CHECK only.
UPLOAD_RESULT = "upload_result"
LAST_CHECK = "upload_last_check"  # the UploadResult of the last validation, accepted or refused
#: Menu title keys of the pages other pages send the planner to: a text naming a page takes its
#: name from here, so it always reads as the menu does (app.py PAGES uses the same keys; a test
#: keeps them equal).
PAGE_NAMES = {
    "pages/plan.py": "ws.nav.plan",
    "pages/data.py": "app.nav.data",
    "pages/scenarios.py": "team.nav",
}
APP_RAN = "_app_ran"  # set by app.py on every run: the page runs inside its navigation
REDIRECT = "_redirect_to"  # page to return to once app.py has built the navigation


_T = TypeVar("_T")
_UNSET: Any = object()


def kept(widget: Callable[..., _T], label: str, *, key: str, default: Any = _UNSET, **kwargs: Any) -> _T:
    """Draw ``widget`` (``st.selectbox``, ``column.radio``, ``st.sidebar.slider`` ...) so that its
    value survives page changes and the language switch.

    The value the planner chose is recorded after every draw and written back into the widget
    whenever Streamlit dropped it or relabelled its options (:func:`grid_planning.session.ui_state.seed_widget`).
    ``default`` is the first value (else the widget's own default); do not pass ``value``/``index``
    as well (Streamlit warns when a widget gets both).
    """
    if default is _UNSET:
        keep_widget(st.session_state, key, lang=lang())
    else:
        keep_widget(st.session_state, key, lang=lang(), default=default)
    value = widget(label, key=key, **kwargs)
    remember_widget(st.session_state, key, value, lang=lang())
    return value


def lang() -> str:
    """The language chosen in the sidebar (Chinese by default)."""
    value = st.session_state.get(LANG, DEFAULT_LANGUAGE)
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def tr(key: str, **params: object) -> str:
    """Translate ``key`` into the session's language."""
    return t(key, lang(), **params)


def fmt(prefix: str, *, none_key: str | None = None) -> Callable[[object], str]:
    """A ``format_func`` translating ``prefix + value``, with the language fixed now.

    Streamlit may call a ``format_func`` outside the script run (AppTest does), where the session
    language cannot be read; binding it at widget creation keeps labels in the chosen language.
    """
    lng = lang()

    def format_value(value: object) -> str:
        if value is None and none_key:
            return t(none_key, lng)
        return t(f"{prefix}{value}", lng)

    return format_value


def tr_md(key: str, **params: object) -> str:
    """:func:`tr` for a Markdown element: the catalogue's wording as written, every parameter
    (name, id, reason, number) shown exactly as typed, never as a link, image or emphasis."""
    return t(key, lang(), **markdown_params(params))


def md_text(text: object) -> str | None:
    """Any text (a name, a library's message) for a Markdown element, shown as typed;
    ``None`` stays ``None`` (e.g. no ``help`` tooltip)."""
    return None if text is None else escape_markdown(text)


def ensure_navigation(page_file: str) -> None:
    """Make sure a page runs inside ``app.py``'s navigation, never on its own.

    On a fresh server, Streamlit answers a first request for ``/plan`` (a bookmark, a tab reloaded
    after a restart) from its older ``pages/`` folder convention and runs the page file alone:
    no navigation sections, no language switch, no wide layout, for every session until someone
    opens ``/``. Such a run goes through ``app.py`` first, which registers the navigation for the
    whole server, and then comes back to the page asked for.
    """
    if st.session_state.get(APP_RAN):
        return
    st.session_state[REDIRECT] = f"pages/{Path(page_file).name}"
    st.switch_page("app.py")


@contextlib.contextmanager
def page_guard() -> Iterator[None]:
    """Run a page body; an unexpected exception becomes a friendly message, never a traceback.

    Streamlit's own control flow (rerun, stop, switch_page) derives from BaseException and passes
    through untouched.
    """
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - last line of defence for the planner
        log.exception("page failed")
        st.error(tr_md("app.error", detail=f"{type(exc).__name__}: {exc}"))


@st.cache_resource(show_spinner=False)
def sample_layers() -> CityLayers:
    """The bundled sample city, loaded once per server process."""
    return load_sample_city()


def active_layers() -> tuple[CityLayers, bool]:
    """The layers in use and whether they are the sample city.

    Uploaded layers are used only when the user chose them and they validated without errors.
    """
    result = st.session_state.get(UPLOAD_RESULT)
    if st.session_state.get(DATA_CHOICE) == "uploaded" and result is not None and result.usable:
        return result.layers, False
    return sample_layers(), True


def show_table(
    table: pd.DataFrame,
    figures: Sequence[str] = (),
    *,
    key: str | None = None,
    widths: Mapping[str, str | int] | None = None,
    **kwargs: Any,
) -> None:
    """A table whose cells are already formatted text (:func:`grid_planning.session.ui_state.format_table`):
    figure columns right-aligned, as wide as the page; ``widths`` per header (px or a size word)."""
    config = {h: st.column_config.TextColumn(alignment="right") for h in figures}
    for header, width in (widths or {}).items():
        config[header] = st.column_config.TextColumn(width=width, alignment="right" if header in figures else None)
    st.dataframe(table, hide_index=True, width="stretch", key=key, column_config=config, **kwargs)


@dataclass
class MapPayload:
    """A map rendered for the ``st_folium`` component: what it sends to the browser.

    Rendering (folium's templates, then streamlit-folium's pass over every element's script) is
    most of a map's cost; the payload is what is kept and shared between sessions.
    """

    script: str
    header: str
    html: str
    map_id: str
    css_links: list[str]
    js_links: list[str]
    bounds: list
    zoom: object
    #: streamlit-folium's component key per widget key (a hash over the whole script).
    hashes: dict[str, str] = field(default_factory=dict)


def render_payload(m: folium.Map) -> MapPayload:
    """What :func:`streamlit_folium.st_folium` sends for ``m``, computed the same way (its own
    functions, in its order), without showing it. ``m`` is finished first (layer switcher,
    local assets)."""
    finish(m)
    m.get_root().render()
    m.render()
    html = sf._get_html(m)
    header = sf._get_header(m)
    script = sf._get_map_string(m)
    css: list[str] = []
    js: list[str] = []
    stack = [m]
    while stack:  # st_folium's walk: the assets of every element, in tree order
        el = stack.pop(0)
        if isinstance(el, JSCSSMixin):
            css += [href for _, href in getattr(el, "default_css", [])]
            js += [src for _, src in getattr(el, "default_js", [])]
        stack[:0] = list(getattr(el, "_children", {}).values())
    try:
        bounds = m.get_bounds()
    except AttributeError:
        bounds = [[None, None], [None, None]]
    return MapPayload(script=script, header=header, html=html, map_id=sf.get_full_id(m),
                      css_links=list(dict.fromkeys(css)), js_links=list(dict.fromkeys(js)),
                      bounds=bounds, zoom=m.options.get("zoom"))


@st.cache_resource(show_spinner=False, max_entries=48)
def _shared_payload(key: str, _build: Callable[[], folium.Map]) -> MapPayload:
    """One rendered map per content key for the whole server (see grid_planning.base.cache)."""
    return render_payload(_build())


def show_map(
    m: folium.Map | Callable[[], folium.Map],
    *,
    key: str,
    height: int = 640,
    cache_key: str | None = None,
    returned_objects: Sequence[str] = (),
) -> dict | None:
    """Show a map (every asset served locally) and return what ``st_folium`` returns.

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
    """
    build = m if callable(m) and not isinstance(m, folium.Map) else (lambda: m)
    if cache_key is not None:
        payload = _shared_payload(cache_key, build)
    else:
        payload = render_payload(build())
    returned = list(returned_objects)
    hash_key = payload.hashes.get(key)
    if hash_key is None:
        hash_key = payload.hashes[key] = sf.generate_js_hash(payload.script, key, False)
    bounds = payload.bounds
    # The browser starts counting clicks at 0 and sends its value whenever it differs from this
    # default: st_folium's own default (None) made every newly drawn map send one value as soon as
    # it was drawn, i.e. one more rerun per map, which under load could land on the next click
    # and drop that click's button press.
    defaults = {
        "last_clicked": None, "last_object_clicked": None, "last_object_clicked_count": 0,
        "last_object_clicked_tooltip": None, "last_object_clicked_popup": None,
        "all_drawings": None, "last_active_drawing": None,
        "bounds": {"_southWest": {"lat": bounds[0][0], "lng": bounds[0][1]},
                   "_northEast": {"lat": bounds[1][0], "lng": bounds[1][1]}},
        "zoom": payload.zoom, "last_circle_radius": None, "last_circle_polygon": None,
        "selected_layers": None, "selected_tags": None, "last_geocoder_result": None,
    }

    def on_change() -> None:
        st.session_state[key] = st.session_state.get(hash_key, {})

    return sf._component_func(
        script=payload.script, header=payload.header, html=payload.html, id=payload.map_id,
        key=hash_key, height=height, width=None, returned_objects=returned,
        default={k: v for k, v in defaults.items() if k in returned}, zoom=None, center=None,
        feature_group=None, return_on_hover=False, layer_control=None, pixelated=False,
        css_links=payload.css_links, js_links=payload.js_links, on_change=on_change,
        wrap_longitude=False,
    )
