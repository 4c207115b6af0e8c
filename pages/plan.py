"""Plan: choose k (or compare a range), leads, exceptions, balance and cost mode; run; see the map,
the per-grid figures and the G1-G5 checks; edit by hand, try what-ifs, save and export."""

from __future__ import annotations

import json
from dataclasses import replace

import pandas as pd
import streamlit as st

from grid_planning.base.cache import content_key, memo
from grid_planning.base.numfmt import integer, number, percent
from grid_planning.domain import schema
from grid_planning.domain.request import BALANCE_CHOICES, MODES, PlanRequest
from grid_planning.maps import planmap
from grid_planning.planning.run import designation_candidates, eligible_leads
from grid_planning.session.mapclicks import facility_label, interpret_click
from grid_planning.session.ui_state import Column, format_table, seed_widget
from pages._common import (
    ensure_navigation,
    kept,
    lang,
    md_text,
    page_guard,
    show_map,
    show_table,
    tr,
    tr_md,
)
from pages._ws import (
    action,
    balance_advice,
    check_panel,
    fmt,
    progress_runner,
    scenario_panel,
    workspace,
)

ensure_navigation(__file__)

CLICK_MODES = ("select", "facility", "place")
DONE = "plan_done"  # (plan revision, confirmation) of the last successful run
UNIT_CHOICES = 50  # units offered per search in the hand-edit picker
#: What st_folium returns about a click (a new value of any of them is a new click).
CLICK_KEYS = ("last_clicked", "last_object_clicked", "last_object_clicked_count")
#: The k-comparison table (planner.compare_k, with the page's texts added).
CMP_COLUMNS = (
    Column("ws.cmp.k", "k", "integer"), Column("ws.cmp.status", "status_text"),
    Column("ws.cmp.objective", "objective", "number", 1), Column("ws.cmp.balance", "max_balance_dev", "percent", 0),
    Column("ws.cmp.noncontig", "n_noncontiguous", "integer"), Column("ws.cmp.compliant", "compliant_text"),
    Column("ws.cmp.explanation", "why"),
)
#: The per-grid tables: size and resources, access and shape (grid_planning.assess.metrics.grid_metrics).
GRID_SIZE = (
    Column("ws.col.grid", ""), Column("ws.col.grid_name", "lead_short"),
    Column("ws.col.population", "population", "integer"), Column("ws.col.area", "area_km2", "number", 1),
    Column("ws.col.balance", "balance_dev", "signed_percent", 1), Column("ws.col.beds", "beds", "integer"),
    Column("ws.col.beds_per_1000", "beds_per_1000", "number", 2), Column("ws.col.lead_level", "lead_level"),
)
GRID_ACCESS = (
    Column("ws.col.grid", ""), Column("ws.col.mean_min", "mean_travel_min", "number", 1),
    Column("ws.col.p90_min", "p90_travel_min", "number", 1), Column("ws.col.max_min", "max_travel_min", "number", 1),
    Column("ws.col.share15", "share_15_lead", "percent", 1), Column("ws.col.share30", "share_30_lead", "percent", 1),
    Column("ws.col.pp", "polsby_popper", "number", 2), Column("ws.col.parts", "n_parts", "integer"),
)


def _labels(fac: pd.DataFrame) -> dict[str, str]:
    return {str(r["id"]): facility_label(r, lang()) for r in fac.to_dict("records")}


def _choices(layers, kind: str):
    """What the plan page's lists offer, per city layers and language, computed once for every
    session on the same layers (they change only with a what-if edit); read-only.

    ``elig``: the G4-eligible leads (frame); ``elig_labels``, ``designatable`` (designation
    candidates) and ``hospitals`` (what-if targets): id -> label.
    """
    fac = layers.facilities

    def compute():
        if kind == "elig":
            return eligible_leads(fac, PlanRequest(k=2), layers)
        if kind == "elig_labels":
            return _labels(_choices(layers, "elig"))
        if kind == "designatable":
            return _labels(designation_candidates(layers, fac))
        return _labels(fac[~fac["type"].isin(sorted(schema.PRIMARY_CARE_TYPES))])

    return memo(fac, ("plan_page", kind, lang()), compute)


