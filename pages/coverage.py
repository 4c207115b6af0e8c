"""Coverage: minutes from every unit to its lead, to the nearest secondary-or-higher hospital and to
the nearest primary care; 15/30-minute shares (the planner's yardsticks); underserved units;
population-weighted travel-time distributions per grid."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from grid_planning.assess.metrics import travel_distribution, underserved_units
from grid_planning.base.cache import content_key
from grid_planning.base.numfmt import integer, number, percent
from grid_planning.maps import planmap
from grid_planning.session.ui_state import Column, format_table
from pages._common import ensure_navigation, kept, lang, page_guard, show_table, tr
from pages._map import show_map
from pages._ws import fmt, require_plan, workspace

ensure_navigation(__file__)

SHARE_COLUMNS = (
    Column("ws.col.grid", "grid"), Column("ws.cov.lead15", "lead15", "percent"),
    Column("ws.cov.lead30", "lead30", "percent"), Column("ws.cov.sec15", "sec15", "percent"),
    Column("ws.cov.sec30", "sec30", "percent"), Column("ws.cov.pri15", "pri15", "percent"),
)
UNDER_COLUMNS = (
    Column("ws.cov.unit", "unit"), Column("ws.col.grid", "grid_id"),
    Column("ws.col.population", "population", "integer"), Column("ws.cov.minutes", "minutes", "number", 1),
    Column("ws.cov.excess", "excess_min", "number", 1),
)

with page_guard():
    ws = workspace()
    st.title(tr("ws.cov.title"))
    st.caption(tr("ws.yardstick"))
    if require_plan(ws):
        fig = ws.figures(lang())
        column = kept(st.radio, tr("ws.cov.column"), options=planmap.TRAVEL_COLUMNS, horizontal=True,
                      key="cov_column", format_func=fmt("planmap.column."))
        c = fig.city
        kind = {"t_lead": "lead", "t_secondary": "secondary", "t_primary": "primary"}[column]
        mean = {"t_lead": c["mean_travel_min"], "t_secondary": c["mean_secondary_min"],
                "t_primary": c["mean_primary_min"]}[column]
        cols = st.columns(3)
        cols[0].metric(tr("ws.cov.city_mean"), number(mean, 1, lang()))
        cols[1].metric(tr("ws.cov.city_share15"), percent(c[f"share_15_{kind}"], 1, lang()))
        cols[2].metric(tr("ws.cov.city_share30"), percent(c[f"share_30_{kind}"], 1, lang()))

        show_map(
            lambda: planmap.coverage_map(ws.layers, ws.plan, fig.units, column, lang=lang()),
            key="coverage_map", height=560,
            cache_key=content_key("coverage", fig.key, column),
        )

        # Below the map at full width: six columns do not fit beside it.
        st.subheader(tr("ws.cov.shares"))
        g = fig.grids
        ud = fig.units
        rows = []
        for grid, row in g.iterrows():
            sub = ud[ud["grid_id"] == grid]
            w = sub["population"]
            rows.append({
                "grid": f"{grid} · {planmap.short_name(row['lead_name'])}",
                "lead15": row["share_15_lead"], "lead30": row["share_30_lead"],
                "sec15": row["share_15_secondary"], "sec30": row["share_30_secondary"],
                "pri15": float(w[sub["t_primary"] <= 15].sum() / w.sum()) if w.sum() else None,
            })
        rows.append({"grid": tr("ws.cov.city"), "lead15": c["share_15_lead"], "lead30": c["share_30_lead"],
                     "sec15": c["share_15_secondary"], "sec30": c["share_30_secondary"],
                     "pri15": c["share_15_primary"]})
        table, figures = format_table(pd.DataFrame(rows), SHARE_COLUMNS, lang())
        show_table(table, figures, key="cov_shares")
        st.caption(tr("ws.cov.shares_note"))

        st.subheader(tr("ws.cov.under_title"))
        c1, c2 = st.columns([1, 3])
        threshold = kept(c1.number_input, tr("ws.cov.threshold"), min_value=5, max_value=120, step=5,
                         key="cov_threshold", default=30)
        under = underserved_units(fig.units, threshold_min=float(threshold), column=column)
        c2.metric(tr("ws.cov.under_people"), integer(under["population"].sum(), lang()),
                  help=tr("ws.cov.under_help", n=len(under)))
        top = under.head(25).assign(unit=lambda d: d["name"].astype(str) + " · " + d.index.astype(str))
        table, figures = format_table(top, UNDER_COLUMNS, lang())
        # A few seconds over the threshold is over it: never shown as "0.0".
        table[tr("ws.cov.excess")] = ["<" + number(0.1, 1, lang()) if 0 < v < 0.05 else number(v, 1, lang())
                                      for v in top["excess_min"]]
        show_table(table, figures, key="cov_under")

        st.subheader(tr("ws.cov.dist_title"))
        dist = travel_distribution(fig.units, column=column)
        dist["share_pct"] = dist["share"] * 100
        chart = px.bar(dist, x="bin", y="share_pct", color="grid_id", barmode="group",
                       color_discrete_map=planmap.grid_colours(list(g.index)),
                       labels={"bin": tr("ws.cov.dist_x"), "share_pct": tr("ws.cov.dist_y"),
                               "grid_id": tr("ws.col.grid")})
        chart.update_layout(height=380, margin={"l": 10, "r": 10, "t": 10, "b": 10}, legend_title_text=tr("ws.col.grid"))
        st.plotly_chart(chart, width="stretch", key="cov_dist", config={"displaylogo": False})
        st.caption(tr("ws.cov.dist_note"))
