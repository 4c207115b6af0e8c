"""The print map and the report's city map as the commission director who signs them reads them
(issue 16, the round after "signable"): every lead named in full on the map, the core inset naming
every lead inside it, the legend clear of the sources, the projection in plain words, and the
report's city map searchable.

On the main branch before this round: at k = 4 the inset named only G2's lead; at k = 8 the leads
were named by short names (the bracketed part of 武汉市第四医院（…普爱医院） dropped), the inset covered
most of the city, and on A4 the legend's last line ran into the sources; the subtitle read
"坐标系 WGS84 / UTM"; the report's city map was a picture without text.

Set ``GRID_PRINT_PAGES=/some/dir`` to keep the PDFs and page images (pdftoppm, 80 dpi) for review.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from grid_planning.city.costs import travel_costs
from grid_planning.city.provenance import load_sample_city
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.formats import export_plan
from grid_planning.planning.planner import plan_city
from grid_planning.prints.maplabels import LABEL_EM, em_width, lead_points, map_label
from grid_planning.prints.printmap import map_data, page_boxes, print_figure

pytestmark = pytest.mark.skipif(
    subprocess.run(["which", "pdftotext"], capture_output=True).returncode != 0,
    reason="poppler-utils (pdftotext, pdftoppm) not installed",
)

PROGRAM_WORDS = ("WGS84", "坐标系", "EPSG", "metric_crs", "cost_mode", "Grid Planner 0")


@pytest.fixture(scope="module", params=[4, 8])
def sample(request):
    layers = load_sample_city()
    costs = travel_costs(layers, CostParams())
    plan = plan_city(layers, PlanRequest(k=request.param, balance=0.1), costs=costs).plan
    return layers, plan, costs, map_data(layers, plan)


@pytest.fixture(scope="module")
def keep() -> Path:
    target = os.environ.get("GRID_PRINT_PAGES")
    path = Path(target) if target else Path(tempfile.mkdtemp(prefix="print_layout_"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _flat(path: Path, *args: str) -> str:
    out = subprocess.run(["pdftotext", "-raw", *args, str(path), "-"], capture_output=True, check=True,
                         text=True).stdout
    return "".join(out.split())


def _full(grid: str, name: str) -> str:
    return "".join(f"{grid} {name}".split())


@pytest.mark.parametrize("paper", ["A4", "A3"])
def test_print_map_names_every_lead_in_full_as_text_and_no_program_word(sample, keep, paper):
    layers, plan, costs, data = sample
    path = keep / f"print_map_k{plan.k}_{paper}.pdf"
    path.write_bytes(export_plan(layers, plan, costs, "pdf", lang="zh", paper=paper,
                                 orientation="landscape", sample=True).data)
    flat = _flat(path)
    for grid, name in zip(data.grids["grid_id"], data.grids["lead_name"], strict=True):
        assert _full(grid, name) in flat, (grid, name)  # brackets kept: 武汉市第四医院（…普爱医院）
    for word in PROGRAM_WORDS:
        assert word not in flat, word
    # The projection in plain words, in the colophon.
    assert "横轴墨卡托投影（UTM第50带）" in flat
    subprocess.run(["pdftoppm", "-r", "80", "-png", str(path), str(path.with_suffix(""))], check=True)


def test_the_inset_frames_the_dense_core_and_names_every_lead_inside_it(sample):
    layers, plan, _costs, data = sample
    fig = print_figure(layers, plan, paper="A4", orientation="landscape", lang="zh", data=data)
    try:
        inset = fig.gp_parts["inset"]
        assert inset is not None
        x0, x1 = inset.get_xlim()
        y0, y1 = inset.get_ylim()
        inside = {g: p for g, p in lead_points(data).items() if x0 <= p[0] <= x1 and y0 <= p[1] <= y1}
        # The core's leads are in it (G1's and G2's at k = 4; five at k = 8) ...
        assert len(inside) >= (2 if plan.k == 4 else 5)
        names = dict(zip(data.grids["grid_id"], data.grids["lead_name"], strict=True))
        texts = ["".join(t.get_text().split()) for t in inset.texts]
        for grid in inside:
            assert any(_full(grid, names[grid]) in text for text in texts), grid
        # ... and it magnifies: it spans under a quarter of the city's width (main: ~70 % at k = 8).
        bx0, _, bx1, _ = data.boundary.total_bounds
        frame = data.extra["inset"]
        assert (frame[2] - frame[0]) < 0.25 * (bx1 - bx0)
    finally:
        plt.close(fig)


@pytest.mark.parametrize("paper", ["A4", "A3"])
@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_legend_and_sources_do_not_run_into_each_other(sample, paper, orientation):
    layers, plan, _costs, data = sample
    fig = print_figure(layers, plan, paper=paper, orientation=orientation, lang="zh", data=data)
    try:
        boxes = page_boxes(fig)
        legend, sources = boxes["legend"], boxes["sources"]
        assert legend.y0 > sources.y1, (legend, sources)  # the legend's last line above the sources
        width, height = fig.canvas.get_width_height()
        assert legend.x0 >= 0 and legend.x1 <= width and legend.y1 <= height
        assert not legend.overlaps(boxes["map"])
    finally:
        plt.close(fig)


def test_report_city_map_labels_are_text(sample, keep):
    layers, plan, costs, data = sample
    path = keep / f"report_k{plan.k}.pdf"
    path.write_bytes(export_plan(layers, plan, costs, "report", lang="zh", sample=True).data)
    page = next(p for p in range(1, 6) if "全市网格布局图" in _flat(path, "-f", str(p), "-l", str(p)))
    flat = _flat(path, "-f", str(page), "-l", str(page))
    # Every lead is named in full somewhere on the map page (the city map or its inset).
    full = [g for g, n in zip(data.grids["grid_id"], data.grids["lead_name"], strict=True)
            if _full(g, n) in flat]
    assert len(full) == len(data.grids), full
    assert "中心城区放大图" in flat and "行政区界" in flat  # the inset's title and the legend too
    subprocess.run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "80", "-png", str(path),
                    str(keep / f"report_k{plan.k}_map")], check=True)


@pytest.mark.parametrize("name", [
    "武汉市第四医院（武汉市骨科医院、华中科技大学同济医学院附属普爱医院）",
    "武汉市中心医院（华中科技大学同济医学院附属武汉中心医院）",
    "武汉市东西湖区人民医院",
    "Wuhan No. 4 Hospital (Puai Hospital of Tongji Medical College)",
])
def test_a_map_label_keeps_the_whole_name_on_short_lines(name):
    label = map_label("G8", name)
    lines = label.split("\n")
    assert "".join("".join(lines).split()) == "".join(f"G8{name}".split())
    assert all(sum(em_width(ch) for ch in line) <= LABEL_EM + 1e-9 for line in lines)
    assert not any(line.strip() in ("）", ")") for line in lines)
    if "（" in name:
        assert any(line.startswith("（") for line in lines)  # the alias starts its own line
