"""The vendored CJK font (Noto Sans SC, ``assets/fonts/``) for matplotlib and reportlab.

The print map (matplotlib) sets its text in the subset faces "GP Sans SC" (GB 2312 and the tool's
own characters, :mod:`grid_planning.prints.fontsubset`) with the full faces behind them for any
other character; the report (reportlab) embeds from the full faces.

Exports never rely on a system font: a print map or PDF report made on a machine without
``fonts-noto-cjk`` must show the same Chinese as one made here. Both libraries get the two TrueType
files by path; nothing is installed into the user's font directories.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
from matplotlib import font_manager
from reportlab import rl_config
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from grid_planning.base.cache import SharedCache

FONT_DIR = Path(__file__).resolve().parent / "assets" / "fonts"


REGULAR = FONT_DIR / "NotoSansSC-Regular.ttf"


BOLD = FONT_DIR / "NotoSansSC-Bold.ttf"


#: Family name inside the files (what matplotlib looks fonts up by).
FAMILY = "Noto Sans SC"


#: The same faces cut to GB 2312 and the tool's own characters (:mod:`grid_planning.prints.fontsubset`):
#: what the print map embeds from, a quarter of the glyphs to read at every save.
SUBSET_REGULAR = FONT_DIR / "GPSansSC-Regular.ttf"


SUBSET_BOLD = FONT_DIR / "GPSansSC-Bold.ttf"


#: Family name inside the subset files (a Modified Version under the OFL: not "Noto Sans SC").
SUBSET_FAMILY = "GP Sans SC"


#: BCP 47 language the faces are set in (their default glyphs, Latin digits included).
LANGUAGE = "zh-Hans"


#: U+2E3A TWO-EM DASH: map texts write "——" as this one character. The face joins the two em dashes
#: into one glyph, which matplotlib (a glyph for two characters) embeds as a second copy of the face:
#: another ~0.3 s of font subsetting; turning the joining off leaves a gap that reads as "一一".
TWO_EM_DASH = "\u2e3a"


#: Names under which reportlab knows the two faces.
RL_REGULAR = "GP-NotoSansSC"


RL_BOLD = "GP-NotoSansSC-Bold"


class FontMissingError(RuntimeError):
    """The vendored font files are not where the package expects them (a broken checkout)."""


def _check(*paths: Path) -> None:
    missing = [p.name for p in (REGULAR, BOLD, *paths) if not p.exists()]
    if missing:
        raise FontMissingError(
            f"vendored font files missing under grid_planning/prints/assets/fonts: {', '.join(missing)}"
        )


#: Font registrations done in this process (each once, whichever session asks first).
REGISTERED: SharedCache = SharedCache(max_entries=2)


def use_in_matplotlib() -> list[str]:
    """Register the vendored faces with matplotlib (once per process) and return the families
    to use: the subset faces first, the full faces for any character the subset lacks
    (matplotlib's font fallback, glyph by glyph; a PDF then embeds the full face for those glyphs
    only).

    Also sets ``pdf.fonttype`` / ``ps.fonttype`` to 42 (embedded TrueType with a Unicode map), so
    text in a PDF is real, searchable text: with matplotlib's default Type 3 fonts, characters
    outside Latin-1 become drawings that ``pdftotext`` and a reader's search cannot find.
    """
    return list(REGISTERED.get("matplotlib", _register_matplotlib))


def _register_matplotlib() -> tuple[str, ...]:
    _check(SUBSET_REGULAR, SUBSET_BOLD)

    for path in (SUBSET_REGULAR, SUBSET_BOLD, REGULAR, BOLD):
        font_manager.fontManager.addfont(str(path))
    families = (SUBSET_FAMILY, FAMILY)
    # These families for every text (legend, scale bar, ticks): with the default DejaVu list in
    # front, matplotlib builds a second font object with Noto as fallback and embeds the face twice.
    matplotlib.rcParams["font.family"] = list(families)
    matplotlib.rcParams["font.sans-serif"] = list(families)
    matplotlib.rcParams["pdf.fonttype"] = 42
    matplotlib.rcParams["ps.fonttype"] = 42
    matplotlib.rcParams["svg.fonttype"] = "path"
    matplotlib.rcParams["axes.unicode_minus"] = False  # U+2212 is in the font, but keep ASCII
    # The font's own language for every text: with none, a run of Latin text ("25 km") takes the
    # font's other digit glyphs (locl), and a PDF then embeds the regular face twice (a second
    # subset for the alternates), each subsetting pass of the 30,898-glyph face costing ~0.4 s.
    matplotlib.rcParams["text.language"] = LANGUAGE
    return families


def use_in_reportlab() -> tuple[str, str]:
    """Register the vendored faces with reportlab (once per process); return ``(regular, bold)``
    font names.

    The two faces form one family, so ``<b>`` inside a paragraph switches to the bold file.
    """
    return REGISTERED.get("reportlab", _register_reportlab)


def _register_reportlab() -> tuple[str, str]:
    _check()

    pdfmetrics.registerFont(TTFont(RL_REGULAR, str(REGULAR)))
    pdfmetrics.registerFont(TTFont(RL_BOLD, str(BOLD)))
    addMapping(RL_REGULAR, 0, 0, RL_REGULAR)
    addMapping(RL_REGULAR, 1, 0, RL_BOLD)
    addMapping(RL_REGULAR, 0, 1, RL_REGULAR)
    addMapping(RL_REGULAR, 1, 1, RL_BOLD)
    # Binary (Flate) streams instead of ASCII85: a third smaller, and reportlab's pure-Python
    # ASCII85 encoder took over a second for the report's map images.
    rl_config.useA85 = 0
    return RL_REGULAR, RL_BOLD
