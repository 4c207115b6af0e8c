"""A city made of hostile text through every map, page, table, export and the CLI.

The city (``tests/hostile.py``): facility, unit and district names, ids, the city's name, grid ids,
a what-if hospital's name and an exception's reason are template syntax, script tags, Markdown
images and links, escape sequences, control and bidirectional characters, formula prefixes and a
10,000-character name. Every renderer must show them as the text they are:

- maps (``map_html`` and the path ``st_folium`` takes): nothing evaluated on the server (no
  "Clinic 49", no directory created, no working directory leaked, no template error), no
  template syntax or ``</script>`` in the page, and every string read back exactly from the JSON
  the page embeds;
- the XLSX export: every string a text cell equal to the original, no formula anywhere;
- the CLI: no escape sequence, control or bidirectional character reaches the terminal;
- the pages (AppTest): every Markdown element renders the text, never an image or a link.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest
import streamlit_folium
from hostile import (
    HOSTILE,
    HOSTILE_CITY_NAME,
    HOSTILE_DISTRICTS,
    HOSTILE_GRID_IDS,
    HOSTILE_LEAD_NAMES,
    hostile_city,
    rename_grids,
    write_hostile_files,
)
from markdown_it import MarkdownIt

from grid_planning import cli
from grid_planning.assess.metrics import unit_metrics
from grid_planning.base.i18n import t
from grid_planning.base.textsafe import (
    display_text,
    escape_markdown,
    formula_like,
    markdown_params,
    xlsx_text,
)
from grid_planning.domain.request import CostParams, PlanRequest
from grid_planning.exports.formats import plan_tables_xlsx
from grid_planning.maps import mapview, overview, planmap
from grid_planning.maps.mapelements import unpack_geojson
from grid_planning.session.mapclicks import facility_label
from grid_planning.session.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
#: What the template payloads would turn into if a template engine evaluated them.
EVALUATED = ("Clinic 49", "gp_pwned')", "XXX")
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# ---- the hostile city and its plan ----------------------------------------------------------------
@pytest.fixture(scope="module")
def city():
    return hostile_city()


@pytest.fixture(scope="module")
def ws(city):
    """A workspace on the hostile city: a 3-grid plan with a what-if hospital named
    ``{{ cycler...mkdir(...) }}`` (the issue's directory-creating name), a locked unit, a G4
    exception whose reason is a Markdown image, and grid ids that are hostile text."""
    fac = city.facilities
    designated = fac[(fac["level"] == "tertiary") & (fac["owner_level"] == "other")
                     & fac["type"].isin(["general", "tcm"])]
    request = PlanRequest(
        k=3,
        cost=CostParams(mode="straight"),
        designated_leads=((str(designated["id"].iloc[0]), HOSTILE["md_link"]),),
    )
    ws = Workspace(city, request=request)
    assert ws.run().ok
    x, y = city.units.geometry.iloc[len(city.units) // 2].representative_point().coords[0]
    _, result = ws.add_facility(HOSTILE["jinja_cycler"] + " " + HOSTILE["img_onerror"], x, y,
                                level="tertiary", type_="general", beds=800, owner_level="municipal")
    assert result is None or result.ok
    ws.select([str(city.units["id"].iloc[0])])
    ws.lock()
    ws.plan = rename_grids(ws.plan, HOSTILE_GRID_IDS)
    ws.revision += 1
    return ws


@pytest.fixture(scope="module")
def unit_df(ws):
    return unit_metrics(ws.layers, ws.plan, ws.costs())


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    # Whatever a payload would create or print (mkdir, getcwd) would land here.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path / "home"))


# ---- maps ---------------------------------------------------------------------------------------
def _maps(city, ws, unit_df) -> dict:
    plan = ws.plan
    first_unit = str(city.units["id"].iloc[1])
    return {
        "home_zh": lambda: overview.city_overview_map(city, lang="zh"),
        "home_en_amap": lambda: overview.city_overview_map(city, lang="en", tiles="amap"),
        "plan_grid": lambda: planmap.plan_map(city, plan, unit_df=unit_df, shade="grid",
                                              selection=[first_unit], lang="zh",
                                              view_key=HOSTILE["jinja_expr"]),
        "plan_travel": lambda: planmap.plan_map(city, plan, unit_df=unit_df, shade="travel",
                                                selection=[first_unit], lang="en", show_primary=False),
        **{
            f"coverage_{column}": (lambda column=column: planmap.coverage_map(city, plan, unit_df, column))
            for column in planmap.TRAVEL_COLUMNS
        },
    }


MAP_NAMES = ["home_zh", "home_en_amap", "plan_grid", "plan_travel",
             *(f"coverage_{c}" for c in planmap.TRAVEL_COLUMNS)]


def _st_folium_script(m, monkeypatch) -> dict:
    """What st_folium sends to the browser (it renders the figure, then each element's script)."""
    captured: dict = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: captured.update(kw))
    streamlit_folium.st_folium(m, key="hostile", returned_objects=["last_object_clicked"])
    return captured


_ADD_DATA = re.compile(r"\.addData\(gpGeo\((.*)\)\);$", re.M)
_LEGEND = re.compile(r"gpLegend\(map,(.*)\);$", re.M)
_TEMPLATE = re.compile(r'var tpl=("(?:[^"\\]|\\.)*");')


def _embedded(text: str) -> list:
    """Every JSON value the page hands to the browser: layer data, legends, tooltip templates."""
    out = [unpack_geojson(json.loads(m)) for m in _ADD_DATA.findall(text)]
    out += [json.loads("[" + m + "]") for m in _LEGEND.findall(text)]
    out += [json.loads(m) for m in _TEMPLATE.findall(text)]
    return out


def _strings(value) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return set().union(*(_strings(k) | _strings(v) for k, v in value.items())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return set()


def _assert_nothing_evaluated(text: str, cwd: Path) -> None:
    for evaluated in EVALUATED:
        assert evaluated not in text, evaluated
    assert str(cwd) not in text  # the getcwd() payload
    assert not (cwd / "gp_pwned").exists()
    for opener in ("{{", "{%", "{#"):
        assert opener not in text, text[text.find(opener) - 200: text.find(opener) + 200]


def _expected_strings(name: str, city, ws, unit_df, lang: str) -> set[str]:
    """Texts of the hostile city the map must carry exactly (as whole JSON strings)."""
    fac = planmap.plan_facilities(city, ws.plan)
    units = city.units
    expected = set()
    if name != "plan_grid":  # grid shading draws dissolved grids, not units
        expected |= {str(n) for n, i in zip(units["name"], units["id"], strict=True) if n != i}
        expected |= set(units["id"].astype(str))
    if name.startswith("home"):
        expected |= set(city.facilities["name"].astype(str))
        expected |= set(HOSTILE_DISTRICTS)
        expected |= {f"{t('map.facility.id', lang)}: {i}" for i in city.facilities["id"].astype(str)}
        return {display_text(s, keep_newlines=True) for s in expected}
    expected |= set(ws.plan.grid_ids)  # unit / grid properties, grid labels
    if name.startswith("plan") or name == "coverage_t_lead":  # lead markers' tooltips
        expected |= {str(fac.set_index("id").at[str(lead), "name"]) for lead in ws.plan.leads}
    if name == "plan_grid":
        expected |= {f"{g} {planmap.short_name(fac.set_index('id').at[str(lead), 'name'])}"
                     for g, lead in ws.plan.leads.items()}  # grid labels
        members = fac[(fac["role"] != "lead")]
        expected |= set(members["name"].astype(str))  # member tooltips
    # Shown through the one label rule (textsafe.display_text, as script_json applies it to a
    # map's data: line breaks kept): escapes, control and bidi characters removed, the rest as given.
    return {display_text(s, keep_newlines=True) for s in expected}


@pytest.mark.parametrize("name", MAP_NAMES)
def test_maps_show_hostile_text_as_text(name, city, ws, unit_df, tmp_path, monkeypatch):
    build = _maps(city, ws, unit_df)[name]
    lang = "en" if "en" in name or name == "plan_travel" or name.startswith("coverage") else "zh"
    page = mapview.map_html(build())
    sent = _st_folium_script(build(), monkeypatch)
    script = sent["script"]
    for text in (page, script, sent["header"], sent["html"]):
        _assert_nothing_evaluated(text, tmp_path)
    # No script element closed early by a name: one </script> per <script>.
    assert page.count("</script>") == len(re.findall(r"<script\b", page))
    # The exact strings come back from the JSON the page carries, in both paths.
    for text in (page, script):
        strings = set().union(*(_strings(v) for v in _embedded(text)))
        missing = _expected_strings(name, city, ws, unit_df, lang) - strings
        assert not missing, sorted(missing)[:5]


def test_what_if_hospital_and_hostile_view_key_reach_the_plan_map_as_text(city, ws, unit_df, tmp_path):
    page = mapview.map_html(planmap.plan_map(city, ws.plan, unit_df=unit_df, shade="grid",
                                             view_key=HOSTILE["jinja_unclosed"]))
    _assert_nothing_evaluated(page, tmp_path)
    planned = HOSTILE["jinja_cycler"] + " " + HOSTILE["img_onerror"]
    tips = [
        feature["properties"]["tip"]
        for value in _embedded(page)
        if isinstance(value, dict)
        for feature in value.get("features", [])
        if "tip" in feature["properties"]
    ]
    # Its tooltip: the name in bold, then "planned (what-if ...)" as a note.
    tip = next(tip for tip in tips if tip[0] == [planned, "b"])
    assert [t("planmap.planned", "zh"), "n"] in tip
    # Legends carry lead names as labels (set as text in the browser), grid ids included.
    legends = [v for v in _embedded(page) if isinstance(v, list) and len(v) == 3]
    labels = {row[1] for _, _, rows in legends for row in rows}
    assert any(label.startswith(HOSTILE_GRID_IDS[0] + " · ") for label in labels)


def test_layer_switcher_names_are_text(city):
    m = mapview.base_map(city.boundary.total_bounds)
    mapview.add_outline(m, city.boundary, name=HOSTILE["img_onerror"])
    mapview.add_districts(m, city.districts, name=HOSTILE["script_tag"])
    page = mapview.map_html(m)
    # Leaflet writes a layer's name into the switcher as HTML: it gets the name HTML-escaped.
    names = [json.loads(n) for n in re.findall(r'(?:b|o)\[("(?:[^"\\]|\\.)*")\]=', page)]
    assert html.escape(HOSTILE["script_tag"]) in names
    assert HOSTILE["script_tag"] not in names


# ---- XLSX export ----------------------------------------------------------------------------------
def test_xlsx_export_cells_are_the_original_text(city, ws, tmp_path):
    path = plan_tables_xlsx(tmp_path / "plan.xlsx", ws.layers, ws.plan, ws.costs(), lang="en")
    with zipfile.ZipFile(path) as z:
        for member in z.namelist():
            if member.startswith("xl/worksheets/"):
                assert "<f>" not in z.read(member).decode("utf-8"), member  # no formula at all
    book = openpyxl.load_workbook(path)
    values = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (sheet.title, cell.coordinate, cell.value)
                    assert cell.quotePrefix == formula_like(cell.value)
                    values.add(cell.value)
    fac = ws.effective_layers().facilities
    for text in [*fac["name"].astype(str), *fac["id"].astype(str), *ws.plan.grid_ids]:
        assert xlsx_text(text) in values, text
    assert HOSTILE["formula_broken"] + "~" in " ".join(values)  # an id, written as text
    assert xlsx_text(HOSTILE["formula_dde"]) in values and xlsx_text(HOSTILE["formula_hyperlink"]) in values


# ---- CLI ----------------------------------------------------------------------------------------
def _assert_terminal_safe(text: str) -> None:
    assert "\x1b" not in text
    bad = [ch for ch in text if (unicodedata.category(ch) == "Cc" and ch not in "\n\t") or ch in BIDI]
    assert not bad, sorted(set(map(repr, bad)))


@pytest.fixture(scope="module")
def city_files(city, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile_files")
    paths = write_hostile_files(folder, city)
    # A file name is the user's text too (printed by "validate").
    renamed = folder / "facilities \x1b[31mred\x1b[0m \u202efdp.csv"
    paths["facilities"].rename(renamed)
    paths["facilities"] = renamed
    return paths


def test_cli_prints_no_escape_or_control_characters(city, city_files, tmp_path, capsys):
    files = ["--units", str(city_files["units"]), "--facilities", str(city_files["facilities"]),
             "--boundary", str(city_files["boundary"]), "--districts", str(city_files["districts"])]
    assert cli.main(["validate", *files, "--all"]) == 0
    out = capsys.readouterr()
    _assert_terminal_safe(out.out + out.err)
    assert HOSTILE_CITY_NAME in out.out or "facilities [31mred[0m fdp.csv" in out.out

    fac = city.facilities
    lead = str(fac.loc[fac["name"] == HOSTILE["ansi"], "id"].iloc[0])  # made to lead: it is printed
    code = cli.main(["plan", *files, "--grids", "3", "--cost-mode", "straight", "--fix-lead", lead,
                     "--out", str(tmp_path / "plan.gpkg"), "--xlsx", str(tmp_path / "plan.xlsx")])
    out = capsys.readouterr()
    assert code in (0, 1), out.err
    _assert_terminal_safe(out.out + out.err)
    assert "RED  clear" in out.out  # the lead's name, printed without its escape sequences
    assert HOSTILE["jinja_expr"] in out.out or HOSTILE["jinja_cycler"] in out.out

    assert cli.main(["check", str(tmp_path / "plan.gpkg")]) in (0, 1)
    out = capsys.readouterr()
    _assert_terminal_safe(out.out + out.err)
    assert HOSTILE_CITY_NAME in out.out


@pytest.mark.parametrize("argv", [
    ["validate", "--coords", HOSTILE["ansi"]],
    ["plan", "--grids", "2", "--out", "p.gpkg", "--designate-lead", HOSTILE["ansi"] + HOSTILE["bidi"]],
    ["check", "no such \x1b[2J file\x07.gpkg"],
    ["nonsense\x1b]0;title\x07"],
])
def test_cli_arguments_are_echoed_without_escape_sequences(argv, capsys):
    assert cli.main(argv) != 0
    out = capsys.readouterr()
    _assert_terminal_safe(out.out + out.err)
    assert out.out + out.err  # it did say something


# ---- pages (AppTest) ------------------------------------------------------------------------------
MARKDOWN = MarkdownIt("commonmark").enable(["strikethrough", "table"])
_UNESCAPED_IMAGE_OR_LINK = re.compile(r"(?<!\\)!(?<!\\)\[|(?<!\\)\]\(")


def _markdown_texts(at) -> list[str]:
    """Every string the page renders as Markdown: bodies, titles, captions, alerts, labels, help."""
    texts = []
    for kind in ("markdown", "caption", "title", "header", "subheader"):
        texts += [e.value for e in getattr(at, kind)]
    for kind in ("error", "warning", "info", "success"):
        texts += [str(e.value) for e in getattr(at, kind)]
    for kind in ("metric", "expander", "tabs", "button", "checkbox", "selectbox", "multiselect",
                 "text_input", "number_input", "radio", "slider", "toggle", "text_area"):
        for e in getattr(at, kind, []):
            texts.append(str(getattr(e, "label", "") or ""))
            help_text = getattr(e, "help", None)
            if help_text:
                texts.append(str(help_text))
    for radio in at.radio:  # radio options are Markdown too
        texts += [str(o) for o in radio.options]
    return [x for x in texts if x]


def _assert_markdown_safe(at) -> list[str]:
    """No Markdown element of the page renders an image, a link or raw HTML; returns the texts."""
    texts = _markdown_texts(at)
    for text in texts:
        rendered = MARKDOWN.render(text)
        assert "<img" not in rendered and "<a " not in rendered, text
        assert "<script" not in rendered and "<div" not in rendered, text
        assert not _UNESCAPED_IMAGE_OR_LINK.search(text), text
        # Streamlit also links bare URLs found in the text: none may be left whole.
        assert not re.search(r"(?i)\b(?:https?|ftp)://|\bwww\.", re.sub(r"<[^>]+>", "", rendered)), text
    return texts


def _shows(texts: list[str], name: str) -> bool:
    """Whether a Markdown element shows ``name`` as typed (it holds the escaped name)."""
    return any(escape_markdown(name) in text for text in texts)


@pytest.fixture(scope="module")
def app_session(city, ws):
    from streamlit.testing.v1 import AppTest

    from grid_planning.session.ui_state import UploadResult

    def open_page(page: str, lang: str = "zh") -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["lang"] = lang
        at.session_state["upload_result"] = UploadResult(layers=city, report=city.report)
        at.session_state["data_choice"] = "uploaded"
        at.session_state["workspace"] = ws
        at.switch_page(page)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_page


@pytest.mark.parametrize("page", ["pages/home.py", "pages/data.py", "pages/plan.py",
                                  "pages/coverage.py", "pages/members.py", "pages/checklist.py"])
def test_pages_show_hostile_text_as_text(app_session, page):
    at = app_session(page)
    texts = _assert_markdown_safe(at)
    # The city's name is in the sidebar, shown as typed (not an image that fetches a URL).
    caption = t("app.data_in_use", "zh", **markdown_params(
        {"name": t("app.data_uploaded", "zh") + " · " + HOSTILE_CITY_NAME}))
    assert caption in texts
    assert not any("出错了" in e.value for e in at.error), [e.value for e in at.error]


def test_plan_page_shows_names_reasons_and_checks_as_text(app_session, ws):
    at = app_session("pages/plan.py", lang="en")
    texts = _assert_markdown_safe(at)
    assert _shows(texts, HOSTILE["md_link"])  # the G4 exception's written reason
    assert _shows(texts, HOSTILE["jinja_cycler"] + " " + HOSTILE["img_onerror"])  # the what-if hospital
    assert _shows(texts, HOSTILE_CITY_NAME)  # the page caption
    # Plain-text widgets take names as they are (no backslashes added).
    options = [o for ms in at.multiselect for o in ms.options]
    assert any(o.startswith(HOSTILE_LEAD_NAMES[0]) for o in options), options[:5]


def test_members_page_shows_the_lead_and_reason_as_text(app_session, ws):
    at = app_session("pages/members.py", lang="en")
    texts = _assert_markdown_safe(at)
    fac = ws.effective_layers().facilities.set_index("id", drop=False)
    grid = at.selectbox(key="mem_grid").value
    lead = fac.loc[str(ws.plan.leads[grid])].to_dict()
    assert _shows(texts, facility_label(lead, "en"))
