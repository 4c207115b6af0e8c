"""What the planner chose in a widget survives page changes and the language switch
(grid_planning.session.ui_state.seed_widget), on a plain dict standing in for st.session_state.

Streamlit deletes the state of every widget a run does not draw (another page), and a choice widget
remembers the *label* of its option (the other language has other labels); both are simulated here
by what they do to the session: the key disappears, or the language changes. The real thing is
tested in a browser (tests/browser/test_browser_state.py).
"""

from __future__ import annotations

from grid_planning.session.ui_state import (
    KEPT,
    SEEDED,
    keep_widget,
    kept_value,
    remember_widget,
    seed_widget,
)


def draw(state: dict, key: str, *, lang: str = "zh", user: object = None, default: object = "none") -> object:
    """One run of a page drawing a kept widget: seed, let the user act, record what it shows."""
    keep_widget(state, key, lang=lang, default=default)
    if key not in state:  # Streamlit's own default
        state[key] = default
    if user is not None:
        state[key] = user
    remember_widget(state, key, state[key], lang=lang)
    return state[key]


def test_first_draw_uses_the_default_then_the_planners_choice_stays():
    state: dict = {}
    assert draw(state, "home_tiles") == "none"
    assert draw(state, "home_tiles", user="osm") == "osm"
    assert draw(state, "home_tiles") == "osm"


def test_a_change_right_after_a_first_draw_without_default_is_kept():
    # Drawn once at the widget's own default (nothing seeded), then changed: the next run must not
    # put the recorded first value back over the planner's change.
    state: dict = {}
    keep_widget(state, "home_tiles", lang="zh")
    state["home_tiles"] = "none"  # Streamlit's default
    remember_widget(state, "home_tiles", "none", lang="zh")
    state["home_tiles"] = "osm"  # the planner's choice arrives with the next run
    keep_widget(state, "home_tiles", lang="zh")
    assert state["home_tiles"] == "osm"


def test_a_page_change_drops_the_widget_and_the_choice_comes_back():
    state: dict = {}
    draw(state, "cov_column", default="t_lead")
    draw(state, "cov_column", user="t_secondary")
    del state["cov_column"]  # another page ran: Streamlit removed the widget's state
    assert kept_value(state, "cov_column") == "t_secondary"
    assert draw(state, "cov_column", default="t_lead") == "t_secondary"


def test_the_language_switch_rewrites_the_choice_so_the_new_labels_match():
    state: dict = {}
    draw(state, "export_kind", default="gpkg")
    draw(state, "export_kind", user="pdf")
    # The browser still sends the Chinese label; Streamlit would not find it among the English
    # labels and fall back to the first option. The seed replaces it with the option itself.
    state["export_kind"] = "PDF 方案报告"
    assert draw(state, "export_kind", lang="en") == "pdf"
    assert state[SEEDED]["export_kind"] == ("en", None)


def test_seed_leaves_a_live_widget_alone_in_the_same_language_and_revision():
    state = {"plan_k": 6, SEEDED: {"plan_k": ("zh", 3)}}
    assert not seed_widget(state, "plan_k", 4, lang="zh", revision=3)
    assert state["plan_k"] == 6  # what the planner is typing, not the stored request


def test_seed_writes_when_the_value_was_replaced_from_outside():
    state = {"plan_k": 6, SEEDED: {"plan_k": ("zh", 3)}}
    assert seed_widget(state, "plan_k", 5, lang="zh", revision=4)  # a scenario was opened
    assert state["plan_k"] == 5


def test_plan_parameters_return_from_the_request_after_a_page_change():
    # The plan page seeds from the workspace's request: k and balance come back as they were,
    # not as the widget's own default (k = 1, tolerance 0.05: the reported bug).
    request = {"plan_k": 6, "plan_balance_on": True, "plan_balance": 20}
    state: dict = {}
    for key, value in request.items():
        seed_widget(state, key, value, lang="zh", revision=0)
    for key in request:
        del state[key]  # the coverage page ran
    for key, value in request.items():
        assert seed_widget(state, key, value, lang="zh", revision=0)
    assert {k: state[k] for k in request} == request


def test_without_a_default_or_a_recorded_value_the_widget_keeps_its_own_default():
    state: dict = {}
    keep_widget(state, "mem_grid", lang="zh")
    assert "mem_grid" not in state and KEPT not in state
