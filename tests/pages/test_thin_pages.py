"""Pages are thin (issue 14 item 6): widgets, state and layout only. No page file over 300 lines,
no coordinates of a city written into a page, and no private name of another package used (the
map component is ``pages._map``, over streamlit-folium's public functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE_FILES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py")])
MAX_LINES = 300


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_no_page_is_over_300_lines(path):
    assert path.read_text(encoding="utf-8").count("\n") <= MAX_LINES


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_no_city_is_written_into_a_page(path):
    # A decimal between 18 and 135 is a latitude or longitude in China (Wuhan's 114.30, 30.59
    # was the what-if hospital's start in every city); positions come from the layers in use.
    coords = [(n.lineno, n.value) for n in ast.walk(_tree(path))
              if isinstance(n, ast.Constant) and isinstance(n.value, float) and 18 <= n.value <= 135]
    assert coords == []


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_no_private_name_of_another_package(path):
    tree = _tree(path)
    modules, crossing = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                modules[a.asname or a.name.split(".")[0]] = a.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("pages"):
            crossing += [f"{node.module}.{a.name}" for a in node.names
                         if a.name.startswith("_") and not a.name.startswith("__")]
            for a in node.names:
                modules[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules \
                and node.attr.startswith("_") and not node.attr.startswith("__"):
            crossing.append(f"{modules[node.value.id]}.{node.attr}")
    assert crossing == []


def test_the_map_component_is_vendored_with_its_licence():
    frontend = ROOT / "static" / "vendor" / "streamlit-folium-0.27.4"
    assert (frontend / "index.html").exists() and (frontend / "LICENSE").read_text().startswith("MIT License")
    script = (frontend / "index.html").read_text()
    assert 'src="./static/js/main.' in script and "http" not in script  # nothing from a CDN
    requirement = (ROOT / "requirements.txt").read_text()
    assert "streamlit-folium==0.27.4" in requirement  # the front-end matches the pinned package


@pytest.mark.parametrize("path", PAGE_FILES, ids=lambda p: p.name)
def test_no_page_keeps_a_cache_of_its_own(path):
    # One server-wide cache idiom (grid_planning.base.cache.SharedCache, bounded per city):
    # Streamlit's own caches are bounded by count only and live beside it unseen.
    text = path.read_text(encoding="utf-8")
    assert "cache_resource" not in text and "cache_data" not in text
