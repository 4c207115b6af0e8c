"""Long attribute values in GIS formats other than GeoPackage refused before GDAL builds them
(issue 18): a GeoJSON file streamed for its strings, a Shapefile's .dbf from its field widths."""

from __future__ import annotations

import json
import struct

import geopandas as gpd
import pytest
from hostile_files import read_capped
from shapely.geometry import Point

from grid_planning.io import inputs
from grid_planning.io.gistext import (
    check_dbf_text,
    check_fgb_text,
    check_geojson_text,
    check_kml_text,
)
from grid_planning.io.limits import InputError


def _feature(name: str, lon: float = 114.3, lat: float = 30.6) -> str:
    return json.dumps({"type": "Feature", "properties": {"name": name, "id": "H1"},
                       "geometry": {"type": "Point", "coordinates": [lon, lat]}}, ensure_ascii=False)


def long_value_geojson(path, values: int, each_mb: int):
    """A GeoJSON file of a hospital and ``values`` more whose names are ``each_mb`` MB of text
    each (GDAL refuses one string over about 10 MB as damaged, but builds every shorter one)."""
    block = ("长" * (1024 * 1024 // 3)).encode("utf-8")
    with path.open("wb") as fh:
        fh.write(('{"type": "FeatureCollection", "features": [' + _feature("协和医院")).encode())
        for i in range(values):
            fh.write(f', {{"type": "Feature", "properties": {{"id": "H{i}", "name": "'.encode())
            for _ in range(each_mb):
                fh.write(block)
            fh.write(b'"}, "geometry": {"type": "Point", "coordinates": [114.31, 30.61]}}')
        fh.write(b"]}")
    return path


def test_a_geojson_with_one_enormous_value_is_refused_in_bounded_memory(tmp_path):
    path = long_value_geojson(tmp_path / "医院.geojson", 45, 9)  # 405 MB, under max_uncompressed_mb
    got = read_capped(path, timeout=300)
    # Before: GDAL built every 9 MB value (and pandas its copies) under the 600 MB cap.
    assert got.get("code") == "text_too_long", got
    assert got["peak_mb"] < 100 and got["seconds"] < 60, got
    assert len(got["message"]) < 400  # the value is never echoed back
    assert "#2 name" in got["message"], got  # the feature and the property, not a byte offset


def test_the_refusal_names_the_feature_and_property_whatever_the_chunks(tmp_path, monkeypatch):
    import grid_planning.io.gistext as gistext

    path = tmp_path / "f.geojson"
    features = [_feature("甲"), _feature("乙"), _feature("丙").replace('"name"', '"名\\u79f0"')]
    features[2] = features[2].replace('"丙"', '"' + "长" * 30 + '"')
    path.write_text('{"type": "FeatureCollection", "features": [' + ", ".join(features) + "]}",
                    encoding="utf-8")
    for chunk in (7, 64, 1 << 20):
        monkeypatch.setattr(gistext, "CHUNK", chunk)
        with pytest.raises(InputError) as err:
            check_geojson_text(path, 20)
        assert err.value.params["cell"] == "#3 名\\u79f0", chunk
    # A long string outside every feature is named by where it starts.
    path.write_text('{"type": "FeatureCollection", "name": "' + "长" * 30 + '", "features": []}',
                    encoding="utf-8")
    with pytest.raises(InputError) as err:
        check_geojson_text(path, 20)
    assert err.value.params["cell"] == "byte 38 name"


def test_geojson_strings_are_counted_as_json_gives_them(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "50")
    path = tmp_path / "f.geojson"
    # 50 characters, 40 of them escapes (6 bytes each): read; 51: refused, before GDAL.
    for name, ok in (("长" * 10 + "\\u957f" * 40, True), ("长" * 11 + "\\u957f" * 40, False)):
        path.write_text('{"type": "FeatureCollection", "features": [' + _feature("x").replace(
            '"x"', f'"{name}"') + "]}", encoding="utf-8")
        if ok:
            assert inputs.open_layer(path).frame.loc[0, "name"] == "长" * 50
        else:
            monkeypatch.setattr(gpd, "read_file", _never)
            with pytest.raises(InputError) as err:
                inputs.open_layer(path)
            assert err.value.code == "text_too_long" and err.value.params["limit"] == "50"


def test_a_quote_or_escape_cut_by_a_chunk_is_counted_right(tmp_path, monkeypatch):
    import grid_planning.io.gistext as gistext

    monkeypatch.setattr(gistext, "CHUNK", 7)  # every string crosses chunks, escapes too
    path = tmp_path / "f.geojson"
    text = '{"a": "' + "长\\\"\\u957f" * 5 + '", "b": "' + "x" * 20 + '"}'
    path.write_text(text, encoding="utf-8")
    check_geojson_text(path, 20)  # 15 and 20 characters
    with pytest.raises(InputError):
        check_geojson_text(path, 19)
    with pytest.raises(InputError):
        check_geojson_text(path, 14)


def _never(*args, **kwargs):
    raise AssertionError("GDAL read the layer before its long text was refused")


def wide_field_shapefile(folder, values: list[str], width: int):
    """A point Shapefile whose .dbf has one text field ``name`` ``width`` bytes wide (at most 255,
    as GDAL reads a width) holding ``values``."""
    shp = folder / "医院.shp"
    gpd.GeoDataFrame({"id": [f"H{i}" for i in range(len(values))]},
                     geometry=[Point(114.3 + i / 100, 30.6) for i in range(len(values))],
                     crs="EPSG:4326").to_file(shp, engine="pyogrio")
    (folder / "医院.cpg").write_text("UTF-8")
    fields = [(b"id", 10), (b"name", width)]
    record_len = 1 + sum(w for _, w in fields)
    header_len = 32 + 32 * len(fields) + 1
    head = struct.pack("<BBBBIHH20x", 3, 126, 12, 7, len(values), header_len, record_len)
    for name, w in fields:
        head += name.ljust(11, b"\0") + b"C" + b"\0" * 4 + bytes([w, 0]) + b"\0" * 14
    head += b"\r"
    body = b"".join(
        b" " + f"H{i}".encode().ljust(10) + v.encode("utf-8").ljust(width) for i, v in enumerate(values)
    )
    (folder / "医院.dbf").write_bytes(head + body + b"\x1a")
    return shp


def test_a_dbf_value_over_the_limit_is_refused_from_its_field_before_gdal(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "60")
    shp = wide_field_shapefile(tmp_path, ["协和医院", "长" * 60, "x" * 61], 250)
    monkeypatch.setattr(gpd, "read_file", _never)
    with pytest.raises(InputError) as err:
        inputs.open_layer(shp)
    assert err.value.code == "text_too_long"
    assert err.value.params["cell"] == "#3 name" and err.value.params["limit"] == "60"


def test_a_dbf_at_the_limit_is_read_and_narrow_fields_are_not_scanned(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "60")
    shp = wide_field_shapefile(tmp_path, ["协和医院", "长" * 60], 250)
    frame = inputs.open_layer(shp).frame
    assert list(frame["name"]) == ["协和医院", "长" * 60]
    # Fields no wider than the limit cannot hold a longer text: the header is all that is read.
    dbf = tmp_path / "医院.dbf"
    reads = []
    real_open = type(dbf).open

    def counting_open(self, *args, **kwargs):
        handle = real_open(self, *args, **kwargs)
        real_read = handle.read
        handle.read = lambda n=-1: reads.append(n) or real_read(n)
        return handle

    monkeypatch.setattr(type(dbf), "open", counting_open)
    check_dbf_text(dbf, 250)
    assert len(reads) == 2  # the fixed header and the field descriptors
    reads.clear()
    check_dbf_text(dbf, 60)
    assert len(reads) == 3  # and the records, in one chunk


@pytest.mark.parametrize("chunk", [5, 7, 16, 1 << 20])
@pytest.mark.parametrize("ascii_only", [True, False])  # escapes everywhere, or UTF-8 as GDAL writes
def test_the_streamed_count_is_the_longest_string_json_gives(tmp_path, monkeypatch, chunk, ascii_only):
    import random

    import grid_planning.io.gistext as gistext

    monkeypatch.setattr(gistext, "CHUNK", chunk)
    rng = random.Random(chunk)
    alphabet = ["长", "a", '"', "\\", "é", "\n", "𠀀"] if ascii_only else ["长", "a", "é", "𠀀", " "]
    props = {f"k{i}" * rng.randint(1, 3): "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
             for i in range(30)}
    doc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": props,
                                                      "geometry": {"type": "Point", "coordinates": [1, 2]}}]}
    path = tmp_path / "f.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=ascii_only), encoding="utf-8")
    # Characters as JSON gives them (a character beyond the BMP is one, even as two escapes: at most
    # one over per such character, so the random texts use it only where ascii_only is False).
    longest = max(len(s) for s in [*props, *props.values(), "FeatureCollection"])
    if ascii_only:
        longest = max(len(s) + s.count("𠀀") for s in [*props, *props.values(), "FeatureCollection"])
    check_geojson_text(path, longest)
    with pytest.raises(InputError):
        check_geojson_text(path, longest - 1)


