"""Members: who belongs to each medical group — lead, members by type, primary care, cross-grid
institutions, collaborators — with beds, counts, the lead's obligations, and validated role changes."""

from __future__ import annotations

import streamlit as st

from grid_planning.assess.roster import grid_roster, lead_obligations, roster_table
from grid_planning.base.i18n import source_text
from grid_planning.base.numfmt import integer, number
from grid_planning.domain import schema
from grid_planning.domain.rules import is_illustrative
from grid_planning.exports.planfile import column_headers
from grid_planning.session.mapclicks import facility_label
from grid_planning.session.page_tables import (
    exception_text,
    member_records_table,
    role_options,
    sent_down_text,
)
from pages._common import ensure_navigation, kept, lang, md_text, page_guard, show_table, tr, tr_md
from pages._ws import action, fmt, require_plan, workspace

ensure_navigation(__file__)


def _beds(v: object) -> str:
    return integer(v, lang())


def _section(title: str, records: list[dict], key: str, *, with_supports: bool = False) -> None:
    st.markdown(f"**{title}** ({len(records)})")
    if records:
        # A wrapping table (issue 16): a data grid at 1366-1440 px hid the last columns. Long rosters
        # scroll down inside a box; every column stays on screen.
        table = member_records_table(records, lang(), with_supports=with_supports)
        box = st.container(height=420, key=key) if len(table) > 10 else st.container(key=key)
        box.table(table.set_index(tr("ws.mem.name")))
    else:
        st.caption(tr("ws.mem.none"))


with page_guard():
    ws = workspace()
    st.title(tr("ws.mem.title"))
    st.caption(tr("ws.mem.caption"))
    if require_plan(ws):
        rosters = grid_roster(ws.layers, ws.plan)
        fig = ws.figures(lang())
        grids = list(rosters)
        grid = kept(st.selectbox, tr("ws.col.grid"), options=grids, key="mem_grid",
                            format_func=lambda g: f"{g} · {rosters[g]['lead']['name']}")
        ros = rosters[grid]
        counts = ros["counts"]
        cols = st.columns(6)
        cols[0].metric(tr("ws.col.population"), integer(fig.grids.at[grid, "population_shown"], lang()))
        # Beds resting on generated data say so (the sample city has no bed counts).
        illustrative = tr("home.metric.illustrative_suffix") if fig.grids.at[grid, "beds_illustrative_share"] > 0 else ""
        cols[1].metric(tr("ws.col.beds") + illustrative, _beds(ros["beds"]))
        cols[2].metric(tr("ws.col.beds_per_1000") + illustrative, number(fig.grids.at[grid, "beds_per_1000"], 2, lang()))
        cols[3].metric(tr("plan.role.member"), counts["member"])
        cols[4].metric(tr("plan.role.primary"), counts["primary"])
        cols[5].metric(tr("plan.role.collaborator"), counts["collaborator"])

        lead = ros["lead"]
        st.subheader(tr("ws.mem.lead"))
        lead_level = tr("vocab.level." + str(lead["level"]))
        lead_type = tr("vocab.type." + str(lead["type"]))
        lead_owner = tr("vocab.owner." + str(lead["owner_level"]))
        st.markdown(f"**{md_text(facility_label(lead, lang()))}** · {lead_level} · {lead_type} · {lead_owner} · "
                    f"{tr('ws.col.beds')} {_beds(lead.get('beds'))}")
        if lead.get("level_source") == "assumed":
            st.warning(tr("ws.mem.assumed_lead"))
        table = roster_table(ws.layers, ws.plan, lang=lang())
        # the roster's exception column, as the CSV/XLSX roster says it (a designation or a what-if)
        exc_text = exception_text(table, lead["id"])
        if exc_text:
            st.info(md_text(exc_text))

        ob = lead_obligations(ws.layers, ws.plan).set_index("grid_id").loc[grid]
        st.markdown(f"**{tr('ws.mem.obligations')}**")
        if ob["capacity_source"] == "unknown":
            st.caption(tr("ws.mem.ob_unknown"))
        else:
            c1, c2 = st.columns(2)
            c1.metric(tr("ws.mem.ob_beds", beds=_beds(ob["beds"])), _beds(ob["beds_to_primary"]))
            c2.metric(tr("ws.mem.ob_slots", slots=_beds(ob["outpatient_slots"])), _beds(ob["slots_to_primary"]))
            if is_illustrative(ob):
                st.warning(tr("ws.mem.ob_illustrative"))
            else:
                st.caption(tr_md("ws.mem.ob_source", source=source_text(ob["capacity_source"], lang())))
        st.caption(sent_down_text(ob, lang()))

        st.subheader(tr("ws.mem.roster"))
        for type_, recs in sorted(ros["members"].items()):
            _section(tr("ws.mem.members_of", type=tr(f"vocab.type.{type_}")), recs, key=f"mem_m_{type_}")
        if not ros["members"]:
            _section(tr("plan.role.member"), [], key="mem_m_none")
        _section(tr("plan.role.primary"), ros["primary"], key="mem_primary")
        _section(tr("ws.mem.cross_home"), ros["cross_grid"], key="mem_cross", with_supports=True)
        _section(tr("ws.mem.serving"), ros["serving"], key="mem_serving", with_supports=True)
        _section(tr("ws.mem.collaborators"), ros["collaborators"], key="mem_collab", with_supports=True)
        if ros["outside"]:
            _section(tr("ws.mem.outside"), ros["outside"], key="mem_outside")

        st.subheader(tr("ws.mem.change_title"))
        st.caption(tr("ws.mem.change_caption"))
        options = role_options(table, lang())
        with st.form("role_form"):
            fid = st.selectbox(tr("ws.mem.facility"), list(options), format_func=options.get, index=None, placeholder=tr("ws.choose"), key="role_fid")
            role = st.selectbox(tr("ws.mem.new_role"), list(schema.ROLES), format_func=fmt("plan.role."),
                                key="role_new")
            reason = st.text_input(tr("ws.mem.reason"), key="role_reason", help=tr("ws.mem.reason_help"))
            if st.form_submit_button(tr("ws.mem.apply")):
                if not fid:
                    st.error(tr("ws.whatif.pick_facility"))
                else:
                    with action():
                        ws.change_role(fid, role, reason=reason or None)
                        st.session_state["role_done"] = tr_md("ws.mem.changed", name=options[fid],
                                                              role=tr(f"plan.role.{role}"))
                        st.rerun()
        if st.session_state.get("role_done"):
            st.success(st.session_state.pop("role_done"))
        with st.expander(tr("ws.mem.all")):
            show_table(column_headers(table, lang()), key="mem_all")
