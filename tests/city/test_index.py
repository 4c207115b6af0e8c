"""One index per city: built once, shared by what-if layers, safe when sessions plan at once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from grid_planning.city.costs import travel_costs
from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain.plan import FacilityEdit, effective_layers
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.geo import graph
from grid_planning.planning.planner import plan_city


def _fresh():
    return synthetic_city(300, 50, 6, seed=21)


def test_concurrent_plans_equal_sequential_plans_and_share_one_index(monkeypatch):
    """Streamlit runs each browser session in a thread: eight sessions planning the same city at
    once get the plans one session gets alone, and the city's adjacency is built once."""
    built = []
    real = graph.build_adjacency

    def counting(*args, **kwargs):
        built.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(graph, "build_adjacency", counting)
    requests = [PlanRequest(k=k, balance=b) for k in (2, 3, 4, 5) for b in (None, 0.3)]
    alone = [plan_city(_fresh(), r) for r in requests]
    built.clear()
    shared = _fresh()
    barrier = threading.Barrier(len(requests))

    def session(r):
        barrier.wait()  # all start together: the index is built while they all ask for it
        return plan_city(shared, r)

    with ThreadPoolExecutor(len(requests)) as pool:
        together = list(pool.map(session, requests))
    assert len(built) == 1  # one adjacency for eight sessions
    for a, b in zip(alone, together, strict=True):
        assert a.ok and b.ok
        assert a.plan.assignment.equals(b.plan.assignment)
        assert a.plan.leads.equals(b.plan.leads)
        assert a.stats["objective"] == pytest.approx(b.stats["objective"], rel=1e-12)


def test_costs_are_computed_once_per_model_and_facilities_under_contention():
    city = _fresh()
    params = CostParams(mode="straight")
    with ThreadPoolExecutor(6) as pool:
        mats = list(pool.map(lambda _: travel_costs(city, params), range(6)))
    assert all(m is mats[0] for m in mats)
    assert not mats[0].minutes.flags.writeable


def test_what_if_layers_share_the_index_and_locate_their_own_facilities():
    city = _fresh()
    fac = city.facilities
    sec = str(fac.loc[fac["level"] == "secondary", "id"].iloc[0])
    lon, lat = float(fac.geometry.x.mean()), float(fac.geometry.y.mean())
    edits = (
        FacilityEdit("close", sec),
        FacilityEdit("add", "NEW", (("lon", lon), ("lat", lat), ("level", "tertiary"))),
    )
    eff = effective_layers(city, edits)
    assert eff.index is city.index  # units, roads and CRS are the same: one index
    loc = eff.index.locate(eff.facilities)
    assert "NEW" in set(loc.ids) and sec not in set(loc.ids)
    assert loc.unit_of("NEW") == city.index.locate(eff.facilities).unit_of("NEW")
    base = city.index.locate(city.facilities)
    assert sec in set(base.ids)


def test_index_values_are_read_only():
    city = _fresh()
    for arr in (city.index.geometry, city.index.points, city.index.area_km2, city.index.population):
        assert not arr.flags.writeable
    with pytest.raises(ValueError):
        city.index.population[0] = 1.0
    assert np.isclose(city.index.population.sum(), city.units["population"].sum())
