"""Coverage: minutes from every unit to its lead, to the nearest secondary-or-higher hospital and to
the nearest primary care; 15/30-minute shares (the planner's yardsticks); underserved units;
population-weighted travel-time distributions per grid."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from grid_planning.base.cache import content_key
from grid_planning.base.numfmt import integer, number, percent
from grid_planning.maps import planmap
from grid_planning.session import coverage_page as cp
from grid_planning.session.ui_state import format_table
from pages._common import ensure_navigation, kept, lang, page_guard, show_table, tr
from pages._map import show_map
from pages._ws import fmt, require_plan, workspace

ensure_navigation(__file__)

with page_guard():
    ws = workspace()
    st.title(tr("ws.cov.title"))
    st.caption(tr("ws.yardstick"))
    if require_plan(ws):
        fig = ws.figures(lang())
        column = kept(st.radio, tr("ws.cov.column"), options=planmap.TRAVEL_COLUMNS, horizontal=True,
                      key="cov_column", format_func=fmt("planmap.column."))
        mean, share15, share30 = cp.city_travel(fig, column)
        cols = st.columns(3)
        cols[0].metric(tr("ws.cov.city_mean"), number(mean, 1, lang()))
        cols[1].metric(tr("ws.cov.city_share15"), percent(share15, 1, lang()))
        cols[2].metric(tr("ws.cov.city_share30"), percent(share30, 1, lang()))

        show_map(
            lambda: planmap.coverage_map(ws.layers, ws.plan, fig.units, column, lang=lang()),
            key="coverage_map", height=560,
            cache_key=content_key("coverage", fig.key, column),
        )

        # Below the map at full width: six columns do not fit beside it.
        st.subheader(tr("ws.cov.shares"))
        table, figures = format_table(cp.share_rows(fig, tr("ws.cov.city")), cp.SHARE_COLUMNS, lang())
        show_table(table, figures, key="cov_shares")
        st.caption(tr("ws.cov.shares_note"))

        st.subheader(tr("ws.cov.under_title"))
        c1, c2 = st.columns([1, 3])
        threshold = kept(c1.number_input, tr("ws.cov.threshold"), min_value=5, max_value=120, step=5,
                         key="cov_threshold", default=30)
        under, top = cp.underserved(fig, threshold, column)
        c2.metric(tr("ws.cov.under_people"), integer(under["population"].sum(), lang()),
                  help=tr("ws.cov.under_help", n=len(under)))
        table, figures = format_table(top, cp.UNDER_COLUMNS, lang())
        table[tr("ws.cov.excess")] = cp.excess_texts(top["excess_min"], lang())
        show_table(table, figures, key="cov_under")

        st.subheader(tr("ws.cov.dist_title"))
        dist = cp.distribution(fig, column)
        chart = px.bar(dist, x="bin", y="share_pct", color="grid_id", barmode="group",
                       color_discrete_map=planmap.grid_colours(list(fig.grids.index)),
                       labels={"bin": tr("ws.cov.dist_x"), "share_pct": tr("ws.cov.dist_y"),
                               "grid_id": tr("ws.col.grid")})
        chart.update_layout(height=380, margin={"l": 10, "r": 10, "t": 10, "b": 10}, legend_title_text=tr("ws.col.grid"))
        st.plotly_chart(chart, width="stretch", key="cov_dist", config={"displaylogo": False})
        st.caption(tr("ws.cov.dist_note"))
