"""Reasons, scenario names and notes are bounded by settings (issue 18): defaults, the
environment, the settings file, and a value that is no bound refused naming the setting."""

import pytest

from grid_planning.base.config import TEXT_LIMITS, SettingError, text_limit, text_too_long


def test_defaults_and_the_one_rule(monkeypatch, tmp_path):
    monkeypatch.setenv("GRID_PLANNER_CONFIG", str(tmp_path / "none.toml"))
    assert {name: text_limit(name) for name in TEXT_LIMITS} == {
        "max_reason_chars": 2_000,
        "max_checklist_note_chars": 2_000,
        "max_scenario_name_chars": 120,
        "max_scenario_note_chars": 4_000,
    }
    assert text_too_long("理" * 2_000, "max_reason_chars") is None
    assert text_too_long("理" * 2_001, "max_reason_chars") == 2_001
    assert text_too_long(None, "max_reason_chars") is None


def test_settings_from_the_environment_and_the_file(monkeypatch, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text("max_reason_chars = 50\nmax_scenario_note_chars = 7\n", encoding="utf-8")
    monkeypatch.setenv("GRID_PLANNER_CONFIG", str(config))
    monkeypatch.setenv("GRID_PLANNER_MAX_SCENARIO_NAME_CHARS", "12")
    assert text_limit("max_reason_chars") == 50 and text_limit("max_scenario_note_chars") == 7
    assert text_limit("max_scenario_name_chars") == 12
    assert text_too_long("x" * 13, "max_scenario_name_chars") == 13
    monkeypatch.setenv("GRID_PLANNER_MAX_REASON_CHARS", "49")  # the environment wins
    assert text_limit("max_reason_chars") == 49


@pytest.mark.parametrize("bad", ["0", "-5", "1.5", "many", ""])
def test_a_bound_that_is_not_a_positive_whole_number_is_refused(monkeypatch, bad):
    monkeypatch.setenv("GRID_PLANNER_MAX_REASON_CHARS", bad)
    with pytest.raises(SettingError, match="GRID_PLANNER_MAX_REASON_CHARS"):
        text_limit("max_reason_chars")
