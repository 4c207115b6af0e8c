"""Every page runs under Streamlit's AppTest; the home page shows the sample city; uploads report
specific errors (upload handling itself is tested through grid_planning.session.ui_state.load_uploads,
since AppTest cannot upload files)."""

from __future__ import annotations

import ast
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from conftest import GUARD_PREFIXES, GuardMessageError, guard_messages
from streamlit.testing.v1 import AppTest

from grid_planning.base.i18n import t
from grid_planning.session.ui_state import load_uploads, report_table

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "wuhan"
TIMEOUT = 120


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def _text(at: AppTest) -> str:
    parts = (
        [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    )
    parts += (
        [e.body for e in at.error] + [e.body for e in at.success] + [e.body for e in at.warning]
    )
    return "\n".join(str(p) for p in parts)


@pytest.fixture(scope="module")
def small_city_files(tmp_path_factory) -> dict[str, tuple[str, bytes]]:
    """One district of the sample city (硚口区) as upload payloads: units GeoJSON and facilities CSV."""
    folder = tmp_path_factory.mktemp("small_city")
    units = gpd.read_file(SAMPLE / "population_units.geojson")
    units = units[units["district"] == "硚口区"][["id", "name", "population", "geometry"]]
    units.to_file(folder / "units.geojson", driver="GeoJSON")
    fac = pd.read_csv(SAMPLE / "facilities.csv")
    fac = fac[fac["district"] == "硚口区"]
    fac.to_csv(folder / "facilities.csv", index=False)
    return {
        "units": ("硚口 units.geojson", (folder / "units.geojson").read_bytes()),
        "facilities": ("硚口 facilities.csv", (folder / "facilities.csv").read_bytes()),
    }


#: Each page's title key (the page's own heading, longer than its menu entry).
TITLES = {
    "pages/home.py": "app.title",
    "pages/data.py": "data.title",
    "pages/plan.py": "ws.plan.title",
    "pages/coverage.py": "ws.cov.title",
    "pages/members.py": "ws.mem.title",
    "pages/checklist.py": "ws.chk.title",
    "pages/scenarios.py": "team.title",
    "pages/compare.py": "meeting.compare.title",
    "pages/present.py": "meeting.present.title",
}


def navigation() -> list[tuple[str, str, bool]]:
    """app.py's PAGES (read from its source: importing app.py would run the dashboard)."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    pages = next(ast.literal_eval(node.value) for node in tree.body
                 if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "PAGES")
    return [entry for _section, entries in pages for entry in entries]


def test_navigation_lists_every_page_file():
    listed = {path for path, _key, _default in navigation()}
    files = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_")}
    assert listed == files == set(TITLES)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_runs_without_exception(lang):
    """Every page of app.py's navigation, in both languages, shows its own title and no
    exception, before any plan exists."""
    at = _app()
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception, at.exception
    seen = []
    for path, _key, _default in navigation():
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        title = at.title[0].value
        assert title == t(TITLES[path], lang), (path, title)
        seen.append(path)
    assert seen == list(TITLES)


def test_home_shows_the_sample_city():
    at = _app().run()
    assert at.title[0].value == "网格化布局规划"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["常住人口"] == "12,326,518"  # the 2020 census total the sample is scaled to
    assert metrics["人口单元"] == f"{len(gpd.read_file(SAMPLE / 'population_units.geojson')):,}"
    fac = pd.read_csv(SAMPLE / "facilities.csv")
    assert metrics["医疗卫生机构"] == f"{len(fac):,}"
    text = _text(at)
    real = int((fac["source"] == "real").sum())
    illustrative = int((fac["source"] == "illustrative").sum())
    assert real > 0 and illustrative > 0
    assert f"真实机构 {real} 家" in text
    assert f"示意机构 {illustrative} 家" in text
    assert "内置示例城市（武汉）" in text  # the sidebar says which data is in use


def test_english_switch_changes_texts():
    at = _app().run()
    at.sidebar.radio(key="lang").set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Grid Planner"
    labels = [m.label for m in at.metric]
    assert "Population" in labels and "常住人口" not in labels
    assert "real facilities" in _text(at)


def test_data_page_shows_upload_errors_from_session_state(tmp_path):
    bad = "id,name,level,type,lon,lat\nA,一院,三级甲等,综合医院,114.3,30.6\nA,二院,三级甲等,综合医院,abc,30.6\n"
    files = {
        "units": ("units.geojson", (SAMPLE / "population_units.geojson").read_bytes()),
        "facilities": ("医院名单.csv", bad.encode("gbk")),
    }
    result = load_uploads(files, workdir=tmp_path)
    assert not result.usable
    at = _app()
    at.session_state["upload_last_check"] = result
    at.switch_page("pages/data.py").run()
    assert not at.exception
    assert any("错误" in e.body for e in at.error)
    table = at.dataframe[0].value
    assert "医院名单.csv" in set(table["文件"])  # findings name the user's own file
    assert (table["级别"] == "错误").any()


def test_load_uploads_reports_missing_and_bad_files(tmp_path):
    missing = load_uploads({"units": None, "facilities": ("f.csv", b"id\n1\n")}, workdir=tmp_path)
    assert missing.layers is None and missing.report.codes() == ["upload_missing"]
    empty = load_uploads(
        {"units": ("u.geojson", b"{}"), "facilities": ("f.csv", b"")}, workdir=tmp_path / "e"
    )
    assert "upload_empty" in empty.report.codes() and not empty.usable
    garbage = load_uploads(
        {"units": ("u.geojson", b"\x00\x01not json"), "facilities": ("f.csv", b"id,name\n1,x\n")},
        workdir=tmp_path / "g",
    )
    assert not garbage.usable and garbage.report.errors
    rows = report_table(garbage.report, "en")
    assert list(rows.columns) == ["Severity", "File", "Row / id", "Column", "Problem", "What to do"]
    assert (rows["File"] == "u.geojson").any() or (rows["File"] == "f.csv").any()


def test_uploaded_city_can_be_switched_to(small_city_files, tmp_path):
    result = load_uploads(small_city_files, workdir=tmp_path, city_name="硚口试点")
    assert result.usable, result.report.format("en")
    at = _app()
    at.session_state["upload_result"] = result
    at.switch_page("pages/data.py").run()
    assert not at.exception
    at.radio(key="data_choice_widget").set_value("uploaded").run()
    at.switch_page("pages/home.py").run()
    assert not at.exception
    population = float(result.layers.units["population"].sum())
    assert {m.label: m.value for m in at.metric}["常住人口"] == f"{population:,.0f}"
    assert "硚口试点" in _text(at)


@pytest.mark.guard_message_expected
def test_unexpected_failure_shows_a_friendly_error_not_a_traceback():
    class Broken:
        usable = True
        layers = None  # pages will fail on it

    at = _app()
    at.session_state["upload_result"] = Broken()
    at.session_state["data_choice"] = "uploaded"
    at.run()
    assert not at.exception
    assert any(e.body.startswith("出错了") for e in at.error)


class _Unreadable:
    """An upload result whose layers cannot be read: ``active_layers`` raises on it."""

    @property
    def usable(self) -> bool:
        raise RuntimeError("layers unreadable")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("page", ["pages/home.py", "pages/plan.py", "pages/coverage.py"])
def test_a_crash_behind_the_guard_fails_the_apptest(page, lang):
    # active_layers raises (the session holds an upload it cannot read). The guard turns the
    # exception into a friendly st.error, so at.exception stays empty; the suite's autouse fixture
    # (conftest._no_guard_message) makes the run fail all the same.
    at = _app()
    at.session_state["lang"] = lang
    at.session_state["upload_result"] = _Unreadable()
    at.session_state["data_choice"] = "uploaded"
    at.switch_page(page)
    with pytest.raises(GuardMessageError, match="layers unreadable"):
        at.run()
    assert not at.exception  # what the tests relied on before: it never saw the crash
    assert guard_messages(at)[0].startswith(GUARD_PREFIXES[("zh", "en").index(lang)])
