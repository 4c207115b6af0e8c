"""Grids tile the city: the units' territories cover the boundary, unpopulated land included."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from grid_planning.assess.metrics import city_metrics, grid_metrics
from grid_planning.city.layers import summarise
from grid_planning.city.provenance import load_sample_city
from grid_planning.domain.request import PlanRequest
from grid_planning.geo.territory import tile
from grid_planning.planning.planner import plan_city
from grid_planning.prints.printmap import map_data


def test_a_lake_between_two_units_is_split_between_them_and_an_empty_corner_joins_its_neighbour():
    # Two 1 km units with a 1 km lake between them, inside a 3 x 2 km city.
    left, right = shapely.box(0, 0, 1000, 1000), shapely.box(2000, 0, 3000, 1000)
    boundary = shapely.box(0, 0, 3000, 2000)
    out = tile(np.asarray([left, right], dtype=object), boundary)
    assert shapely.union_all(out).symmetric_difference(boundary).area < 1e-6
    assert sum(g.area for g in out) == pytest.approx(boundary.area)
    # Each keeps its own unit and gets the land nearest to it: half of everything.
    assert out[0].contains(left) and out[1].contains(right)
    assert out[0].area == pytest.approx(3e6) and out[1].area == pytest.approx(3e6)
    assert shapely.intersection(out[0], out[1]).area < 1e-6


def test_without_a_boundary_units_are_their_own_territory():
    units = np.asarray([shapely.box(0, 0, 1, 1)], dtype=object)
    assert tile(units, None)[0].equals(units[0])


@pytest.fixture(scope="module")
def wuhan_k8():
    layers = load_sample_city()
    return layers, plan_city(layers, PlanRequest(k=8, balance=0.1)).plan


def test_sample_grids_add_up_to_the_city_and_leave_no_hole(wuhan_k8):
    layers, plan = wuhan_k8
    city_area = summarise(layers)["area_km2"]
    boundary = layers.boundary.to_crs(layers.metric_crs).geometry.union_all()
    # On main the grids covered 7,290.8 of 8,581.8 km²: 15 % of Wuhan was in no grid.
    gm = grid_metrics(layers, plan)
    assert gm["area_km2"].sum() == pytest.approx(city_area, rel=1e-6)
    assert city_metrics(layers, plan, grid_df=gm)["area_km2"] == pytest.approx(city_area, rel=1e-9)
    drawn = map_data(layers, plan).grids
    union = shapely.union_all(drawn.geometry.to_numpy())
    assert boundary.difference(union).area / 1e6 < 0.01
    assert drawn.geometry.area.sum() / 1e6 == pytest.approx(city_area, rel=1e-6)
    # Residents are unchanged: still the units'.
    assert gm["population"].sum() == pytest.approx(float(layers.units["population"].sum()))


def test_one_bed_figure_on_the_home_page_the_report_and_the_grids(wuhan_k8):
    layers, plan = wuhan_k8
    home = summarise(layers)
    gm = grid_metrics(layers, plan)
    cm = city_metrics(layers, plan, grid_df=gm)
    # Main said 7.33 on the home page (provincial hospitals' beds counted) and 5.35 in the report.
    assert home["beds_per_1000"] == pytest.approx(cm["beds_per_1000"])
    assert home["beds"] == pytest.approx(gm["beds"].sum())
    assert home["beds_collaborators"] > 0
    assert home["beds_per_1000"] == pytest.approx(5.35, abs=0.01)
