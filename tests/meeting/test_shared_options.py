"""Meeting work shared by the dashboard's sessions (grid_planning.meeting.shared): an option opened
once per scenario version and language; an overwritten scenario is a new entry."""

from __future__ import annotations

from plan_fixtures import make_layers

from grid_planning.domain.request import PlanRequest
from grid_planning.meeting import shared
from grid_planning.session.workspace import Workspace
from grid_planning.store.scenarios import ScenarioStore


def test_an_option_is_opened_once_per_version(tmp_path, monkeypatch):
    layers = make_layers()
    store = ScenarioStore(tmp_path / "s.sqlite")
    ws = Workspace(layers, request=PlanRequest(k=2))
    assert ws.run().ok
    sid = ws.save(store, "方案甲")
    calls = []
    real = shared.load_option
    monkeypatch.setattr(shared, "load_option", lambda *a, **k: calls.append(1) or real(*a, **k))
    shared.OPTIONS.clear()
    one = shared.shared_option(store, sid, "v1", layers, "zh")
    assert shared.shared_option(store, sid, "v1", layers, "zh") is one and len(calls) == 1
    assert one.name == "方案甲"
    shared.shared_option(store, sid, "v2", layers, "zh")  # overwritten: opened again
    shared.shared_option(store, sid, "v2", layers, "en")  # another language
    assert len(calls) == 3
    # Another store with the same scenario id is another option.
    other = ScenarioStore(tmp_path / "other" / "s.sqlite")
    assert shared.store_where(other) != shared.store_where(store)
    shared.OPTIONS.clear()
