"""Every text bounded where it is read: hostile workbooks and CSVs, small on disk, read in a
subprocess under a memory cap (600 MB past its imports) and within seconds."""

from __future__ import annotations

import zipfile

import pytest
from hostile_files import (
    HEADER_ROW,
    SHEET_HEAD,
    SHEET_TAIL,
    long_cell_workbook,
    long_field_csv,
    read_capped,
    shared_strings_workbook,
    wide_csv,
    workbook,
)

from grid_planning.io import inputs
from grid_planning.io.limits import InputError


@pytest.mark.parametrize(
    ("kind", "size_mb", "code"),
    [
        ("inline", 450, "text_too_long"),  # the 464 KB file: 164 s and 8.5 GB before
        ("str", 100, "text_too_long"),
        ("shared", 40, "text_too_long"),
        ("shared", 100, "workbook_text_too_large"),  # a shared table over 64 MB unpacked
        ("attribute", 100, "file_damaged"),  # a tag expat would have to hold whole
    ],
)
def test_a_workbook_with_one_enormous_cell_is_refused_in_bounded_memory(
    tmp_path, kind, size_mb, code
):
    path = long_cell_workbook(tmp_path / "医院.xlsx", kind, size_mb)
    assert path.stat().st_size < 1024 * 1024
    got = read_capped(path)
    assert got["code"] == code, got
    assert got["peak_mb"] < 600 and got["seconds"] < 30, got
    assert len(got["message"]) < 400  # the cell is never echoed back
    if code == "text_too_long":
        assert got["params"] == {
            "cell": "A2" if kind != "shared" else "shared text 1",
            "limit": "10,000",
        }


def test_the_cell_limit_is_a_setting_and_a_cell_at_the_limit_is_read(tmp_path, monkeypatch):
    cell = "长" * 300
    sheet = [
        SHEET_HEAD,
        HEADER_ROW,
        f'<row r="2"><c r="A2" t="inlineStr"><is><t>{cell}</t></is></c>',
    ]
    sheet += ['<c r="B2"><v>114.3</v></c><c r="C2"><v>30.6</v></c></row>', SHEET_TAIL]
    path = workbook(tmp_path / "f.xlsx", sheet)
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "300")
    frame = inputs.open_layer(path).frame
    assert frame.loc[0, "name"] == cell and frame.loc[0, "lon"] == "114.3"
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "299")
    with pytest.raises(InputError) as err:
        inputs.open_layer(path)
    assert err.value.code == "text_too_long" and err.value.params["cell"] == "A2"


@pytest.mark.parametrize("spelling", ["<si/>", "<si\t/>", "<si\n></si>", "<si ><t>a</t></si>"])
def test_shared_strings_are_counted_in_every_spelling(tmp_path, spelling):
    # 103 KB files like these took 155 s and 1.4 GB: "<si/>" and "<si\t>" slipped past the count.
    path = shared_strings_workbook(tmp_path / "s.xlsx", spelling, 2_010_000)
    assert path.stat().st_size < 200 * 1024
    got = read_capped(path)
    assert got["code"] == "workbook_text_too_large" and got["params"]["limit"] == "2,000,000", got
    assert got["seconds"] < 20 and got["peak_mb"] < 600, got


def test_a_prefixed_shared_string_table_counts_too(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "10")
    spelling = '<x:si xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"/>'
    path = shared_strings_workbook(tmp_path / "s.xlsx", spelling, 50_000)
    with pytest.raises(InputError) as err:
        inputs.open_layer(path)
    assert err.value.code == "workbook_text_too_large"


def test_the_first_row_past_the_limit_stops_the_read(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "1000")
    rows = (
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>n{i}</t></is></c>'
        f'<c r="B{i}"><v>114.{i}</v></c><c r="C{i}"><v>30.{i}</v></c></row>'
        for i in range(2, 1003)
    )
    # What follows row 1002 is never parsed: here it is not even XML.
    path = workbook(tmp_path / "r.xlsx", [SHEET_HEAD, HEADER_ROW, *rows, "<<< not xml"])
    with pytest.raises(InputError) as err:
        inputs.open_layer(path)
    assert err.value.code == "too_many_rows"
    monkeypatch.setenv("GRID_PLANNER_MAX_ROWS", "1001")
    with pytest.raises(InputError) as err:
        inputs.open_layer(path)
    assert err.value.code == "file_damaged"


def test_a_workbook_with_a_dtd_is_refused_not_expanded(tmp_path):
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    )
    path = workbook(tmp_path / "d.xlsx", [laughs, HEADER_ROW, SHEET_TAIL])
    with pytest.raises(InputError) as err:
        inputs.open_layer(path)
    assert err.value.code == "file_damaged"
    with zipfile.ZipFile(path) as zf:
        assert "ENTITY" in zf.read("xl/worksheets/sheet1.xml").decode()