def _exception_form(ws, form: str, field: str, labels: dict[str, str], label_key: str, button_key: str,
                    *, select_key: str, reason_key: str) -> None:
    """A facility plus a written reason, added to the request's ``field`` ("in principle" exception)."""
    with st.form(form, clear_on_submit=True):
        fid = st.selectbox(tr(label_key), options=list(labels), format_func=labels.get,
                           index=None, placeholder=tr("ws.choose"), key=select_key)
        reason = st.text_input(tr("ws.exc.reason"), key=reason_key)
        if st.form_submit_button(tr(button_key)):
            if not fid or not reason.strip():
                st.error(tr("ws.exc.need_reason"))
            else:
                pairs = dict(getattr(ws.request, field), **{fid: reason.strip()})
                ws.set_request(**{field: tuple(pairs.items())})


def _run(ws, fresh: bool) -> None:
    status, progress = progress_runner("ws.plan.running")
    result = ws.run(progress) if fresh else ws.replan(progress)
    if result.ok:
        done = tr("ws.plan.done", k=result.plan.k, seconds=f"{result.stats.get('seconds', 0):.2f}")
        status.update(label=done, state="complete", expanded=False)
        # Shown under the buttons until the plan changes: the map drawing reruns the page, which
        # would otherwise take the confirmation away with the status box.
        # The figures, not the sentence: the confirmation is worded again in the language shown
        # (a Chinese "已完成" stayed after switching to English).
        st.session_state[DONE] = (ws.revision, result.plan.k, f"{result.stats.get('seconds', 0):.2f}")
    else:
        status.update(label=tr("ws.plan.infeasible"), state="error", expanded=True)
        st.session_state["plan_infeasible"] = result.infeasible


def _seed(ws, n_elig: int, elig_labels: dict[str, str], modes: list[str]) -> None:
    """Show the request in the widgets whenever Streamlit would not (grid_planning.session.ui_state.seed_widget):
    the request is the planner's choice, the widgets only display and change it."""
    req = ws.request
    values = {
        "plan_k": int(min(max(req.k, 1), max(2, n_elig))),
        "plan_fixed": [f for f in req.fixed_leads if f in elig_labels],
        "plan_excluded": [f for f in req.excluded_leads if f in elig_labels],
        "plan_balance_on": req.balance is not None,
        "plan_balance": _percent_step(req.balance if req.balance is not None else 0.3),
        "plan_cost_mode": req.cost.mode if req.cost.mode in modes else modes[0],
    }
    for key, value in values.items():
        # Per workspace too: another city (a new workspace) starts its own revisions at 0.
        seed_widget(st.session_state, key, value, lang=lang(), revision=(id(ws), ws.request_revision))


def _percent_step(share: float) -> int:
    """A tolerance as the slider's whole percent (5 % steps, 5-100)."""
    return int(min(max(round(float(share) * 20) * 5, 5), 100))


def _balance_note(ws, use_balance: bool, balance: float | None) -> None:
    """Say which balance the city can meet and what the plan would look like without it."""
    with st.spinner(tr("dash.balance.computing")):
        advice = balance_advice(ws)
    if advice.unbalanced_dev is None:
        st.caption(tr("dash.balance.unknown"))
        return
    without = percent(advice.unbalanced_dev, 0, lang())
    tol = advice.tolerance
    if tol is None:
        st.caption(tr("dash.balance.none_met", dev=without, max=percent(BALANCE_CHOICES[-1], 0, lang())))
        return
    tol_text = percent(tol, 0, lang())
    if use_balance and balance is not None and abs(balance - tol) < 1e-9:
        st.caption(tr("dash.balance.on", tol=tol_text, dev=without, k=ws.request.k))
        return
    st.caption(tr("dash.balance.suggest", tol=tol_text, dev=without, k=ws.request.k))
    if st.button(tr("dash.balance.use", tol=tol_text), key="plan_balance_use"):
        ws.change_request(balance=tol)
        st.rerun()


