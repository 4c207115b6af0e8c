"""Maps work offline: every script/stylesheet comes from static/vendor, nothing from the internet."""

from __future__ import annotations

import re

import folium
import pytest
import streamlit_folium

from grid_planning.city.provenance import load_sample_city
from grid_planning.maps import offline, overview


@pytest.fixture(scope="module")
def home_map():
    return overview.city_overview_map(load_sample_city())


def test_external_hosts_finds_cdn_links_and_ignores_local_ones():
    html = (
        '<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
        '<link href="//code.jquery.com/x.css"><svg xmlns="http://www.w3.org/2000/svg"></svg>'
        '<script src="/app/static/vendor/leaflet-1.9.3/leaflet.js"></script>'
        '<img src="http://127.0.0.1:8501/a.png"> // a comment'
    )
    assert offline.external_hosts(html) == {"cdn.jsdelivr.net", "code.jquery.com"}
    assert offline.external_hosts('<a href="https://leafletjs.com">x</a>') == {"leafletjs.com"}


def test_default_folium_map_is_not_offline_but_localised_one_is():
    # The check has teeth: folium's own default would be reported.
    assert "cdn.jsdelivr.net" in offline.external_hosts(folium.Map(tiles=None).get_root().render())
    m = offline.localise(folium.Map(tiles=None))
    assert offline.external_hosts(m.get_root().render()) == set()


def test_home_map_html_references_no_external_host_and_local_files_exist(home_map):
    html = home_map.get_root().render()
    assert offline.external_hosts(html) == set()
    local = offline.local_asset_paths(html)
    assert {p.name for p in local} == {"leaflet.js", "leaflet.css"}
    assert all(p.is_file() for p in local), [p for p in local if not p.is_file()]


def test_st_folium_component_arguments_are_local(home_map, monkeypatch):
    captured = {}
    monkeypatch.setattr(streamlit_folium, "_component_func", lambda **kw: captured.update(kw))
    streamlit_folium.st_folium(home_map, key="t", returned_objects=[])
    assert captured["js_links"] == ["/app/static/vendor/leaflet-1.9.3/leaflet.js"]
    assert captured["css_links"] == ["/app/static/vendor/leaflet-1.9.3/leaflet.css"]
    for arg in ("script", "html", "header"):
        assert offline.external_hosts(captured[arg]) == set(), arg
    # No branca colormap on the map, or streamlit-folium would add d3 from a CDN.
    assert not any("d3" in link for link in captured["js_links"])


def test_vendored_css_url_references_resolve_locally():
    css_files = sorted(offline.VENDOR_DIR.rglob("*.css"))
    assert css_files
    for css in css_files:
        # Comments may cite bug trackers; only rules load anything.
        rules = re.sub(r"/\*.*?\*/", "", css.read_text(encoding="utf-8"), flags=re.S)
        assert offline.external_hosts(rules) == set(), css
        for target in offline.css_url_targets(css):
            assert target.is_file(), f"{css.name} refers to missing {target}"


def test_every_vendored_package_has_its_licence():
    packages = [d for d in offline.VENDOR_DIR.iterdir() if d.is_dir()]
    assert packages
    for d in packages:
        assert (d / "LICENSE").is_file(), d


def test_unvendored_plugin_is_refused():
    from folium.plugins import Fullscreen

    m = folium.Map(tiles=None)
    Fullscreen().add_to(m)
    with pytest.raises(offline.OfflineAssetError, match="Fullscreen"):
        offline.localise(m)