KML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'


def _placemark(name: str, coords: str = "114.3,30.6") -> str:
    return f"<Placemark><name>{name}</name><Point><coordinates>{coords}</coordinates></Point></Placemark>"


def test_a_kml_with_one_enormous_name_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "医院.kml"
    block = ("长" * (1024 * 1024 // 3)).encode("utf-8")
    with path.open("wb") as fh:
        fh.write((KML_HEAD + _placemark("协和医院") + "<Placemark><name>").encode())
        for _ in range(300):
            fh.write(block)
        fh.write(b"</name><Point><coordinates>114.3,30.6</coordinates></Point></Placemark>"
                  b"</Document></kml>")
    got = read_capped(path, timeout=300)
    assert got.get("code") == "text_too_long", got
    assert got["params"]["cell"] == "#2 name" and got["peak_mb"] < 100 and got["seconds"] < 60, got


def test_kml_texts_at_the_limit_are_read_and_coordinates_are_not_counted(tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "40")
    path = tmp_path / "f.kml"
    ring = " ".join(f"114.{i:04d},30.6" for i in range(200))  # 3,000 characters of geometry
    body = _placemark("长" * 40) + f"<Placemark><name>b</name><LineString><coordinates>{ring}" \
        "</coordinates></LineString></Placemark>"
    path.write_text(KML_HEAD + body + "</Document></kml>", encoding="utf-8")
    check_kml_text(path, 40)
    with pytest.raises(InputError) as err:
        check_kml_text(path, 39)
    assert err.value.params["cell"] == "#1 name"
    path.write_text(KML_HEAD + _placemark("<![CDATA[" + "长" * 41 + "]]>") + "</Document></kml>",
                    encoding="utf-8")
    monkeypatch.setattr(gpd, "read_file", _never)
    with pytest.raises(InputError) as err:
        inputs.open_layer(path)
    assert err.value.code == "text_too_long" and err.value.params["limit"] == "40"


def _fgb(path, names, spatial_index: bool):
    """A FlatGeobuf of a long-outlined polygon (its geometry far longer than any limit below) and
    points, one text column beside numbers, written by GDAL."""
    import numpy as np
    from shapely.geometry import Polygon

    ring = Polygon([(114 + 0.01 * np.cos(t), 30 + 0.01 * np.sin(t)) for t in np.linspace(0, 6.28, 3000)])
    geoms = [ring] + [Point(114.3 + i / 100, 30.6) for i in range(len(names) - 1)]
    frame = gpd.GeoDataFrame({"id": [f"H{i}" for i in range(len(names))], "beds": range(len(names)),
                              "share": [0.5] * len(names), "name": names}, geometry=geoms, crs=4326)
    frame.to_file(path, SPATIAL_INDEX="YES" if spatial_index else "NO")
    return path


@pytest.mark.parametrize("spatial_index", [True, False])
def test_a_flatgeobuf_text_over_the_limit_is_refused_before_gdal_reads_it(tmp_path, monkeypatch,
                                                                        spatial_index):
    path = _fgb(tmp_path / "医院.fgb", ["甲医院", "乙医院", "长" * 50], spatial_index)
    # The polygon's feature is longer than the limit in bytes, its text is not: read.
    check_fgb_text(path, 50)
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "50")
    order = list(inputs.open_layer(path).frame["name"])  # as GDAL lists them (an index sorts them)
    assert sorted(order) == sorted(["甲医院", "乙医院", "长" * 50])
    monkeypatch.setenv("GRID_PLANNER_MAX_CELL_CHARS", "49")
    monkeypatch.setattr(gpd, "read_file", _never)
    with pytest.raises(InputError) as err:
        inputs.open_layer(path)
    assert err.value.code == "text_too_long"
    assert err.value.params["cell"] == f"#{order.index('长' * 50) + 1} name"


def test_a_flatgeobuf_counts_characters_not_bytes(tmp_path):
    path = _fgb(tmp_path / "f.fgb", ["甲", "长" * 20], False)  # 20 characters, 60 bytes
    check_fgb_text(path, 20)
    with pytest.raises(InputError) as err:
        check_fgb_text(path, 19)
    assert err.value.params["cell"] == "#2 name"


def test_a_flatgeobuf_whose_structure_cannot_be_followed_is_named_damaged(tmp_path):
    path = _fgb(tmp_path / "f.fgb", ["甲", "长" * 20], False)
    data = path.read_bytes()
    cut = tmp_path / "cut.fgb"
    cut.write_bytes(data[:8] + b"\xff\xff\xff\x7f" + data[12:])  # a header "2 GB" long
    with pytest.raises(InputError) as err:
        check_fgb_text(cut, 10)
    assert err.value.code == "file_damaged"
    cut.write_bytes(data[:12] + b"\xff" * 64 + data[76:])  # a header whose offsets lead outside it
    with pytest.raises(InputError) as err:
        check_fgb_text(cut, 10)
    assert err.value.code == "file_damaged"


def test_a_long_string_after_one_cut_by_a_chunk_is_still_found(tmp_path, monkeypatch):
    # The scan goes back to measuring quotes in bulk once a string begun in the chunk before
    # ends: what follows in the same chunk must still be measured.
    import grid_planning.io.gistext as gistext

    monkeypatch.setattr(gistext, "CHUNK", 128)
    path = tmp_path / "f.geojson"
    head = '{"p": ' + "1" * 110 + ', "a": "xxxxxxxxxx", "c": "'
    assert head.index('"xx') < 128 < head.index('xx"')  # "a" is cut by the first chunk's end
    for long, ok in ((20, True), (21, False)):
        text = head + "长" * long + '", "d": "z"}'
        assert len(text.encode()) < 256  # "c" lies whole in the second chunk
        path.write_text(text, encoding="utf-8")
        if ok:
            check_geojson_text(path, 20)
            continue
        with pytest.raises(InputError) as err:
            check_geojson_text(path, 20)
        assert err.value.params["cell"].endswith(" c"), err.value.params


def _kml(path, body: bytes) -> None:
    path.write_bytes(b'<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
                     b"<Document>" + body + b"</Document></kml>")


def test_a_long_road_in_kml_is_read_and_a_long_tag_after_it_refused(tmp_path):
    # 250,000 vertices, 5.6 MB of coordinates: more than the 4 MB token bound, but text.
    coords = b" ".join(b"114.%06d,30.500000" % (i % 1_000_000) for i in range(250_000))
    path = tmp_path / "road.kml"
    _kml(path, b"<Placemark><name>\xe9\x95\xbf\xe6\xb1\x9f\xe5\xa4\xa7\xe9\x81\x93</name><LineString><coordinates>"
         + coords + b"</coordinates></LineString></Placemark>")
    check_kml_text(path, 100)
    # The same coordinates, then a tag of 5 MB: a token over the bound, refused.
    _kml(path, b"<Placemark><LineString><coordinates>" + coords + b"</coordinates></LineString>"
         + b'<name a="' + b"x" * (5 * 1024 * 1024) + b'">n</name></Placemark>')
    with pytest.raises(InputError) as err:
        check_kml_text(path, 100)
    assert err.value.code == "file_damaged"
