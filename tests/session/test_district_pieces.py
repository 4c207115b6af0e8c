"""Districts that are themselves in several pieces among the units (issue 17): a refusal to keep
whole districts names them and says why, in the CLI and on the plan page; a plan that keeps them
whole says why a grid may then be in pieces.

Two cities: a synthetic one with an exclave made here (a unit of D0 deep inside D5), and the
sample, whose districts are cut into pieces by the units as its office supplied them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.sparse.csgraph import connected_components

from grid_planning.city.provenance import load_sample_city
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.session import plan_page as pp
from grid_planning.session.workspace import Workspace

STRAIGHT = CostParams(mode="straight")


@pytest.fixture(scope="module")
def exclave():
    base = synthetic_city(600, 60, 8, seed=1)
    x = base.index.points[:, 0]
    strip = np.searchsorted(np.quantile(x, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]), x, side="right")
    names = np.array([f"D{s}" for s in strip], dtype=object)
    # the unit farthest east belongs to D0, at the other end of the city: D0 is in two pieces
    names[int(np.argmax(x))] = "D0"
    return dataclasses.replace(base, units=base.units.assign(district=names))


def _pieces(city) -> dict[str, int]:
    """Pieces of every district on the units' adjacency, counted here with scipy."""
    adj = city.index.adjacency.tocsr()
    names = pp.districts_of(city).reindex(city.index.unit_ids).to_numpy()
    out = {}
    for name in sorted(set(names)):
        idx = np.flatnonzero(names == name)
        out[str(name)] = connected_components(adj[idx][:, idx], directed=False)[0]
    return out


def test_a_refusal_names_the_districts_in_pieces_and_why(exclave):
    truth = {n: p for n, p in _pieces(exclave).items() if p > 1}
    assert truth.get("D0", 0) >= 2  # the exclave made above
    ws = Workspace(exclave, request=PlanRequest(k=8, balance=0.05, cost=STRAIGHT))
    result = ws.run(districts=pp.districts_of(exclave))
    assert not result.ok
    advice = result.infeasible.advice_texts("en")
    assert len(advice) == 1
    assert advice[0].startswith(f"Note also: {len(truth)} districts are themselves in several pieces")
    for name in _pieces(exclave):
        assert (f"{name} ({truth.get(name)})" in advice[0]) == (name in truth), name
    assert "Exclaves" in advice[0] and "飞地" in result.infeasible.advice_texts("zh")[0]


def test_a_whole_district_plan_says_why_a_grid_may_be_in_pieces(exclave):
    ws = Workspace(exclave, request=PlanRequest(k=3, balance=0.5, cost=STRAIGHT))
    assert ws.run().ok
    assert pp.pieces_note(exclave, ws.plan, "en") is None  # not asked to keep districts whole
    assert ws.run(districts=pp.districts_of(exclave)).ok
    note = pp.pieces_note(exclave, ws.plan, "en")
    assert note is not None and "districts are themselves in several pieces" in note and "D0 (" in note
    # and it is so: the grid holding D0 whole is in pieces
    fig = ws.figures("en")
    grid = ws.plan.assignment[pp.districts_of(exclave).eq("D0").to_numpy()].unique()
    assert len(grid) == 1 and not bool(fig.grids.set_index("grid_id").at[grid[0], "contiguous"])


def test_without_an_exclave_nothing_is_said():
    base = synthetic_city(300, 40, 6, seed=3)
    x = base.index.points[:, 0]
    city = dataclasses.replace(base, units=base.units.assign(district=np.where(x < np.median(x), "W", "E")))
    ws = Workspace(city, request=PlanRequest(k=2, balance=0.5, cost=STRAIGHT))
    assert ws.run(districts=pp.districts_of(city)).ok
    assert pp.pieces_note(city, ws.plan, "en") is None
    refused = Workspace(city, request=PlanRequest(k=4, balance=0.05, cost=STRAIGHT)).run(districts=pp.districts_of(city))
    assert not refused.ok and refused.infeasible.advice_texts("en") == []


def test_the_sample_refusal_and_plan_name_its_districts_in_pieces():
    sample = load_sample_city()
    districts = pp.districts_of(sample)
    pieces = sample.index.contiguity(districts.reindex(sample.index.unit_ids).to_numpy())["parts"]
    in_pieces = sorted(str(n) for n, p in pieces.items() if p > 1)
    assert in_pieces  # the sample as supplied: e.g. 蔡甸区 with its exclaves
    ws = Workspace(sample, request=PlanRequest(k=6, balance=0.1, cost=STRAIGHT))
    refused = ws.run(districts=districts)
    assert not refused.ok
    advice = " ".join(refused.infeasible.advice_texts("zh"))
    assert all(f"{name}（" in advice for name in in_pieces), advice
    assert not any(f"{name}（" in advice for name in set(pd.unique(districts.dropna())) - set(in_pieces))
    ws.change_request(k=4, balance=0.2)
    assert ws.run(districts=districts).ok
    note = pp.pieces_note(sample, ws.plan, "zh")
    assert note is not None and all(f"{name}（" in note for name in in_pieces)
