"""Plan: choose k (or compare a range), leads, exceptions, balance and cost mode; run; see the map,
the per-grid figures and the G1-G5 checks; edit by hand, try what-ifs, save and export.

The sidebar is :mod:`pages._plan_side`, the tabs under the figures :mod:`pages._plan_tabs`; what
the page decides is :mod:`grid_planning.session.plan_page`."""

from __future__ import annotations

import streamlit as st

from grid_planning.assess.metrics import Figures
from grid_planning.base.cache import content_key
from grid_planning.base.numfmt import percent
from grid_planning.domain.request import Infeasible
from grid_planning.maps import planmap
from grid_planning.session import conversion_page as g10
from grid_planning.session import plan_page as pp
from grid_planning.session.ui_state import format_table
from grid_planning.session.workspace import Workspace
from pages._common import (
    city_name,
    ensure_navigation,
    kept,
    lang,
    md_text,
    page_guard,
    show_table,
    tr,
    tr_md,
)
from pages._map import show_map
from pages._plan_side import INFEASIBLE, comparison, parameters, run
from pages._plan_tabs import PLACED, after_edit, export, factors, hand_edits, what_if
from pages._ws import action, check_panel, fmt, scenario_panel, workspace

ensure_navigation(__file__)

CLICKED = "clicked_facility"  # the facility whose card is shown above the map


def _history(ws: Workspace) -> None:
    c1, c2, c3 = st.columns([1, 1, 3])
    if c1.button("↶ " + tr("ws.undo"), key="undo", disabled=not ws.can_undo, help=md_text(ws.undo_label(lang()))):
        ws.undo()
        st.rerun()
    if c2.button("↷ " + tr("ws.redo"), key="redo", disabled=not ws.can_redo, help=md_text(ws.redo_label(lang()))):
        ws.redo()
        st.rerun()
    if ws.undo_label(lang()):
        c3.caption(tr_md("ws.last_action", what=ws.undo_label(lang())))


def _map(ws: Workspace, fig: Figures) -> None:
    c1, c2, c3 = st.columns([4, 4, 3])
    shade = kept(c1.radio, tr("ws.map.shade_label"), options=planmap.SHADES, format_func=fmt("ws.map.shade."),
                 horizontal=True, key="map_shade")
    mode = kept(c2.radio, tr("ws.map.click_label"), options=pp.CLICK_MODES, format_func=fmt("ws.map.click."),
                horizontal=True, key="map_click_mode")
    primary = kept(c3.checkbox, tr("ws.map.primary"), key="map_primary", default=False)
    # Built once per server for what it shows (the figures' content key: city, plan, what-if
    # edits, travel model, language; not this session's revision): a rerun, and any session with
    # the same plan and selection, reuses the rendered map.
    selection = tuple(sorted(ws.selection))
    out = show_map(
        lambda: planmap.plan_map(ws.layers, ws.plan, unit_df=fig.units, shade=shade,
                                 selection=selection, show_primary=primary, lang=lang(),
                                 view_key="plan"),
        key="plan_map", height=660, returned_objects=[*pp.CLICK_KEYS, "last_active_drawing"],
        cache_key=content_key("plan", fig.key, shade, selection, primary, "plan"),
    )
    sig = pp.click_signature(out)
    if out and sig != st.session_state.get("plan_map_sig"):
        st.session_state["plan_map_sig"] = sig
        click = pp.click_action(ws, out, mode)
        if click.kind == "place":
            st.session_state[PLACED] = click.lonlat
            st.rerun()
        elif click.kind == "facility":
            st.session_state[CLICKED] = click.id
            st.rerun()
        elif click.kind == "toggle":
            ws.select([click.id], "toggle")
            st.rerun()
    st.caption(tr("ws.map.caption"))


def _clicked_facility(ws: Workspace) -> None:
    fid = st.session_state.get(CLICKED)
    if not fid:
        return
    layers = ws.effective_layers()
    fac = layers.facilities
    row = fac[fac["id"].astype(str) == fid]
    if row.empty:
        st.session_state.pop(CLICKED, None)
        return
    rec = row.iloc[0].to_dict()
    eligible = fid in pp.choices(layers, "elig", lang())
    st.info(tr_md("ws.fac.clicked", name=pp.facility_labels(row, lang())[fid], level=tr(f"vocab.level.{rec['level']}"),
                  type=tr(f"vocab.type.{rec['type']}"), owner=tr(f"vocab.owner.{rec['owner_level']}")))
    c1, c2, c3 = st.columns(3)
    if c1.button(tr("ws.fac.fix"), key="fac_fix", disabled=not eligible):
        ws.change_request(**pp.fixed_lead(ws.request, fid))
        st.rerun()
    if c2.button(tr("ws.fac.exclude"), key="fac_exclude", disabled=not eligible):
        ws.change_request(**pp.excluded_lead(ws.request, fid))
        st.rerun()
    if c3.button(tr("ws.fac.dismiss"), key="fac_dismiss"):
        st.session_state.pop(CLICKED, None)
        st.rerun()
    if not eligible:
        st.caption(tr("ws.fac.not_eligible"))


