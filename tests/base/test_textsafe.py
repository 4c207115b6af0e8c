"""grid_planning.base.textsafe: each function keeps a user's text as text in its kind of output.

Every hostile string of ``tests/hostile.py`` goes through each function; the assertions read the
output the way its consumer does (Jinja2 rendering it again, a JSON/JavaScript parser, a Markdown
renderer, a terminal, a spreadsheet reader).
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import subprocess
import unicodedata

import numpy as np
import openpyxl
import pandas as pd
import pytest
from branca.element import Element
from hostile import HOSTILE
from jinja2 import Template
from markdown_it import MarkdownIt

from grid_planning.base.i18n import t
from grid_planning.base.textsafe import (
    FORMULA_PREFIXES,
    WORD_JOINER,
    display_text,
    escape_markdown,
    formula_like,
    markdown_params,
    script_json,
    sheet_name,
    spreadsheet_frame,
    spreadsheet_text,
    terminal_text,
    write_xlsx,
    xlsx_text,
)

VALUES = list(HOSTILE.values())
IDS = list(HOSTILE)
#: Streamlit's Markdown flavour, as far as CommonMark + GFM goes (what the page renders).
MARKDOWN = MarkdownIt("commonmark").enable(["strikethrough", "table"])
#: What GFM autolinks in text (URLs, www., e-mail addresses).
AUTOLINK = re.compile(r"(?i)\b(?:https?|ftp)://|\bwww\.|[\w.+-]@[\w-]")
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# ---- script_json --------------------------------------------------------------------------------
@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_script_json_round_trips_and_holds_no_template_or_script_syntax(value):
    payload = {"name": value, "lines": [[value, "b"], value], value[:30]: 1.5, "n": None}
    text = script_json(payload)
    # Every string as display_text shows it: no control, escape or bidi character reaches a map.
    shown = display_text(value, keep_newlines=True)
    expected = {
        "name": shown,
        "lines": [[shown, "b"], shown],
        display_text(value[:30], keep_newlines=True): 1.5,
        "n": None,
    }
    assert json.loads(text) == expected
    assert not (set(text) & BIDI) and "\\u001b" not in text and "\\u0007" not in text
    for forbidden in ("{{", "{%", "{#", "</", "<!--", "\u2028", "\u2029", "//"):
        assert forbidden not in text
    text.encode("utf-8")  # always encodable (no lone surrogate)


@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_script_json_is_unchanged_by_rendering_it_as_a_template_twice(value):
    # What branca does to a map element's script: Element(text).render(), and again.
    text = "var data = " + script_json({"name": value}) + ";"
    once = Element(text).render()
    assert once == text
    assert Template(Element(once).render()).render() == text
    # streamlit-folium's rewrite of "{{'element'}}" references finds nothing to rewrite either.
    from streamlit_folium import _resolve_element_refs

    assert _resolve_element_refs(text) == text


def test_script_json_keeps_text_streamlit_folium_would_rewrite():
    value = "alert(coords); drawnItems_draw_control_div_7"
    from streamlit_folium import _get_map_string  # noqa: F401 - the rewrites live there

    text = script_json(value)
    assert "alert(coords);" not in text and "drawnItems_draw_control_div_" not in text
    assert json.loads(text) == value


def test_script_json_is_utf8_not_ascii_escapes_and_refuses_nan():
    assert script_json("武汉") == '"武汉"'
    assert json.loads(script_json("\udcff")) == "\udcff"  # undecodable byte kept, as an escape
    with pytest.raises(ValueError):
        script_json({"x": float("nan")})


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_script_json_is_a_javascript_literal_of_the_same_value():
    payload = {"names": VALUES}
    out = subprocess.run(
        ["node", "-e", f"process.stdout.write(JSON.stringify({script_json(payload)}))"],
        capture_output=True,
        check=True,
    )
    shown = {"names": [display_text(v, keep_newlines=True) for v in VALUES]}
    assert json.loads(out.stdout.decode("utf-8", "surrogatepass")) == shown


# ---- Markdown -----------------------------------------------------------------------------------
def _shown(markdown: str) -> tuple[str, str]:
    """(rendered HTML, the text a reader sees)."""
    out = MARKDOWN.render(markdown)
    return out, html.unescape(re.sub(r"<[^>]+>", "", out)).strip()


def _as_shown(value: str) -> str:
    """What a name looks like in Markdown: controls and bidi marks dropped, lines joined."""
    kept = "".join(
        " " if ch in "\n\r\t" else ch
        for ch in re.sub(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07)", "", value)
        if ch in "\n\r\t" or not (unicodedata.category(ch) == "Cc" or ch in BIDI)
    )
    return kept.strip()


@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_escape_markdown_shows_the_text_and_makes_no_markup(value):
    out, shown = _shown(escape_markdown(value))
    for tag in (
        "<img",
        "<a ",
        "<em",
        "<strong",
        "<code",
        "<h1",
        "<h2",
        "<script",
        "<del",
        "<ul",
        "<ol",
    ):
        assert tag not in out, (value, out)
    # Streamlit links URLs and e-mail addresses in the text after parsing: none is left whole.
    assert not AUTOLINK.search(shown), shown
    assert shown.replace(WORD_JOINER, "") == _as_shown(value)


def test_escape_markdown_defuses_what_streamlit_links_or_turns_into_icons():
    text = "see https://198.51.100.7/x, WWW.example.com, a@b.org and :material/home:"
    out, shown = _shown(escape_markdown(text))
    assert not AUTOLINK.search(shown) and ":material/" not in shown
    assert shown.replace(WORD_JOINER, "") == text


def test_markdown_params_escape_parameters_not_the_catalogue_text():
    name = HOSTILE["md_image"]
    text = t("ws.scen.saved", "en", **markdown_params({"name": name}))
    out, shown = _shown(text)
    shown = shown.replace(WORD_JOINER, "")
    assert "<img" not in out and name in shown
    assert shown == t("ws.scen.saved", "en", name=name)
    # Vocabulary codes are still shown in words; numbers keep their format spec.
    text = t(
        "ws.fac.clicked",
        "en",
        **markdown_params(
            {"name": "*x*", "level": "tertiary", "type": "maternal_child", "owner": "municipal"}
        ),
    )
    assert "tertiary" in text and "maternal" in text and "\\*x\\*" in text
    assert format(markdown_params({"n": 1234567})["n"], ",") == "1,234,567"


# ---- terminal -----------------------------------------------------------------------------------
@pytest.mark.parametrize("value", VALUES, ids=IDS)
def test_terminal_text_has_no_escape_control_or_bidi_character(value):
    out = terminal_text(value + "\r\nnext")
    assert "\x1b" not in out and "\r" not in out
    assert not any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in out)
    assert not BIDI & set(out)
    assert out.endswith("\nnext")


def test_terminal_text_keeps_ordinary_text():
    assert terminal_text("武汉市第一医院 G1\tok\n") == "武汉市第一医院 G1\tok\n"
    assert terminal_text(HOSTILE["ansi"]) == "RED  clear"


# ---- spreadsheets -------------------------------------------------------------------------------
def test_spreadsheet_text_and_frame_quote_formula_prefixes_only():
    assert spreadsheet_text("=1+1 name") == "'=1+1 name"
    assert spreadsheet_text("\t=1+1") == "'\t=1+1"
    assert spreadsheet_text("\r=1+1") == "'\n=1+1" and spreadsheet_text("a\r=1") == "a\n=1"
    assert spreadsheet_text("武汉") == "武汉" and spreadsheet_text(-3) == -3
    frame = pd.DataFrame({"=name": VALUES, "n": np.arange(len(VALUES)) - 5.0})
    out = spreadsheet_frame(frame)
    assert list(out.columns) == ["'=name", "n"]
    assert out["n"].tolist() == frame["n"].tolist()  # a negative number stays a number
    buffer = io.StringIO()
    out.to_csv(buffer, index=False)
    # Read back as a spreadsheet would: one row per value, no cell starting a formula.
    rows = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    assert len(rows) == len(VALUES) + 1
    for row, value in zip(rows[1:], VALUES, strict=True):
        assert not row[0].startswith(FORMULA_PREFIXES)
        assert row[0].lstrip("'") == value.replace("\r\n", "\n").replace("\r", "\n")


def test_write_xlsx_makes_every_string_a_text_cell(tmp_path):
    frame = pd.DataFrame(
        {"name": VALUES + ["#N/A"], "n": np.arange(len(VALUES) + 1) - 3.0, "ok": True}
    )
    path = tmp_path / "t.xlsx"
    write_xlsx(path, {"hostile/sheet:[1]": frame, "second": frame.head(2)}, index=False)
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["hostile_sheet__1_", "second"]
    ws = book["hostile_sheet__1_"]
    cells = [row[0] for row in ws.iter_rows(min_row=2)]
    assert [c.value for c in cells] == [xlsx_text(v) for v in frame["name"]]
    for cell in cells:
        assert cell.data_type == "s", (cell.value, cell.data_type)
        assert cell.quotePrefix == formula_like(cell.value)
    assert ws["B2"].value == -3 and ws["B2"].data_type == "n"
    # Only what XML cannot hold is dropped; the formula text itself is intact.
    assert xlsx_text(HOSTILE["control"]) == "bell null del\x7f"
    assert formula_like("\n=1+1") and formula_like("@SUM(1)") and not formula_like("a=1")
    assert (
        ws.cell(row=2 + VALUES.index(HOSTILE["formula_dde"]), column=1).value
        == HOSTILE["formula_dde"]
    )


def test_sheet_name_is_valid_for_excel():
    assert sheet_name("a" * 40) == "a" * 31
    assert sheet_name("x[1]:*?/\\") == "x_1______"
    assert sheet_name("") == "_" and sheet_name("\x1b[2J") == "_"


def test_error_messages_escape_the_user_s_text_and_keep_the_catalogue_s():
    """Every error a page shows goes through team.markdown_message: the catalogue sentence as
    written, the names in it (typed by a user) escaped, an uncatalogued error escaped whole."""
    from grid_planning.base.textsafe import escape_markdown
    from grid_planning.session.team import markdown_message
    from grid_planning.session.workspace import WorkspaceError

    name = "**院** ![x](http://203.0.113.9/x.png) <b>"
    text = markdown_message(WorkspaceError("lead_unit", unit="U1", grid="G1", name=name), "en")
    assert text.startswith("Unit U1 holds the lead hospital of G1 (")
    assert escape_markdown(name) in text and name not in text
    plain = markdown_message(ValueError("bad *value* [here](http://203.0.113.9)"), "en")
    assert "*value*" not in plain and "](http" not in plain


def test_option_labels_follow_the_display_rule():
    from grid_planning.meeting.compare import option_label

    assert option_label(1, "方案\u202e乙\x1b[31m\x07") == "2 · 方案乙"


def test_script_json_leaves_a_literal_backslash_u_alone():
    assert json.loads(script_json("C:\\u001b\\b")) == "C:\\u001b\\b"
