"""What the plan page decides, without a browser (grid_planning.session.plan_page), on a city that
is not Wuhan: the Liaoning-like pilot city (Fuxin, one eligible lead, a far district that needs a
G5 exception) and an L-shaped city near Mudanjiang whose extent's centre lies outside it."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from grid_planning.city.layers import CityLayers
from grid_planning.domain.request import BalanceAdvice, PlanRequest
from grid_planning.session import plan_page as pp

WUHAN = (114.30, 30.59)  # the old default of every city's planned hospital


def _l_city() -> CityLayers:
    """Five 2 km squares in an L near Mudanjiang (129.6 E, 44.6 N): the extent's centre is in
    the empty square inside the L."""
    crs = "EPSG:32652"
    x0, y0 = 550_000.0, 4_940_000.0
    cells = [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2)]
    units = gpd.GeoDataFrame(
        {"id": [f"U{c}{r}" for c, r in cells], "name": list("甲乙丙丁戊"), "population": [1000.0, 2000.0, 3000.0, 500.0, 800.0]},
        geometry=[box(x0 + c * 2000, y0 + r * 2000, x0 + (c + 1) * 2000, y0 + (r + 1) * 2000) for c, r in cells],
        crs=crs,
    ).to_crs(4326)
    fac = gpd.GeoDataFrame(
        {"id": ["H1"], "name": ["市医院"], "level": ["tertiary"], "type": ["general"], "owner_level": ["municipal"],
         "beds": [500.0], "source": ["illustrative"], "level_source": ["data"]},
        geometry=[Point(x0 + 1000, y0 + 1000)], crs=crs,
    ).to_crs(4326)
    boundary = gpd.GeoDataFrame({"name": ["L"]}, geometry=[units.union_all()], crs=4326)
    return CityLayers("Mudanjiang L", units, fac, boundary, crs)


# ---- where a planned hospital starts ------------------------------------------------------------
def test_a_planned_hospital_starts_at_the_centre_of_the_city_in_use(fuxin):
    lon, lat = pp.city_centre(fuxin)
    minx, miny, maxx, maxy = fuxin.units.to_crs(4326).total_bounds
    assert (lon, lat) == (round((minx + maxx) / 2, 5), round((miny + maxy) / 2, 5))
    assert 121.6 < lon < 122.0 and 42.0 < lat < 42.2  # Fuxin, nowhere near Wuhan
    assert fuxin.units.to_crs(4326).contains(Point(lon, lat)).any()
    assert pp.place_default(fuxin, None) == (lon, lat)
    # Once the planner clicked the map in "place" mode, the form starts there.
    assert pp.place_default(fuxin, (121.9, 42.1)) == (121.9, 42.1)


def test_a_centre_outside_the_city_moves_into_the_nearest_unit():
    city = _l_city()
    units = city.units
    minx, miny, maxx, maxy = units.total_bounds
    corner = Point((minx + maxx) / 2, (miny + maxy) / 2)
    assert not units.contains(corner).any()  # the L's empty corner
    lon, lat = pp.city_centre(city)
    assert units.contains(Point(lon, lat)).any()
    assert 129.5 < lon < 129.8 and 44.5 < lat < 44.7


# ---- the lists and the widgets ------------------------------------------------------------------
def test_choices_follow_the_city_and_the_language(fuxin):
    assert pp.eligible(fuxin)["id"].tolist() == ["P01"]  # the one eligible lead of the pilot city
    assert list(pp.choices(fuxin, "elig", "en")) == ["P01"]
    assert pp.assumed_leads(fuxin) == int((pp.eligible(fuxin)["eligibility"] == "assumed").sum())
    assert pp.lead_count(fuxin, PlanRequest(k=2)) == 1
    assert pp.lead_count(fuxin, PlanRequest(k=2, designated_leads=(("P03", "文件"),))) == 2
    hospitals = pp.choices(fuxin, "hospitals", "en")
    assert set(hospitals) == {"P01", "P02", "P03", "P07"}  # every facility but primary care
    assert hospitals["P01"].startswith("阜新市中心医院")
    assert pp.choices(fuxin, "hospitals", "en") is hospitals  # computed once per layers
    assert pp.cost_modes(fuxin) == ["auto", "straight"]  # no road layer
    with pytest.raises(ValueError):
        pp.choices(fuxin, "nonsense", "en")


def test_widgets_show_the_request_within_what_they_allow():
    req = PlanRequest(k=9, fixed_leads=("A", "Z"), excluded_leads=("B",), balance=0.12)
    values = pp.widget_values(req, n_leads=4, elig_labels={"A": "a", "B": "b"}, modes=["auto", "straight"])
    assert values == {"plan_k": 4, "plan_fixed": ["A"], "plan_excluded": ["B"], "plan_balance_on": True,
                      "plan_balance": 10, "plan_cost_mode": "auto"}
    off = pp.widget_values(PlanRequest(k=0), n_leads=1, elig_labels={}, modes=["straight"])
    assert off["plan_k"] == 1 and off["plan_balance_on"] is False and off["plan_balance"] == 30
    assert off["plan_cost_mode"] == "straight"
    assert [pp.percent_step(s) for s in (0.0, 0.024, 0.026, 0.3, 2.0)] == [5, 5, 5, 30, 100]


def test_the_balance_note_says_what_the_city_can_meet():
    req = PlanRequest(k=3)
    assert pp.balance_note(BalanceAdvice(None, None), req, None, "en").key == "dash.balance.unknown"
    none = pp.balance_note(BalanceAdvice(None, 0.8), req, None, "en")
    assert none.key == "dash.balance.none_met" and none.offer is None and none.params["dev"] == "80\u00a0%"
    suggest = pp.balance_note(BalanceAdvice(0.15, 0.8), req, None, "en")
    assert suggest.key == "dash.balance.suggest" and suggest.offer == 0.15
    assert suggest.params == {"tol": "15\u00a0%", "dev": "80\u00a0%", "k": 3}
    other = pp.balance_note(BalanceAdvice(0.15, 0.8), req, 0.3, "en")
    assert other.key == "dash.balance.suggest" and other.offer == 0.15
    on = pp.balance_note(BalanceAdvice(0.15, 0.8), req, 0.15, "en")
    assert on.key == "dash.balance.on" and on.offer is None


# ---- exceptions and leads -----------------------------------------------------------------------
def test_an_exception_needs_a_facility_and_a_written_reason():
    pairs = (("P03", "文件一"),)
    for fid, reason in ((None, "理由"), ("P02", "  "), ("", "理由")):
        with pytest.raises(ValueError):
            pp.with_exception(pairs, fid, reason)
    assert pp.with_exception(pairs, "P02", "  文件二 ") == (("P03", "文件一"), ("P02", "文件二"))
    assert pp.with_exception(pairs, "P03", "改") == (("P03", "改"),)
    assert pp.without_exception((("P03", "a"), ("P02", "b")), "P03") == (("P02", "b"),)


def test_exception_rows_list_designations_then_waivers_with_their_labels():
    req = PlanRequest(k=2, designated_leads=(("P03", "文件"),), g5_waivers=(("P01", "跨网格"), ("X9", "?")))
    rows = pp.exception_rows(req, {"P03": "太平区人民医院"}, {"P01": "阜新市中心医院"})
    assert [(r.rule, r.field, r.facility_id, r.label, r.reason) for r in rows] == [
        ("G4", "designated_leads", "P03", "太平区人民医院", "文件"),
        ("G5", "g5_waivers", "P01", "阜新市中心医院", "跨网格"),
        ("G5", "g5_waivers", "X9", "X9", "?"),
    ]


def test_fixing_a_lead_unexcludes_it_and_excluding_unfixes_it():
    req = PlanRequest(k=2, fixed_leads=("A",), excluded_leads=("B",))
    assert pp.fixed_lead(req, "B") == {"fixed_leads": ("A", "B"), "excluded_leads": ()}
    assert pp.excluded_lead(req, "A") == {"excluded_leads": ("B", "A"), "fixed_leads": ()}
    assert pp.fixed_lead(req, "A")["fixed_leads"] == ("A",)


def test_compare_range_and_the_plannable_ks():
    assert pp.compare_range(1) == (2, 3, (2, 2))
    assert pp.compare_range(4) == (2, 4, (2, 4))
    assert pp.compare_range(30) == (2, 10, (2, 6))
    table = pd.DataFrame({"k": [2, 3, 4], "status": ["ok", "infeasible", "ok"], "compliant": [True, None, False],
                          "infeasible": [None, None, None]})
    rows = pp.comparison_rows(table, "en")
    assert rows["compliant_text"].tolist() == ["✓", "–", "✗"]
    assert rows["status_text"].iloc[1] != rows["status_text"].iloc[0]
    assert pp.plannable_ks(table) == [2, 4]


# ---- map clicks ---------------------------------------------------------------------------------
def test_a_click_does_what_the_click_mode_says(planned):
    unit = planned.layers.units.iloc[0]
    pt = unit.geometry.representative_point()
    poly = {"last_active_drawing": {"geometry": {"type": "Polygon"}, "properties": {"id": unit["id"]}},
            "last_clicked": {"lng": pt.x, "lat": pt.y}, "last_object_clicked_count": 1}
    assert pp.click_action(planned, poly, "select") == pp.ClickAction("toggle", str(unit["id"]))
    assert pp.click_action(planned, poly, "facility") == pp.ClickAction("none")
    assert pp.click_action(planned, poly, "place") == pp.ClickAction("place", lonlat=(pt.x, pt.y))
    fac = planned.layers.facilities.iloc[0]
    marker = {"last_active_drawing": {"geometry": {"type": "Point", "coordinates": [fac.geometry.x, fac.geometry.y]},
                                      "properties": {"id": fac["id"]}}}
    assert pp.click_action(planned, marker, "select") == pp.ClickAction("facility", fac["id"])
    assert pp.click_action(planned, None, "select").kind == "none"
    # The counter tells a second click on the same spot from a rerun.
    again = dict(poly, last_object_clicked_count=2)
    assert pp.click_signature(poly) != pp.click_signature(again)
    assert pp.click_signature(poly) == pp.click_signature(dict(poly, zoom=12))
    assert pp.click_signature(None) == "null"


# ---- figures ------------------------------------------------------------------------------------
def test_grid_rows_and_city_metrics_of_a_planned_city(planned):
    fig = planned.figures("en")
    rows = pp.grid_rows(fig, "en")
    assert list(rows.index) == list(planned.plan.grid_ids)
    assert all(len(s) <= 16 for s in rows["lead_short"])
    assert [c.source for c in pp.grid_columns(rows, pp.GRID_SIZE)][:3] == ["", "lead_short", "population_shown"]
    metrics = dict(pp.city_metrics(fig, "en"))
    assert metrics["ws.city.population"] == f"{fig.city['population']:,.0f}"
    assert metrics["ws.city.contiguous"] == f"{fig.city['n_contiguous']}/2"
    # The pilot city's beds are generated: the page must say so.
    assert pp.illustrative_beds_share(fig) == pytest.approx(float(fig.city["beds_illustrative_share"]))
    grid = planned.plan.grid_ids[0]
    assert pp.grid_label(fig, grid) == f"{grid} · {fig.grids.at[grid, 'lead_name']}"
    assert pp.grid_label(fig, "nope") == "nope"
    members = [u for u, g in planned.plan.assignment.items() if g == grid][:2]
    summary = pp.selection_summary(fig, members)
    assert summary["n"] == 2 and summary["grids"] == grid
    assert summary["population"] == f"{fig.units.loc[members, 'population'].sum():,.0f}"


# ---- district lines and road fallback (issue 17) -------------------------------------------------
@pytest.fixture(scope="module")
def districted():
    """600 units in six vertical strips of equal unit count: the districts D0-D5."""
    import dataclasses

    import numpy as np

    from grid_planning.city.synthetic import synthetic_city

    base = synthetic_city(600, 60, 8, seed=1)
    x = base.index.points[:, 0]
    strip = np.searchsorted(np.quantile(x, [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6]), x, side="right")
    return dataclasses.replace(base, units=base.units.assign(district=[f"D{s}" for s in strip]))


def _cut(city, plan) -> int:
    from grid_planning.city.districts import district_splits, splits_summary

    pop = pd.Series(city.index.population, index=city.index.unit_ids).reindex(plan.assignment.index)
    return splits_summary(district_splits(plan.assignment, pp.districts_of(city), pop))["cut"]


def test_the_plan_page_states_the_district_splits_and_keeps_whole_districts_on_request(districted):
    from grid_planning.domain.request import CostParams
    from grid_planning.session.workspace import Workspace

    ws = Workspace(districted, request=PlanRequest(k=3, balance=0.5, cost=CostParams(mode="straight")))
    assert ws.run().ok
    cut = _cut(districted, ws.plan)
    assert cut > 0
    note = pp.splits_note(districted, ws.plan, "en")
    assert note.startswith(f"District splits: {cut} of 6 districts cut by grid lines")
    assert "Cut: D" in note  # the cut districts are named, with their parts
    assert "区划切分" in pp.splits_note(districted, ws.plan, "zh")
    # "Keep whole districts": the same request, every district in one grid.
    result = ws.run(districts=pp.districts_of(districted))
    assert result.ok and ws.plan.k == 3 and _cut(districted, ws.plan) == 0
    assert pp.splits_note(districted, ws.plan, "en").startswith("District splits: 0 of 6 districts")
    assert ws.plan.param_map.get("whole_districts") is True
    assert ws.can_undo


def test_keep_whole_districts_refuses_naming_the_districts(districted):
    from grid_planning.domain.request import CostParams
    from grid_planning.session.workspace import Workspace

    # Eight grids at ±5 %: a grid may hold at most 1.05 / 8 of the residents; larger districts cannot stay whole.
    ws = Workspace(districted, request=PlanRequest(k=8, balance=0.05, cost=CostParams(mode="straight")))
    result = ws.run(districts=pp.districts_of(districted))
    assert not result.ok and ws.plan is None
    text = result.infeasible.message("en")
    assert "Districts cannot all stay whole" in text
    pop = pd.Series(districted.index.population, index=districted.index.unit_ids).groupby(pp.districts_of(districted)).sum()
    too_big = set(pop[pop > 1.05 * pop.sum() / 8].index)
    assert too_big and all((name in text) == (name in too_big) for name in pop.index), text


def test_a_city_without_districts_offers_no_whole_districts(fuxin):
    assert "district" not in fuxin.units.columns or pp.districts_of(fuxin) is not None
    city = _l_city()
    assert pp.districts_of(city) is None
    assert pp.splits_note(city, None, "en") is None  # type: ignore[arg-type]


def _two_bank_city(bridge: bool) -> CityLayers:
    """Ten 1 km cells on each bank of a river (y 2-3 km), streets on each bank, both hospitals on
    the south bank; with ``bridge`` one street crosses."""
    import shapely

    crs, x0, y0 = "EPSG:32650", 500_000.0, 3_380_000.0
    cells = [(x, y) for y in (0, 1000, 3000, 4000) for x in range(0, 5000, 1000)]
    units = gpd.GeoDataFrame({"id": [f"U{i:02d}" for i in range(len(cells))], "name": [f"c{i}" for i in range(len(cells))],
                              "population": 1000.0},
                             geometry=[box(x0 + x, y0 + y, x0 + x + 1000, y0 + y + 1000) for x, y in cells], crs=crs)
    lines = []
    for y in (500, 1500, 3500, 4500):
        lines += [[(x, y), (x + 1000, y)] for x in range(0, 5000, 1000)]
    for x in range(0, 6000, 1000):
        lines += [[(x + 0.0, 500), (x + 0.0, 1500)], [(x + 0.0, 3500), (x + 0.0, 4500)]]
    if bridge:
        lines.append([(4000.0, 1500), (4000.0, 3500)])
    roads = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)},
                             geometry=[shapely.LineString([(x0 + a, y0 + b) for a, b in pts]) for pts in lines], crs=crs)
    fac = gpd.GeoDataFrame({"id": ["W", "E"], "name": ["west", "east"]},
                           geometry=[Point(x0 + 500, y0 + 500), Point(x0 + 4500, y0 + 1500)], crs=crs)
    return CityLayers("two banks", units, fac, units[["geometry"]], crs, roads=roads)


def test_the_share_falling_back_to_straight_line_time_is_stated_when_not_zero():
    from types import SimpleNamespace

    roads = SimpleNamespace(mode="roads")
    cut = _two_bank_city(bridge=False)
    note = pp.fallback_note(cut, roads, "en")
    assert note is not None and note.replace("\xa0", " ").startswith("50.0 % of residents (10,000 in 10 units)"), note
    assert "直线" in pp.fallback_note(cut, roads, "zh")
    assert pp.fallback_note(cut, SimpleNamespace(mode="straight"), "en") is None
    assert pp.fallback_note(_two_bank_city(bridge=True), roads, "en") is None
