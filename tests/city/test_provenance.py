"""Source lines of maps and reports: the sample city's OpenStreetMap credit."""

from __future__ import annotations

import dataclasses

from plan_fixtures import make_layers

from grid_planning.base.i18n import t
from grid_planning.city.provenance import SAMPLE_CITY, is_sample_city, source_lines

SAMPLE_SOURCES = {"boundary": "city_boundary.geojson", "units": "population_units.geojson",
                  "facilities": "facilities.csv", "districts": "districts.geojson"}


def _sample(sources: dict[str, str]):
    return dataclasses.replace(make_layers(), name=SAMPLE_CITY, sources=sources)


def test_the_roads_credit_follows_the_recorded_roads_file_without_reading_it():
    """A print from a plan file holds no roads: the sources it records say the sample's
    OpenStreetMap roads were part of the city, which is all the credit needs."""
    credit = t("exports.sources.sample_roads", "zh")
    with_roads = _sample({**SAMPLE_SOURCES, "roads": "roads.geojson"})
    without = _sample(SAMPLE_SOURCES)
    assert with_roads.roads is None and without.roads is None
    assert is_sample_city(with_roads) and is_sample_city(without)
    assert credit in source_lines(with_roads, "zh")
    assert credit not in source_lines(without, "zh")
    assert t("exports.sources.sample", "zh") in source_lines(without, "zh")


def test_a_user_city_naming_a_roads_file_gets_no_openstreetmap_credit():
    layers = dataclasses.replace(make_layers(), sources={"units": "u.shp", "roads": "roads.geojson"})
    lines = source_lines(layers, "en")
    assert t("exports.sources.sample_roads", "en") not in lines
    assert any("u.shp" in line and "roads.geojson" in line for line in lines)
