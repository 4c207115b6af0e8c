"""The meeting maps (grid_planning.meeting.meetingmap): self-contained pages, data as data, one colour per
lead across maps. Hostile names go through every page; the browser test shows them as text."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from hostile import HOSTILE_SHORT
from plan_fixtures import make_costs, make_layers, make_plan
from test_compare import MOVED, relabel

from grid_planning.base.textsafe import display_text
from grid_planning.maps.htmlmap import LIBRARY_IDENTIFIERS
from grid_planning.maps.offline import VENDOR_URL, external_hosts
from grid_planning.meeting import compare as c
from grid_planning.meeting import meetingmap as mm
from grid_planning.planning.planner import move_units


def page_data(page: str) -> dict:
    """The ``DATA`` object a page was built with (JSON as written by script_json)."""
    start = page.index("var DATA=") + len("var DATA=")
    end = page.index(";\n", start)
    return json.loads(page[start:end])


def strings(value) -> list[str]:
    """Every string in a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


@pytest.fixture(scope="module")
def city():
    return make_layers()


@pytest.fixture(scope="module")
def options(city):
    a = make_plan()
    b = relabel(move_units(city, a, list(MOVED), "G1"), {"G1": "G2", "G2": "G1"})
    costs = make_costs()
    return [c.plan_option(city, a, "甲", costs, key=1), c.plan_option(city, b, "乙", costs, key=2)]


def assert_self_contained(page: str) -> None:
    assert external_hosts(page) <= LIBRARY_IDENTIFIERS
    assert VENDOR_URL not in page and "<script src" not in page and "<link" not in page
    assert "L.map(" in page  # Leaflet's source and our use of it are both in the page


def test_compare_page_is_self_contained_with_one_colour_per_lead(city, options):
    page = mm.compare_html(city, options, "zh")
    assert_self_contained(page)
    data = page_data(page)
    assert [m["name"] for m in data["maps"]] == ["甲", "乙"]
    assert data["bounds"][0][0] < data["bounds"][1][0]
    colours = []
    for m in data["maps"]:
        grids = {f["properties"]["tip"][0][0].split(" · ")[1]: f["properties"]["c"]
                 for f in m["plan"]["grids"]["features"]}
        colours.append(grids)
    # G1 of the first map and G2 of the second are the same grid (led by 市一医院): one colour.
    assert colours[0]["市一医院"] == colours[1]["市一医院"]
    assert colours[0]["区人民医院"] == colours[1]["区人民医院"] != colours[0]["市一医院"]
    assert [p["c"] for p in data["maps"][1]["plan"]["leads"]] == [colours[1]["区人民医院"], colours[1]["市一医院"]]
    assert data["maps"][1]["sub"] == "2 个网格 · 覆盖 13,600 人"


def test_changes_page_draws_each_move_once(city, options):
    a, b = options
    changes = c.changed_units(city, a.plan, b.plan)
    page = mm.changes_html(city, a, b, changes, c.lead_colours(options), "en")
    assert_self_contained(page)
    flows = page_data(page)["flows"]["features"]
    assert len(flows) == 1
    tip = flows[0]["properties"]["tip"]
    assert tip[1] == "From: G2 · 区人民医院" and tip[2] == "To: G2 · 市一医院"
    assert tip[3] == "2 population units" and tip[4] == "Residents 1,000"
    assert flows[0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_present_page_holds_every_option_and_its_figures(city, options):
    page = mm.present_html(city, options, "en", start=5, key="1,2")
    assert_self_contained(page)
    data = page_data(page)
    assert data["start"] == 1  # clamped to the last option
    assert data["key"] == "gp-present:1,2"
    assert [o["name"] for o in data["options"]] == ["甲", "乙"]
    for o, opt in zip(data["options"], options, strict=True):
        assert o["figures"] == [list(f) for f in c.key_figures(opt, "en")]
        assert o["fail"] is False
    assert data["text"]["note"].startswith("Illustrative data")  # every hand-city facility is illustrative
    assert "ArrowRight" in page and "gpShow" in page


@pytest.mark.parametrize("kind", sorted(HOSTILE_SHORT))
def test_hostile_names_are_data(kind, city):
    text = HOSTILE_SHORT[kind]
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F1", "name"] = text
    units = city.units.copy()
    units.loc[units["id"] == "U00", "name"] = text
    hostile_city = replace(city, units=units, facilities=fac)
    a = make_plan()
    b = relabel(move_units(hostile_city, a, ["U02"], "G1"), {"G1": "G2", "G2": "G1"})
    opts = [c.plan_option(hostile_city, a, text, make_costs(), key=1),
            c.plan_option(hostile_city, b, "B " + text, make_costs(), key=2)]
    pages = [mm.compare_html(hostile_city, opts, "zh"), mm.present_html(hostile_city, opts, "zh"),
             mm.changes_html(hostile_city, opts[0], opts[1], c.changed_units(hostile_city, a, b), None, "zh")]
    for page in pages:
        # The text never appears raw: markup characters and template openers are escaped in the data.
        for raw in ("<script>alert", "<img src", "{{7*7}}", "{{self", "{{ unclosed"):
            if raw in text:
                assert raw not in page
        assert not re.search(r"on\w+=\"alert", page)
        data = page_data(page)
        # ... and it is all there, as data, as the one display rule shows it (no control, escape
        # or bidi character reaches a label or tooltip).
        shown = display_text(text, keep_newlines=True)
        assert any(shown in s for s in strings(data))
        assert not any(set(s) & set("\x1b\x07\u202e\u2066") for s in strings(data))
