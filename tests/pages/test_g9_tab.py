"""The plan page's G9 tab under AppTest, on the G9 strip city uploaded as a planner would: the
panel shows the weights and the factors, and new weights re-plan at once."""

from __future__ import annotations

from pathlib import Path

from g9_city import write_g9_files
from streamlit.testing.v1 import AppTest

from grid_planning.session.ui_state import load_uploads

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_plan_page_g9_tab_replans_with_the_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    units, facilities = write_g9_files(tmp_path / "city")
    uploaded = load_uploads(
        {"units": (units.name, units.read_bytes()), "facilities": (facilities.name, facilities.read_bytes())},
        city_name="G9 strip", workdir=tmp_path / "tmp",
    )
    assert uploaded.usable
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lang"] = "en"
    at.session_state["upload_result"] = uploaded
    at.session_state["data_choice"] = "uploaded"
    at.switch_page("pages/plan.py")
    at.run()
    at.number_input(key="plan_k").set_value(2)
    at.button(key="plan_run").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    ws = at.session_state["workspace"]
    assert ws.plan is not None

    def west_residents() -> int:
        table = next(d.value for d in at.dataframe if "Weighted demand" in d.value.columns)
        west = str(ws.plan.leads[ws.plan.leads == "W1"].index[0])
        return int(table.loc[table["Grid"] == west, "Residents"].iloc[0].replace(",", ""))

    before = west_residents()
    assert any("no G9 weights" in c.value for c in at.caption)
    rev = ws.request_revision
    at.number_input(key=f"g9_age_{rev}").set_value(2.0)
    at.selectbox(key=f"g9_col_{rev}").set_value("chronic")
    at.button[[b.label for b in at.button].index("Plan with these weights")].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert ws.request.age_weight == 2.0 and ws.plan.param_map["request"]["age_weight"] == 2.0
    assert any("age weight 2" in c.value for c in at.caption), [c.value for c in at.caption if "G9" in c.value]
    # the old-age west now holds fewer residents than at weight 0
    assert west_residents() < before
