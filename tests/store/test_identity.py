"""Who the dashboard says the user is: Streamlit sign-in, a trusted proxy header, or the local user;
administrators from the settings; and where the store lives by default."""

from __future__ import annotations

import pytest

from grid_planning.store.identity import ANONYMOUS, LOCAL_USER_ID, current_user, same_identity
from grid_planning.store.scenarios import ScenarioStore


@pytest.fixture(autouse=True)
def _settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    for name in ("USER_HEADER", "ADMINS", "STORE_URL", "CONFIG"):
        monkeypatch.delenv(f"GRID_PLANNER_{name}", raising=False)


def test_without_any_configuration_the_single_local_user():
    user = current_user({}, {"X-Forwarded-User": "mallory"})  # a header nobody configured is ignored
    assert (user.id, user.source, user.is_admin) == (LOCAL_USER_ID, "local", False)


def test_streamlit_sign_in_comes_first(monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_USER_HEADER", "X-Forwarded-User")
    info = {"is_logged_in": True, "email": "Li.Ming@wuhan.gov.cn", "name": "李明", "sub": "123"}
    user = current_user(info, {"X-Forwarded-User": "someone-else"})
    assert (user.id, user.name, user.source) == ("Li.Ming@wuhan.gov.cn", "李明", "auth")
    assert current_user({"is_logged_in": True, "sub": "abc"}).id == "abc"
    # An address the provider has not verified is not an identity (anybody may claim the admin's).
    monkeypatch.setenv("GRID_PLANNER_ADMINS", "boss@x.cn")
    claim = {"is_logged_in": True, "email": "boss@x.cn", "sub": "u-77"}
    assert current_user({**claim, "email_verified": True}).is_admin
    forged = current_user({**claim, "email_verified": False})
    assert (forged.id, forged.is_admin) == ("u-77", False)
    assert current_user({**claim, "email_verified": "false", "sub": ""}) is ANONYMOUS
    # Sign-in configured but not signed in: a visitor, never the local user or the header.
    assert current_user({"is_logged_in": False}, {"X-Forwarded-User": "x"}) is ANONYMOUS


def test_trusted_proxy_header_when_configured(monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_USER_HEADER", "X-Forwarded-User")
    user = current_user({}, {"x-forwarded-user": " wang.fang\u200b "})  # header names ignore case
    assert (user.id, user.source) == ("wang.fang", "header")
    assert current_user({}, {}) is ANONYMOUS  # configured but missing: not the local user
    assert current_user({}, {"X-Forwarded-User": "\u202e\u200b"}) is ANONYMOUS
    # The single local user's identity is reserved: "X-User: local" owned (and could delete) what
    # the local user saved before the server was shared.
    for forged in ("local", "LOCAL", "ｌｏｃａｌ", " local\u200b"):
        assert current_user({}, {"X-Forwarded-User": forged}) is ANONYMOUS, forged
        assert current_user({"is_logged_in": True, "sub": forged}) is ANONYMOUS, forged
    assert len(current_user({}, {"X-Forwarded-User": "a" * 5000}).id) == 200


def test_admins_from_environment_or_settings_file(monkeypatch, tmp_path):
    monkeypatch.setenv("GRID_PLANNER_USER_HEADER", "X-User")
    monkeypatch.setenv("GRID_PLANNER_ADMINS", "boss@x.cn, Chief")
    assert current_user({}, {"X-User": "BOSS@x.cn"}).is_admin
    assert current_user({}, {"X-User": "chief"}).is_admin
    assert not current_user({}, {"X-User": "clerk"}).is_admin
    monkeypatch.delenv("GRID_PLANNER_ADMINS")
    (tmp_path / "config.toml").write_text('admins = ["local"]\nuser_header = ""\n', encoding="utf-8")
    monkeypatch.delenv("GRID_PLANNER_USER_HEADER")
    user = current_user({}, {})
    assert user.id == LOCAL_USER_ID and user.is_admin
    assert same_identity("A@x.cn", "a@X.CN") and not same_identity("", "")


def test_admin_rights_and_ownership():
    owner = current_user({"is_logged_in": True, "email": "a@x.cn"})
    assert owner.can_change("A@X.cn") and not owner.can_change("b@x.cn")
    assert not ANONYMOUS.can_change("")


def test_store_location_from_the_settings(tmp_path, monkeypatch):
    assert ScenarioStore().path == tmp_path / "scenarios.sqlite"
    monkeypatch.setenv("GRID_PLANNER_STORE_URL", f"sqlite:///{tmp_path}/team/s.sqlite")
    store = ScenarioStore()
    assert store.kind == "sqlite" and store.path == tmp_path / "team" / "s.sqlite" and store.label == "s.sqlite"
