"""The compare and present pages under AppTest, on the sample city with options saved in the store
the app uses (``$GRID_PLANNER_HOME``): no exception, no guard message, the figures of every option,
the units that change grid, the presentation's options from the address."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from grid_planning.domain.plan import PolicyException
from grid_planning.domain.request import PlanRequest
from grid_planning.session.workspace import Workspace
from grid_planning.store.scenarios import ScenarioStore, grid_outlines, layer_fingerprints

APP = str(Path(__file__).resolve().parents[2] / "app.py")
TIMEOUT = 300
GUARD = ("出错了", "Something went wrong")
HOSTILE_NAME = "Plan [C](http://198.51.100.7/) **k=5**"
REASON = "见 [附件](http://198.51.100.7/) **紧急** <b>x</b>"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A home folder whose store holds three options of the sample city (k = 3, 4, 5)."""
    from grid_planning.city.provenance import load_sample_city

    home = tmp_path_factory.mktemp("meeting_home")
    store = ScenarioStore(home / "scenarios.sqlite")
    ws = Workspace(load_sample_city(), request=PlanRequest(k=3))
    ids = []
    for k, name in ((3, "方案甲"), (4, "方案乙"), (5, HOSTILE_NAME)):
        ws.set_request(k=k)
        assert ws.run().ok
        ids.append(ws.save(store, name))
    # A fourth, saved before the facilities changed (its fingerprints say so), with a recorded
    # exception whose reason is Markdown.
    layers = ws.layers
    plan = store.load(ids[0])
    plan = plan.with_exception(PolicyException("G5", str(plan.leads.iloc[0]), REASON))
    fps = layer_fingerprints(layers) | {"facilities": "made-on-older-facilities"}
    ids.append(store.save("方案丁", plan, city=layers.name, city_fingerprint="older", layer_fingerprints=fps,
                          outlines=grid_outlines(layers, plan)))
    return home, ids


@pytest.fixture
def home(saved, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(saved[0]))
    for name in ("USER_HEADER", "ADMINS", "STORE_URL", "CONFIG"):
        monkeypatch.delenv(f"GRID_PLANNER_{name}", raising=False)
    return saved


def _app(page: str, lang: str = "zh", **query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["lang"] = lang
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(page)
    return at


def _ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    for e in at.error:
        assert not any(g in e.value for g in GUARD), e.value
    return at


def _frame_with(at: AppTest, column: str):
    return next(d.value for d in at.dataframe if column in getattr(d.value, "columns", []))


def test_compare_two_options_from_the_address(home):
    _, ids = home
    at = _ok(_app("pages/compare.py", "en", ids=f"{ids[0]},{ids[1]}").run())
    assert at.multiselect(key="cmp_pick").value == [ids[0], ids[1]]
    metrics = _frame_with(at, "Figure")
    assert list(metrics.columns) == ["Figure", "1 · 方案甲", "2 · 方案乙", "Option 2 vs option 1", "Differs"]
    row = metrics.set_index("Figure").loc["Grids"]
    assert (row["1 · 方案甲"], row["2 · 方案乙"], row["Differs"]) == ("3", "4", "≠")
    assert metrics.set_index("Figure").loc["Residents covered", "Differs"] == ""
    summary = next(m.value for m in at.markdown if m.value.startswith("From “1"))
    assert "units change grid" in summary
    changes = _frame_with(at, "From grid (lead)")
    assert {"Unit", "From grid (lead)", "To grid (lead)"} <= set(changes.columns) and len(changes) > 0
    assert changes["Residents affected"].is_monotonic_decreasing
    assert at.query_params["ids"] == f"{ids[0]},{ids[1]}"
    # Checks of each option, and that no exception was recorded.
    assert len([m for m in at.markdown if m.value.startswith("**1 · ") or m.value.startswith("**2 · ")]) == 2
    assert sum("No exceptions recorded." in c.value for c in at.caption) == 2


def test_compare_three_options_and_pick_the_pair(home):
    _, ids = home
    at = _ok(_app("pages/compare.py", ids=",".join(map(str, ids))).run())
    metrics = _frame_with(at, "指标")
    assert len([c for c in metrics.columns if c.startswith(("1 · ", "2 · ", "3 · "))]) == 3
    # A name that is Markdown stays text on the page.
    assert not any("](http" in m.value for m in at.markdown)
    pair = at.selectbox(key="cmp_pair")
    assert pair.options == ["方案 1 → 方案 2", "方案 1 → 方案 3", "方案 2 → 方案 3"]
    pair.set_value((1, 2))
    _ok(at.run())
    assert any(m.value.startswith("从“2 · 方案乙”到“3 · ") for m in at.markdown)


def test_compare_changing_the_picker_is_not_undone_by_the_address(home):
    _, ids = home
    at = _ok(_app("pages/compare.py", ids=f"{ids[0]},{ids[1]}").run())
    at.multiselect(key="cmp_pick").set_value([ids[1], ids[2]])
    _ok(at.run())
    assert at.multiselect(key="cmp_pick").value == [ids[1], ids[2]]
    assert at.query_params["ids"] == f"{ids[1]},{ids[2]}"


def test_compare_flags_changed_data_and_shows_exception_reasons(home):
    _, ids = home
    at = _ok(_app("pages/compare.py", "en", ids=f"{ids[0]},{ids[3]}").run())
    warning = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "Option “方案丁”: ⚠ Data changed since it was saved: facilities. Its figures are recomputed" in warning
    assert any("⚠ Data changed since it was saved: facilities" in o for o in
               at.multiselect(key="cmp_pick").options)
    # The reason is on the page as typed: escaped, never a link or emphasis.
    shown = [m.value for m in at.markdown if "附件" in m.value]
    assert shown and all("](http" not in m and "**紧急**" not in m for m in shown)
    assert "G5" in shown[0]
    # Same plan, same figures: nothing changes grid between the two.
    assert any(m.value.startswith("From “1 · 方案甲” to “2 · 方案丁”, no unit changes grid") for m in at.markdown)


def test_compare_with_too_few_options(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    monkeypatch.delenv("GRID_PLANNER_STORE_URL", raising=False)
    at = _ok(_app("pages/compare.py", "en").run())
    assert any("Fewer than two options" in i.value for i in at.info)


def test_present_from_the_address(home):
    _, ids = home
    at = _ok(_app("pages/present.py", ids=f"{ids[2]},{ids[0]}").run())
    assert [b.label for b in at.button] == ["选择其他方案"]
    assert at.session_state["meeting_ids"] == [ids[2], ids[0]]
    # Choose other options: the chooser starts from what was shown.
    at.button(key="present_change").click()
    _ok(at.run())
    assert at.multiselect(key="present_pick").value == [ids[2], ids[0]]
    at.multiselect(key="present_pick").set_value([ids[1]])
    at.button(key="present_start").click()
    _ok(at.run())
    assert at.query_params["ids"] == str(ids[1])
    assert [b.label for b in at.button] == ["选择其他方案"]


def test_present_without_options_offers_the_chooser(home):
    _, ids = home
    at = _ok(_app("pages/present.py", "en").run())
    pick = at.multiselect(key="present_pick")
    assert pick.value == [ids[3], ids[2], ids[1]]  # the three most recent
    assert not at.button(key="present_start").disabled
    # An address with ids that do not exist falls back to the chooser too.
    at = _ok(_app("pages/present.py", "en", ids="999,abc").run())
    assert at.multiselect(key="present_pick") is not None
