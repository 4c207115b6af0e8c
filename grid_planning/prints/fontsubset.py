"""The print map's pre-subset faces: Noto Sans SC cut to GB 2312 and the tool's own characters.

A PDF embeds only the glyphs it uses, and matplotlib cuts them out of the face at every save: with
the 30,898-glyph Noto Sans SC that is ~0.3 s per face (two faces per map), most of it reading the
face's tables. The faces in ``assets/fonts/GPSansSC-*.ttf`` hold the glyphs of

- GB 2312 (6,763 hanzi and its symbols: the characters of Chinese place and institution names),
- Latin, Greek and Cyrillic letters, punctuation, arrows, shapes, full-width forms,
- every character of the message catalogue and of the sample city's files,

with the layout tables (GSUB/GPOS) for them, so horizontal text is shaped as with the full face. They are
*Modified Versions* under the SIL Open Font License 1.1 (``OFL.txt``), named "GP Sans SC" (the
licence reserves the name "Source"; the full faces stay as they are). The print map names both
families, this one first (:func:`grid_planning.prints.fonts.use_in_matplotlib`): a character the
subset lacks (a rare hanzi in a hospital's name) is taken from the full face, which is then embedded
for that glyph only.

Rebuild after updating the full faces or adding characters the check in ``tests/prints`` misses::

    .venv/bin/python -m grid_planning.prints.fontsubset
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont

from grid_planning.prints.fonts import (
    BOLD,
    FONT_DIR,
    REGULAR,
    SUBSET_BOLD,
    SUBSET_FAMILY,
    SUBSET_REGULAR,
)

ROOT = Path(__file__).resolve().parents[2]


#: Ranges taken whole (first, last code point): Latin, Greek, Cyrillic, punctuation, letterlike
#: symbols, number forms, arrows, mathematical operators, enclosed alphanumerics, box drawing,
#: shapes, CJK symbols and punctuation, full-width forms.
RANGES: tuple[tuple[int, int], ...] = (
    (0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x45F), (0x2000, 0x206F), (0x20A0, 0x20BF),
    (0x2100, 0x218F), (0x2190, 0x21FF), (0x2200, 0x22FF), (0x2300, 0x23FF), (0x2460, 0x24FF),
    (0x2500, 0x257F), (0x25A0, 0x25FF), (0x2600, 0x26FF), (0x2E3A, 0x2E3B), (0x3000, 0x303F),
    (0xFF00, 0xFFEF),
)


#: Layout features left out: vertical setting, proportional and half-width alternates, width
#: adjustments a text must ask for (HarfBuzz applies none of them to horizontal text by default).
UNUSED_FEATURES = frozenset({"vert", "vrt2", "vkrn", "vpal", "vhal", "valt", "vchw", "vjmo", "palt",
                             "halt", "chws"})


def gb2312() -> set[str]:
    """Every character of GB 2312 (its 7,445 double-byte characters)."""
    out = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                out.add(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return out


def own_text_files() -> list[Path]:
    """The files whose characters the tool prints itself: the message catalogue and the sample
    city's text (names of districts, facilities, sources)."""
    messages = sorted((ROOT / "grid_planning" / "base" / "messages").glob("*.toml"))
    sample = [p for p in sorted((ROOT / "sample_data").rglob("*"))
              if p.suffix in {".csv", ".geojson", ".md"} and p.is_file()]
    return messages + sample


def wanted_characters(files: Iterable[Path] | None = None) -> set[str]:
    """The characters the subset should hold (before checking which the full face has)."""
    chars = gb2312()
    for first, last in RANGES:
        chars.update(chr(c) for c in range(first, last + 1))
    for path in own_text_files() if files is None else files:
        chars.update(re.sub(r"\s", "", path.read_text(encoding="utf-8", errors="ignore")))
    return chars


def build(source: Path, target: Path, chars: set[str]) -> int:
    """Write the subset of ``source`` holding ``chars`` (those the face has) to ``target``, named
    :data:`SUBSET_FAMILY`; return its glyph count."""
    font = TTFont(source)
    head = font["head"]
    bounds = (head.xMin, head.yMin, head.xMax, head.yMax)
    cmap = font.getBestCmap()
    options = subset.Options()
    # The features horizontal text is shaped with (fontTools' default list: locl, ccmp, kern,
    # liga, mark ...) without those only vertical or "proportional"/"half-width" setting asks
    # for: shaping does not apply them by default, and their value records for every hanzi
    # (palt, vpal ...) were most of what the PDF subsetter read.
    options.layout_features = [f for f in options.layout_features if f not in UNUSED_FEATURES]
    options.drop_tables += ["vhea", "vmtx", "VORG", "BASE", "STAT"]  # vertical metrics, baselines
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.glyph_names = True  # stored names: matplotlib's subsetter need not derive them from cmap
    options.hinting = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(ord(c) for c in chars if ord(c) in cmap))
    subsetter.subset(font)
    # Glyph names stored (post format 2): fontTools need not derive them from cmap at every load.
    font["post"].formatType = 2.0
    font["post"].extraNames = []
    font["post"].mapping = {}
    _rename(font, "Regular" if source == REGULAR else "Bold")
    # The full face's bounding box, not the subset's: matplotlib places text by it (a title set
    # "top" moved by a fraction of a pixel when it shrank).
    font.recalcBBoxes = False
    font["head"].xMin, font["head"].yMin, font["head"].xMax, font["head"].yMax = bounds
    font.save(target)
    return len(font.getGlyphOrder())


def _rename(font: TTFont, style: str) -> None:
    """Family, full and PostScript names of the modified version (OFL: not the reserved names)."""
    ps = SUBSET_FAMILY.replace(" ", "") + "-" + style
    names = {1: SUBSET_FAMILY, 3: f"{ps};subset of Noto Sans SC 2.004", 4: f"{SUBSET_FAMILY} {style}", 6: ps,
             16: SUBSET_FAMILY, 17: style, 25: SUBSET_FAMILY.replace(" ", "")}
    table = font["name"]
    for record in list(table.names):
        if record.nameID in names:
            table.removeNames(nameID=record.nameID)
    for name_id, value in names.items():
        table.setName(value, name_id, 3, 1, 0x409)


def main() -> None:
    chars = wanted_characters()
    for source, target in ((REGULAR, SUBSET_REGULAR), (BOLD, SUBSET_BOLD)):
        glyphs = build(source, target, chars)
        print(f"{target.relative_to(FONT_DIR)}: {glyphs:,} glyphs, {target.stat().st_size:,} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