def _parameters(ws) -> None:
    """Request widgets (k, balance, leads, exceptions, cost mode) and the run/compare buttons.

    k, balance and the run button come first, so "run" is on the first screen of the sidebar."""
    layers = ws.effective_layers()
    fac = layers.facilities
    req = ws.request
    elig = _choices(layers, "elig")
    elig_labels = _choices(layers, "elig_labels")
    n_elig = len(elig) + len(req.designated_leads)
    has_roads = layers.roads is not None and len(layers.roads) > 0
    modes = [m for m in MODES if has_roads or m != "roads"]
    _seed(ws, n_elig, elig_labels, modes)

    k = st.number_input(tr("ws.plan.k"), min_value=1, max_value=max(2, n_elig), step=1, key="plan_k",
                        help=tr("ws.plan.k_help", n=len(elig)))
    use_balance = st.checkbox(tr("ws.plan.balance_on"), key="plan_balance_on")
    balance_pct = st.slider(tr("ws.plan.balance"), 5, 100, step=5, key="plan_balance", format="±%d%%",
                            disabled=not use_balance, help=tr("ws.plan.balance_help"))
    # The run buttons and their confirmation before the balance note: with the meeting pages in the
    # menu, the confirmation under a three-line note fell below a 1000-pixel-high screen.
    actions = st.container()
    note = st.container()
    fixed = st.multiselect(tr("ws.plan.fixed"), options=list(elig_labels), format_func=elig_labels.get,
                           key="plan_fixed", placeholder=tr("ws.choose"))
    excluded = st.multiselect(tr("ws.plan.excluded"), options=list(elig_labels), format_func=elig_labels.get,
                              key="plan_excluded", placeholder=tr("ws.choose"))
    n_assumed = int((elig["eligibility"] == "assumed").sum())
    if n_assumed:
        st.caption(tr("ws.plan.assumed_note", n=n_assumed))
    mode = st.radio(tr("ws.plan.cost_mode"), modes, format_func=fmt("ws.cost."), horizontal=True,
                    key="plan_cost_mode")
    if not has_roads:
        st.caption(tr("ws.plan.no_roads"))
    balance = balance_pct / 100 if use_balance else None
    ws.set_request(k=int(k), fixed_leads=tuple(fixed), excluded_leads=tuple(excluded), balance=balance,
                   cost=replace(req.cost, mode=mode))

    with note:
        _balance_note(ws, use_balance, balance)
    with actions:
        c1, c2 = st.columns(2)
        ran = False
        if c1.button(tr("ws.plan.run"), type="primary", key="plan_run", width="stretch"):
            st.session_state.pop("plan_infeasible", None)
            _run(ws, fresh=True)
            ran = True
        if c2.button(tr("ws.plan.replan"), key="plan_replan", disabled=ws.plan is None, width="stretch",
                     help=tr("ws.plan.replan_help")):
            st.session_state.pop("plan_infeasible", None)
            _run(ws, fresh=False)
            ran = True
        done = st.session_state.get(DONE)
        if not ran and done and done[0] == ws.revision and ws.plan is not None:
            st.success(tr("ws.plan.done", k=done[1], seconds=done[2]), icon=":material/check_circle:")

    with st.expander(tr("ws.exc.title"), expanded=bool(req.designated_leads or req.g5_waivers)):
        st.caption(tr("ws.exc.caption"))
        # Only the hospitals the G4 rule lets lead by designation (grid_planning.domain.rules).
        h_labels = _choices(layers, "designatable")
        _exception_form(ws, "designate_form", "designated_leads", h_labels, "ws.exc.designate", "ws.exc.add",
                        select_key="exc_fid", reason_key="exc_reason")
        lead_labels = _labels(fac[fac["id"].astype(str).isin(list(elig_labels) + [f for f, _ in ws.request.designated_leads])])
        _exception_form(ws, "waiver_form", "g5_waivers", lead_labels, "ws.exc.g5_lead", "ws.exc.add_g5",
                        select_key="waiver_fid", reason_key="waiver_reason")
        for rule, pairs, field in (("G4", ws.request.designated_leads, "designated_leads"),
                                   ("G5", ws.request.g5_waivers, "g5_waivers")):
            for i, (fid, reason) in enumerate(pairs):
                c1, c2 = st.columns([5, 1])
                label = h_labels.get(fid) or lead_labels.get(fid) or fid
                c1.markdown(f"**{rule}** · {md_text(label)} — {md_text(reason)}")
                if c2.button(tr("ws.remove"), key=f"rm_{rule}_{i}"):
                    ws.set_request(**{field: tuple(p for p in pairs if p[0] != fid)})
                    st.rerun()

    with st.expander(tr("ws.cmp.title")):
        hi = max(2, min(n_elig, 10))
        lo_k, hi_k = st.slider(tr("ws.cmp.range"), 2, max(3, hi), (2, min(hi, 6)), key="cmp_range")
        if st.button(tr("ws.cmp.run"), key="cmp_run"):
            with st.spinner(tr("ws.cmp.running")):
                st.session_state["cmp_table"] = ws.compare(range(lo_k, hi_k + 1))


