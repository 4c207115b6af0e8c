"""Plan maps: grid colours, borders where grids meet, leads marked, travel classes, offline HTML."""

import numpy as np
import pytest
import shapely
from plan_fixtures import make_costs, make_layers, make_plan

from grid_planning.assess.metrics import unit_metrics
from grid_planning.city.planview import unit_grids
from grid_planning.maps import planmap
from grid_planning.maps.mapelements import DataLayer
from grid_planning.maps.offline import external_hosts


@pytest.fixture(scope="module")
def city():
    layers = make_layers()
    plan = make_plan()
    costs = make_costs()
    return layers, plan, costs, unit_metrics(layers, plan, costs)


def _geojson_payloads(m) -> list[dict]:
    """The data of every GeoJSON layer of a map (walking folium's element tree)."""
    out, stack = [], [m]
    while stack:
        el = stack.pop()
        if isinstance(el, DataLayer):
            out.append(el.data)
        stack.extend(el._children.values())
    return out


def test_unit_display_finds_rook_neighbours_only(city):
    layers, *_ = city
    d = planmap.unit_display(layers)
    # 4 x 4 squares: 2 * 4 * 3 = 24 shared edges; diagonal corners are not neighbours.
    assert len(d.pairs) == 24
    ids = d.ids
    pairs = {tuple(sorted((ids[a], ids[b]))) for a, b in d.pairs}
    assert ("U00", "U01") in pairs and ("U00", "U10") in pairs
    assert ("U00", "U11") not in pairs


def test_grid_borders_follow_the_grid_change(city):
    layers, plan, *_ = city
    d = planmap.unit_display(layers)
    labels = unit_grids(layers, plan)
    diff = labels[d.pairs[:, 0]] != labels[d.pairs[:, 1]]
    # G1 is the 2 x 2 block in a corner: 4 of its unit edges face G2.
    assert int(diff.sum()) == 4
    data = planmap.grid_borders(d, labels)
    assert len(data["features"]) == 1
    # A single merged line of about 2 km + 2 km (unit side 1 km, in degrees ~0.0093-0.0104).
    coords = np.asarray(data["features"][0]["geometry"]["coordinates"])
    length_deg = np.hypot(*np.diff(coords, axis=0).T).sum()
    assert 0.035 < length_deg < 0.045
    # Everything in one grid: no borders at all.
    assert planmap.grid_borders(d, np.full(len(labels), "G1"))["features"] == []


def test_label_points_lie_inside_their_grid(city):
    layers, plan, *_ = city
    d = planmap.unit_display(layers)
    labels = unit_grids(layers, plan)
    pop = layers.units["population"].to_numpy(float)
    pts = planmap.grid_label_points(d, labels, pop)
    assert set(pts) == {"G1", "G2"}
    for grid, (x, y) in pts.items():
        hit = layers.units[layers.units.contains(__import__("shapely").Point(x, y))]
        assert plan.assignment[hit["id"].iloc[0]] == grid


def test_label_of_a_grid_peopled_along_its_border_sits_inside_it(city):
    layers, plan, *_ = city
    d = planmap.unit_display(layers)
    labels = unit_grids(layers, plan)
    # All of G2's people live next to G1 (the 2 x 2 corner block): the label still goes inside G2,
    # not on the border where it would cover G1's label.
    pop = np.where(np.isin(d.ids, ["U02", "U20"]), 1000.0, 0.0)
    x, y = planmap.grid_label_points(d, labels, pop)["G2"]
    at = d.ids[int(np.argmin((d.points[:, 0] - x) ** 2 + (d.points[:, 1] - y) ** 2))]
    assert labels[list(d.ids).index(at)] == "G2"
    assert at not in {"U02", "U12", "U20", "U21", "U22"}


def test_travel_classes_and_legend():
    k = planmap.travel_class([0, 10, 10.5, 15, 29.9, 30, 61, np.nan])
    # Upper bounds inclusive: 10 is in the first class, 10.5 in the second.
    assert k.tolist() == [0, 0, 1, 1, 3, 3, 6, -1]
    rows = planmap.travel_legend_rows("en")
    assert len(rows) == len(planmap.TRAVEL_PALETTE) + 1
    assert rows[0][1] == "0–10 min" and rows[-2][1] == "over 60 min" and rows[-1][1] == "no data"


