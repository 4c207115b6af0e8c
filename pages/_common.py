"""Shared page plumbing: language, the active layers, the error guard and tables (maps:
:mod:`pages._map`).

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
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from grid_planning.base.i18n import DEFAULT_LANGUAGE, LANGUAGES, t
from grid_planning.base.textsafe import escape_markdown, markdown_params
from grid_planning.city.layers import CityLayers
from grid_planning.city.provenance import city_name_in, load_sample_city
from grid_planning.session.message_bound import bounded_table
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


def city_name(name: object) -> str:
    """A city's name in the page's language: the sample's "武汉市 Wuhan" reads 武汉市 in Chinese and
    Wuhan in English, as in the documents and the CLI (:func:`grid_planning.city.provenance.city_name_in`);
    any other name as it is."""
    return city_name_in(name, lang())


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


def sample_layers() -> CityLayers:
    """The bundled sample city, loaded once per server process (shared through
    :data:`grid_planning.city.provenance.SAMPLE`)."""
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
    figure columns right-aligned, as wide as the page; ``widths`` per header (px or a size word).
    A table over the bound on one message (setting ``max_message_mb``) shows the rows that fit
    and says so (:func:`grid_planning.session.message_bound.bounded_table`)."""
    table, cut = bounded_table(table, lang())
    if cut is not None:
        st.warning(cut)
    config = {h: st.column_config.TextColumn(alignment="right") for h in figures}
    for header, width in (widths or {}).items():
        config[header] = st.column_config.TextColumn(width=width, alignment="right" if header in figures else None)
    st.dataframe(table, hide_index=True, width="stretch", key=key, column_config=config, **kwargs)
