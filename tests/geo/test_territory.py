"""Grids tile the city: the units' territories cover the boundary, unpopulated land included."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from grid_planning.assess.metrics import city_metrics, grid_metrics
from grid_planning.city.layers import summarise
from grid_planning.city.planview import unit_grids
from grid_planning.city.provenance import load_sample_city
from grid_planning.domain.request import PlanRequest
from grid_planning.geo.territory import tile
from grid_planning.maps.shared import dissolve
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


def test_the_land_a_territory_adds_is_the_territory_without_its_unit(wuhan_k8):
    layers, _ = wuhan_k8
    units, terr, land = layers.index.geometry, layers.index.territory, layers.index.territory_land
    grown = ~shapely.is_empty(land)
    assert 0 < grown.sum() < len(units)  # lakes and fields go to some units, not to all
    assert shapely.area(shapely.intersection(units[grown], land[grown])).max() < 1e-3
    np.testing.assert_allclose(shapely.area(units) + shapely.area(land), shapely.area(terr), rtol=1e-9)


def test_each_printed_grid_is_its_units_territories_dissolved(wuhan_k8):
    """The print map dissolves a grid as its units' coverage plus the land they add: the same shape
    as the robust union of its territories (the same area to 1e-9, a symmetric difference under a
    square metre, every hole of another grid's land kept), without the hair-thin gaps between
    territories that the robust union keeps as hundreds of sub-m² holes, and that split a grid
    into parts or leave a unit inside its own grid's lake as an island."""
    layers, plan = wuhan_k8
    terr = layers.index.territory
    drawn = map_data(layers, plan).grids.set_index("grid_id").geometry
    labels = unit_grids(layers, plan)
    for grid, shape in drawn.items():
        mine = labels == grid
        old = dissolve(terr[mine], grid_size=None)
        assert shape.is_valid
        assert shape.area == pytest.approx(float(shapely.area(terr[mine]).sum()), rel=1e-9)
        assert shape.area == pytest.approx(old.area, rel=1e-9)
        assert shapely.symmetric_difference(shape, old, grid_size=0.01).area < 1.0

        def real(geom):
            parts = [p for p in shapely.get_parts(geom) if p.area >= 1.0]
            holes = [shapely.Polygon(h) for p in parts for h in p.interiors]
            return parts, [h for h in holes if h.area >= 1.0]

        (parts, holes), (old_parts, old_holes) = real(shape), real(old)
        assert len(parts) <= len(old_parts) and len(holes) <= len(old_holes)
        # Old parts that are one part here were separated by a hair-thin gap between
        # territories, not by land of another grid.
        for part in parts:
            inside = [p for p in old_parts if part.contains(p.point_on_surface())]
            assert inside and shapely.get_num_geometries(
                shapely.union_all(shapely.buffer(inside, 1e-3))) == 1
        # An old hole gone here held a part of the grid itself across such a gap.
        kept = sorted(round(h.area) for h in holes)
        for hole in old_holes:
            if round(hole.area) in kept:
                kept.remove(round(hole.area))
            else:
                assert shapely.intersection(hole, shape).area == pytest.approx(hole.area, rel=1e-6)
        assert kept == []


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