def test_grid_colours_are_distinct():
    cols = planmap.grid_colours([f"G{i}" for i in range(1, 13)])
    assert len(set(cols.values())) == 12


@pytest.mark.parametrize("shade", ["grid", "travel"])
def test_plan_map_html_is_offline_and_carries_the_plan(city, shade):
    layers, plan, costs, ud = city
    m = planmap.plan_map(layers, plan, unit_df=ud, shade=shade, selection=["U00", "U01"], lang="en")
    text = m.get_root().render()
    assert external_hosts(text) == set()
    layer = [p for p in _geojson_payloads(m) if p["features"] and "g" in p["features"][0]["properties"]]
    assert len(layer) == 1
    if shade == "grid":
        # One dissolved polygon per grid, exactly the union of its units, with its population.
        grids = {f["properties"]["g"]: f for f in layer[0]["features"]}
        assert sorted(grids) == ["G1", "G2"]
        assert grids["G1"]["properties"]["k"] == 0 and grids["G2"]["properties"]["k"] == 1
        units = layers.units.set_index(layers.units["id"].astype(str))
        for g, f in grids.items():
            members = plan.assignment.index[plan.assignment == g].astype(str)
            assert f["properties"]["p"] == pytest.approx(units.loc[members, "population"].sum())
            assert f["properties"]["nu"] == len(members)
            dissolved = shapely.geometry.shape(f["geometry"])
            assert dissolved.area == pytest.approx(units.loc[members].geometry.union_all().area, rel=1e-3)
        assert shapely.geometry.shape(grids["G1"]["geometry"]).contains(units.loc["U00"].geometry.centroid)
    else:
        props = {f["properties"]["id"]: f["properties"] for f in layer[0]["features"]}
        assert props["U00"]["g"] == "G1" and props["U33"]["g"] == "G2"
        # U00 holds the lead F1: 0 minutes; U03 is in G2, 3 km straight from F2 at U33 -> 6 min.
        assert props["U00"]["m"] == 0.0 and props["U03"]["m"] == pytest.approx(6.0)
        assert props["U03"]["k"] == 0
    # Leads are labelled with their grid, the assumed/planned wording is in the catalogue.
    assert "lead of G1" in text and "lead of G2" in text
    assert "Selected units" in text
    # The provincial hospital is drawn as a collaborator of both grids.
    assert "collaborator supporting G1,G2" in text


def test_grid_shading_sends_far_less_than_one_polygon_per_unit():
    from grid_planning.city.provenance import load_sample_city
    from grid_planning.session.workspace import Workspace

    ws = Workspace(load_sample_city())
    ws.set_request(k=4)
    ws.run()
    sizes = {shade: len(planmap.plan_map(ws.layers, ws.plan, unit_df=ws.figures("en").units,
                                         shade=shade).get_root().render())
             for shade in ("grid", "travel")}
    assert sizes["grid"] < sizes["travel"] / 3


def test_locked_units_are_outlined_and_tooltipped(city):
    layers, plan, costs, ud = city
    locked = plan.with_locks(["U02"], "G2")
    for shade in ("grid", "travel"):
        text = planmap.plan_map(layers, locked, unit_df=ud, lang="en", shade=shade).get_root().render()
        assert "Locked units" in text
    m = planmap.plan_map(layers, locked, unit_df=ud, lang="en", shade="travel")
    units = [p for p in _geojson_payloads(m) if p["features"] and "lk" in p["features"][0]["properties"]]
    props = {f["properties"]["id"]: f["properties"] for f in units[0]["features"]}
    assert props["U02"]["lk"] == "locked" and props["U03"]["lk"] == ""


@pytest.mark.parametrize("column", planmap.TRAVEL_COLUMNS)
def test_coverage_map_shades_each_column(city, column):
    layers, plan, costs, ud = city
    m = planmap.coverage_map(layers, plan, ud, column, lang="en")
    text = m.get_root().render()
    assert external_hosts(text) == set()
    units = [p for p in _geojson_payloads(m) if p["features"] and "m" in p["features"][0]["properties"]]
    props = {f["properties"]["id"]: f["properties"] for f in units[0]["features"]}
    for uid in ("U00", "U21", "U33"):
        assert props[uid]["m"] == pytest.approx(round(float(ud.loc[uid, column]), 1))
        assert props[uid]["k"] == int(planmap.travel_class([ud.loc[uid, column]])[0])
    with pytest.raises(ValueError):
        planmap.coverage_map(layers, plan, ud, "t_nowhere")


