"""The report's G9 section and its parameters line, on the G9 strip city, read as the signer does."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from g9_city import g9_layers

from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.planning.planner import plan_city
from grid_planning.prints.report_pdf import method_lines, plan_report

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def city():
    return g9_layers()


@pytest.fixture(scope="module")
def plan(city):
    req = PlanRequest(k=2, balance=0.05, cost=CostParams(mode="straight"), age_weight=1.0,
                      burden_column="chronic", burden_weight=0.5)
    res = plan_city(city, req)
    assert res.ok, res.infeasible.message("en")
    return res.plan


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_states_the_weights_and_the_factors_by_grid(city, plan, tmp_path, lang):
    path = tmp_path / f"report_{lang}.pdf"
    path.write_bytes(plan_report(city, plan, lang=lang))
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    # city row: 36,000 residents, 7,200 aged 65+, 3,000 chronic patients; 36,000 + 7,200 + 1,500
    if lang == "zh":
        assert "G9规划因素：人口、老龄与疾病负担" in flat
        assert "本方案的G9权重：年龄权重1（每位65岁及以上居民另计1人）；疾病负担权重0.5（列chronic中每人另计0.5人）。" in flat
        assert "加权需求（G9）：常住人口+年龄权重×65岁及以上人口" in flat  # the glossary
    else:
        assert "G9planningfactors:residents,ageanddiseaseburden" in flat
        assert "ageweight1(eachresident65+counts1more);burdenweight0.5" in flat
    assert "36,000" in flat and "7,200" in flat and "3,000" in flat and "44,700" in flat


def test_parameters_say_when_no_weight_was_used(city):
    plain = plan_city(city, PlanRequest(k=2, balance=0.05, cost=CostParams(mode="straight"))).plan
    lines = dict(method_lines(plain, city, "zh"))
    assert lines["G9 规划因素权重"] == "本方案未设 G9 权重：网格按常住人口均衡和分配。"
