"""The plan page's tabs under the figures: hand edits, what-if facilities, G9 factors, export.

Widgets and session state only; the lists, labels and the planned hospital's starting position
come from :mod:`grid_planning.session.plan_page`.
"""

from __future__ import annotations

import streamlit as st

from grid_planning.assess.metrics import Figures
from grid_planning.domain import schema
from grid_planning.domain.request import PlanResult
from grid_planning.exports.formats import FORMATS, PAPER_FORMATS
from grid_planning.prints.paper import ORIENTATIONS, PAPER_MM
from grid_planning.session import plan_page as pp
from grid_planning.session.workspace import Workspace
from pages._common import kept, lang, md_text, show_table, tr, tr_md
from pages._plan_side import INFEASIBLE, run
from pages._ws import action, fmt

PLACED = "place_lonlat"  # where the planner clicked the map to place a planned hospital


def hand_edits(ws: Workspace, fig: Figures) -> None:
    """Pick units (the map's selection plus a search), move them to a grid, lock, unlock."""
    # Offer the selection plus the units matching a search, not all units: thousands of options
    # would be sent to the browser on every rerun and slow down every re-plan.
    query = st.text_input(tr("ws.edit.search"), key="edit_search", placeholder=tr("ws.edit.search_hint"))
    labels = ws.unit_choices(query, limit=pp.UNIT_CHOICES)
    chosen = st.multiselect(tr("ws.edit.pick"), options=list(labels), format_func=labels.get,
                            default=list(ws.selection), placeholder=tr("ws.choose"),
                            key=f"edit_pick_{ws.revision}_{hash(ws.selection)}_{query}")
    if tuple(chosen) != ws.selection:
        ws.select(chosen)
    if ws.selection:
        st.caption(tr_md("ws.edit.selected", **pp.selection_summary(fig, ws.selection)))
    c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1, 1])
    target = c1.selectbox(tr("ws.edit.target"), ws.plan.grid_ids, key="edit_target",
                          format_func=lambda g: pp.grid_label(fig, g))
    if c2.button(tr("ws.edit.move"), key="edit_move", disabled=not ws.selection):
        with action():
            ws.move(target)
            st.rerun()
    if c3.button(tr("ws.edit.lock"), key="edit_lock", disabled=not ws.selection):
        with action():
            ws.lock()
            st.rerun()
    if c4.button(tr("ws.edit.unlock"), key="edit_unlock", disabled=not ws.selection):
        with action():
            ws.unlock()
            st.rerun()
    if c5.button(tr("ws.edit.clear"), key="edit_clear", disabled=not ws.selection):
        ws.clear_selection()
        st.rerun()
    if ws.plan.locks:
        st.caption(tr("ws.edit.locks", n=len(ws.plan.locks)))


def after_edit(result: PlanResult | None) -> None:
    """Keep the refusal of a what-if re-plan (or clear the last one) and redraw."""
    if result is not None and not result.ok:
        st.session_state[INFEASIBLE] = result.infeasible
    else:
        st.session_state.pop(INFEASIBLE, None)
    st.rerun()


def _modify(ws: Workspace, h_labels: dict[str, str]) -> None:
    with st.form("whatif_modify"):
        fid = st.selectbox(tr("ws.whatif.facility"), list(h_labels), format_func=h_labels.get, index=None,
                           placeholder=tr("ws.choose"), key="wi_mod_fid")
        c1, c2, c3 = st.columns(3)
        level = c1.selectbox(tr("ws.whatif.level"), [None, *schema.LEVELS], key="wi_mod_level",
                             format_func=fmt("vocab.level.", none_key="ws.unchanged"))
        type_ = c2.selectbox(tr("ws.whatif.type"), [None, *schema.TYPES], key="wi_mod_type",
                             format_func=fmt("vocab.type.", none_key="ws.unchanged"))
        owner = c3.selectbox(tr("ws.whatif.owner"), [None, *schema.OWNER_LEVELS], key="wi_mod_owner",
                             format_func=fmt("vocab.owner.", none_key="ws.unchanged"))
        if st.form_submit_button(tr("ws.whatif.apply")):
            with action():
                if not fid:
                    st.error(tr("ws.whatif.pick_facility"))
                else:
                    after_edit(ws.modify_facility(fid, level=level, type=type_, owner_level=owner))


def _add(ws: Workspace) -> None:
    placed = st.session_state.get(PLACED)
    if placed is None:
        st.caption(tr("ws.whatif.place_hint"))
    # Not placed on the map yet: the centre of the city in use (never another city's coordinates).
    lon0, lat0 = pp.place_default(ws.layers, placed)
    with st.form("whatif_add"):
        c1, c2 = st.columns(2)
        lon = c1.number_input(tr("ws.whatif.lon"), value=lon0, format="%.5f", key=f"wi_lon_{placed}")
        lat = c2.number_input(tr("ws.whatif.lat"), value=lat0, format="%.5f", key=f"wi_lat_{placed}")
        name = st.text_input(tr("ws.whatif.name"), value=tr("ws.whatif.default_name"), key="wi_name")
        c1, c2, c3, c4 = st.columns(4)
        level = c1.selectbox(tr("ws.whatif.level"), list(pp.ADD_LEVELS), key="wi_add_level",
                             format_func=fmt("vocab.level."))
        type_ = c2.selectbox(tr("ws.whatif.type"), list(schema.TYPES), key="wi_add_type",
                             format_func=fmt("vocab.type."))
        owner = c3.selectbox(tr("ws.whatif.owner"), list(pp.ADD_OWNERS), key="wi_add_owner",
                             format_func=fmt("vocab.owner."))
        beds = c4.number_input(tr("ws.whatif.beds"), min_value=0, value=pp.ADD_BEDS, step=50, key="wi_beds")
        if st.form_submit_button(tr("ws.whatif.add_button")):
            with action():
                _, res = ws.add_facility(name, lon, lat, level=level, type_=type_, beds=beds, owner_level=owner)
                st.session_state.pop(PLACED, None)
                after_edit(res)


