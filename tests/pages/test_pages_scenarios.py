"""The scenarios page under AppTest: the list shows a saved scenario, rename works, a note is kept,
a colleague's scenario can be opened and duplicated but its deletion is refused with a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from grid_planning.store.identity import User
from grid_planning.store.scenarios import ScenarioStore

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 180
ALICE = User("alice@wuhan.example", "Alice", "header")


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    for name in ("USER_HEADER", "ADMINS", "STORE_URL", "CONFIG"):
        monkeypatch.delenv(f"GRID_PLANNER_{name}", raising=False)


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at: AppTest):
    return next(d.value for d in at.dataframe if "Scenario" in d.value.columns).set_index("Scenario")


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def test_scenarios_page_list_rename_note_duplicate_and_refused_delete(tmp_path):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.switch_page("pages/plan.py")
    _ok(at.run())
    at.number_input(key="plan_k").set_value(3)
    at.button(key="plan_run").click()
    _ok(at.run())
    at.text_input(key="plan_scen_name").set_value("Plan [A](http://evil.example)")
    at.text_input(key="plan_scen_note").set_value("three grids")
    at.button(key="plan_scen_save").click()
    _ok(at.run())
    assert any("Saved scenario" in s for s in _texts(at.success))
    ws = at.session_state["workspace"]
    # A colleague saved one too (straight into the same store, as another server process would).
    store = ScenarioStore(tmp_path / "scenarios.sqlite")
    theirs = ws.save(store, "Alice's option", note="hers", user=ALICE)

    at.switch_page("pages/scenarios.py")
    _ok(at.run())
    table = _table(at)
    assert set(table.index) == {"Plan [A](http://evil.example)", "Alice's option"}
    mine = table.loc["Plan [A](http://evil.example)"]
    assert (mine["Grids"], mine["Note"], mine["Owner"], mine["Data"]) == (3, "three grids", "local user", "✓ data in use")
    assert table.loc["Alice's option", "Owner"] == "Alice"
    # The user's text never becomes a link in the page's Markdown.
    assert not any("](http" in c for c in _texts(at.caption) + _texts(at.markdown))

    # Rename mine.
    sid = int(store.info("Plan [A](http://evil.example)").id)
    at.selectbox(key="scn_pick").set_value(sid)
    _ok(at.run())
    assert any("This scenario is yours" in c for c in _texts(at.caption))
    at.text_input(key=f"scn_rename_to_{sid}").set_value("Plan B")
    at.button(key="scn_rename").click()
    _ok(at.run())
    assert any("Renamed to “Plan B”" in s for s in _texts(at.success))
    assert "Plan B" in _table(at).index
    at.text_area(key=f"scn_note_{sid}").set_value("agreed with the districts")
    at.button(key="scn_note_save").click()
    _ok(at.run())
    assert _table(at).loc["Plan B", "Note"] == "agreed with the districts"

    # Alice's: read only for me, as the page says; trying anyway is refused with the reason.
    at.selectbox(key="scn_pick").set_value(theirs)
    _ok(at.run())
    assert any("belongs to Alice" in c for c in _texts(at.caption))
    assert at.button(key="scn_delete").disabled  # not before confirming
    at.checkbox(key=f"scn_delete_confirm_{theirs}").check()
    _ok(at.run())
    at.button(key="scn_delete").click()
    _ok(at.run())
    assert any("belongs to Alice" in e and "only its owner" in e for e in _texts(at.error))
    at.text_input(key=f"scn_rename_to_{theirs}").set_value("Hijacked")
    at.button(key="scn_rename").click()
    _ok(at.run())
    assert any("belongs to Alice" in e for e in _texts(at.error))
    assert "Alice's option" in _table(at).index and "Hijacked" not in _table(at).index
    # Anybody may open it and duplicate it; the copy is mine.
    at.button(key="scn_open").click()
    _ok(at.run())
    assert any("Opened “Alice's option”" in s for s in _texts(at.success))
    assert ws.loaded_scenario is not None and ws.loaded_scenario.id == theirs
    at.text_input(key=f"scn_dup_name_{theirs}").set_value("My variant")
    at.button(key="scn_dup").click()
    _ok(at.run())
    table = _table(at)
    assert table.loc["My variant", "Owner"] == "local user" and table.loc["My variant", "Note"] == "hers"

    # Delete mine (after confirming).
    at.selectbox(key="scn_pick").set_value(sid)
    _ok(at.run())
    at.checkbox(key=f"scn_delete_confirm_{sid}").check()
    _ok(at.run())
    at.button(key="scn_delete").click()
    _ok(at.run())
    assert "Plan B" not in _table(at).index
    assert len(ScenarioStore(tmp_path / "scenarios.sqlite").list()) == 2


def test_a_button_meant_for_a_scenario_deleted_elsewhere_acts_on_no_other(tmp_path):
    """Another session deletes the chosen scenario; this one then clicks Open (or Delete): the
    page silently moved to the next scenario, and Open would have opened that one instead."""
    from grid_planning.city.provenance import load_sample_city
    from grid_planning.domain.request import PlanRequest
    from grid_planning.session.workspace import Workspace

    store = ScenarioStore(tmp_path / "scenarios.sqlite")
    ws = Workspace(load_sample_city(), request=PlanRequest(k=3, balance=0.3))
    assert ws.run().ok
    ids = {name: ws.save(store, name) for name in ("A-first", "X-target", "Y-keep")}
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = "en"
    at.switch_page("pages/scenarios.py")
    _ok(at.run())
    at.selectbox(key="scn_pick").set_value(ids["X-target"])
    _ok(at.run())
    store.delete(ids["X-target"])  # the colleague's session
    at.button(key="scn_open").click()
    _ok(at.run())
    assert any("deleted in another session" in w for w in _texts(at.warning))
    assert not at.success  # nothing opened ("Opened Y-keep" before)
    assert set(_table(at).index) == {"A-first", "Y-keep"}
