"""Home: the city at a glance — overview map, headline figures, provenance, validation."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from grid_planning.base.cache import content_key
from grid_planning.city.layers import summarise
from grid_planning.city.provenance import provenance_rows
from grid_planning.maps import mapview, overview
from grid_planning.session.ui_state import counts_table, headline_figures, report_table
from pages._common import (
    PAGE_NAMES,
    active_layers,
    city_name,
    ensure_navigation,
    fmt,
    kept,
    lang,
    md_text,
    page_guard,
    tr,
    tr_md,
)
from pages._map import show_map

ensure_navigation(__file__)

SOURCES_MD = Path(__file__).resolve().parents[1] / "sample_data" / "SOURCES.md"


def _tiles_choice() -> tuple[str, str | None]:
    tiles = kept(
        st.selectbox,
        tr("home.map.tiles"),
        options=list(mapview.TILES),
        format_func=fmt("map.tiles."),
        key="home_tiles",
    )
    key = None
    if tiles == "tianditu":
        key = st.text_input(
            tr("home.map.tianditu_key"), type="password", key="tianditu_key"
        ).strip()
        if not key:
            st.info(tr("home.map.tianditu_needed"))
            return "none", None
    st.caption(tr("home.map.online_warning") if tiles != "none" else tr("app.offline_note"))
    return tiles, key


with page_guard():
    layers, is_sample = active_layers()
    summary = summarise(layers)
    st.title(tr("app.title"))
    st.caption(tr_md("home.caption", name=city_name(layers.name)) + " " + tr("app.subtitle"))

    figures = headline_figures(summary, lang())
    for start in (0, 3):  # two rows of three: a city's population needs the width
        for col, (label, value) in zip(st.columns(3), figures[start : start + 3], strict=True):
            col.metric(label, value, border=True)

    if not layers.ok:
        st.error(tr("home.validation.errors", errors=summary["errors"], page=tr(PAGE_NAMES["pages/data.py"])))

    map_col, side_col = st.columns([3, 1])
    with side_col:
        tiles, tianditu_key = _tiles_choice()
        st.markdown(f"**{tr('home.prov.title')}**")
        for line in provenance_rows(layers, lang(), sample=is_sample):
            st.markdown(f"- {line}")
        if is_sample:
            with st.expander(tr("home.prov.sources")):
                if SOURCES_MD.exists():
                    st.markdown(SOURCES_MD.read_text(encoding="utf-8"))
                else:
                    st.caption(tr("home.prov.no_sources"))
    with map_col:
        try:
            mapview.check_tiles(tiles, tianditu_key)
        except ValueError as exc:  # a malformed Tianditu key: say so, show the offline map
            st.warning(md_text(exc))
            tiles, tianditu_key = "none", None
        # Built once per server for a city, language and basemap; every session shares it.
        show_map(
            lambda: overview.city_overview_map(layers, tiles=tiles, tianditu_key=tianditu_key,
                                              lang=lang()),
            key="home_map",
            cache_key=content_key("home", layers.fingerprint(), lang(), tiles, tianditu_key),
        )

    left, right = st.columns(2)
    with left:
        st.subheader(tr("home.counts.title"))
        st.dataframe(counts_table(summary, lang()), hide_index=True, width="stretch")
    with right:
        findings = layers.report.findings
        if findings:
            with st.expander(
                tr("home.validation.title", errors=summary["errors"], warnings=summary["warnings"]),
                expanded=not layers.ok,
            ):
                st.dataframe(report_table(layers.report, lang()), hide_index=True, width="stretch")
        else:
            st.success(tr("home.validation.ok"))