def what_if(ws: Workspace) -> None:
    """Change a facility's level/type/owner, add a planned hospital, close one; the active edits."""
    h_labels = pp.choices(ws.effective_layers(), "hospitals", lang())
    st.caption(tr("ws.whatif.caption"))
    t1, t2, t3 = st.tabs([tr("ws.whatif.modify"), tr("ws.whatif.add"), tr("ws.whatif.close")])
    with t1:
        _modify(ws, h_labels)
    with t2:
        _add(ws)
    with t3, st.form("whatif_close"):
        fid = st.selectbox(tr("ws.whatif.facility"), list(h_labels), format_func=h_labels.get, index=None,
                           placeholder=tr("ws.choose"), key="wi_close_fid")
        if st.form_submit_button(tr("ws.whatif.close_button")):
            with action():
                if not fid:
                    st.error(tr("ws.whatif.pick_facility"))
                else:
                    after_edit(ws.close_facility(fid))
    st.markdown(f"**{tr('ws.whatif.active')}**")
    edits = ws.describe_edits(lang())
    if edits.empty:
        st.caption(tr("ws.whatif.none"))
    for i, row in edits.iterrows():
        c1, c2 = st.columns([6, 1])
        c1.markdown(f"{i + 1}. **{md_text(row['action'])}** · {md_text(row['name'])} "
                    f"({md_text(row['facility_id'])}) {md_text(row['detail'])}")
        if c2.button(tr("ws.remove"), key=f"wi_rm_{i}"):
            with action():
                after_edit(ws.remove_edit(int(i)))


def export(ws: Workspace) -> None:
    """Pick a format (and paper for the drawn ones), prepare the file, download it."""
    st.caption(tr("exports.ui.caption"))
    c1, c2, c3 = st.columns([2, 1, 1])
    kind = kept(c1.selectbox, tr("exports.ui.format"), options=list(FORMATS), key="export_kind",
                format_func=fmt("exports.ui.format."))
    options = {}
    if kind in PAPER_FORMATS:
        options["paper"] = kept(c2.selectbox, tr("exports.ui.paper"), options=list(PAPER_MM), key="export_paper")
        options["orientation"] = kept(c3.selectbox, tr("exports.ui.orientation"), options=list(ORIENTATIONS),
                                      key="export_orientation", format_func=fmt("exports.ui.orientation."))
    request = (ws.revision, lang(), kind, tuple(sorted(options.items())))
    if st.button(tr("ws.export.prepare"), key="export_prepare"):
        with action(), st.spinner(tr("ws.export.preparing")):
            st.session_state["export_file"] = (request, ws.export_file(kind, lang(), **options))
    ready = st.session_state.get("export_file")
    if ready and ready[0] == request:
        f = ready[1]
        # No rerun on the click: a rerun that ends before the browser has fetched the file drops
        # it from the media store and the download is cancelled (seen under load).
        st.download_button(tr("exports.ui.download", name=f.filename), f.data, file_name=f.filename,
                           mime=f.mime, key="dl_export", on_click="ignore")


def factors(ws: Workspace) -> None:
    """G9: the plan's weights and the factors by grid beside the city's; new weights, planned at once."""
    view = pp.g9_view(ws.layers, ws.plan, lang())
    for note in view.notes:
        st.caption(md_text(note))
    if view.illustrative:
        st.warning(tr("g9.illustrative"))
    show_table(view.table, list(view.table.columns[1:]), key="g9_table")
    req = ws.request
    columns = [None, *pp.burden_choices(ws.layers)]
    with st.form("g9_weights"):
        c1, c2, c3 = st.columns(3)
        age = c1.number_input(tr("g9.ui.age_weight"), min_value=0.0, max_value=10.0, step=0.5,
                              value=float(req.age_weight), key=f"g9_age_{ws.request_revision}")
        column = c2.selectbox(tr("g9.ui.burden_column"), columns, key=f"g9_col_{ws.request_revision}",
                              index=columns.index(req.burden_column) if req.burden_column in columns else 0,
                              format_func=lambda c: tr("g9.ui.no_column") if c is None else c)
        weight = c3.number_input(tr("g9.ui.burden_weight"), min_value=0.0, max_value=10.0, step=0.5,
                                 value=float(req.burden_weight), key=f"g9_bw_{ws.request_revision}")
        if st.form_submit_button(tr("g9.ui.apply")):
            with action():
                ws.change_request(**pp.g9_weights(ws.layers, age, column, weight))
                run(ws, fresh=True)
                st.rerun()
