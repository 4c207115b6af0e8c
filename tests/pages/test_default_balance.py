"""Population balance is on by default, at the tightest tolerance the city meets
(planner.suggest_balance, workspace.first_request), and the plan page says so."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from awkward_cities import pilot_city
from streamlit.testing.v1 import AppTest

from grid_planning.base.i18n import t
from grid_planning.city.layers import load_city
from grid_planning.city.provenance import load_sample_city
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import BALANCE_CHOICES, PlanRequest
from grid_planning.planning.planner import plan_city, suggest_balance
from grid_planning.session.workspace import Workspace, default_k, first_request

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def sample():
    return load_sample_city()


def test_suggestion_is_the_tightest_tolerance_that_gives_a_plan():
    layers = synthetic_city(n_units=16, n_facilities=20, n_eligible=4, seed=7)
    request = PlanRequest(k=3)
    advice = suggest_balance(layers, request)
    assert advice.tolerance == 0.2
    assert advice.unbalanced_dev == pytest.approx(0.494, abs=0.01)
    assert not plan_city(layers, replace(request, balance=0.1), analyse=False).ok  # tighter: none
    met = plan_city(layers, replace(request, balance=0.2), analyse=False)
    assert met.ok and met.stats["max_balance_dev"] <= 0.2 + 1e-9


def test_sample_city_starts_balanced_at_ten_percent_instead_of_74(sample):
    request, advice = first_request(sample)
    assert request.k == default_k(sample) == 4
    assert request.balance == advice.tolerance == BALANCE_CHOICES[0]
    # on its roads (the default), the 5.37 M beside 1.35 M plan
    assert advice.unbalanced_dev == pytest.approx(0.74, abs=0.01)
    ws = Workspace(sample, request=request)
    assert ws.run().ok
    pops = ws.figures("zh").grids["population"]
    mean = pops.sum() / len(pops)
    assert ((pops - mean).abs() <= 0.1 * mean + 1).all()  # every grid within ±10 % of the mean


def test_a_city_that_cannot_be_planned_yet_starts_without_balance(tmp_path):
    # The Liaoning pilot shape needs a G4 designation before any k = 2 plan exists.
    layers = load_city(*pilot_city(tmp_path, "streets"))
    request, advice = first_request(layers)
    assert request == PlanRequest(k=2) and advice.tolerance is None and advice.unbalanced_dev is None


def _plan_page(lang: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["lang"] = lang
    at.switch_page("pages/plan.py")
    return at.run()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_plan_page_shows_balance_on_and_explains_it(lang, tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    at = _plan_page(lang)
    assert not at.exception
    assert at.checkbox(key="plan_balance_on").value is True
    assert at.slider(key="plan_balance").value == 10
    ws = at.session_state["workspace"]
    assert ws.request.balance == 0.1
    expected = t("dash.balance.on", lang, tol="10%" if lang == "zh" else "10\u00a0%", k=4,
                 dev="74%" if lang == "zh" else "74\u00a0%")
    assert expected in [c.value for c in at.sidebar.caption]
    # Balance off: the note turns into a suggestion with a button that switches it back on.
    at.checkbox(key="plan_balance_on").uncheck().run()
    assert ws.request.balance is None
    assert any(c.value.startswith(t("dash.balance.suggest", lang, tol="", k=4, dev="")[:6]) for c in at.sidebar.caption)
    at.button(key="plan_balance_use").click().run()
    assert ws.request.balance == 0.1
    assert at.checkbox(key="plan_balance_on").value is True
