"""The library side of the meeting-ready pages: district labels thinned by zoom, figure tables
formatted for the language, Streamlit's English replaced through CSS, the plan map's facility
legend."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from plan_fixtures import make_costs, make_layers, make_plan

from grid_planning.assess.metrics import unit_metrics
from grid_planning.base.i18n import t
from grid_planning.city.provenance import load_sample_city
from grid_planning.maps import labels, mapview, planmap
from grid_planning.maps.mapelements import DataLayer
from grid_planning.session.ui_state import Column, chrome_css, css_string, format_table


def _boxes(points, zoom):
    out = []
    for lon, lat, text in points:
        x, y = labels._world_px(lon, lat, zoom)
        hw = labels._text_px(text, labels.LABEL_FONT_PX) / 2 + labels.LABEL_MARGIN_PX
        hh = 0.65 * labels.LABEL_FONT_PX + labels.LABEL_MARGIN_PX
        out.append((x - hw, y - hh, x + hw, y + hh))
    return out


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_a_label_waits_for_the_zoom_at_which_it_has_room():
    # Two names 800 m apart: the bigger district is named from the widest view, the other once
    # they no longer touch, and not a zoom earlier.
    points = [(114.30, 30.59, "江岸区"), (114.30 + 0.008, 30.59, "江汉区")]
    first, second = labels.label_min_zooms(points, [5.0, 1.0])
    assert first == labels.LABEL_ZOOMS[0]
    assert not _overlap(*_boxes(points, second))
    assert _overlap(*_boxes(points, second - 1))
    # Priority decides who waits.
    assert labels.label_min_zooms(points, [1.0, 5.0]) == [second, first]
    # Far apart: both from the start.
    far = [(100.0, 30.0, "甲区"), (120.0, 40.0, "乙区")]
    assert labels.label_min_zooms(far) == [labels.LABEL_ZOOMS[0]] * 2


def test_sample_city_core_is_named_without_overlaps_at_every_zoom():
    layers = load_sample_city()
    metric = layers.districts.to_crs(32650)
    pts = gpd.GeoSeries(metric.representative_point(), crs=32650).to_crs(4326)
    points = [(p.x, p.y, n) for n, p in zip(layers.districts["name"], pts, strict=True)]
    zooms = labels.label_min_zooms(points, metric.area.to_numpy())
    for zoom in range(8, 14):
        shown = [b for b, z in zip(_boxes(points, zoom), zooms, strict=True) if z <= zoom]
        assert not any(_overlap(a, b) for i, a in enumerate(shown) for b in shown[i + 1:]), zoom
    assert max(zooms) <= 12  # every district is named by street level
    assert sum(z <= 9 for z in zooms) >= 8  # the city's own view names most of them


def test_district_labels_carry_their_zoom_and_the_map_shows_them_by_it():
    layers = load_sample_city()
    m = mapview.base_map(layers.boundary.total_bounds)
    mapview.add_districts(m, layers.districts)
    html = mapview.map_html(m)
    assert "gpMinZoom:f.properties.z" in html and "map.on('zoomend'" in html
    # Each label's minimum zoom travels in its data (packed for the browser: read the layers).
    stack, zooms = [m], []
    while stack:
        el = stack.pop()
        stack += list(el._children.values())
        if isinstance(el, DataLayer):
            zooms += [f["properties"]["z"] for f in el.data["features"] if "z" in f.get("properties", {})]
    assert len(zooms) == len(layers.districts) >= 13 and len(set(zooms)) > 1


def test_format_table_reads_as_each_language_expects():
    import pandas as pd

    frame = pd.DataFrame({"pop": [7025916.4, float("nan")], "share": [0.5571, 0.0],
                          "dev": [0.1, -0.005], "name": ["G1", None]})
    cols = [Column("ws.col.grid", "name"), Column("ws.col.population", "pop", "integer"),
            Column("ws.col.share30", "share", "percent"), Column("ws.col.balance", "dev", "signed_percent")]
    zh, figures = format_table(frame, cols, "zh")
    assert zh.columns.tolist() == [t(c.header, "zh") for c in cols]
    assert figures == [t(c.header, "zh") for c in cols[1:]]
    assert zh.iloc[0].tolist() == ["G1", "7,025,916", "55.7%", "+10.0%"]
    assert zh.iloc[1].tolist() == ["", "—", "0.0%", "-0.5%"]
    en, _ = format_table(frame, cols, "en")
    assert en.iloc[0].tolist() == ["G1", "7,025,916", "55.7\u00a0%", "+10.0\u00a0%"]
    with pytest.raises(ValueError, match="kind"):
        format_table(frame, [Column("ws.col.grid", "pop", "money")], "zh")


def test_css_string_cannot_leave_its_string_or_its_style_element():
    assert css_string('a"b\\c') == '"a\\"b\\\\c"'
    text = css_string("x</style><script>alert(1)</script>\n")
    assert "<" not in text and ">" not in text and "\n" not in text
    assert text.startswith('"') and text.endswith('"') and text.count('"') == 2


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_chrome_css_puts_the_catalogues_words_over_streamlits(lang):
    css = chrome_css(lang)
    for key in ("dash.chrome.upload_button", "dash.chrome.enter", "dash.chrome.stop"):
        assert f"content: {css_string(t(key, lang))}" in css
    assert "100 MB" in css  # the setting max_upload_mb, not Streamlit's "200MB"
    assert '[data-testid="stMainMenu"] { display: none; }' in css
    shown = re.findall(r'content: ("(?:[^"\\]|\\.)*")', css)
    assert len(shown) == 5
    if lang == "zh":
        english = re.compile(r"Upload|Browse|Press|Enter|Stop|file|drop", re.I)
        assert not any(english.search(text) for text in shown), shown


def test_plan_map_has_a_legend_of_facility_types_and_levels():
    layers, plan = make_layers(), make_plan()
    m = planmap.plan_map(layers, plan, unit_df=unit_metrics(layers, plan, make_costs()), lang="zh")
    html = mapview.map_html(m)
    from grid_planning.base.textsafe import script_json

    assert script_json(t("map.facilities.legend", "zh")) in html
    fac = planmap.plan_facilities(layers, plan)
    drawn = fac[fac["role"] != "lead"]
    for type_ in set(drawn["type"].astype(str)):
        assert script_json(t(f"vocab.type.{type_}", "zh")) in html, type_
    # ... and only those: a type no facility of the city has is not in the legend (nor anywhere).
    absent = {"tcm", "specialty", "nursing", "public_health"} - set(fac["type"].astype(str))
    assert absent == {"tcm", "specialty", "nursing", "public_health"}
    for type_ in absent:
        assert script_json(t(f"vocab.type.{type_}", "zh")) not in html, type_
