"""The language switch keeps every choice (a choice widget matches its options by their labels,
which change with the language; grid_planning.session.ui_state.seed_widget writes the option back).

AppTest runs app.py (and its sidebar with the language radio) only on a session's first run and
the page alone afterwards, so the switch is made as the radio makes it: in the session state.
The real switch is clicked in a browser in tests/browser/test_browser_state.py.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from grid_planning.base.i18n import t

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_basemap_choice_survives_the_language_switch_and_reads_english():
    at = _run(AppTest.from_file(APP, default_timeout=120))
    at.selectbox(key="home_tiles").set_value("osm")
    _run(at)
    at.session_state["lang"] = "en"
    _run(at)
    box = at.selectbox(key="home_tiles")
    assert box.value == "osm"
    assert box.options == [t(f"map.tiles.{k}", "en") for k in ("none", "osm", "tianditu", "amap")]
    assert t("map.tiles.none", "zh") not in box.options  # the issue: "无底图（离线）" in English
    assert at.title[0].value == t("app.title", "en")
    at.session_state["lang"] = "zh"
    _run(at)
    assert at.selectbox(key="home_tiles").value == "osm"


def test_data_page_choices_survive_the_language_switch():
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("pages/data.py")
    _run(at)
    at.radio(key="data_coords").set_value("gcj02")
    at.text_input(key="data_city_name").input("阜新")
    at.button[0].click()  # the form's "validate" commits its fields (no files: an error)
    _run(at)
    at.session_state["lang"] = "en"
    _run(at)
    assert at.radio(key="data_coords").value == "gcj02"
    assert at.radio(key="data_coords").options[1] == t("data.coords.gcj02", "en")
    assert at.text_input(key="data_city_name").value == "阜新"


def test_plan_confirmation_follows_the_language_switch():
    """A Chinese "已完成：…" line stayed under the buttons after switching to English."""
    at = AppTest.from_file(APP, default_timeout=300)
    at.switch_page("pages/plan.py")
    _run(at)
    at.button(key="plan_run").click()
    _run(at)
    _run(at)  # the rerun the map drawing makes: the confirmation is kept under the buttons
    assert any(s.value.startswith("已完成") for s in at.success), [s.value for s in at.success]
    at.session_state["lang"] = "en"
    _run(at)
    shown = [s.value for s in at.success]
    assert any(v.startswith("Done:") for v in shown), shown
    assert not any("已完成" in v for v in shown), shown


def test_the_pages_name_the_city_in_their_language():
    """Captions read "武汉市" in Chinese and "Wuhan" in English, as the documents and the CLI do
    (city_name_in), not the sample's bilingual "武汉市 Wuhan"."""
    for lang, name, other in (("zh", "武汉市", "Wuhan"), ("en", "Wuhan", "武汉市")):
        at = AppTest.from_file(APP, default_timeout=120)
        at.session_state["lang"] = lang
        _run(at)
        home = [c.value for c in at.caption if c.value.startswith(t("home.caption", lang, name=name))]
        assert len(home) == 1 and other not in home[0]
        at.switch_page("pages/data.py")
        _run(at)
        title = t("data.current.title", lang) + f" · {name}"
        assert [e.label for e in at.expander if e.label.startswith(t("data.current.title", lang))] == [title]
