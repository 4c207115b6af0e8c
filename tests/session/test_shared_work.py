"""Work the dashboard's sessions share (grid_planning.session.shared): computed once per city or
location for every session, through the one cache idiom."""

from __future__ import annotations

import threading

from plan_fixtures import make_layers

from grid_planning.session import shared
from grid_planning.session.workspace import Workspace


def test_the_first_request_is_computed_once_for_all_sessions(monkeypatch):
    layers = make_layers()
    calls = []
    real = shared.first_request

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(shared, "first_request", counted)
    shared.FIRST_REQUESTS.clear()
    got = []
    threads = [threading.Thread(target=lambda: got.append(shared.shared_first_request(layers)))
               for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(calls) == 1 and len(got) == 6 and all(g is got[0] for g in got)
    request, advice = got[0]
    assert request.k >= 2
    # A workspace on that request gets the same advice without new planning runs.
    ws = Workspace(layers, request=request)
    monkeypatch.setattr(Workspace, "balance_advice", lambda self: (_ for _ in ()).throw(AssertionError))
    assert shared.shared_balance_advice(ws) is advice
    shared.FIRST_REQUESTS.clear()
    shared.BALANCE_ADVICE.clear()


def test_one_scenario_store_a_location(tmp_path):
    a = shared.shared_store(str(tmp_path / "a.sqlite"))
    assert shared.shared_store(str(tmp_path / "a.sqlite")) is a
    assert shared.shared_store(str(tmp_path / "b.sqlite")) is not a
    shared.STORES.clear()
