"""The standalone HTML map in real headless Chromium with the network cut off."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import open_offline
from PIL import Image
from plan_fixtures import make_costs, make_layers, make_plan

from grid_planning.exports.formats import export_plan

pytestmark = pytest.mark.browser


def test_html_map_opens_offline_with_its_layers_drawn(chromium):
    page_html = export_plan(make_layers(), make_plan(), make_costs(), "html", lang="zh").data.decode()
    page = open_offline(chromium, width=1200, height=800)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.set_content(page_html, wait_until="load")
        page.wait_for_selector(".leaflet-container", timeout=10_000)
        page.wait_for_timeout(500)
        assert page.external == [] and errors == []
        assert page.evaluate("typeof L") == "object"  # Leaflet ran from the inlined copy
        labels = page.locator(".gp-label").all_inner_texts()
        assert any("G1" in x for x in labels) and any("G2" in x for x in labels)
        assert page.locator(".gp-legend").count() >= 2
        assert "示意数据说明" in page.locator(".gp-head").inner_text()
        # the grids are drawn: the map area holds the two grid colours
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))
        colours = {tuple(c) for c in shot[200:700, 300:900].reshape(-1, 3)}
        assert (141, 211, 199) in colours or len(colours) > 30
        assert page.locator(".leaflet-control-attribution a[href*='leafletjs']").count() == 0
    finally:
        page.close()
