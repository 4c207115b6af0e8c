"""No raw message key and no unfilled placeholder on any page, in either language.

Every page is rendered under AppTest, in Chinese and English, on the sample city and on an
uploaded city (the Liaoning pilot shape), without and with a plan (and with a refusal, the
k-comparison table and an export ready, so that those texts show too). Every string the app sends
to the browser is collected: labels, options as formatted, help texts, placeholders, captions,
alerts, Markdown, table headers and cells, the maps' HTML. Any of them holding a catalogue key
(``data.coords.wgs84``), something shaped like one under a known table (``ws.plan.nope``) or a
``{placeholder}`` fails the test, naming the page and the text.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pilot_fixtures import upload_pilot
from streamlit.testing.v1 import AppTest

from grid_planning.base.i18n import catalogue

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PAGES = ["home", "data", "plan", "coverage", "members", "checklist", "scenarios"]
DESIGNATION = ("P02", "矿业集团总医院为三级甲等综合医院，市政府文件指定牵头")
WAIVERS = (("P01", "接续性医疗跨网格提供"), ("P02", "接续性医疗跨网格提供"))

TOKEN = re.compile(r"(?<![\w./-])[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+(?![\w/-])")
PLACEHOLDER = re.compile(r"(?<![%$])\{[a-z_][a-z0-9_]*\}")  # not plotly's %{x}


def _toml_tables() -> set[str]:
    """Every table path written in the catalogue files (read here, not through the loader, so a
    loader that drops entries cannot hide them from this test): ``data``, ``data.coords``,
    ``data.coords.wgs84`` ..."""
    paths: set[str] = set()

    def walk(table: dict, prefix: str) -> None:
        for name, value in table.items():
            if isinstance(value, dict):
                paths.add(prefix + name)
                walk(value, f"{prefix}{name}.")

    for path in sorted((ROOT / "grid_planning" / "base" / "messages").glob("*.toml")):
        walk(tomllib.loads(path.read_text(encoding="utf-8")), "")
    return paths


KEYS = _toml_tables() | set(catalogue())
#: Tables of two parts or more: a name under one of them is a key that went missing.
TABLES = {k for k in KEYS if "." in k}


def raw_keys(text: str) -> list[str]:
    """Catalogue keys in ``text``, and names that look like one (a key's table plus a name)."""
    return [m for m in TOKEN.findall(text) if m in KEYS or m in TABLES or m.rsplit(".", 1)[0] in TABLES]


def _strings(message, out: list[str]) -> None:
    """Every string field of a protobuf message, recursively."""
    for _field, value in message.ListFields():
        # A repeated field (upb's containers are sequences without __iter__).
        repeated = not isinstance(value, str | bytes) and not hasattr(value, "ListFields") \
            and hasattr(value, "__len__")
        for item in value if repeated else [value]:
            if isinstance(item, str):
                out.append(item)
            elif hasattr(item, "ListFields"):
                _strings(item, out)


def page_texts(at: AppTest, *, maps: bool = True) -> list[str]:
    """Every string the current run sends to the browser, tables' headers and cells included
    (``maps=False``: without the map components, whose scripts hold ``{name}`` templates that
    the browser fills from each feature)."""
    out: list[str] = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is None or not hasattr(proto, "ListFields"):
            continue
        if not maps and getattr(node, "type", "") in ("component_instance", "unknown"):
            continue
        _strings(proto, out)
    # The wrapping tables (members, checklist) carry their first column as the index.
    frames = [df.value for df in at.dataframe] + [tb.value.reset_index() for tb in at.table]
    for frame in frames:
        out += [str(c) for c in frame.columns]
        for col in frame.columns:
            if frame[col].dtype == object or str(frame[col].dtype).startswith("str"):
                out += [str(v) for v in frame[col].dropna().unique()]
    return out


def problems(at: AppTest) -> list[tuple[str, str]]:
    found = [(bad, text) for text in page_texts(at) for bad in raw_keys(text)]
    found += [(bad, text) for text in page_texts(at, maps=False) for bad in PLACEHOLDER.findall(text)]
    return [(bad, text[max(0, text.find(bad) - 80):][:200]) for bad, text in found]


def _visit_all(at: AppTest, seen: dict, label: str) -> None:
    for page in PAGES:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (label, page, [e.value for e in at.exception])
        seen[f"{label} · {page}"] = problems(at)


@pytest.fixture(scope="module")
def uploaded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pilot")
    result = upload_pilot(folder, "阜新试点")
    assert result.usable, result.report.format("en")
    return result


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("city", ["sample", "uploaded"])
def test_no_raw_key_or_placeholder_on_any_page(city, lang, uploaded, tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    at = AppTest.from_file(APP, default_timeout=240)
    at.session_state["lang"] = lang
    if city == "uploaded":
        at.session_state["upload_result"] = uploaded
        at.session_state["data_choice"] = "uploaded"
    seen: dict[str, list] = {}
    _visit_all(at, seen, f"{city}/{lang}/no plan")

    at.switch_page("pages/plan.py").run()
    ws = at.session_state["workspace"]
    if city == "uploaded":
        # Refused first (no hospital may lead the second grid): the refusal and its advice show.
        at.button(key="plan_run").click().run()
        assert at.session_state["plan_infeasible"] is not None
        seen[f"{city}/{lang}/refused · plan"] = problems(at)
        ws.change_request(designated_leads=(DESIGNATION,), g5_waivers=WAIVERS)
        at.run()
    at.button(key="plan_run").click().run()
    assert ws.plan is not None, at.session_state["plan_infeasible"]
    at.slider(key="cmp_range").set_value((2, 3))
    at.button(key="cmp_run").click().run()
    at.button(key="export_prepare").click().run()
    assert at.get("download_button"), "the export is ready"
    seen[f"{city}/{lang}/planned · plan (compare, export)"] = problems(at)
    _visit_all(at, seen, f"{city}/{lang}/planned")

    bad = {where: found for where, found in seen.items() if found}
    assert not bad, "\n".join(f"{where}: {found}" for where, found in bad.items())
    assert len(seen) >= 2 * len(PAGES) + 1


def test_the_detector_finds_what_the_data_page_showed():
    assert raw_keys("data.coords.wgs84") == ["data.coords.wgs84"]
    assert raw_keys("格式：exports.ui.format.gpkg") == ["exports.ui.format.gpkg"]
    assert raw_keys("ws.plan.nope") == ["ws.plan.nope"]  # not a key, but under a known table
    assert raw_keys("scenarios.sqlite · units.geojson · window.map · 12.5 km") == []
    assert PLACEHOLDER.findall("已完成：{k} 个网格") == ["{k}"]
