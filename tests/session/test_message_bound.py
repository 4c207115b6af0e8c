"""A stated bound on every message to the browser (issue 18): the setting ``max_message_mb`` is
Streamlit's ``server.maxMessageSize``; a map over it is refused and a table cut, each with a
message from the catalogue, before Streamlit's own error; the sample city stays under it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_pandas_df_to_arrow_bytes
from streamlit.testing.v1 import AppTest

from grid_planning.city.provenance import load_sample_city
from grid_planning.session.message_bound import (
    DEFAULT_MESSAGE_MB,
    FRAMING_BYTES,
    bounded_table,
    map_refusal,
    message_limit_mb,
    table_bytes,
    text_bytes,
)

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")


@pytest.fixture(autouse=True)
def _settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    monkeypatch.setenv("GRID_PLANNER_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.delenv("GRID_PLANNER_MAX_MESSAGE_MB", raising=False)


def test_the_bound_is_streamlits_and_configurable(monkeypatch):
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxMessageSize"] == DEFAULT_MESSAGE_MB == message_limit_mb() == 16
    monkeypatch.setenv("GRID_PLANNER_MAX_MESSAGE_MB", "3")
    assert message_limit_mb() == 3
    assert map_refusal(3_000_000 - FRAMING_BYTES) is None
    text = map_refusal(3_000_000 - FRAMING_BYTES + 1, "en")
    assert "3 MB bound" in text and "max_message_mb" in text and "Export" in text
    assert all("max_message_mb" in map_refusal(5_000_000, "zh", what=w) for w in ("map", "present", "compare"))


def test_a_table_is_measured_as_streamlit_sends_it():
    facilities = load_sample_city().facilities.drop(columns="geometry")
    ours, streamlits = table_bytes(facilities), len(convert_pandas_df_to_arrow_bytes(facilities))
    assert abs(ours - streamlits) <= 0.02 * streamlits
    assert text_bytes("武汉", "ab") == 8


def test_a_table_over_the_bound_is_cut_to_the_rows_that_fit_and_says_so():
    facilities = load_sample_city().facilities.drop(columns="geometry").astype(str)
    # About 70 MB as a message: a city of 300,000 facilities (the default bound is 16 MB).
    big = pd.concat([facilities] * (300_000 // len(facilities) + 1), ignore_index=True)
    shown, note = bounded_table(big, "en")
    assert table_bytes(big) > 16_000_000
    assert 0 < len(shown) < len(big) and table_bytes(shown) <= 16_000_000 - FRAMING_BYTES
    assert len(shown) > 0.8 * len(big) * 16_000_000 / table_bytes(big)  # not cut far below the bound
    assert shown.equals(big.iloc[: len(shown)])
    assert f"first {len(shown):,} rows" in note and f"{len(big):,} rows" in note and "16 MB" in note
    same, none = bounded_table(facilities, "en")
    assert none is None and same is facilities


def _map_elements(at: AppTest) -> list:
    """The map components on the page (each is one message carrying the whole map)."""
    found, stack = [], [at.main]
    while stack:
        node = stack.pop()
        if "st_folium" in str(getattr(getattr(node, "proto", None), "component_name", "")):
            found.append(node)
        stack.extend(getattr(node, "children", {}).values())
    return found


def _bound_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "max_message_mb" in w.value]


def test_a_map_over_the_bound_gets_the_clear_message_and_the_sample_stays_under(monkeypatch):
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["lang"] = "en"
    at.switch_page("pages/plan.py")
    at.run()
    at.number_input(key="plan_k").set_value(4)
    at.button(key="plan_run").click()
    at.run()
    assert not at.exception and len(_map_elements(at)) == 1 and not _bound_warnings(at)
    # The coverage page's map of the sample (about 1.2 MB) under a 1 MB bound: refused, said why.
    monkeypatch.setenv("GRID_PLANNER_MAX_MESSAGE_MB", "1")
    at.switch_page("pages/coverage.py")
    at.run()
    assert not at.exception and not _map_elements(at)
    warnings = _bound_warnings(at)
    assert len(warnings) == 1 and "1 MB bound" in warnings[0], [w.value for w in at.warning]
    # Under the default bound it is shown.
    monkeypatch.delenv("GRID_PLANNER_MAX_MESSAGE_MB")
    at.run()
    assert not at.exception and len(_map_elements(at)) == 1
    assert not _bound_warnings(at)
