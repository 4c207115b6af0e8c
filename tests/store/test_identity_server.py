"""Owners on a team server: identity headers decoded as the proxy sends them (Chinese names never
collide), a repeated header refused, a shared store without identity settings read-only."""

from __future__ import annotations

import pytest

from grid_planning.session.team import user_label
from grid_planning.store.identity import (
    ANONYMOUS,
    REPEATED_HEADER,
    UNIDENTIFIED,
    current_user,
    decode_header_value,
)


@pytest.fixture(autouse=True)
def _settings(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    for name in ("USER_HEADER", "ADMINS", "STORE_URL", "SHARED_STORE"):
        monkeypatch.delenv(f"GRID_PLANNER_{name}", raising=False)


def _as_tornado(name: str) -> str:
    """A UTF-8 header value as the dashboard receives it (tornado decodes header bytes as Latin-1)."""
    return name.encode("utf-8").decode("latin-1")


def test_chinese_names_sent_as_utf8_never_collide(monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_USER_HEADER", "X-Remote-User")
    # "张伀" and "张伟" differ in bytes 0x80 / 0x9f, which were dropped as control characters.
    a = current_user(headers={"X-Remote-User": _as_tornado("张伀")})
    b = current_user(headers={"x-remote-user": [_as_tornado("张伟")]})
    assert (a.id, b.id) == ("张伀", "张伟") and a.source == b.source == "header"
    assert not a.can_change(b.id) and not b.can_change(a.id)
    names = [chr(0x4E00 + i) for i in range(0, 20902)]
    ids = {current_user(headers={"X-Remote-User": _as_tornado("张" + n)}).id for n in names}
    assert len(ids) == len(names)


def test_rfc5987_and_percent_encoded_names_are_decoded():
    assert decode_header_value("UTF-8''%E5%BC%A0%E4%BC%9F") == "张伟"
    assert decode_header_value("utf-8'zh'%E5%BC%A0%E4%BC%80") == "张伀"
    assert decode_header_value("li.ming@example.cn") == "li.ming@example.cn"
    assert decode_header_value("José".encode("latin-1").decode("latin-1")) == "José"
    with pytest.raises(ValueError):
        decode_header_value("UTF-8''%E5%BC")


def test_a_header_sent_twice_is_refused(monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_USER_HEADER", "X-Remote-User")
    monkeypatch.setenv("GRID_PLANNER_ADMINS", "boss")
    user = current_user(headers={"X-Remote-User": ["boss", "wang"]})
    assert user is REPEATED_HEADER and user.anonymous and not user.can_change("wang")
    assert "more than once" in user_label(user, "en")
    assert current_user(headers={"X-Remote-User": ["boss"]}).is_admin


def test_a_shared_store_without_identity_settings_is_read_only(monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_STORE_URL", "postgresql://db.example/plans")
    user = current_user()
    assert user is UNIDENTIFIED and user.anonymous and not user.can_change("local")
    assert "view only" in user_label(user, "en")
    monkeypatch.setenv("GRID_PLANNER_ADMINS", "local")  # the administrator's explicit choice
    assert current_user().id == "local" and current_user().is_admin
    monkeypatch.delenv("GRID_PLANNER_ADMINS")
    monkeypatch.setenv("GRID_PLANNER_STORE_URL", "/srv/plans.sqlite")
    assert current_user().id == "local"
    monkeypatch.setenv("GRID_PLANNER_SHARED_STORE", "true")
    assert current_user() is UNIDENTIFIED
    monkeypatch.setenv("GRID_PLANNER_USER_HEADER", "X-Remote-User")
    assert current_user(headers={}) is ANONYMOUS
    assert current_user(headers={"X-Remote-User": "wang"}).id == "wang"
