"""Grid Planner dashboard: `streamlit run app.py`.

Routes with ``st.navigation`` over the page files listed in PAGES, holds the language switch and
says which data is in use. Pages are thin: widgets and layout only, logic in ``grid_planning``.
"""

from __future__ import annotations

import streamlit as st

from grid_planning.base.i18n import t
from grid_planning.session.ui_state import chrome_css
from pages._common import (
    APP_RAN,
    LANG,
    REDIRECT,
    active_layers,
    city_name,
    lang,
    page_guard,
    tr,
    tr_md,
)

# The tab title follows the language chosen in this session (reading session state is not a
# page element, so set_page_config still comes first).
st.set_page_config(page_title=t("app.title", st.session_state.get(LANG, "zh")), layout="wide")

# ---------------------------------------------------------------------------------------------
# PAGES: every page file, in menu order, grouped by section (title key of the section first).
# Workspace pages go in a new section here, e.g.
#     ("app.nav.section.plan", [("pages/plan.py", "plan.nav", False),
#                               ("pages/coverage.py", "coverage.nav", False),
#                               ("pages/members.py", "members.nav", False)]),
# Each entry: (file, catalogue key of the menu title, is the default page).
# ---------------------------------------------------------------------------------------------
PAGES: list[tuple[str, list[tuple[str, str, bool]]]] = [
    (
        "app.nav.section.city",
        [
            ("pages/home.py", "app.nav.home", True),
            ("pages/data.py", "app.nav.data", False),
        ],
    ),
    (
        "ws.nav.section",
        [
            ("pages/plan.py", "ws.nav.plan", False),
            ("pages/coverage.py", "ws.nav.coverage", False),
            ("pages/members.py", "ws.nav.members", False),
            ("pages/checklist.py", "ws.nav.checklist", False),
            ("pages/scenarios.py", "team.nav", False),
            ("pages/compare.py", "meeting.nav.compare", False),
            ("pages/present.py", "meeting.nav.present", False),
        ],
    ),
]

LANGUAGE_LABELS = {"zh": "中文", "en": "English"}

# Written back on every run, before the radio: the first session of a freshly started server runs
# app.py once before the navigation is registered, so the radio's id (Streamlit hashes the page into
# it) changes on the next run and the language chosen on that first click would fall back to Chinese.
st.session_state[LANG] = lang()
# The label must not change with the language: Streamlit identifies a widget by its label too, so a
# label that follows the choice makes a new widget that falls back to Chinese on the very click that
# chose English. The label is bilingual anyway.
st.sidebar.radio(
    t("app.language", "zh"),
    options=list(LANGUAGE_LABELS),
    format_func=LANGUAGE_LABELS.__getitem__,
    key=LANG,
    horizontal=True,
)

# Streamlit's own English (upload button and limit, input hints) in the chosen language; a style
# element only, so it takes no room on the page.
st.html(f"<style>{chrome_css(lang())}</style>")

navigation = st.navigation(
    {
        t(section, lang()): [
            st.Page(
                path, title=t(title, lang()), default=default, url_path=path.split("/")[-1][:-3]
            )
            for path, title, default in entries
        ]
        for section, entries in PAGES
    }
)

# Pages check this flag (pages._common.ensure_navigation); a page first served without app.py
# (Streamlit's pages/ folder fallback on a fresh server) is sent here and then back.
st.session_state[APP_RAN] = True
if (target := st.session_state.pop(REDIRECT, None)) is not None:
    st.switch_page(target)

with page_guard():
    layers, is_sample = active_layers()
    st.sidebar.caption(
        tr_md(
            "app.data_in_use",
            name=tr("app.data_sample")
            if is_sample
            else f"{tr('app.data_uploaded')} · {city_name(layers.name)}",
        )
    )

navigation.run()