# ---- CSV -------------------------------------------------------------------------------------------
def test_a_csv_with_one_enormous_field_is_refused_in_bounded_memory(tmp_path):
    got = read_capped(long_field_csv(tmp_path / "医院.csv", 95))
    assert got["code"] == "text_too_long" and got["params"] == {"cell": "line 2", "limit": "10,000"}
    assert got["peak_mb"] < 100 and got["seconds"] < 30, got


def test_a_quoted_field_over_the_limit_is_refused_even_across_lines(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "50")
    path = tmp_path / "f.csv"
    path.write_text('name,lon,lat\n"' + "第一行\n" * 20 + '",114.3,30.6\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        inputs.open_layer(path)
    assert err.value.code == "text_too_long"
    path.write_text('name,lon,lat\n"' + "第一行\n" * 10 + '",114.3,30.6\n', encoding="utf-8")
    assert inputs.open_layer(path).frame.loc[0, "name"].count("第一行") == 10


def test_a_record_of_millions_of_fields_over_short_lines_is_refused_in_bounded_memory(tmp_path):
    # Each line is short, but quotes join them into one record of 95 million empty fields: the
    # check built it as a row (878 MB) and pandas then took the machine's memory.
    path = tmp_path / "f.csv"
    block = ("," * 10_000 + '"\n"') * 100
    with path.open("w", encoding="utf-8") as fh:
        fh.write("name,lon,lat\n医院")
        for _ in range(95):
            fh.write(block)
        fh.write(",114.3,30.6\n")
    got = read_capped(path)
    assert got["code"] == "text_too_long" and got["params"] == {"cell": "line 2", "limit": "10,000"}
    assert got["peak_mb"] < 100 and got["seconds"] < 30, got


def test_a_header_of_millions_of_fields_is_refused_before_it_is_built(tmp_path):
    path = tmp_path / "f.csv"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("name,lon,lat")
        for _ in range(95):
            fh.write("," * 1024 * 1024)
        fh.write("\n医院,114.3,30.6\n")
    got = read_capped(path)
    assert got["code"] == "too_many_columns", got
    assert got["peak_mb"] < 100 and got["seconds"] < 30, got


@pytest.mark.parametrize(("row", "column"), [("医院,1{},30.6", "lon"), ('"{}",114.3,30.6', "name")])
def test_a_csv_field_over_the_limit_is_named_by_its_column(tmp_path, monkeypatch, row, column):
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "50")
    path = tmp_path / "f.csv"
    for long in ("4" * 60, "4" * 600):  # within the line's bound (3 x 50), and past it
        path.write_text("name,lon,lat\n医院,114.3,30.6\n" + row.format(long) + "\n", encoding="utf-8")
        with pytest.raises(InputError) as err:
            inputs.open_layer(path)
        assert err.value.code == "text_too_long"
        assert (err.value.column, err.value.params["cell"]) == (column, "line 3")


def test_a_large_plain_csv_is_read_within_bounded_memory(tmp_path):
    # Before, the whole file was held as bytes, then as text, then copied for pandas.
    got = read_capped(wide_csv(tmp_path / "big.csv", 450_000), timeout=300)
    assert got.get("rows") == 450_000, got
    assert got["peak_mb"] < 600, got


# ---- encodings -------------------------------------------------------------------------------------
TRADITIONAL = ["臺北市立聯合醫院", "香港九龍醫院", "衛生服務中心", "澳門鏡湖醫院", "這個區域"]
SIMPLIFIED = ["武汉市第一医院", "江岸区社区卫生服务中心", "这个区域", "黄陂区人民医院", "汉口医院"]


def _names_csv(path, names, encoding):
    rows = "".join(f"{n},{114 + i / 10},{30 + i / 10}\r\n" for i, n in enumerate(names))
    path.write_bytes(("name,lon,lat\r\n" + rows).encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["big5", "big5hkscs", "cp950"])
def test_big5_names_round_trip_and_the_encoding_is_named(tmp_path, encoding):
    opened = inputs.open_layer(_names_csv(tmp_path / "醫院.csv", TRADITIONAL, encoding))
    assert list(opened.frame["name"]) == TRADITIONAL
    assert ("encoding_detected", {"encoding": "Big5-HKSCS (Big5)"}) in opened.notes


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "gb2312"])
def test_gbk_names_still_read_as_gbk_without_a_note(tmp_path, encoding):
    opened = inputs.open_layer(_names_csv(tmp_path / "医院.csv", SIMPLIFIED, encoding))
    assert list(opened.frame["name"]) == SIMPLIFIED and opened.notes == ()