def _comparison(ws) -> None:
    """The k-comparison in the page (the sidebar is too narrow for its table), with "use this k"."""
    table = st.session_state.get("cmp_table")
    if table is None:
        return
    with st.expander(tr("ws.cmp.title"), expanded=True):
        rows = table.assign(
            status_text=[tr("ws.cmp.ok") if s == "ok" else tr("ws.cmp.infeasible") for s in table["status"]],
            compliant_text=table["compliant"].map(lambda v: "–" if pd.isna(v) else ("✓" if bool(v) else "✗")),
            why=[inf.explain(lang()) if inf is not None else "" for inf in table["infeasible"]],
        )
        shown, figures = format_table(rows, CMP_COLUMNS, lang())
        show_table(shown, figures, key="cmp_df", widths={tr("ws.cmp.k"): 50, tr("ws.cmp.explanation"): "large"})
        ok_ks = [int(k) for k, s in zip(table["k"], table["status"], strict=True) if s == "ok"]
        if ok_ks:
            c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
            pick = c1.selectbox(tr("ws.cmp.pick"), ok_ks, key="cmp_pick")
            if c2.button(tr("ws.cmp.use"), key="cmp_use"):
                ws.change_request(k=int(pick))
                _run(ws, fresh=True)
                st.rerun()


def _history(ws) -> None:
    c1, c2, c3 = st.columns([1, 1, 3])
    if c1.button("↶ " + tr("ws.undo"), key="undo", disabled=not ws.can_undo, help=md_text(ws.undo_label(lang()))):
        ws.undo()
        st.rerun()
    if c2.button("↷ " + tr("ws.redo"), key="redo", disabled=not ws.can_redo, help=md_text(ws.redo_label(lang()))):
        ws.redo()
        st.rerun()
    if ws.undo_label(lang()):
        c3.caption(tr_md("ws.last_action", what=ws.undo_label(lang())))


def _map(ws, fig) -> None:
    c1, c2, c3 = st.columns([4, 4, 3])
    shade = kept(c1.radio, tr("ws.map.shade_label"), options=planmap.SHADES, format_func=fmt("ws.map.shade."),
                 horizontal=True, key="map_shade")
    mode = kept(c2.radio, tr("ws.map.click_label"), options=CLICK_MODES, format_func=fmt("ws.map.click."),
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
        key="plan_map", height=660, returned_objects=[*CLICK_KEYS, "last_active_drawing"],
        cache_key=content_key("plan", fig.key, shade, selection, primary, "plan"),
    )
    # The count tells a second click on the same spot (toggling a unit off) from a plain rerun.
    sig = json.dumps([out.get(k) for k in CLICK_KEYS] if out else None, default=str)
    if out and sig != st.session_state.get("plan_map_sig"):
        st.session_state["plan_map_sig"] = sig
        click = interpret_click(ws, out)
        if mode == "place" and click.lon is not None:
            st.session_state["place_lonlat"] = (click.lon, click.lat)
            st.rerun()
        elif click.kind == "facility":
            st.session_state["clicked_facility"] = click.id
            st.rerun()
        elif click.kind == "unit" and mode == "select":
            ws.select([click.id], "toggle")
            st.rerun()
    st.caption(tr("ws.map.caption"))


