"""Synthetic cities: deterministic, the requested sizes, every facility kind, an island to link."""

import numpy as np
from scipy.sparse.csgraph import connected_components

from grid_planning.city.synthetic import synthetic_city
from grid_planning.domain import rules, schema
from grid_planning.geo.graph import unit_adjacency


def test_same_seed_same_city_and_sizes():
    a = synthetic_city(400, 60, 8, seed=3)
    b = synthetic_city(400, 60, 8, seed=3)
    c = synthetic_city(400, 60, 8, seed=4)
    assert len(a.units) == 400 and len(a.facilities) == 60
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert a.units["id"].is_unique and a.facilities["id"].is_unique
    assert (a.units["population"] >= 0).all()
    assert abs(a.units["population"].sum() - 5_000_000) < 1000
    assert str(a.units.crs) == "EPSG:4326" and a.metric_crs == "EPSG:32650"


def test_facility_mix_covers_every_role():
    city = synthetic_city(1000, 100, 15, seed=0)
    fac = city.facilities
    eligible = rules.g4_eligible(fac)
    assert eligible.sum() == 15
    assert rules.g5_qualifies(fac).sum() >= 10
    assert fac["owner_level"].isin(schema.COLLABORATOR_OWNER_LEVELS).sum() >= 2
    assert fac["type"].isin(schema.CROSS_GRID_TYPES).any()
    assert fac["type"].isin(schema.PRIMARY_CARE_TYPES).any()
    assert set(fac["level_source"]) == {"data", "assumed"}
    # Eligible leads lie in distinct units.
    from grid_planning.city.planview import facility_units

    fu = facility_units(city)
    assert fu[fac.loc[eligible, "id"]].is_unique


def test_lakes_leave_an_island_that_adjacency_links():
    city = synthetic_city(1500, 80, 10, seed=1, lakes=True)
    raw = unit_adjacency(city.units, city.metric_crs, link_components=False)
    assert connected_components(raw, directed=False)[0] >= 2
    linked = unit_adjacency(city.units, city.metric_crs)
    assert connected_components(linked, directed=False)[0] == 1


def test_roads_are_built_and_cut_by_lakes():
    city = synthetic_city(800, 50, 6, seed=2, with_roads=True)
    assert city.roads is not None and len(city.roads) > 20
    assert set(city.roads["highway"]) <= {"primary", "secondary", "residential"}
    assert np.isnan(city.roads["speed_kmh"]).all()