def _refusal(ws: Workspace, infeasible: Infeasible) -> None:
    """Why the request cannot be planned; each option the planner offers can be taken here (with
    the reason its exceptions need) and planned at once; the other advice is listed. A proof the
    sentence does not state is said under it, as ``plan`` says it."""
    message = md_text(infeasible.message(lang()))
    if note := infeasible.proven_note(lang()):
        message += "\n\n" + md_text(note)
    st.error(message)
    if infeasible.options:
        st.markdown(f"**{tr('ws.opt.title')}**")
    for i, option in enumerate(infeasible.options):
        with st.form(f"plan_option_{i}"):
            st.markdown(md_text(option.text(lang())))
            reasons = {rule: st.text_input(tr("ws.opt.reason", rule=rule), key=f"plan_option_reason_{i}_{rule}")
                       for rule in option.reason_rules}
            if st.form_submit_button(tr("ws.opt.apply")):
                with action():
                    ws.apply_option(option, reasons)
                    st.session_state.pop(INFEASIBLE, None)
                    run(ws, fresh=True)
                    st.rerun()  # the sidebar shows the changed request
    for tip in infeasible.advice_texts(lang()):
        st.markdown(f"- {md_text(tip)}")


def _grid_tables(ws: Workspace, fig: Figures) -> None:
    """The per-grid figures as two tables that fit the page: size and resources, then access and
    shape (one table of 15 columns would hide its right-hand ones)."""
    rows = pp.grid_rows(fig, lang())
    for columns, key in ((pp.GRID_SIZE, "grid_table"), (pp.GRID_ACCESS, "grid_access")):
        table, figures = format_table(rows, pp.grid_columns(rows, columns), lang())
        show_table(table, figures, key=key, widths={tr("ws.col.grid"): 70})
    # Beds that rest on generated capacity say so right under the table.
    share = pp.illustrative_beds_share(fig)
    if share > 0:
        st.warning(tr("plan.cli.beds_illustrative_note", share=percent(share, 0, lang())))
    for col, (label, value) in zip(st.columns(5), pp.city_metrics(fig, lang()), strict=True):
        col.metric(tr(label), value)
    st.caption(tr("ws.yardstick"))
    # District lines and residents on roads that reach too few facilities (issue 17).
    g9 = pp.g9_balance_note(ws.layers, ws.plan, lang())
    if g9:
        st.caption(md_text(g9))
    splits = pp.splits_note(ws.layers, ws.plan, lang())
    if splits:
        st.caption(md_text(splits))
    if pieces := pp.pieces_note(ws.layers, ws.plan, lang()):
        st.info(md_text(pieces))
    fallback = pp.fallback_note(ws.layers, ws.costs(), lang())
    if fallback:
        st.warning(fallback)


def _g10(ws: Workspace) -> None:
    """The G10 list: each suggestion one click from a re-planned what-if (``plan --convert``)."""
    done, rows = g10.applied(ws.layers, ws.plan, lang()), g10.suggestions(ws.layers, ws.plan, lang())
    with st.expander(tr("ws.g10.title") + f" · {len(rows)}", expanded=bool(done)):
        st.caption(tr("ws.g10.caption"))
        for row in done:
            c1, c2 = st.columns([5, 1])
            c1.markdown(md_text(row.text))
            if c2.button(tr("ws.g10.remove"), key=f"g10_rm_{row.facility_id}"):
                with action():
                    after_edit(ws.remove_edit(row.edit_index))
        if not rows:
            st.caption(tr("conversion.none"))
        for row in rows:
            st.markdown(md_text(row.text))
            # Buttons side by side under their hospital (narrow columns, the rest left empty).
            cols = st.columns([1] * len(row.targets) + [3])
            for col, (target, label) in zip(cols, row.targets, strict=False):
                if col.button(label, key=f"g10_{row.facility_id}_{target}"):
                    with action(), st.spinner(tr("ws.plan.running")):
                        after_edit(ws.convert_facility(row.facility_id, target))


with page_guard():
    ws = workspace()
    st.title(tr("ws.plan.title"))
    st.caption(tr_md("ws.plan.caption", name=city_name(ws.layers.name)))
    with st.sidebar:
        parameters(ws)
    comparison(ws)
    infeasible = st.session_state.get(INFEASIBLE)
    if infeasible is not None:
        _refusal(ws, infeasible)
    if ws.plan is None:
        st.info(tr("ws.plan.start", button=tr("ws.plan.run")))
    else:
        fig = ws.figures(lang())
        _history(ws)
        _clicked_facility(ws)
        map_col, check_col = st.columns([5, 3])
        with map_col:
            _map(ws, fig)
        with check_col:
            st.subheader(tr("ws.checks.title"))
            check_panel(fig.checks, compact=True)
        st.subheader(tr("ws.grids.title"))
        _grid_tables(ws, fig)
        _g10(ws)
        t1, t2, t5, t3, t4 = st.tabs([tr("ws.tab.edit"), tr("ws.tab.whatif"), tr("g9.tab"), tr("ws.tab.scenarios"),
                                      tr("ws.tab.export")])
        with t1:
            hand_edits(ws, fig)
        with t2:
            what_if(ws)
        with t5:
            factors(ws)
        with t3:
            scenario_panel(ws, key="plan_scen")
        with t4:
            export(ws)
