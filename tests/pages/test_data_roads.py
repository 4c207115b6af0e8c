"""The data page says what the sample's road network gives the planner (pieces, fallback)."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_data_page_reports_the_road_network(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    captions = [c.value.replace("\\", "") for c in at.caption]  # Markdown escapes
    line = next(c for c in captions if c.startswith("道路网"))
    # the OSM network: 8,102 lines in 110 pieces, and nobody falls back to straight-line time
    assert "8,102 条线" in line and "110 块" in line and "0 人（0.0%）" in line