def test_planned_facility_is_labelled(city):
    layers, plan, costs, ud = city
    fac = planmap.plan_facilities(layers, plan)
    row = fac.iloc[2].to_dict() | {"source": "planned", "role": "member", "grid_id": "G1"}
    tip = planmap.plan_tooltip_lines(row, "en")
    assert ["planned (what-if, not an existing institution)", "n"] in tip
    assert "member of G1" in tip
    # Names from users' files stay text: the browser escapes each line (gpLines).
    tip = planmap.plan_tooltip_lines(row | {"name": "<script>x</script>"}, "en")
    assert tip[0] == ["<script>x</script>", "b"]


def test_plan_map_keeps_the_view_per_city_in_the_browser_tab(city):
    layers, plan, costs, ud = city
    text = planmap.plan_map(layers, plan, unit_df=ud, lang="en", view_key="plan").get_root().render()
    # Restored from and saved to the tab's sessionStorage, under a key naming the city.
    key = f"gp-view:plan:{layers.fingerprint()}"
    assert f'"{key}"' in text
    assert "sessionStorage" in text and ".setView([v.lat,v.lng],v.zoom" in text
    assert "map.on('moveend'" in text
    plain = planmap.plan_map(layers, plan, unit_df=ud, lang="en").get_root().render()
    assert "sessionStorage" not in plain


def test_same_plan_gives_the_same_st_folium_component(city):
    """st_folium keys its component on the map's script: a rerun that changes nothing on the map
    must give the same script (else the map is rebuilt on every rerun and loses its view)."""
    from streamlit_folium import _generate_leaflet_string, generate_js_hash

    layers, plan, costs, ud = city

    def js_hash(selection):
        m = planmap.plan_map(layers, plan, unit_df=ud, lang="en", selection=selection, view_key="plan")
        m.render()
        return generate_js_hash(_generate_leaflet_string(m)[0], "plan_map")

    assert js_hash(["U00"]) == js_hash(["U00"])
    assert js_hash(["U00"]) != js_hash(["U01"])


def _overlapping_city():
    """The 4 x 4 city with unit U11 stretched 400 m over U01 (both in G1): units that do not
    tile, as a user's file may have them; the coverage union double-counts the overlap there."""
    from dataclasses import replace

    from plan_fixtures import CRS, X0, Y0
    from shapely.geometry import box

    layers = make_layers()
    units = layers.units.to_crs(CRS)
    units.loc[units["id"] == "U11", "geometry"] = box(X0 + 1000, Y0 + 600, X0 + 2000, Y0 + 2000)
    return replace(layers, units=units.to_crs(4326))


def test_dissolve_falls_back_when_the_units_overlap():
    from shapely.geometry import box

    parts = np.array([box(0, 0, 2, 1), box(1, 0, 3, 1)])
    assert not shapely.coverage_union_all(parts).is_valid  # what the fast path gives here
    for grid_size in (None, 1e-5):
        shape = planmap.dissolve(parts, grid_size=grid_size)
        assert shape.is_valid and shape.area == pytest.approx(3.0)


def test_print_and_meeting_maps_dissolve_overlapping_units_into_valid_grids():
    from grid_planning.meeting import compare, meetingmap
    from grid_planning.planning.planner import move_units
    from grid_planning.prints import printmap

    layers = _overlapping_city()
    plan = make_plan()
    grids = printmap.map_data(layers, plan).grids.set_index("grid_id")
    assert grids.geometry.is_valid.all()
    assert grids.geometry["G1"].area == pytest.approx(4e6, rel=1e-6)  # the 2 x 2 km block, once
    moved = move_units(layers, plan, ["U01", "U11"], "G2")
    changes = compare.changed_units(layers, plan, moved)
    flows = meetingmap.flow_data(layers, changes, {"F1": "#111111", "F2": "#222222"})
    shapes = [shapely.geometry.shape(f["geometry"]) for f in flows["features"]]
    assert len(shapes) == 1 and shapes[0].is_valid
