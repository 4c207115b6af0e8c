"""Every export format comes from one in-memory model: the plan's figures are computed once and
passed down, and no file is written to be read back.

Counted with wrappers around the real functions (they still run), on a planned synthetic city,
through the workspace call behind the download buttons.
"""

from __future__ import annotations

from collections import Counter

import pyogrio
import pytest

from grid_planning.assess import checklist, metrics
from grid_planning.city.synthetic import synthetic_city
from grid_planning.exports import formats, planfile, tables
from grid_planning.exports.planfile import read_plan
from grid_planning.session.workspace import SHARED_FIGURES, Workspace


@pytest.fixture(scope="module")
def planned():
    ws = Workspace(synthetic_city(n_units=150, n_facilities=30, n_eligible=4, seed=3))
    assert ws.run().ok
    return ws


def _count(monkeypatch, calls: Counter, module, name: str) -> None:
    real = getattr(module, name)

    def counted(*args, **kwargs):
        calls[name] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)


def test_exporting_every_format_computes_the_figures_and_checks_once(planned, monkeypatch):
    SHARED_FIGURES.clear()  # a fresh server: nothing computed yet
    calls: Counter = Counter()
    for name in ("check_policy", "unit_metrics", "grid_metrics", "city_metrics"):
        _count(monkeypatch, calls, metrics, name)
    _count(monkeypatch, calls, checklist, "check_policy")  # the checklist's own fallback
    _count(monkeypatch, calls, planfile, "write_plan")
    _count(monkeypatch, calls, planfile, "plan_figures")
    _count(monkeypatch, calls, tables, "plan_figures")
    _count(monkeypatch, calls, formats, "plan_figures")
    _count(monkeypatch, calls, pyogrio, "read_dataframe")

    sizes = {fmt: len(planned.export_bytes(fmt, "zh")) for fmt in formats.FORMATS}

    assert all(size > 1000 for size in sizes.values()), sizes
    # metrics.check_policy counts the one run inside plan_figures; checklist's would be a second.
    assert calls["check_policy"] == 1, calls
    assert calls["unit_metrics"] == 1 and calls["grid_metrics"] == 1 and calls["city_metrics"] == 1, calls
    assert calls["write_plan"] == 1, calls  # the GeoPackage only; GeoJSON and Shapefile from memory
    assert calls["plan_figures"] == 0, calls  # the exports used the workspace's figures
    assert calls["read_dataframe"] == 0, calls  # nothing written to be read back


def test_one_export_call_without_figures_computes_them_once(planned, monkeypatch):
    calls: Counter = Counter()
    _count(monkeypatch, calls, metrics, "check_policy")
    _count(monkeypatch, calls, metrics, "unit_metrics")
    for fmt in ("gpkg", "geojson", "shp", "csv", "xlsx", "html", "report"):
        calls.clear()
        formats.export_plan(planned.layers, planned.plan, planned.costs(), fmt, lang="en")
        assert calls["check_policy"] == 1 and calls["unit_metrics"] == 1, (fmt, calls)


def test_in_memory_layers_equal_the_geopackage_read_back(planned, tmp_path):
    """GeoJSON and Shapefile were made from a GeoPackage read back; the in-memory layers they are
    made from now must hold the same columns, types and values."""
    layers, plan, costs = planned.layers, planned.plan, planned.costs()
    path = planfile.write_plan(tmp_path / "p.gpkg", layers, plan, costs, lang="zh")
    memory = tables.plan_layers(layers, plan, costs, lang="zh")
    assert sorted(memory) == ["facilities", "grids", "units"]
    for name, frame in memory.items():
        back = pyogrio.read_dataframe(str(path), layer=name)
        assert list(frame.columns) == list(back.columns), name
        assert list(frame.dtypes.astype(str)) == list(back.dtypes.astype(str)), name
        assert frame.drop(columns="geometry").equals(back.drop(columns="geometry")), name
        assert list(frame.geometry.to_wkb()) == list(back.geometry.to_wkb()), name
    # and the GeoPackage still reads back as the plan
    _, again = read_plan(path)
    assert dict(again.assignment.astype(str)) == dict(plan.assignment.astype(str))
