"""The plan as one standalone HTML file: an interactive map that opens with no network.

The map itself is the dashboard's plan map (:func:`grid_planning.maps.planmap.plan_map`, rendered by
:func:`grid_planning.maps.mapview.map_html`), so its escaping of user text and its drawing conventions are
the dashboard's. This module only makes the page self-contained: the vendored Leaflet script and
stylesheet (``static/vendor``, referenced under :data:`grid_planning.maps.offline.VENDOR_URL`) are
copied into the page, the stylesheet's images become ``data:`` URIs, and a header with the title,
the data sources and the illustrative-data note (escaped) is added.

Two absolute URLs remain inside Leaflet's own source, and neither is ever requested: the SVG
namespace name ``http://www.w3.org/2000/svg`` (an identifier) and the ``https://leafletjs.com``
link of Leaflet's attribution prefix, which this page switches off. :data:`LIBRARY_IDENTIFIERS`
lists them; everything else in the page is checked to name no host at all.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

import pandas as pd

from grid_planning.assess.metrics import unit_metrics
from grid_planning.base.i18n import DEFAULT_LANGUAGE, t
from grid_planning.base.textsafe import html_text
from grid_planning.city import provenance as printmap
from grid_planning.maps.mapview import map_html
from grid_planning.maps.offline import VENDOR_DIR, VENDOR_URL
from grid_planning.maps.planmap import plan_map

if TYPE_CHECKING:
    from grid_planning.city.costs import CostMatrix
    from grid_planning.city.layers import CityLayers
    from grid_planning.domain.plan import Plan

#: Hosts named inside the inlined Leaflet source that are identifiers or a disabled link, not
#: requests (see the module docstring).
LIBRARY_IDENTIFIERS = frozenset({"www.w3.org", "leafletjs.com"})


_SCRIPT = re.compile(r'<script[^>]*\bsrc="' + re.escape(VENDOR_URL) + r'/([^"]+)"[^>]*>\s*</script>')


_LINK = re.compile(r'<link[^>]*\bhref="' + re.escape(VENDOR_URL) + r'/([^"]+)"[^>]*/?>')


_CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)


_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}


class InlineError(RuntimeError):
    """A page references a vendored asset that is missing or cannot be inlined."""


def _asset(rel: str) -> str:
    path = (VENDOR_DIR / rel).resolve()
    if VENDOR_DIR.resolve() not in path.parents or not path.exists():
        raise InlineError(f"vendored asset {rel} not found under static/vendor")
    return path.read_text(encoding="utf-8")


def _inline_css(rel: str) -> str:
    css = _CSS_COMMENT.sub("", _asset(rel))
    base = (VENDOR_DIR / rel).parent

    def data_uri(match: re.Match) -> str:
        ref = match.group(1)
        if ref.startswith(("data:", "#")):
            return match.group(0)
        target = (base / ref.split("?")[0]).resolve()
        mime = _MIME.get(target.suffix.lower())
        if mime is None or not target.exists():
            raise InlineError(f"{rel} needs {ref}, which cannot be inlined")
        return f"url(data:{mime};base64,{base64.b64encode(target.read_bytes()).decode('ascii')})"

    return _CSS_URL.sub(data_uri, css)


def _inline_js(rel: str) -> str:
    js = _asset(rel)
    js = re.sub(r"//# sourceMappingURL=\S+", "", js)
    if "</script" in js.lower():  # would end the script element early
        raise InlineError(f"{rel} contains '</script' and cannot be inlined")
    return js


def inline_assets(page: str) -> str:
    """``page`` with every ``<script src>`` / ``<link href>`` under :data:`VENDOR_URL` replaced by
    the file's content (scripts verbatim, stylesheets with their images as data URIs).

    Raises
    ------
    InlineError
        A referenced asset is missing, or a local reference remains after inlining.
    """
    page = _SCRIPT.sub(lambda m: "<script>" + _inline_js(m.group(1)) + "</script>", page)
    page = _LINK.sub(lambda m: "<style>" + _inline_css(m.group(1)) + "</style>", page)
    if VENDOR_URL in page:
        raise InlineError(f"a reference to {VENDOR_URL} is left in the page")
    return page


_HEADER_CSS = """
<style>
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column;
  font-family: "Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
.gp-head { padding: 8px 14px 6px; background: #fff; border-bottom: 1px solid #ddd; flex: none; }
.gp-head h1 { font-size: 18px; margin: 0 0 2px; }
.gp-head p { font-size: 11.5px; margin: 1px 0; color: #444; }
.gp-head .gp-ill { color: #a04000; }
.folium-map { flex: 1 1 auto; position: relative !important; height: auto !important; }
</style>
"""


def header_html(layers: CityLayers, plan: Plan, lang: str = DEFAULT_LANGUAGE, *,
                sample: bool | None = None) -> str:
    """Title, data sources and the illustrative note as escaped HTML."""
    title = t("exports.map.title", lang, city=layers.name, k=plan.k)
    lines = printmap.source_lines(layers, lang, sample=sample)
    note = t("exports.note.illustrative", lang)
    parts = [f"<h1>{html_text(title)}</h1>"]
    for line in lines:
        cls = " class='gp-ill'" if line == note else ""
        parts.append(f"<p{cls}>{html_text(line)}</p>")
    parts.append(f"<p>{html_text(t('exports.html.offline', lang))}</p>")
    return "<div class='gp-head'>" + "".join(parts) + "</div>"


def standalone_map_html(layers: CityLayers, plan: Plan, costs: CostMatrix | None = None, *,
                        lang: str = DEFAULT_LANGUAGE, sample: bool | None = None,
                        unit_df: pd.DataFrame | None = None) -> str:
    """The plan map as a self-contained HTML page (no request leaves the file).

    Parameters
    ----------
    layers : CityLayers
    plan : Plan
    costs : CostMatrix, optional
        For the minutes shown in unit tooltips.
    lang : {"zh", "en"}
    sample : bool, optional
        Cite the sample city's sources (detected when omitted).
    unit_df : DataFrame, optional
        The plan's :func:`~grid_planning.assess.metrics.unit_metrics` over ``costs``, when the
        caller has them (computed here from ``costs`` otherwise).

    Returns
    -------
    str
        The HTML page.
    """
    ud = unit_df if unit_df is not None else (unit_metrics(layers, plan, costs) if costs is not None else None)
    m = plan_map(layers, plan, unit_df=ud, lang=lang)
    page = inline_assets(map_html(m))
    # Leaflet's attribution prefix links to its website: off in a file meant for a closed network.
    script = f"<script>{m.get_name()}.attributionControl.setPrefix(false);</script>"
    page = page.rstrip()
    page = page[: -len("</html>")] + script + "\n</html>" if page.endswith("</html>") else page + script
    page = page.replace("</head>", _HEADER_CSS + "</head>", 1)
    page = re.sub(r"(<body[^>]*>)", lambda mm: mm.group(1) + header_html(layers, plan, lang, sample=sample),
                  page, count=1)
    if "<html" in page and 'lang="' not in page[:300]:
        page = page.replace("<html", f'<html lang="{"zh-CN" if lang == "zh" else "en"}"', 1)
    return page
