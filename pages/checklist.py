"""Checklist: the 15 evaluation criteria per grid — spatial ones evaluated from the plan, the others
recorded by the planner (status and note), kept with the plan and saved with the scenario."""

from __future__ import annotations

import streamlit as st

from grid_planning.assess.checklist import CRITERIA, RECORD_STATUSES, checklist_table
from grid_planning.base.config import text_limit
from grid_planning.session.page_tables import checklist_counts, checklist_rows
from pages._common import ensure_navigation, kept, lang, page_guard, tr, tr_md
from pages._ws import action, fmt, require_plan, scenario_panel, workspace

ensure_navigation(__file__)

with page_guard():
    ws = workspace()
    st.title(tr("ws.chk.title"))
    st.caption(tr("ws.chk.caption"))
    if require_plan(ws):
        table = checklist_table(ws.layers, ws.plan, ws.costs(), lang=lang())
        grids = list(ws.plan.grid_ids)
        names = ws.figures(lang()).grids["lead_name"].to_dict()
        grid = kept(st.selectbox, tr("ws.col.grid"), options=grids, key="chk_grid",
                    format_func=lambda g: f"{g} · {names.get(g, '')}")
        counts = checklist_counts(table, ws.plan, grid)
        cols = st.columns(3)
        cols[0].metric(tr("ws.chk.spatial_met"), f"{counts.spatial_met}/{counts.spatial}")
        cols[1].metric(tr("ws.chk.recorded_done"), f"{counts.recorded_done}/{counts.recorded}")
        cols[2].metric(tr("ws.chk.recorded_any"), counts.records)
        shown = checklist_rows(table, grid, lang())
        # A wrapping table (issue 16): a data grid at 1366-1440 px hid the detail column and cut the
        # criterion; here every column is on screen and long texts wrap.
        st.table(shown.set_index("#"))

        st.subheader(tr("ws.chk.record_title"))
        items = [c.number for c in CRITERIA if not c.spatial]
        texts = {c.number: c.text(lang()) for c in CRITERIA}
        with st.form("chk_form"):
            item = st.selectbox(tr("ws.chk.item"), items, format_func=texts.get, key="chk_item")
            status = st.selectbox(tr("ws.chk.status"), list(RECORD_STATUSES), key="chk_status",
                                  format_func=fmt("plan.checklist.status."))
            note = st.text_area(tr("ws.chk.note"), key="chk_note", height=80, max_chars=text_limit("max_checklist_note_chars"))
            if st.form_submit_button(tr("ws.chk.save_record")):
                with action():
                    ws.record(ws.plan.lead_of(grid), int(item), status, note)
                    st.session_state["chk_done"] = tr_md("ws.chk.recorded_ok", item=int(item), grid=grid)
                    st.rerun()
        if st.session_state.get("chk_done"):
            st.success(st.session_state.pop("chk_done"))
        st.caption(tr("ws.chk.keep_note"))
        st.subheader(tr("ws.tab.scenarios"))
        scenario_panel(ws, key="chk_scen")
