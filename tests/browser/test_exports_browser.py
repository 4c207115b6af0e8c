"""The standalone HTML map in real headless Chromium with the network cut off."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import open_offline
from PIL import Image
from plan_fixtures import make_costs, make_layers, make_plan

from grid_planning.exports.formats import export_plan
from grid_planning.maps.shared import GRID_PALETTE

pytestmark = pytest.mark.browser

#: The plan map's fill opacity for grids (planmap.plan_map draws grids at 0.7).
FILL_OPACITY = 0.7
#: True once Leaflet's canvas holds a painted pixel (the grids are drawn on one canvas).
CANVAS_DRAWN = """() => {
  const c = document.querySelector('.leaflet-overlay-pane canvas');
  if (!c || !c.width) return false;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4 * 97) if (d[i] > 0) return true;
  return false;
}"""
#: The map's background colour as [r, g, b].
BACKGROUND = """() => getComputedStyle(document.querySelector('.leaflet-container'))
  .backgroundColor.match(/\\d+/g).slice(0, 3).map(Number)"""


def test_html_map_opens_offline_with_its_layers_drawn(chromium):
    page_html = export_plan(make_layers(), make_plan(), make_costs(), "html", lang="zh").data.decode()
    page = open_offline(chromium, width=1200, height=800)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.set_content(page_html, wait_until="load")
        page.wait_for_selector(".leaflet-container", timeout=10_000)
        page.wait_for_selector(".gp-label", state="attached", timeout=10_000)
        page.wait_for_function(CANVAS_DRAWN, timeout=10_000)
        assert page.external == [] and errors == []
        assert page.evaluate("typeof L") == "object"  # Leaflet ran from the inlined copy
        labels = page.locator(".gp-label").all_inner_texts()
        assert any("G1" in x for x in labels) and any("G2" in x for x in labels)
        assert page.locator(".gp-legend").count() >= 2
        assert "示意数据说明" in page.locator(".gp-head").inner_text()
        # the grids are drawn: the map area is filled with the two grid colours (each at the plan
        # map's fill opacity over the map's background), G2 (12 units) over more of it than G1 (4)
        shot = np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(float)
        area = shot[200:700, 300:900].reshape(-1, 3)
        bg = np.array(page.evaluate(BACKGROUND), dtype=float)
        shares = []
        for hex_ in GRID_PALETTE[:2]:
            fill = np.array([int(hex_[i:i + 2], 16) for i in (1, 3, 5)], dtype=float)
            seen = FILL_OPACITY * fill + (1 - FILL_OPACITY) * bg
            shares.append(float((np.abs(area - seen).max(axis=1) <= 2).mean()))
        assert shares[0] > 0.1 and shares[1] > shares[0] and sum(shares) > 0.8, shares
        assert page.locator(".leaflet-control-attribution a[href*='leafletjs']").count() == 0
    finally:
        page.close()
