"""The data page's layer picker end to end in headless Debian Chromium, offline: upload a
GeoPackage whose first layer holds 100 of the 7,065 units, see it refused with the layers named,
pick the full layer in the select box that appears under the file, validate again and get the
whole city; the server's temporary folder holds nothing of the uploads afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import pytest
from conftest import HAS_CHROMIUM, NO_CHROMIUM, asked, idle, open_offline

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not HAS_CHROMIUM, reason=NO_CHROMIUM)]

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data" / "wuhan"
TIMEOUT = 90_000


_SAVED_TMPDIR: list[str | None] = []


def _restore_tmpdir() -> None:
    while _SAVED_TMPDIR:
        old = _SAVED_TMPDIR.pop()
        if old is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old


@pytest.fixture(scope="module")
def server_tmpdir(tmp_path_factory):
    """The dashboard's own TMPDIR, so the test can see what it leaves there (set in this process's
    environment only until conftest's server has copied it)."""
    folder = tmp_path_factory.mktemp("server_tmp")
    _SAVED_TMPDIR.append(os.environ.get("TMPDIR"))
    os.environ["TMPDIR"] = str(folder)
    yield folder
    _restore_tmpdir()


@pytest.fixture(scope="module")
def app_url(server_tmpdir, app_url):
    """conftest's server, started with ``TMPDIR`` pointing at :func:`server_tmpdir`."""
    _restore_tmpdir()
    return app_url


@pytest.fixture(scope="module")
def two_layer_gpkg(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("upload") / "街道人口.gpkg"
    units = gpd.read_file(SAMPLE / "population_units.geojson")
    units.head(100).to_file(path, layer="first100")
    units.to_file(path, layer="all_units")
    return path


def test_several_layers_are_picked_in_a_select_box(
    app_url, chromium, two_layer_gpkg, server_tmpdir, tmp_path
):
    page = open_offline(chromium)
    try:
        page.goto(f"{app_url}/data", wait_until="domcontentloaded")
        inputs = page.locator("[data-testid='stFileUploaderDropzoneInput']")
        inputs.first.wait_for(state="attached", timeout=TIMEOUT)
        idle(page)
        n = asked(page)
        inputs.nth(0).set_input_files(str(two_layer_gpkg))
        inputs.nth(1).set_input_files(str(SAMPLE / "facilities.csv"))
        # The uploaders are inside the form: no run until it is submitted, but each file is sent
        # at once; it is there when its chip shows and no chip spins.
        for name in (two_layer_gpkg.name, "facilities.csv"):
            page.get_by_test_id("stFileChip").filter(has_text=name).wait_for(timeout=TIMEOUT)
        page.get_by_test_id("stFileChipIconSpinner").first.wait_for(state="detached", timeout=TIMEOUT)
        assert asked(page) == n
        n = asked(page)
        page.get_by_role("button", name="校验上传的数据").click()
        # The finding is in the report grid (its accessible table is hidden behind the canvas).
        page.get_by_text("文件中有多个含数据的图层或工作表").first.wait_for(
            state="attached", timeout=TIMEOUT
        )
        idle(page, since=n)
        report = page.locator("[data-testid='stDataFrame'] table").first.text_content()
        assert "文件中有多个含数据的图层或工作表：'first100', 'all_units'" in report
        assert "街道人口.gpkg" in report
        for leak in ("/tmp", "grid_upload", str(server_tmpdir)):
            assert leak not in report + page.inner_text("body")

        picker = page.locator("[data-testid='stSelectbox']").filter(has_text="街道人口.gpkg")
        picker.wait_for(timeout=TIMEOUT)
        page.screenshot(path=str(tmp_path / "data_layer_ambiguous.png"), full_page=True)
        picker.click()
        page.get_by_role("option", name="all_units").click()
        assert asked(page) == n + 1  # the choice is inside the form too: no run of its own
        n = asked(page)
        page.get_by_role("button", name="校验上传的数据").click()
        page.get_by_text("校验通过：7,065 个人口单元").wait_for(timeout=TIMEOUT)
        idle(page, since=n)
        page.screenshot(path=str(tmp_path / "data_layer_picker.png"), full_page=True)
        assert page.get_by_text("多个含数据的图层").count() == 0
        assert page.external == []
        # The uploads were read and removed: nothing of them is left in the server's TMPDIR.
        assert [p.name for p in server_tmpdir.iterdir() if p.name.startswith("grid_")] == []
    finally:
        page.close()
