"""Serve every map asset from the app itself, so maps draw on a closed network.

folium (and through it streamlit-folium) loads Leaflet, jQuery, Bootstrap, Font Awesome and the
awesome-markers plugin from public CDNs. On a health-commission intranet (or this machine) those
requests fail and the map is a blank box. The planner's maps only need Leaflet: facilities are
circle markers and labels are ``DivIcon``s with inline CSS, so no icon font or jQuery is required.

:func:`localise` rewrites the ``default_js`` / ``default_css`` of every element of a map to the
copies in ``static/vendor/`` (see ``static/vendor/README.md``), served by Streamlit's static file
serving at ``/app/static/vendor/...``. streamlit-folium passes exactly those lists to its iframe
as ``js_links`` / ``css_links``, so the same rewrite covers ``st_folium``. An asset that is neither
vendored nor known to be unnecessary raises :class:`OfflineAssetError` instead of silently
reaching for the internet.

:func:`external_hosts` lists the hosts a rendered page would contact; the tests assert it is empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import folium
from branca.element import Element

#: Directory with the vendored assets (``static/vendor`` at the repository root).
VENDOR_DIR = Path(__file__).resolve().parents[2] / "static" / "vendor"


#: URL under which Streamlit serves :data:`VENDOR_DIR` (``static/`` -> ``/app/static/``).
VENDOR_URL = "/app/static/vendor"


_LEAFLET = "leaflet-1.9.3"


#: CDN URL -> file under :data:`VENDOR_DIR`, or ``None`` when the planner's maps do not need it
#: (the link is dropped). Keyed by exact URL so that a folium upgrade that changes a version
#: fails loudly rather than serving a mismatched copy.
ASSETS: dict[str, str | None] = {
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": f"{_LEAFLET}/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": f"{_LEAFLET}/leaflet.css",
    # Not needed: no Bootstrap widgets, no jQuery AJAX (GeoJSON is embedded), no icon fonts.
    "https://code.jquery.com/jquery-3.7.1.min.js": None,
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": None,
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": None,
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": None,
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": None,
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": None,
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": None,
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": None,
}


#: Hosts that are the app itself.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "0.0.0.0"})


class OfflineAssetError(RuntimeError):
    """A map element wants a script or stylesheet that is not vendored."""


def _walk(element: Element) -> Iterator[Element]:
    yield element
    for child in list(element._children.values()):
        yield from _walk(child)


def _rewrite(links: list[tuple[str, str]], base_url: str, owner: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, url in links:
        if not re.match(r"^(https?:)?//", url):
            out.append((name, url))  # already local
            continue
        if url not in ASSETS:
            raise OfflineAssetError(
                f"{owner} loads {url} from the internet; vendor it under static/vendor/ and add it "
                "to grid_planning.maps.offline.ASSETS (maps must work offline)"
            )
        local = ASSETS[url]
        if local is not None:
            out.append((name, f"{base_url.rstrip('/')}/{local}"))
    return out


def localise(m: folium.Map, base_url: str = VENDOR_URL) -> folium.Map:
    """Point every script and stylesheet of ``m`` (and of all its children) at the vendored copies.

    Call it after the last element is added and before rendering or ``st_folium``; it is cheap and
    idempotent. Only instance attributes are changed, never folium's classes.

    Parameters
    ----------
    m : folium.Map
        The map (its children and plugins are rewritten too).
    base_url : str
        URL prefix of ``static/vendor``; ``/app/static/vendor`` under Streamlit. A standalone HTML
        file can use a ``file://`` URL or a relative path instead.

    Returns
    -------
    folium.Map
        ``m`` itself, for chaining.

    Raises
    ------
    OfflineAssetError
        If an element needs an external asset that is not vendored.
    """
    for element in _walk(m):
        js = getattr(element, "default_js", None)
        css = getattr(element, "default_css", None)
        owner = type(element).__name__
        if js:
            element.default_js = _rewrite(list(js), base_url, owner)
        if css:
            element.default_css = _rewrite(list(css), base_url, owner)
    return m


# Resource-loading attributes and CSS url(); anchors (<a href>) are links, not requests, but a
# full URL in them is still reported by external_hosts because a careless click leaves the
# intranet too. XML namespace declarations are identifiers and are skipped.
_URL = re.compile(r"""(?:https?:)?//([A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\])(?::\d+)?[/"'\s)?#]""")


_XMLNS = re.compile(r"""xmlns(?::\w+)?\s*=\s*["'][^"']*["']""")


def external_hosts(html: str) -> set[str]:
    """Hosts other than the app itself that ``html`` (or JS/CSS text) refers to by absolute URL.

    Parameters
    ----------
    html : str
        Rendered page, script or stylesheet text.

    Returns
    -------
    set of str
        Host names, e.g. ``{"cdn.jsdelivr.net"}``; empty when everything is local.
    """
    text = _XMLNS.sub("", html)
    hosts: set[str] = set()
    for match in _URL.finditer(text + " "):
        host = match.group(1).lower()
        if "." not in host and not host.startswith("[") and host != "localhost":
            continue  # e.g. "//" inside a JS comment or regex, not a URL
        if host not in LOCAL_HOSTS:
            hosts.add(host)
    return hosts


def local_asset_paths(text: str, base_url: str = VENDOR_URL) -> list[Path]:
    """Files under :data:`VENDOR_DIR` that ``text`` references through ``base_url``.

    Used by tests to check that every local URL a page uses exists on disk.
    """
    prefix = re.escape(base_url.rstrip("/"))
    rels = re.findall(prefix + r"/([^\"'\s)?#]+)", text)
    return [VENDOR_DIR / rel for rel in dict.fromkeys(rels)]


def css_url_targets(css_path: Path) -> list[Path]:
    """Files a vendored stylesheet pulls in with relative ``url(...)`` (fonts, images).

    ``data:`` URIs and fragment-only references (``url(#default#VML)``) are skipped; absolute
    URLs are returned unresolved as paths so a test sees them as missing.
    """
    css = css_path.read_text(encoding="utf-8")
    out: list[Path] = []
    for raw in re.findall(r"url\(\s*([^)]+?)\s*\)", css):
        ref = raw.strip("'\"")
        if ref.startswith(("data:", "#")):
            continue
        ref = ref.split("?")[0].split("#")[0]
        out.append((css_path.parent / ref).resolve())
    return out
