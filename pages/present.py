"""Presentation mode: the chosen saved options on a full-window map without the sidebar, key
figures in large type over the map, switched in the browser (arrow keys, a click) so a meeting
never waits. Reached from the compare page (``?ids=`` carries the options) and the scenarios page.
Widgets only: the presentation is :func:`grid_planning.meeting.meetingmap.present_html`."""

from __future__ import annotations

import streamlit as st

from grid_planning.meeting.meetingmap import present_html
from grid_planning.session.message_bound import map_refusal, text_bytes
from pages._common import active_layers, ensure_navigation, lang, page_guard, tr, tr_md
from pages._meeting import CHOSEN, label, options, remember_requested, requested_ids, saved_options
from pages._ws import go_plan

remember_requested()
ensure_navigation(__file__)

PICK = "present_pick"
#: Most options a presentation holds (digits 1-9 jump to one).
MAX_PRESENTED = 9

# The page is the map: no sidebar, no Streamlit header, no margins. The style goes with the page
# (Streamlit removes it when the planner navigates away).
_FULL_SCREEN = """<style>
section[data-testid="stSidebar"], div[data-testid="stSidebarCollapsedControl"],
header[data-testid="stHeader"], div[data-testid="stToolbar"], div[data-testid="stDecoration"] { display: none !important; }
div[data-testid="stMainBlockContainer"], .block-container { padding: 0.35rem 0.8rem 0 0.8rem !important; max-width: 100% !important; }
section[data-testid="stMain"] { overflow: hidden !important; }
.st-key-present_bar { gap: 0.4rem; height: 40px; min-height: 40px; }
.st-key-present_bar p { font-size: 1.05rem; }
.st-key-present_map div[data-testid="stElementContainer"] { height: auto !important; }
.st-key-present_map iframe { height: calc(100vh - 64px) !important; display: block; }
</style>"""


def _chooser(found, ids) -> None:
    """Pick the options to present when none were handed over."""
    st.title(tr("meeting.present.title"))
    st.caption(tr("meeting.present.caption"))
    if found.empty:
        go_plan("meeting.present.none")
        return
    labels = {int(r.id): label(r, "") for r in found.itertuples()}
    if PICK not in st.session_state:
        st.session_state[PICK] = [i for i in ids if i in labels] or list(labels)[:3]
    picked = st.multiselect(tr("meeting.present.pick"), options=list(labels), format_func=labels.__getitem__,
                            max_selections=MAX_PRESENTED, key=PICK)
    if st.button(tr("meeting.present.start"), type="primary", disabled=not picked, key="present_start"):
        st.session_state[CHOSEN] = [int(i) for i in picked]
        st.query_params["ids"] = ",".join(str(int(i)) for i in picked)
        st.rerun()


with page_guard():
    st.html(_FULL_SCREEN)
    layers, _ = active_layers()
    scen, found, _others = saved_options(layers)
    asked = requested_ids()[:MAX_PRESENTED]
    known = set(found["id"].astype(int))
    ids = [i for i in asked if i in known]
    if not ids:
        st.page_link("pages/scenarios.py", label=tr("team.nav"), icon=":material/arrow_back:")
        _chooser(found, asked)
        st.stop()
    st.session_state[CHOSEN] = ids
    query = ",".join(map(str, ids))
    with st.container(horizontal=True, key="present_bar", vertical_alignment="center"):
        st.page_link("pages/compare.py", label=tr("meeting.present.back"), icon=":material/arrow_back:",
                     query_params={"ids": query})
        if st.button(tr("meeting.present.change"), key="present_change", type="tertiary"):
            st.session_state[PICK] = ids  # the chooser starts from what was on screen
            st.session_state[CHOSEN] = []
            st.query_params.clear()
            st.rerun()
        if len(ids) < len(asked):
            st.caption(tr_md("meeting.present.missing", n=len(asked) - len(ids)))
    with st.spinner(tr("meeting.computing")):
        opts = options(scen, layers, found, ids, lang())
    html = present_html(layers, opts, lang(), key=f"{layers.fingerprint()}:{query}")
    if (refusal := map_refusal(text_bytes(html), lang(), what="present")) is not None:
        st.warning(refusal)  # over the bound on one message (setting max_message_mb)
        st.stop()
    with st.container(key="present_map"):
        st.iframe(html, height=820, alt=tr("meeting.present.frame"))