def _clicked_facility(ws) -> None:
    fid = st.session_state.get("clicked_facility")
    if not fid:
        return
    fac = ws.effective_layers().facilities
    row = fac[fac["id"].astype(str) == fid]
    if row.empty:
        st.session_state.pop("clicked_facility", None)
        return
    rec = row.iloc[0].to_dict()
    eligible = fid in _choices(ws.effective_layers(), "elig_labels")
    st.info(tr_md("ws.fac.clicked", name=facility_label(rec, lang()), level=tr(f"vocab.level.{rec['level']}"),
                  type=tr(f"vocab.type.{rec['type']}"), owner=tr(f"vocab.owner.{rec['owner_level']}")))
    c1, c2, c3 = st.columns(3)
    req = ws.request
    if c1.button(tr("ws.fac.fix"), key="fac_fix", disabled=not eligible):
        ws.change_request(fixed_leads=tuple(dict.fromkeys((*req.fixed_leads, fid))),
                          excluded_leads=tuple(f for f in req.excluded_leads if f != fid))
        st.rerun()
    if c2.button(tr("ws.fac.exclude"), key="fac_exclude", disabled=not eligible):
        ws.change_request(excluded_leads=tuple(dict.fromkeys((*req.excluded_leads, fid))),
                          fixed_leads=tuple(f for f in req.fixed_leads if f != fid))
        st.rerun()
    if c3.button(tr("ws.fac.dismiss"), key="fac_dismiss"):
        st.session_state.pop("clicked_facility", None)
        st.rerun()
    if not eligible:
        st.caption(tr("ws.fac.not_eligible"))


def _hand_edits(ws, fig) -> None:
    # Offer the selection plus the units matching a search, not all units: thousands of options
    # would be sent to the browser on every rerun and slow down every re-plan.
    query = st.text_input(tr("ws.edit.search"), key="edit_search", placeholder=tr("ws.edit.search_hint"))
    labels = ws.unit_choices(query, limit=UNIT_CHOICES)
    chosen = st.multiselect(tr("ws.edit.pick"), options=list(labels), format_func=labels.get,
                            default=list(ws.selection), placeholder=tr("ws.choose"),
                            key=f"edit_pick_{ws.revision}_{hash(ws.selection)}_{query}")
    if tuple(chosen) != ws.selection:
        ws.select(chosen)
    if ws.selection:
        sel = fig.units.loc[list(ws.selection)]
        st.caption(tr_md("ws.edit.selected", n=len(sel), population=f"{sel['population'].sum():,.0f}",
                         grids=", ".join(sorted(set(sel["grid_id"].dropna())))))
    c1, c2, c3, c4, c5 = st.columns([2, 1, 1, 1, 1])
    target = c1.selectbox(tr("ws.edit.target"), ws.plan.grid_ids, key="edit_target",
                          format_func=lambda g: f"{g} · {fig.grids.at[g, 'lead_name']}" if g in fig.grids.index else g)
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


def _what_if(ws) -> None:
    h_labels = _choices(ws.effective_layers(), "hospitals")
    st.caption(tr("ws.whatif.caption"))
    t1, t2, t3 = st.tabs([tr("ws.whatif.modify"), tr("ws.whatif.add"), tr("ws.whatif.close")])
    with t1, st.form("whatif_modify"):
        fid = st.selectbox(tr("ws.whatif.facility"), list(h_labels), format_func=h_labels.get, index=None, placeholder=tr("ws.choose"), key="wi_mod_fid")
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
                    res = ws.modify_facility(fid, level=level, type=type_, owner_level=owner)
                    _after_edit(res)
    with t2:
        lonlat = st.session_state.get("place_lonlat")
        if lonlat is None:
            st.caption(tr("ws.whatif.place_hint"))
        with st.form("whatif_add"):
            c1, c2 = st.columns(2)
            lon = c1.number_input(tr("ws.whatif.lon"), value=float(lonlat[0]) if lonlat else 114.30,
                                  format="%.5f", key=f"wi_lon_{lonlat}")
            lat = c2.number_input(tr("ws.whatif.lat"), value=float(lonlat[1]) if lonlat else 30.59,
                                  format="%.5f", key=f"wi_lat_{lonlat}")
            name = st.text_input(tr("ws.whatif.name"), value=tr("ws.whatif.default_name"), key="wi_name")
            c1, c2, c3, c4 = st.columns(4)
            level = c1.selectbox(tr("ws.whatif.level"), ["secondary", "tertiary", "primary"], key="wi_add_level",
                                 format_func=fmt("vocab.level."))
            type_ = c2.selectbox(tr("ws.whatif.type"), list(schema.TYPES), key="wi_add_type",
                                 format_func=fmt("vocab.type."))
            owner = c3.selectbox(tr("ws.whatif.owner"), ["district", "municipal", "county", "provincial", "other"],
                                 key="wi_add_owner", format_func=fmt("vocab.owner."))
            beds = c4.number_input(tr("ws.whatif.beds"), min_value=0, value=300, step=50, key="wi_beds")
            if st.form_submit_button(tr("ws.whatif.add_button")):
                with action():
                    _, res = ws.add_facility(name, lon, lat, level=level, type_=type_, beds=beds, owner_level=owner)
                    st.session_state.pop("place_lonlat", None)
                    _after_edit(res)
    with t3, st.form("whatif_close"):
        fid = st.selectbox(tr("ws.whatif.facility"), list(h_labels), format_func=h_labels.get, index=None, placeholder=tr("ws.choose"), key="wi_close_fid")
        if st.form_submit_button(tr("ws.whatif.close_button")):
            with action():
                if not fid:
                    st.error(tr("ws.whatif.pick_facility"))
                else:
                    _after_edit(ws.close_facility(fid))
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
                _after_edit(ws.remove_edit(int(i)))


