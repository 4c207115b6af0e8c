"""The plan page's sidebar and its run: k, balance, leads, exceptions, cost mode, run/replan, the
k-comparison and its table.

Widgets and session state only: what the lists offer, what the widgets show, what the balance
note says and how an exception changes the request are decided in
:mod:`grid_planning.session.plan_page`.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from grid_planning.base.i18n import CatalogueError
from grid_planning.session import plan_page as pp
from grid_planning.session.shared import shared_balance_advice
from grid_planning.session.ui_state import format_table, seed_widget
from grid_planning.session.workspace import Workspace
from pages._common import lang, md_text, show_table, tr
from pages._ws import fmt, progress_runner

DONE = "plan_done"  # (plan revision, k, seconds) of the last successful run: worded when shown
INFEASIBLE = "plan_infeasible"  # the refusal of the last run, shown until the next one
CMP_TABLE = "cmp_table"
WHOLE = "plan_whole_districts"  # the "keep whole districts" checkbox


def run(ws: Workspace, fresh: bool) -> None:
    """Plan (``fresh``) or re-plan keeping the locks, with a progress box; a refusal is kept in
    :data:`INFEASIBLE` for the page to explain."""
    status, progress = progress_runner("ws.plan.running")
    # "Keep whole districts" plans district by district (a fresh run only: a re-plan keeps locks).
    districts = pp.districts_of(ws.layers) if st.session_state.get(WHOLE) else None
    if fresh and districts is not None:
        result = ws.run(progress, districts=districts)
    else:
        result = ws.run(progress) if fresh else ws.replan(progress)
    if result.ok:
        done = tr("ws.plan.done", k=result.plan.k, seconds=f"{result.stats.get('seconds', 0):.2f}")
        status.update(label=done, state="complete", expanded=False)
        # Shown under the buttons until the plan changes: the map drawing reruns the page, which
        # would otherwise take the confirmation away with the status box.
        st.session_state[DONE] = (ws.revision, result.plan.k, f"{result.stats.get('seconds', 0):.2f}")
    else:
        # collapsed: the reason is on the page, and the bar would show a step it stopped after
        status.update(label=tr("ws.plan.infeasible"), state="error", expanded=False)
        st.session_state[INFEASIBLE] = result.infeasible


def _exception_form(ws: Workspace, form: str, field: str, labels: dict[str, str], label_key: str,
                    button_key: str, *, select_key: str, reason_key: str) -> None:
    """A facility plus a written reason, added to the request's ``field`` ("in principle" exception)."""
    with st.form(form, clear_on_submit=True):
        fid = st.selectbox(tr(label_key), options=list(labels), format_func=labels.get,
                           index=None, placeholder=tr("ws.choose"), key=select_key)
        reason = st.text_input(tr("ws.exc.reason"), key=reason_key)
        if st.form_submit_button(tr(button_key)):
            try:
                ws.set_request(**{field: pp.with_exception(getattr(ws.request, field), fid, reason)})
            except CatalogueError as exc:  # a reason over the bound: say so, with the figures
                st.error(md_text(exc.message(lang())))
            except ValueError:
                st.error(tr("ws.exc.need_reason"))


def _balance_note(ws: Workspace, balance: float | None) -> None:
    """Say which balance the city can meet and what the plan would look like without it."""
    with st.spinner(tr("dash.balance.computing")):
        advice = shared_balance_advice(ws)  # a few planning runs, once for every session
    note = pp.balance_note(advice, ws.request, balance, lang())
    st.caption(tr(note.key, **note.params))
    if note.offer is not None and st.button(tr("dash.balance.use", tol=note.params["tol"]), key="plan_balance_use"):
        ws.change_request(balance=note.offer)
        st.rerun()


def _actions(ws: Workspace) -> None:
    c1, c2 = st.columns(2)
    ran = False
    if c1.button(tr("ws.plan.run"), type="primary", key="plan_run", width="stretch"):
        st.session_state.pop(INFEASIBLE, None)
        run(ws, fresh=True)
        ran = True
    if c2.button(tr("ws.plan.replan"), key="plan_replan", disabled=ws.plan is None, width="stretch",
                 help=tr("ws.plan.replan_help")):
        st.session_state.pop(INFEASIBLE, None)
        run(ws, fresh=False)
        ran = True
    done = st.session_state.get(DONE)
    if not ran and done and done[0] == ws.revision and ws.plan is not None:
        st.success(tr("ws.plan.done", k=done[1], seconds=done[2]), icon=":material/check_circle:")


