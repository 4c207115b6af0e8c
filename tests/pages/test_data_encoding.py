"""The data page's encoding select box (issue 18): a Big5 CSV's names read right when the encoding
is detected or chosen, come out garbled when another is chosen, and the report names the choice."""

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from grid_planning.base.i18n import t
from grid_planning.session.ui_state import ENCODING_CHOICES

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
SAMPLE = ROOT / "sample_data" / "wuhan"
#: Traditional names (Big5 has no simplified 区/医); the facilities themselves are the sample's.
BASES = ["臺北市立聯合醫院", "香港九龍醫院", "衛生服務中心", "澳門鏡湖醫院", "這個區域診所"]


@pytest.fixture(scope="module")
def big5_city(tmp_path_factory):
    """One district of the sample city: units GeoJSON (UTF-8) and facilities CSV in Big5."""
    folder = tmp_path_factory.mktemp("big5_city")
    units = gpd.read_file(SAMPLE / "population_units.geojson")
    units = units[units["district"] == "硚口区"][["id", "name", "population", "geometry"]]
    units.to_file(folder / "units.geojson", driver="GeoJSON")
    fac = pd.read_csv(SAMPLE / "facilities.csv")
    fac = fac[fac["district"] == "硚口区"]
    cols = ["id", "name", "level", "type", "owner_level", "beds", "outpatient_slots", "lon", "lat"]
    fac = fac[cols].reset_index(drop=True)
    fac["name"] = [f"{BASES[i % len(BASES)]}{i}號" for i in range(len(fac))]
    csv = fac.to_csv(index=False).encode("big5")
    return (folder / "units.geojson").read_bytes(), csv, list(fac["name"])


def _validate(at: AppTest, encoding: str) -> AppTest:
    at.selectbox(key="data_encoding").set_value(encoding)
    return next(b for b in at.button if b.label == t("data.validate", "zh")).click().run()


def _report_text(at: AppTest) -> str:
    return " ".join(str(v) for d in at.dataframe for v in d.value.to_numpy().ravel())


def test_the_data_page_reads_big5_names_with_detection_or_the_choice(big5_city, tmp_path, monkeypatch):
    monkeypatch.setenv("GRID_PLANNER_HOME", str(tmp_path))
    units, facilities, names = big5_city
    at = AppTest.from_file(APP, default_timeout=300).run()
    at.switch_page("pages/data.py").run()
    assert not at.exception, at.exception
    box = at.selectbox(key="data_encoding")
    assert box.value == "" and list(box.options) == [
        t("data.encoding.auto", "zh"), *[v for k, v in ENCODING_CHOICES.items() if k]
    ]
    at.file_uploader(key="upload_units").set_value(("units.geojson", units, "application/json"))
    at.file_uploader(key="upload_facilities").set_value(("醫院.csv", facilities, "text/csv"))

    seen = {}
    for encoding in ("", "big5", "gbk"):
        _validate(at, encoding)
        assert not at.exception, at.exception
        checked = at.session_state["upload_last_check"]
        assert checked.usable, checked.report.codes()
        seen[encoding] = (list(checked.layers.facilities["name"]), _report_text(at))

    # Detected: the names read right and the report names Big5.
    assert sorted(seen[""][0]) == sorted(names)
    assert "Big5" in seen[""][1]
    # Chosen: right, and the report says it was read as chosen.
    assert sorted(seen["big5"][0]) == sorted(names)
    assert "big5" in seen["big5"][1] and "指定" in seen["big5"][1]
    # Another choice: the names are garbled, and the report says the file was read as that choice.
    assert not set(seen["gbk"][0]) & set(names)
    assert "按 gbk 读取" in seen["gbk"][1]
