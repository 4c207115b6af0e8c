"""Every text the code asks the catalogue for exists and gets the values its placeholders need.

Read statically from the source (``ast``): each call of ``t``, ``tr`` or ``tr_md`` (the catalogue's
one entry point and the pages' wrappers) whose key is a literal or an f-string with a literal
prefix. A literal key must exist; a call that passes no ``**params`` must name every placeholder
its entry uses, in both languages (``t`` would otherwise show ``{n}`` to the planner). An f-string
key (``f"vocab.level.{code}"``) is checked against every entry under its prefix.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from grid_planning.base.i18n import LANGUAGES, _flatten, catalogue, t

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "grid_planning").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py"])
#: Functions whose first argument is a catalogue key (grid_planning.base.i18n.t, pages._common.tr/tr_md);
#: ``pages._common.fmt(prefix)`` makes a format_func of ``prefix + option``, with no params;
#: ``pages._ws.go_plan(key)`` shows ``key`` with ``page`` filled.
KEY_FUNCTIONS = {"t", "tr", "tr_md"}
KEY_SHAPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)+")
#: f-string keys whose caller's own branch rules out an entry under the prefix (file, entry).
BRANCHED = {
    # _role_line: "collaborator" and "serves" are handled before the f-string, with their params.
    ("grid_planning/maps/planmap.py", "planmap.role.collaborator_of"),
    ("grid_planning/maps/planmap.py", "planmap.role.serves"),
    # _why_text: f"plan.check.why_{col}" only for location/parent_id; why_item is called with its params.
    ("grid_planning/assess/checks.py", "plan.check.why_item"),
    # the comparison's columns: f"meeting.col.{c}" over rule/subject/grid/reason; delta has its n.
    ("grid_planning/meeting/compare.py", "meeting.col.delta"),
    # user_label: repeated_header / unidentified take no name and are handled first; the others
    # are called with the person's name.
    ("grid_planning/session/team.py", "team.user.auth"),
    ("grid_planning/session/team.py", "team.user.header"),
    ("grid_planning/session/team.py", "team.user.local"),
}


def placeholders(key: str) -> set[str]:
    fmt = string.Formatter()
    return {f for lang in LANGUAGES for _, f, _, _ in fmt.parse(catalogue()[key][lang]) if f}


def _calls():
    """(file:line, key or prefix, is_prefix, keyword names or None when ``**params`` is passed)."""
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name not in KEY_FUNCTIONS | {"fmt", "go_plan"}:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            kwargs = None if any(k.arg is None for k in node.keywords) else {k.arg for k in node.keywords}
            first = node.args[0]
            if name == "fmt" and isinstance(first, ast.Constant):  # a format_func over prefix + option
                yield where, first.value, True, set()
            elif name == "go_plan" and isinstance(first, ast.Constant):  # pages._ws.go_plan fills {page}
                yield where, first.value, False, {"page"}
            elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield where, first.value, False, kwargs
            elif isinstance(first, ast.JoinedStr) and first.values and isinstance(first.values[0], ast.Constant):
                yield where, first.values[0].value, True, kwargs


CALLS = list(_calls())


def test_the_scan_sees_the_pages_and_the_library():
    files = {c[0].split(":")[0] for c in CALLS}
    assert {"app.py", "pages/plan.py", "pages/data.py", "grid_planning/session/ui_state.py"} <= files
    assert len(CALLS) > 500


def test_every_literal_key_exists():
    missing = [(where, key) for where, key, prefix, _ in CALLS
               if not prefix and KEY_SHAPE.fullmatch(key) and key not in catalogue()]
    assert not missing, missing


def test_every_key_prefix_names_entries():
    empty = [(where, key) for where, key, prefix, _ in CALLS
             if prefix and not any(k.startswith(key) for k in catalogue())]
    assert not empty, empty


def test_callers_fill_every_placeholder():
    unfilled = []
    for where, key, prefix, kwargs in CALLS:
        if kwargs is None:  # **params: checked where they are built
            continue
        keys = [k for k in catalogue() if k.startswith(key)] if prefix else [key] if key in catalogue() else []
        for k in keys:
            if prefix and "." in k[len(key):]:
                continue  # a deeper table, not one of the prefix's own entries
            lacking = placeholders(k) - kwargs
            if lacking and not (prefix and (where.split(":")[0], k) in BRANCHED):
                unfilled.append((where, k, sorted(lacking)))
    assert not unfilled, "\n".join(map(str, unfilled))


def test_every_entry_has_both_languages_and_the_same_placeholders():
    for key, entry in catalogue().items():
        assert set(entry) == set(LANGUAGES), key
        assert all(entry[lang].strip() for lang in LANGUAGES), key
        fmt = string.Formatter()
        names = [{f for _, f, _, _ in fmt.parse(entry[lang]) if f} for lang in LANGUAGES]
        assert names[0] == names[1], key


def test_a_table_with_texts_and_sub_tables_keeps_both():
    parsed = {"data": {"coords": {"zh": "坐标系", "en": "Coordinates",
                                  "wgs84": {"zh": "WGS84", "en": "WGS84 (GPS)"}}}}
    assert _flatten(parsed) == {"data.coords": {"zh": "坐标系", "en": "Coordinates"},
                                "data.coords.wgs84": {"zh": "WGS84", "en": "WGS84 (GPS)"}}
    # The real catalogue: the coordinate choices and the export formats under their parents.
    assert t("data.coords.gcj02", "en").startswith("GCJ-02")
    assert t("exports.ui.format.pdf", "en") != "exports.ui.format.pdf"
    assert t("exports.ui.orientation.portrait", "zh") != "exports.ui.orientation.portrait"


@pytest.mark.parametrize("bad", [{"a": {"zh": "x", "cn": "y"}}, {"a": "text"}])
def test_a_field_that_is_not_a_language_is_refused(bad):
    with pytest.raises(ValueError, match="'a'"):
        _flatten(bad)


def _menu() -> dict[str, str]:
    """app.py's PAGES as {page file: menu title key} (read from the source: app.py is a script)."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    node = next(n for n in tree.body if isinstance(n, ast.AnnAssign) and getattr(n.target, "id", "") == "PAGES")
    return {path: key for _, entries in ast.literal_eval(node.value) for path, key, _ in entries}


def test_a_text_naming_a_page_uses_its_menu_title():
    # The empty state used to send the planner to a page called "规划" while the menu said "规划网格".
    menu = _menu()
    titles = {lang: {t(key, lang) for key in menu.values()} | {"{page}"} for lang in LANGUAGES}
    quoted = {"zh": re.compile(r"“([^”]+)”页"), "en": re.compile(r"“([^”]+)” page")}
    wrong = [(key, lang, name) for key, entry in catalogue().items() for lang in LANGUAGES
             for name in quoted[lang].findall(entry[lang]) if name not in titles[lang]]
    assert not wrong, wrong
    unquoted = [(key, entry["en"]) for key, entry in catalogue().items()
                if re.search(r"\b(the|on) (Plan|Data|Scenarios|Coverage|Members|Checklist) page", entry["en"])]
    assert not unquoted, unquoted


def test_pages_name_other_pages_with_the_menus_keys():
    from pages._common import PAGE_NAMES

    menu = _menu()
    assert {path: menu[path] for path in PAGE_NAMES} == PAGE_NAMES
    # The empty state and its link read as the menu does, in both languages.
    for lang in LANGUAGES:
        page = t(menu["pages/plan.py"], lang)
        assert f"“{page}”" in t("ws.no_plan", lang, page=page)
        assert page in t("ws.go_plan", lang, page=page)