def _exceptions(ws: Workspace) -> None:
    req = ws.request
    layers = ws.effective_layers()
    upgraded = pp.whatif_leads(ws.layers, layers)  # offered here only: open the box for them
    with st.expander(tr("ws.exc.title"), expanded=bool(req.designated_leads or req.g5_waivers or upgraded)):
        st.caption(tr("ws.exc.caption"))
        # Only the hospitals the G4 rule lets lead by designation (grid_planning.domain.rules).
        # ... and those eligible only by a what-if edit: a G4 exception too (never a fixed lead).
        h_labels = pp.designation_choices(ws.layers, layers, lang())
        _exception_form(ws, "designate_form", "designated_leads", h_labels, "ws.exc.designate", "ws.exc.add",
                        select_key="exc_fid", reason_key="exc_reason")
        lead_labels = pp.lead_labels(layers, ws.request, lang())
        _exception_form(ws, "waiver_form", "g5_waivers", lead_labels, "ws.exc.g5_lead", "ws.exc.add_g5",
                        select_key="waiver_fid", reason_key="waiver_reason")
        rows = pp.exception_rows(ws.request, h_labels, lead_labels)
        for i, row in enumerate(rows):
            c1, c2 = st.columns([5, 1])
            c1.markdown(f"**{row.rule}** · {md_text(row.label)} — {md_text(row.reason)}")
            n = sum(r.rule == row.rule for r in rows[:i])  # the button keys count per rule
            if c2.button(tr("ws.remove"), key=f"rm_{row.rule}_{n}"):
                ws.set_request(**{row.field: pp.without_exception(getattr(ws.request, row.field), row.facility_id)})
                st.rerun()


def parameters(ws: Workspace) -> None:
    """Request widgets (k, balance, leads, exceptions, cost mode) and the run/compare buttons.

    k, balance and the run button come first, so "run" is on the first screen of the sidebar."""
    layers = ws.effective_layers()
    req = ws.request
    elig_labels = pp.fixed_choices(ws.layers, layers, lang())
    n_leads = pp.lead_count(layers, req)
    modes = pp.cost_modes(layers)
    for key, value in pp.widget_values(req, n_leads, elig_labels, modes).items():
        # Per workspace too: another city (a new workspace) starts its own revisions at 0.
        seed_widget(st.session_state, key, value, lang=lang(), revision=(id(ws), ws.request_revision))

    k = st.number_input(tr("ws.plan.k"), min_value=1, max_value=max(2, n_leads), step=1, key="plan_k",
                        help=tr("ws.plan.k_help", n=len(pp.eligible(layers))))
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
    n_assumed = pp.assumed_leads(layers)
    if n_assumed:
        st.caption(tr("ws.plan.assumed_note", n=n_assumed))
    if pp.districts_of(ws.layers) is not None:
        st.checkbox(tr("ws.plan.whole_districts"), key=WHOLE, help=tr("ws.plan.whole_districts_help"))
    mode = st.radio(tr("ws.plan.cost_mode"), modes, format_func=fmt("ws.cost."), horizontal=True,
                    key="plan_cost_mode")
    if "roads" not in modes:
        st.caption(tr("ws.plan.no_roads"))
    balance = balance_pct / 100 if use_balance else None
    ws.set_request(k=int(k), fixed_leads=tuple(fixed), excluded_leads=tuple(excluded), balance=balance,
                   cost=replace(req.cost, mode=mode))

    with note:
        _balance_note(ws, balance)
    with actions:
        _actions(ws)
    _exceptions(ws)

    with st.expander(tr("ws.cmp.title")):
        lo, hi, default = pp.compare_range(n_leads)
        lo_k, hi_k = st.slider(tr("ws.cmp.range"), lo, hi, default, key="cmp_range")
        if st.button(tr("ws.cmp.run"), key="cmp_run"):
            with st.spinner(tr("ws.cmp.running")):
                st.session_state[CMP_TABLE] = ws.compare(range(lo_k, hi_k + 1))


def comparison(ws: Workspace) -> None:
    """The k-comparison in the page (the sidebar is too narrow for its table), with "use this k"."""
    table = st.session_state.get(CMP_TABLE)
    if table is None:
        return
    with st.expander(tr("ws.cmp.title"), expanded=True):
        shown, figures = format_table(pp.comparison_rows(table, lang()), pp.CMP_COLUMNS, lang())
        show_table(shown, figures, key="cmp_df", widths={tr("ws.cmp.k"): 50, tr("ws.cmp.explanation"): "large"})
        ok_ks = pp.plannable_ks(table)
        if ok_ks:
            c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
            pick = c1.selectbox(tr("ws.cmp.pick"), ok_ks, key="cmp_pick")
            if c2.button(tr("ws.cmp.use"), key="cmp_use"):
                ws.change_request(k=int(pick))
                run(ws, fresh=True)
                st.rerun()
