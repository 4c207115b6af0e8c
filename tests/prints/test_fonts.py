"""The print map's pre-subset faces (GP Sans SC): what they hold, that they set text as the full
Noto Sans SC does, and that a character they lack still prints, from the full face."""

from __future__ import annotations

import io
import subprocess

import pytest
from fontTools.ttLib import TTFont

from grid_planning.prints import fonts
from grid_planning.prints.fontsubset import gb2312, wanted_characters


@pytest.fixture(scope="module")
def faces():
    out = {}
    for full, sub in ((fonts.REGULAR, fonts.SUBSET_REGULAR), (fonts.BOLD, fonts.SUBSET_BOLD)):
        out[sub.name] = (TTFont(full), TTFont(sub))
    return out


def test_the_subset_holds_gb2312_and_every_character_the_tool_prints(faces):
    # The catalogue's and the sample city's characters: a print of the sample never needs the
    # full face (a new message with a character outside GB 2312 fails here until the subset is
    # rebuilt: python -m grid_planning.prints.fontsubset).
    wanted = {ord(c) for c in wanted_characters()}
    assert len(gb2312()) == 7445
    for full, sub in faces.values():
        full_cmap, sub_cmap = full.getBestCmap(), sub.getBestCmap()
        missing = sorted(chr(c) for c in wanted & set(full_cmap) - set(sub_cmap))
        assert missing == []
        assert 8000 < len(sub_cmap) < len(full_cmap) / 3


def test_the_subset_sets_text_as_the_full_face(faces):
    # Same advance widths, kerning kept and the same outline for the same character.
    text = "武汉市第三医院（同仁医院）网格 G1 · 常住人口 12,326,518 人 AVWa ※——"
    for full, sub in faces.values():
        fc, sc = full.getBestCmap(), sub.getBestCmap()
        for ch in text:
            fg, sg = fc[ord(ch)], sc[ord(ch)]
            assert full["hmtx"][fg] == sub["hmtx"][sg], ch
            a, b = full["glyf"][fg], sub["glyf"][sg]
            assert (a.numberOfContours, getattr(a, "coordinates", None)) == (
                b.numberOfContours, getattr(b, "coordinates", None)), ch
        assert "kern" in {r.FeatureTag for r in sub["GPOS"].table.FeatureList.FeatureRecord}
        assert {"locl", "ccmp"} <= {r.FeatureTag for r in sub["GSUB"].table.FeatureList.FeatureRecord}
        # The full face's bounding box: matplotlib aligns text by it.
        assert [getattr(full["head"], k) for k in ("xMin", "yMin", "xMax", "yMax")] == [
            getattr(sub["head"], k) for k in ("xMin", "yMin", "xMax", "yMax")]


def test_the_subset_is_a_modified_version_the_licence_allows(faces):
    # The OFL reserves the name "Source" and asks for the licence beside every copy.
    for _full, sub in faces.values():
        names = {r.nameID: r.toUnicode() for r in sub["name"].names}
        assert names[1] == fonts.SUBSET_FAMILY and "Source" not in names[1] + names[4] + names[6]
        assert "Open Font License" in names[13]
    readme = (fonts.FONT_DIR / "README.md").read_text(encoding="utf-8")
    assert fonts.SUBSET_REGULAR.name in readme and fonts.SUBSET_BOLD.name in readme
    assert "Modified Version" in readme and (fonts.FONT_DIR / "OFL.txt").exists()


@pytest.mark.skipif(subprocess.run(["which", "pdffonts"], capture_output=True).returncode != 0,
                    reason="poppler-utils not installed")
def test_a_character_the_subset_lacks_prints_from_the_full_face(tmp_path):
    from matplotlib.figure import Figure

    rare = "堃"  # a name character outside GB 2312
    assert rare not in gb2312() and ord(rare) in TTFont(fonts.REGULAR).getBestCmap()
    assert ord(rare) not in TTFont(fonts.SUBSET_REGULAR).getBestCmap()
    family = fonts.use_in_matplotlib()
    assert family == [fonts.SUBSET_FAMILY, fonts.FAMILY]
    fig = Figure(figsize=(3, 1))
    fig.text(0.1, 0.5, f"王{rare}医院", family=family)
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    path = tmp_path / "rare.pdf"
    path.write_bytes(buf.getvalue())
    embedded = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "GPSansSC-Regular" in embedded and "NotoSansSC-Regular" in embedded
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert f"王{rare}医院" in text
    # Text the subset holds embeds the subset only.
    fig = Figure(figsize=(3, 1))
    fig.text(0.1, 0.5, "武汉市医院", family=family)
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf")
    path.write_bytes(buf.getvalue())
    embedded = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "GPSansSC-Regular" in embedded and "NotoSansSC" not in embedded
