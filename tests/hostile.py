"""Hostile strings: what a careless or malicious planner's files may hold in any text field.

Every renderer (maps, pages, tables, exports, the CLI) must show these as the text they are. Tests
import :data:`HOSTILE` and put the strings into names, ids, district names, city names, reasons and
notes, then assert on the produced HTML / XLSX / CSV / PDF / terminal text.
"""

from __future__ import annotations

#: name -> the string. Keys are short labels for test ids.
HOSTILE: dict[str, str] = {
    "jinja_expr": "Clinic {{7*7}}",
    "jinja_rce": "{{self.__init__.__globals__.__builtins__.__import__('os').getcwd()}}",
    "jinja_cycler": "{{ cycler.__init__.__globals__.os.mkdir('gp_pwned') }}",
    "jinja_unclosed": "Hospital {{ unclosed",
    "jinja_block": "{% for x in range(3) %}X{% endfor %}",
    "jinja_comment": "A {# hidden #} B",
    "jinja_element_ref": "{{'map_div'}}",
    "script_tag": "<script>alert(1)</script>",
    "img_onerror": '<img src=x onerror="alert(document.domain)">',
    "script_breakout": "</script><script>alert(2)</script>",
    "html_comment": "<!-- x",
    "md_image": "![pwned](http://198.51.100.7/pixel.png)",
    "md_link": "[click me](javascript:alert(3))",
    "md_heading": "# Big\n\n**bold** _it_",
    "md_html": '<a href="http://198.51.100.7/">link</a>',
    "formula_hyperlink": '=HYPERLINK("http://198.51.100.7/","click")',
    "formula_dde": "=cmd|' /C calc'!A0",
    "formula_plus": "+1+1",
    "formula_minus": "-2+3",
    "formula_at": "@SUM(1,2)",
    "formula_broken": "=1+1 name",
    "tab_prefix": "\t=1+1",
    "cr_prefix": "\r=1+1",
    "ansi": "\x1b[31mRED\x1b[0m \x1b]0;title\x07 clear\x1b[2J",
    "control": "bell\x07 null\x00 del\x7f",
    "bidi": "abc\u202edcba\u202c \u2066x\u2069",
    "line_sep": "a\u2028b\u2029c",
    "quotes": "O'Brien \"the\" `tick` \\back",
    "percent_format": "{name} %s %(x)s {0}",
    "long": "长" * 10_000,
    "chinese": "武汉市第一医院（示例）",
}

#: A short hostile set for expensive paths (browser, PDF): one of each kind.
HOSTILE_SHORT: dict[str, str] = {
    k: HOSTILE[k]
    for k in (
        "jinja_expr",
        "jinja_rce",
        "jinja_unclosed",
        "script_tag",
        "img_onerror",
        "md_image",
        "formula_hyperlink",
        "ansi",
        "bidi",
    )
}
