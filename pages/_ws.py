"""Streamlit plumbing shared by the workspace pages (plan, coverage, members, checklist).

The logic lives in :mod:`grid_planning.session.workspace`; here are only what needs Streamlit: the one
:class:`~grid_planning.session.workspace.Workspace` of the session (its first request and balance
advice shared across sessions by :mod:`grid_planning.session.shared`), friendly error display, the
check panel and the scenario panel the plan and checklist pages share.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import streamlit as st

from grid_planning.base.i18n import CatalogueError, has
from grid_planning.base.localtime import local_stamp
from grid_planning.base.textsafe import escape_markdown
from grid_planning.session.page_tables import attention_lines, check_summary, checks_table
from grid_planning.session.shared import shared_first_request, shared_store
from grid_planning.session.team import changes_text, markdown_message
from grid_planning.session.workspace import Workspace
from grid_planning.store.identity import User, all_headers
from grid_planning.store.identity import current_user as identify
from grid_planning.store.scenarios import ScenarioStore, default_store_url
from pages._common import PAGE_NAMES, active_layers, fmt, lang, md_text, tr  # noqa: F401 - fmt for the pages

WS = "workspace"


def workspace() -> Workspace:
    """The session's workspace, on the layers in use (a new one when the data changed).

    A new workspace starts from :func:`grid_planning.session.workspace.first_request`: balance on at the
    tightest tolerance the city meets (computed once per city for every session).
    """
    layers, _ = active_layers()
    ws = st.session_state.get(WS)
    if (
        ws is None
        or ws.layers is not layers
        and ws.layers.fingerprint() != layers.fingerprint()
    ):
        with st.spinner(tr("dash.balance.computing")):
            request, _ = shared_first_request(layers)
        ws = Workspace(layers, request=request)  # travel costs shared by the city's index
        st.session_state[WS] = ws
    return ws


def store() -> ScenarioStore:
    """The scenario store of this server (setting ``store_url``; default under ``$GRID_PLANNER_HOME``)."""
    return shared_store(default_store_url())


def current_user() -> User:
    """Who is using this session: Streamlit sign-in, else the configured proxy header, else the
    local user (see :mod:`grid_planning.store.identity`)."""
    try:
        info = dict(st.user)
    except Exception:  # noqa: BLE001 - no script context (bare tests): nobody signed in
        info = {}
    try:
        # Every value of every header: a header sent twice (a client's copy beside the proxy's)
        # is refused, not resolved to the first.
        headers = all_headers(st.context.headers)
    except Exception:  # noqa: BLE001 - AppTest has no request
        headers = {}
    return identify(info, headers)


@contextlib.contextmanager
def action() -> Iterator[None]:
    """Run one planner action; a refused action shows why (never a traceback)."""
    try:
        yield
    except (CatalogueError, ValueError, KeyError) as exc:
        st.error(markdown_message(exc, lang()))


def require_plan(ws: Workspace) -> bool:
    """Say how to get a plan when there is none; True when there is one."""
    if ws.plan is None:
        go_plan("ws.no_plan")
        return False
    return True


def go_plan(message_key: str) -> None:
    """Show ``message_key`` (a text that names the plan page as ``{page}``, as the menu does) and a
    link to the plan page."""
    page = tr(PAGE_NAMES["pages/plan.py"])
    st.info(tr(message_key, page=page))
    st.page_link("pages/plan.py", label=tr("ws.go_plan", page=page), icon=":material/map:")


def check_panel(checks: list, *, compact: bool = False) -> None:
    """The G1-G5 (+ contiguity, G8) results, failures first, exceptions with their reason."""
    summary = check_summary(checks)
    getattr(st, summary.level)(tr(summary.key, **summary.params))
    # What needs attention is spelled out in full; the passes are one table away.
    for icon, rule, where, message in attention_lines(checks, lang()):
        st.markdown(f"{icon} **{md_text(rule)} · {md_text(where)}** — {md_text(message)}")
    with st.expander(tr("ws.checks.all", n=len(checks)), expanded=not compact):
        st.dataframe(checks_table(checks, lang()), hide_index=True, width="stretch", key="checks_table",
                     column_config={tr("ws.checks.col.message"): st.column_config.TextColumn(width="large")})


def scenario_panel(ws: Workspace, *, key: str) -> None:
    """Save the current plan as a named scenario, open one of this city's; the rest (rename,
    duplicate, delete, notes, import/export) is on the scenarios page."""
    try:
        scen = store()
    except CatalogueError as exc:
        st.error(markdown_message(exc, lang()))
        return
    user = current_user()
    st.caption(tr("team.panel.caption", store=escape_markdown(scen.label)))
    loaded_flag(ws)
    left, right = st.columns(2)
    with left:
        name = st.text_input(tr("ws.scen.name"), key=f"{key}_name")
        note = st.text_input(tr("ws.scen.note"), key=f"{key}_note")
        overwrite = st.checkbox(tr("ws.scen.overwrite"), key=f"{key}_overwrite")
        if st.button(tr("ws.scen.save"), key=f"{key}_save", disabled=ws.plan is None or user.anonymous):
            try:
                sid = ws.save(scen, name, note=note, overwrite=overwrite, user=user)
                st.success(tr("ws.scen.saved", name=escape_markdown(scen.info(sid).name)))
            except (CatalogueError, ValueError) as exc:
                st.error(markdown_message(exc, lang()))
    with right:
        try:
            saved = scen.list(ws.layers.fingerprint())
        except CatalogueError as exc:
            st.error(markdown_message(exc, lang()))
            return
        if saved.empty:
            st.caption(tr("ws.scen.none"))
        else:
            labels = {int(r.id): f"{r.name} · k={r.k} · {local_stamp(r.updated)}" for r in saved.itertuples()}
            sid = st.selectbox(tr("ws.scen.saved_list"), options=list(labels),
                               format_func=labels.__getitem__, key=f"{key}_pick")
            if st.button(tr("ws.scen.load"), key=f"{key}_load"):
                try:
                    ws.load(scen, int(sid))
                    st.success(tr("ws.scen.loaded", name=escape_markdown(labels[int(sid)])))
                    st.rerun()
                except (CatalogueError, ValueError) as exc:
                    st.error(markdown_message(exc, lang()))
        st.page_link("pages/scenarios.py", label=tr("team.panel.manage"), icon=":material/folder_open:")


def loaded_flag(ws: Workspace) -> None:
    """Which scenario is on screen; a warning when it was saved on other layers than those in use."""
    hit = ws.loaded_scenario
    if hit is None:
        return
    if hit.changed:
        st.warning(tr("team.opened_name", name=escape_markdown(hit.name)) + " " + changes_text(hit.changed, lang()))
    else:
        st.caption(tr("team.opened_name", name=escape_markdown(hit.name)))


def progress_runner(label_key: str):
    """A ``(fraction, message_key)`` progress callback drawing into an ``st.status`` box."""
    status = st.status(tr(label_key), expanded=True)
    bar = status.progress(0.0)

    def progress(fraction: float, message_key: str) -> None:
        text = tr(message_key) if has(message_key) else message_key
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

    return status, progress