def test_a_file_no_encoding_reads_is_named_not_silently_garbled(tmp_path):
    path = _names_csv(tmp_path / "f.csv", SIMPLIFIED, "gbk")
    path.write_bytes(path.read_bytes().replace("汉口".encode("gbk"), b"\x80\xff"))
    opened = inputs.open_layer(path)
    assert ("text_replaced", {"encoding": "GB18030 (GBK)"}) in opened.notes
    assert "\ufffd" in opened.frame["name"].iloc[-1]


# ---- GIS attributes --------------------------------------------------------------------------------
def test_a_gis_attribute_over_the_limit_is_refused_naming_feature_and_column(tmp_path, monkeypatch):
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"name": ["甲医院", "长" * 2_000], "beds": [10, 20]},
        geometry=[Point(114.3, 30.6), Point(114.4, 30.5)],
        crs=4326,
    )
    frame.to_file(tmp_path / "f.geojson")
    assert len(inputs.open_layer(tmp_path / "f.geojson").frame) == 2
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "1999")
    with pytest.raises(InputError) as err:
        inputs.open_layer(tmp_path / "f.geojson")
    assert err.value.code == "text_too_long" and err.value.params["cell"] == "#2 name"
    assert len(str(err.value)) < 300


def test_the_encoding_can_be_named_and_a_wrong_choice_is_said(tmp_path):
    path = _names_csv(tmp_path / "醫院.csv", TRADITIONAL, "big5")
    opened = inputs.open_layer(path, encoding="big5")
    assert list(opened.frame["name"]) == TRADITIONAL
    assert opened.notes == (("encoding_chosen", {"encoding": "big5"}),)
    # Decodes, garbled (what happened to every Big5 file before): the note names the choice.
    garbled = inputs.open_layer(path, encoding="GB18030")
    assert list(garbled.frame["name"]) != TRADITIONAL
    assert garbled.notes == (("encoding_chosen", {"encoding": "GB18030 (GBK)"}),)
    utf8 = inputs.open_layer(path, encoding="utf-8")
    assert utf8.notes == (("text_replaced", {"encoding": "UTF-8"}),)
    with pytest.raises(InputError) as err:
        inputs.open_layer(path, encoding="klingon")
    assert err.value.code == "encoding_unknown"


def test_the_cli_reads_big5_and_takes_encoding(tmp_path, capsys):
    from grid_planning.cli import main

    units = tmp_path / "units.csv"
    rows = "".join(
        f"U{i},{n},{114 + i / 100},{30 + i / 100},{1000 + i}\n" for i, n in enumerate(TRADITIONAL)
    )
    units.write_bytes(("id,name,lon,lat,population\n" + rows).encode("big5"))
    fac = _names_csv(tmp_path / "fac.csv", TRADITIONAL, "big5")
    main(["validate", "--units", str(units), "--facilities", str(fac), "--lang", "en"])
    out = capsys.readouterr()
    assert "Big5-HKSCS (Big5)" in out.out + out.err
    main(
        [
            "validate",
            "--units",
            str(units),
            "--facilities",
            str(fac),
            "--lang",
            "en",
            "--encoding",
            "big5",
        ]
    )
    out = capsys.readouterr()
    assert "read as big5 text, as chosen" in out.out + out.err


HONG_KONG = ["觀塘嘅醫院", "葵涌醫院啲診所", "屯門冇名診所", "瑪嘉烈醫院"]


@pytest.mark.parametrize(("names", "encoding"), [(TRADITIONAL, "CP950"), (HONG_KONG, "big5hkscs")])
@pytest.mark.parametrize("cpg", [True, False])
def test_big5_shapefile_names_round_trip_with_or_without_cpg(tmp_path, names, encoding, cpg):
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"id": [f"H{i}" for i in range(len(names))], "name": names},
        geometry=[Point(114 + i / 10, 22.3) for i in range(len(names))],
        crs=4326,
    )
    frame.to_file(tmp_path / "醫院.shp", encoding=encoding)
    if not cpg:
        (tmp_path / "醫院.cpg").unlink()
    opened = inputs.open_layer(tmp_path / "醫院.shp", kind="facilities")
    assert list(opened.frame["name"]) == names
    detected = [n for n in opened.notes if n[0] == "dbf_encoding_detected"]
    assert detected == ([] if cpg else [("dbf_encoding_detected", {"encoding": "Big5-HKSCS (Big5)"})])


def test_a_gbk_shapefile_without_cpg_is_still_read_as_gbk(tmp_path):
    import geopandas as gpd
    from shapely.geometry import Point

    frame = gpd.GeoDataFrame(
        {"name": SIMPLIFIED}, geometry=[Point(114, 30)] * len(SIMPLIFIED), crs=4326
    )
    frame.to_file(tmp_path / "医院.shp", encoding="GBK")
    (tmp_path / "医院.cpg").unlink()
    opened = inputs.open_layer(tmp_path / "医院.shp", kind="facilities")
    assert list(opened.frame["name"]) == SIMPLIFIED and opened.notes == ()
