"""The sample city exported once: the PDF report and the print map of Wuhan at k = 4.

Set ``GRID_SCREENSHOT_DIR=docs/screenshots`` to refresh the review images (report pages via
pdftoppm and the print map), which are otherwise written to a temporary directory.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from grid_planning.assess.metrics import grid_metrics
from grid_planning.city.costs import travel_costs
from grid_planning.city.provenance import load_sample_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.formats import export_plan
from grid_planning.planning.planner import plan_city
from grid_planning.prints.paper import paper_pixels


@pytest.fixture(scope="module")
def wuhan():
    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    plan = plan_city(layers, PlanRequest(k=4), costs=costs).plan
    return layers, plan, costs


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory) -> Path:
    target = os.environ.get("GRID_SCREENSHOT_DIR")
    return Path(target) if target else tmp_path_factory.mktemp("review")


def test_sample_report_names_every_grid_and_cites_its_sources(wuhan, out_dir):
    layers, plan, costs = wuhan
    report = export_plan(layers, plan, costs, "report", lang="zh")
    path = out_dir / "export_report.pdf"
    path.write_bytes(report.data)
    text = subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, check=True,
                          text=True).stdout
    flat = "".join(text.split())
    gm = grid_metrics(layers, plan, costs, lang="zh")
    for name in [*gm["name"], *gm["lead_name"]]:
        assert "".join(name.split()) in flat, name
    for expected in ("WorldPop", "CCBY4.0", "Apache-2.0", "示意数据说明", "12,326,518"):
        assert expected in flat, expected
    pages = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout.splitlines()
        if line.startswith("Pages:")))
    assert pages >= 2 + plan.k + 2  # cover, city map, a page per grid, checklist, provenance
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "4", str(path),
                    str(out_dir / "export_report_page")], check=True)
    path.unlink()  # the images are for review; the PDF is rebuilt by the test
    assert (out_dir / "export_report_page-1.png").exists() or (out_dir / "export_report_page-01.png").exists()


def test_sample_print_map(wuhan, out_dir):
    layers, plan, costs = wuhan
    png = export_plan(layers, plan, costs, "png", lang="zh", paper="A4", orientation="landscape")
    img = Image.open(io.BytesIO(png.data))
    assert img.size == paper_pixels("A4", "landscape") and round(img.info["dpi"][0]) == 300
    # a review copy at screen size
    img.convert("RGB").resize((img.width // 2, img.height // 2), Image.LANCZOS).save(
        out_dir / "export_print_map_A4.png", optimize=True)