def _after_edit(result) -> None:
    if result is not None and not result.ok:
        st.session_state["plan_infeasible"] = result.infeasible
    else:
        st.session_state.pop("plan_infeasible", None)
    st.rerun()


def _refusal(ws, infeasible) -> None:
    """Why the request cannot be planned; each option the planner offers can be taken here (with
    the reason its exceptions need) and planned at once; the other advice is listed."""
    st.error(md_text(infeasible.message(lang())))
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
                    st.session_state.pop("plan_infeasible", None)
                    _run(ws, fresh=True)
                    st.rerun()  # the sidebar shows the changed request
    for tip in infeasible.advice_texts(lang()):
        st.markdown(f"- {md_text(tip)}")


def _grid_tables(fig) -> None:
    """The per-grid figures as two tables that fit the page: size and resources, then access and
    shape (one table of 15 columns would hide its right-hand ones)."""
    g = fig.grids.assign(
        lead_short=[planmap.short_name(n, 16) for n in fig.grids["lead_name"]],
        lead_level=[tr("source.assumed") if s == "assumed" else "" for s in fig.grids["lead_level_source"]],
    )
    for columns, key in ((GRID_SIZE, "grid_table"), (GRID_ACCESS, "grid_access")):
        table, figures = format_table(g, [c for c in columns if c.source in g.columns or c.source == ""], lang())
        show_table(table, figures, key=key, widths={tr("ws.col.grid"): 70})
    # Beds that rest on generated capacity say so right under the table.
    share = float(fig.city.get("beds_illustrative_share", 0.0) or 0.0)
    if share > 0:
        st.warning(tr("plan.cli.beds_illustrative_note", share=percent(share, 0, lang())))
    c = fig.city
    cols = st.columns(5)
    cols[0].metric(tr("ws.city.population"), integer(c["population"], lang()))
    cols[1].metric(tr("ws.city.mean_min"), number(c["mean_travel_min"], 1, lang()))
    cols[2].metric(tr("ws.city.share30"), percent(c["share_30_lead"], 1, lang()))
    cols[3].metric(tr("ws.city.balance"), "±" + percent(c["max_balance_dev"], 0, lang()))
    cols[4].metric(tr("ws.city.contiguous"), f"{c['n_contiguous']}/{c['k']}")
    st.caption(tr("ws.yardstick"))


def _export(ws) -> None:
    from grid_planning.exports.formats import FORMATS, PAPER_FORMATS
    from grid_planning.prints.printmap import ORIENTATIONS, PAPER_MM

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


with page_guard():
    ws = workspace()
    st.title(tr("ws.plan.title"))
    st.caption(tr_md("ws.plan.caption", name=ws.layers.name))
    with st.sidebar:
        _parameters(ws)
    _comparison(ws)
    infeasible = st.session_state.get("plan_infeasible")
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
        _grid_tables(fig)
        t1, t2, t3, t4 = st.tabs([tr("ws.tab.edit"), tr("ws.tab.whatif"), tr("ws.tab.scenarios"), tr("ws.tab.export")])
        with t1:
            _hand_edits(ws, fig)
        with t2:
            _what_if(ws)
        with t3:
            scenario_panel(ws, key="plan_scen")
        with t4:
            _export(ws)
