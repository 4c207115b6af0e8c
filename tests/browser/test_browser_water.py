"""Water and crossings uploaded on the data page, in headless Debian Chromium, offline (issue 17):
the river city with one bridge (``river_fixtures``) is uploaded with its water polygon and a
bridge table, validated, chosen; the page says how the river is understood and the city overview
map draws the water with its crossing. Everything asserted is read from the page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, open_offline
from river_fixtures import river_city_files
from test_browser_workspace import TIMEOUT, assert_clean, map_frame, nav, open_app, settle

from grid_planning.base.i18n import t

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

CITY = "长河市"


@pytest.fixture(scope="module")
def page(app_url, chromium):
    page = open_offline(chromium, width=1600, height=1100)
    open_app(page, app_url)
    map_frame(page)
    yield page
    page.close()


def test_upload_water_and_crossings_and_see_them(page, tmp_path_factory):
    files = river_city_files(tmp_path_factory.mktemp("river"))
    nav(page, t("app.nav.data", "zh"))
    for slot, name in (("units", "units"), ("facilities", "fac"), ("boundary", "outline"),
                       ("water", "water"), ("crossings", "bridge")):
        uploader = page.get_by_test_id("stFileUploader").filter(has_text=t(f"data.slot.{slot}", "zh"))
        uploader.locator("input[type=file]").set_input_files(str(files[name]))
    page.get_by_role("textbox", name=t("data.city_name", "zh")).fill(CITY)
    page.get_by_role("button", name=t("data.validate", "zh")).click()
    choice = t("data.use.uploaded", "zh", name=CITY)
    page.get_by_text(choice, exact=True).wait_for(timeout=TIMEOUT)
    settle(page)
    body = page.get_by_test_id("stMain").inner_text()
    assert "水系：1 个河湖要素，1 个过江通道；人口单元分布在 2 个岸区，过江通道形成 1 处跨岸连接" in body, body[:2000]
    page.get_by_text(choice, exact=True).click()
    settle(page)
    assert_clean(page)

    nav(page, t("app.nav.home", "zh"))
    frame = map_frame(page)
    frame.wait_for_selector(".leaflet-control-layers", state="attached", timeout=TIMEOUT)
    layers = frame.evaluate("() => document.querySelector('.leaflet-control-layers').textContent")
    assert "水系与过江通道" in layers, layers
    # the bridge is drawn as a ring on the map and named on hover
    assert frame.evaluate("() => { let n = 0; window.map.eachLayer(l => { if (l instanceof L.CircleMarker"
                          " && l.getTooltip() && String(l.getTooltip().getContent()).includes('长河大桥')) n++; });"
                          " return n; }") == 1
    if keep := os.environ.get("GRID_BROWSER_SHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(keep) / "water_overview.png"))
    assert_clean(page)
