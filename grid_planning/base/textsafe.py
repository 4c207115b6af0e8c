"""A user's text is data: the one place that makes it safe for each kind of output.

Names, ids, reasons and notes come from the planner's files and forms. Every renderer that puts such
text somewhere it could be *interpreted* goes through one function here:

- :func:`script_json` — data for a map script. branca (under folium) renders each element's script
  and then parses the result *again* as a Jinja2 template, so text that reaches a map's template
  output is evaluated on the server (``{{7*7}}`` became ``49``; worse ran code). JSON from here holds
  no Jinja delimiter, no ``</script>`` break-out and no raw line separator, whatever the text.
- :func:`escape_markdown` — text inside Streamlit Markdown (titles, captions, labels, messages):
  no link, image, emphasis or HTML comes out of it.
- :func:`terminal_text` — text printed by the CLI: no escape sequence or control character reaches
  the terminal.
- :func:`spreadsheet_text` / :func:`spreadsheet_frame` / :func:`write_xlsx` — cells of CSV and XLSX
  exports: a value starting with ``= + - @`` (or a tab or carriage return) is written as text, never
  as a formula.
- :func:`markdown_params` — parameters of a catalogue message used as Markdown, escaped as they
  are filled in (the catalogue's own wording stays Markdown).
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import IO, TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell

# ---- map scripts ------------------------------------------------------------------------------------
#: Jinja2's block openers with the default delimiters (branca uses them).
_JINJA_OPENERS = ("{{", "{%", "{#")


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


_BRACES = str.maketrans({"{": "\\u007b", "}": "\\u007d"})


#: Characters that are never structural in JSON and are escaped everywhere: HTML-significant ones
#: (no ``</script>`` or ``<!--`` in a script element), ``/`` (no ``//host`` that reads as a URL),
#: and the two line separators JavaScript did not allow in string literals before ES2019.
_GLOBAL = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("'", "\\u0027"),
    ("/", "\\/"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


#: Text streamlit-folium rewrites in a map's script (it drops ``alert(coords);`` and renames
#: ``drawnItems_draw_control_div_<n>``): escaped so that a name holding it reaches the page intact.
_REWRITTEN = (
    ("alert(coords);", "alert(coords)\\u003b"),
    ("drawnItems_draw_control_div_", "drawnItems\\u005fdraw_control_div_"),
)


#: Lone surrogates (undecodable bytes kept by ``surrogateescape``) cannot be encoded as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape_braces(match: re.Match) -> str:
    token = match.group(0)
    return token.translate(_BRACES) if ("{" in token or "}" in token) else token


#: In JSON text: a control character's escape (json.dumps writes C0 controls as ``\\u00XX``,
#: or ``\\b``/``\\f``), after an even run of backslashes (so a literal backslash followed by
#: ``u001b`` is left alone), ESC with the rest of its CSI or OSC sequence; newline and tab are
#: kept (tooltip lines).
_JSON_CONTROL = re.compile(
    r"(?<!\\)((?:\\\\)*)(?:\\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\\\"]*(?:\\u0007)?)?|\\u00(?:0[0-8bcef]|1[0-9a-f])|\\[bfr])"
)


#: Raw characters :func:`display_text` removes that json.dumps leaves as they are: bidirectional
#: controls, DEL and the C1 controls.
_RAW_CONTROL = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\x7f-\x9f]")


def script_json(value: object) -> str:
    """``value`` as JSON safe to embed in an HTML ``<script>`` that is later rendered by Jinja2.

    The result is valid JSON and a valid JavaScript expression. Inside string values, ``{`` and
    ``}`` are written as ``\\u007b``/``\\u007d`` when the text holds a Jinja opener (so no ``{{``,
    ``{%`` or ``{#`` reaches a template engine); ``< > & ' /`` and U+2028/U+2029 are escaped
    everywhere (so nothing can close the script element or read as a URL), and lone surrogates
    are written as ``\\udXXX`` escapes. A browser decodes every escape back to the original
    character; non-ASCII text is kept as UTF-8 (a third of the size of ``\\uXXXX``).

    Parameters
    ----------
    value : JSON-serialisable object
        NaN and infinities are not allowed (they are not JSON); map them to ``None`` first.

    Examples
    --------
    >>> script_json({"name": "Clinic {{7*7}}</script>"})
    '{"name":"Clinic \\\\u007b\\\\u007b7*7\\\\u007d\\\\u007d\\\\u003c\\\\/script\\\\u003e"}'
    """
    text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    # display_text's rule for every string of the data (labels, tooltips), on the JSON text: a
    # regular expression over megabytes of GeoJSON, instead of a walk over its coordinates.
    if _RAW_CONTROL.search(text):
        text = _RAW_CONTROL.sub("", text)
    if "\\u00" in text or "\\b" in text or "\\f" in text or "\\r" in text:
        text = _JSON_CONTROL.sub(r"\1", text)
    for char, escaped in _GLOBAL:
        if char in text:  # str.replace is far faster than translate on megabytes of GeoJSON
            text = text.replace(char, escaped)
    # Structural braces never form a Jinja opener ("{" is always followed by '"' or "}"), so an
    # opener can only come from a string's content; most payloads have none and skip the scan.
    if any(opener in text for opener in _JINJA_OPENERS):
        text = _JSON_STRING.sub(_escape_braces, text)
    for raw, escaped in _REWRITTEN:
        if raw in text:
            text = text.replace(raw, escaped)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)
    return text


# ---- Markdown -----------------------------------------------------------------------------------------
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=^&])")


#: What Streamlit's Markdown turns into a link or an icon *after* parsing, in plain text where
#: backslash escapes no longer count: URLs and e-mail addresses (GFM autolinks) and
#: ``:material/...:`` icons. A WORD JOINER (U+2060, invisible) right after the trigger stops it.
_TEXT_TRIGGERS = re.compile(r"(?i)\b(?:https?|ftp|mailto|xmpp)(?=:)|\bwww(?=\.)|@(?=[\w-])|material(?=/)")


WORD_JOINER = "\u2060"


def escape_markdown(text: object) -> str:
    """``text`` for Streamlit Markdown: shown as written, never as a link, image, emphasis or HTML.

    Every Markdown-significant ASCII punctuation character is backslash-escaped (CommonMark allows
    escaping any ASCII punctuation; this also covers Streamlit's ``:color[...]`` directives and
    ``$...$`` maths); URLs, e-mail addresses and ``:material/...:`` get an invisible word joiner
    so that they are not linked or turned into icons (:data:`WORD_JOINER`); line breaks become
    spaces (no heading, list or block from a name), and control and bidirectional characters
    are dropped.
    """
    s = _strip_controls(str(text), keep_newlines=False)
    s = _TEXT_TRIGGERS.sub(lambda m: m.group(0) + WORD_JOINER, s)
    return _MD_SPECIAL.sub(r"\\\1", s)


class _MarkdownStr(str):
    """A message parameter that is escaped for Markdown when a message is filled with it.

    A ``str`` subclass, so :func:`grid_planning.base.i18n.t` still recognises vocabulary codes
    (``level="tertiary"`` is shown in words, which are the catalogue's own text).
    """

    def __format__(self, spec: str) -> str:
        return escape_markdown(format(str(self), spec))


class _MarkdownValue:
    """A non-text message parameter (a number ...) formatted first, then escaped."""

    def __init__(self, value: object) -> None:
        self.value = value

    def __format__(self, spec: str) -> str:
        return escape_markdown(format(self.value, spec))


def markdown_params(params: Mapping[str, object]) -> dict[str, object]:
    """Message parameters that come out as typed when a catalogue message is used as Markdown.

    The catalogue text stays the app's own Markdown; each parameter (a name, id, reason,
    number) is escaped as it is filled in, with its format spec (``{n:,}``) applied first::

        t("ws.scen.saved", lang, **markdown_params({"name": name}))
    """
    return {
        key: _MarkdownStr(value) if isinstance(value, str) else _MarkdownValue(value)
        for key, value in params.items()
    }


# ---- terminal -----------------------------------------------------------------------------------------
#: ANSI / VT escape sequences (CSI, OSC, and two-character escapes).
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


#: Unicode bidirectional controls: they reorder what a reader sees (Trojan-source style).
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _strip_controls(text: str, *, keep_newlines: bool) -> str:
    text = _ANSI.sub("", text)
    keep = {"\n", "\t"} if keep_newlines else set()
    out = []
    for ch in text:
        if ch in keep:
            out.append(ch)
        elif ch in ("\n", "\r", "\t") and not keep_newlines:
            out.append(" ")
        elif ch in _BIDI or unicodedata.category(ch) == "Cc":
            continue
        else:
            out.append(ch)
    return "".join(out)


def display_text(text: object, *, keep_newlines: bool = False) -> str:
    """The one rule for user text shown as a label (map labels and tooltips, comparison and
    presentation headers, the terminal): terminal escape sequences, control characters (ESC,
    BEL, NUL, DEL, C1) and bidirectional controls (a right-to-left override reorders what a reader
    sees) removed; line breaks and tabs become spaces unless ``keep_newlines``.

    :func:`script_json` applies the same rule to every string of a map's data."""
    return _strip_controls(str(text).replace("\r\n", "\n"), keep_newlines=keep_newlines)


def terminal_text(text: object) -> str:
    """``text`` with escape sequences, control and bidirectional characters removed (newlines and
    tabs kept), for printing to a terminal (:func:`display_text`)."""
    return display_text(text, keep_newlines=True)


# ---- spreadsheets -------------------------------------------------------------------------------------
#: A cell starting with one of these is read as a formula by Excel / LibreOffice / WPS.
#: Unicode's Default_Ignorable_Code_Point (DerivedCoreProperties.txt, Unicode 15.1): code points
#: a renderer shows as nothing, assigned or not (fillers, joiners, variation selectors, tags).
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x16FE4, 0x16FE4), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


#: Blank all the same, though not in that list: the braille blank pattern.
_BLANK_EXTRA = frozenset("\u2800")


def invisible(ch: str) -> bool:
    """Whether a character shows as nothing or is no character of text: Default_Ignorable code
    points, format (Cf), control (Cc), private-use (Co) and surrogate (Cs) characters. The one rule
    for names that are compared (scenario names, user identities)."""
    code = ord(ch)
    if any(lo <= code <= hi for lo, hi in _DEFAULT_IGNORABLE) or ch in _BLANK_EXTRA:
        return True
    return unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cs")


def has_visible_text(value: object) -> bool:
    """Whether a text shows anything: a character that is neither :func:`invisible` nor a space.
    A written reason for an exception must (U+200B or U+2060 alone is no reason)."""
    if value is None:
        return False
    return any(not invisible(ch) and not ch.isspace() for ch in str(value))


def html_text(value: object) -> str:
    """Text for HTML outside scripts: escaped, and without the control characters, terminal
    escapes and bidirectional overrides :func:`terminal_text` drops (HTML shows a NUL or BEL as
    a box, and a right-to-left override reorders what follows)."""

    return html.escape(terminal_text(value))


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: object) -> object:
    """A CSV cell value that a spreadsheet shows as text: strings starting with a formula prefix get
    a leading apostrophe (the OWASP recommendation), and a carriage return inside a string becomes
    a newline (pandas does not quote a field for a lone CR, and a spreadsheet would start a new row
    there, whose first cell could be a formula). Anything else is returned unchanged."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_PREFIXES):
        value = "'" + value
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value


def spreadsheet_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` for CSV export with :func:`spreadsheet_text` applied to text cells and
    headers (numeric columns are left alone: a negative number is a number)."""
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(spreadsheet_text)
    out.columns = [spreadsheet_text(c) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a CSV file a spreadsheet opens safely: UTF-8 with BOM (Excel's cue for
    UTF-8), CRLF line ends, :func:`spreadsheet_frame` applied. Every CSV this package writes."""
    text = spreadsheet_frame(frame).to_csv(index=False, lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


#: Characters XML 1.0 (hence XLSX) cannot hold; openpyxl refuses them.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


#: Excel's limit on the characters of one cell.
XLSX_CELL_LIMIT = 32_767


def xlsx_text(value: object) -> object:
    """A string as an XLSX cell holds it: without the control characters XML forbids (they cannot
    be stored), with carriage returns as newlines (XML reads a CR back as a newline anyway) and
    cut at Excel's 32,767 characters. Anything else is returned unchanged."""
    if not isinstance(value, str):
        return value
    text = _XML_ILLEGAL.sub("", value)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[:XLSX_CELL_LIMIT]


def formula_like(value: str) -> bool:
    """Whether a spreadsheet could take ``value`` for a formula once a user edits the cell: it
    starts with a formula prefix, possibly after white space."""
    return value.startswith(FORMULA_PREFIXES) or value.lstrip().startswith(("=", "+", "-", "@"))


def write_xlsx(target: str | PathLike[str] | IO[bytes], sheets: Mapping[str, pd.DataFrame], **kwargs: Any) -> None:
    """Write ``sheets`` (name -> frame) to an XLSX workbook where every string is a text cell.

    openpyxl stores a string starting with ``=`` as a formula (and ``#N/A`` ... as an error);
    here each string cell is written as text, so ``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0``
    shows as typed and is never evaluated, and a cell that looks like a formula
    (:func:`formula_like`) gets Excel's "quote prefix" so that editing it keeps it text. Strings pass
    :func:`xlsx_text` first (XML cannot hold most control characters). Sheet names go through
    :func:`sheet_names`: one sheet per entry, in order, whatever the names.

    Parameters
    ----------
    target : path or binary file
        Where to write.
    sheets : mapping of str to DataFrame
    **kwargs
        Passed to :meth:`pandas.DataFrame.to_excel` (e.g. ``index=False``).
    """
    with pd.ExcelWriter(target, engine="openpyxl") as writer:
        for name, frame in zip(sheet_names(list(sheets)), sheets.values(), strict=True):
            _text_cells(frame).to_excel(writer, sheet_name=name, **kwargs)
        for ws in writer.book.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        text_cell(cell, cell.value)


def text_cell(cell: Cell, value: str) -> None:
    """Put ``value`` into an openpyxl cell as text: storable characters only (:func:`xlsx_text`),
    the text type even when it starts with ``=`` or looks like an error code, and Excel's quote
    prefix when it looks like a formula (so editing the cell keeps it text)."""
    cell.value = xlsx_text(value)
    cell.data_type = "s"  # not "f" (formula) or "e" (error code)
    if formula_like(cell.value):
        cell.quotePrefix = True


def _text_cells(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if not (pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col])):
            out[col] = out[col].map(xlsx_text)
    out.columns = [xlsx_text(c) for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex):
        out.index = out.index.map(xlsx_text)
    return out


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_name(name: object) -> str:
    """An Excel-valid sheet name: <= 31 characters, no ``[ ] : * ? / \\``, not empty, not starting
    or ending with ``'`` (also after the cut), not the reserved "History"."""
    text = _SHEET_FORBIDDEN.sub("_", _strip_controls(str(name), keep_newlines=False)).strip("'")
    text = text[:31].strip("'")
    if text.casefold() == "history":
        text = "History_"
    return text or "_"


def sheet_names(names: Sequence[object]) -> list[str]:
    """:func:`sheet_name` of each, made distinct the way Excel compares them (ignoring case):
    a later name that meets an earlier one is cut and numbered (``"… (2)"``). Two grids whose
    names agree in their first 31 characters wrote one sheet over the other."""
    out: list[str] = []
    seen: set[str] = set()
    for name in names:
        text = sheet_name(name)
        n = 1
        while text.casefold() in seen:
            n += 1
            tail = f" ({n})"
            text = sheet_name(name)[: 31 - len(tail)] + tail
        seen.add(text.casefold())
        out.append(text)
    return out
