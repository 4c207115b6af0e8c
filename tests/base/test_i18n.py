"""The message catalogue: one merged dictionary, both languages everywhere, placeholders consistent."""

import re
import string

from grid_planning.base.i18n import catalogue, t


def test_every_message_has_chinese_and_english():
    missing = [k for k, v in catalogue().items() if not v.get("zh") or not v.get("en")]
    assert missing == []


def test_placeholders_match_between_languages():
    fmt = string.Formatter()
    bad = []
    for key, entry in catalogue().items():
        names = [{f for _, f, _, _ in fmt.parse(entry[lang]) if f} for lang in ("zh", "en")]
        if names[0] != names[1]:
            bad.append(key)
    assert bad == []


def test_chinese_is_the_default_and_params_fill():
    assert t("app.title") == "网格化布局规划"
    assert t("app.title", "en") == "Grid Planner"
    assert "坏了" in t("app.error", detail="坏了")


def test_vocabulary_codes_in_placeholders_read_as_words():
    zh = t("plan.check.g4_ok", "zh", grid="G1", lead_name="市一医院", lead="H1", owner_level="municipal",
           type="general")
    assert "市属三级综合医院" in zh and "municipal" not in zh and "general" not in zh
    en = t("plan.check.g4_ok", "en", grid="G1", lead_name="H", lead="H1", owner_level="district", type="tcm")
    assert "district tertiary TCM hospital" in en
    # A value that is not a code is kept as given.
    assert "自定义类别" in t("plan.role_error.not_primary_care", "zh", name="x", id="1", type="自定义类别", level="tertiary")


def test_unknown_key_is_visible_not_a_crash():
    assert t("no.such.key", "en") == "no.such.key"


def test_chinese_texts_contain_chinese():
    # Han characters or full-width (Chinese) punctuation: "Shapefile（UTF-8，zip）" is Chinese text.
    han = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
    # Placeholders ({page}, {name}) are filled in, not read: only the words around them count.
    no_han = [k for k, v in catalogue().items()
              if not han.search(v["zh"]) and re.search("[A-Za-z]{4,}", re.sub(r"\{[^{}]*\}", "", v["zh"]))]
    # Chinese entries may quote codes (G1, CSV), but a purely English "Chinese" text is a missing translation.
    assert no_han == [] or all(len(catalogue()[k]["zh"]) < 12 for k in no_han)


def test_source_text_names_every_source_in_the_readers_language():
    from grid_planning.base.i18n import source_text

    assert source_text("user", "zh") == "用户数据" and source_text("user", "en") == "your data"
    assert source_text("illustrative", "zh").startswith("示意数据")
    assert source_text("what_if", "en") == "what-if (planned)"
    # a label of the user's own is shown as given, never as a catalogue key
    assert source_text("卫健委2023年报", "zh") == "卫健委2023年报" and source_text(None) == ""


def test_a_message_with_messages_under_it_keeps_both():
    # [exports.ui.format] (the label) and [exports.ui.format.gpkg] (an option): both are messages;
    # the options used to be lost, and the export format list showed raw keys.
    assert t("exports.ui.format", "zh") == "格式"
    assert t("exports.ui.format.gpkg", "en").startswith("Plan GeoPackage")
    assert t("data.coords.gcj02", "zh") != "data.coords.gcj02"
    import tomllib
    from pathlib import Path

    def tables(table: dict, prefix: str = ""):
        for key, value in table.items():
            if isinstance(value, dict):
                if "zh" in value:
                    yield prefix + key
                yield from tables(value, f"{prefix}{key}.")

    for path in Path(catalogue.__module__.replace(".", "/")).parent.joinpath("messages").glob("*.toml"):
        for key in tables(tomllib.loads(path.read_text(encoding="utf-8"))):
            assert key in catalogue(), (path.name, key)


def test_a_place_in_a_file_is_said_in_the_messages_language():
    # A reader names a CSV's place as "line 2": the zh message said "line 2 处的文本…".
    from grid_planning.base.i18n import t

    zh = t("layers.finding.text_too_long", "zh", cell="line 1,234", limit="10,000")
    assert zh.startswith("第 1,234 行") and "line" not in zh
    assert t("layers.finding.text_too_long", "en", cell="line 2", limit="9").startswith("the text at line 2 ")
    assert t("layers.finding.text_too_long", "zh", cell="byte 38 name", limit="9").startswith("第 38 字节 name")
    assert t("layers.finding.text_too_long", "zh", cell="B2", limit="9").startswith("B2 ")  # a sheet's cell as is
