"""Map payload size and time to first render in headless Chromium, naive vs display-optimised.

Run:  python benchmarks/bench_map.py [--reps 3]

Variants, all drawing the same ~7,000 population units of the sample city plus its facilities:

- ``naive``: what folium does out of the box: every unit column, full-precision coordinates,
  a Python ``style_function`` (folium then writes a per-feature style table into the page), SVG.
- ``unsimplified``: the planner's single-layer JS style and canvas, but full geometry/precision.
- ``simplified``: what the dashboard ships: :func:`grid_planning.maps.mapview.units_geojson`
  (coverage-simplified at 30 m in metric CRS, 5 decimals, only the properties the tooltip needs).

Each page is served from a local HTTP server (``/app/static`` mapped to ``static/``, like Streamlit)
and opened in a fresh headless-Chromium context with every non-local request aborted. Time to first
render = the page's own ``performance.now()`` (ms since navigation start) once the Leaflet overlay
pane holds its canvas/SVG paths and two animation frames have passed. Prints medians.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import socketserver
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402

from grid_planning.city.provenance import load_sample_city  # noqa: E402
from grid_planning.maps import mapview, markers  # noqa: E402
from grid_planning.maps.offline import external_hosts  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _naive_map(layers) -> folium.Map:
    m = mapview.base_map(layers.boundary.total_bounds, prefer_canvas=False)
    units = layers.units
    top = float(units["population"].quantile(0.95)) or 1.0

    def style(feature: dict) -> dict:
        share = min(1.0, (feature["properties"]["population"] or 0) / top)
        return {
            "fillColor": mapview.DENSITY_PALETTE[min(5, int(share * 6))],
            "color": "#ffffff",
            "weight": 0.3,
            "fillOpacity": 0.75,
        }

    folium.GeoJson(units, style_function=style, name="units").add_to(m)
    markers.add_facilities(m, layers.facilities)
    return mapview.finish(m)


def _planner_map(layers, tolerance_m: float, precision: int | None) -> folium.Map:
    m = mapview.base_map(layers.boundary.total_bounds)
    data, breaks = mapview.units_geojson(
        layers.units, metric_crs=layers.metric_crs, tolerance_m=tolerance_m, precision=precision
    )
    mapview.add_choropleth(m, data, breaks)
    mapview.add_outline(m, layers.boundary)
    mapview.add_districts(m, layers.districts)
    markers.add_facilities(m, layers.facilities)
    return mapview.finish(m)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, pages: Path, **kwargs) -> None:
        self.pages = pages
        super().__init__(*args, **kwargs)

    def translate_path(self, path: str) -> str:
        path = path.split("?")[0]
        if path.startswith("/app/static/"):
            return str(ROOT / "static" / path[len("/app/static/") :])
        return str(self.pages / path.lstrip("/"))

    def log_message(self, *args) -> None:  # keep the benchmark output clean
        pass


def _time_page(browser, url: str) -> tuple[float, list[str]]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    blocked: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(("http://127.0.0.1", "http://localhost")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(url, wait_until="commit")
    page.wait_for_selector(
        ".leaflet-overlay-pane canvas, .leaflet-overlay-pane path", state="attached", timeout=60_000
    )
    ms = page.evaluate(
        "new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))"
    )
    context.close()
    return float(ms), blocked


def main() -> None:
    """Build the variants, serve them, time them and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    layers = load_sample_city()
    print(
        f"sample city: {len(layers.units):,} units, {len(layers.facilities):,} facilities "
        f"(loaded in {time.perf_counter() - t0:.1f} s)"
    )

    builders = {
        "naive": lambda: _naive_map(layers),
        "unsimplified": lambda: _planner_map(layers, 0.0, None),
        "simplified": lambda: _planner_map(layers, 30.0, 5),
    }
    pages = Path(tempfile.mkdtemp(prefix="bench_map_"))
    sizes: dict[str, int] = {}
    build_s: dict[str, float] = {}
    for name, build in builders.items():
        t0 = time.perf_counter()
        html = build().get_root().render()
        build_s[name] = time.perf_counter() - t0
        assert not external_hosts(html), f"{name} map refers to external hosts"
        (pages / f"{name}.html").write_text(html, encoding="utf-8")
        sizes[name] = len(html.encode("utf-8"))

    handler = functools.partial(_Handler, pages=pages)
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {name: [] for name in builders}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        _time_page(browser, f"http://127.0.0.1:{port}/simplified.html")  # warm-up
        for _ in range(args.reps):
            for name in builders:  # interleaved so drift hits every variant alike
                ms, blocked = _time_page(browser, f"http://127.0.0.1:{port}/{name}.html")
                assert not blocked, f"{name}: external requests attempted: {blocked}"
                times[name].append(ms)
        browser.close()
    server.shutdown()
    shutil.rmtree(pages, ignore_errors=True)

    base_size, base_ms = sizes["naive"], statistics.median(times["naive"])
    print(
        f"\n{'variant':<14}{'HTML bytes':>14}{'x naive':>9}{'build s':>9}"
        f"{'first render ms (median of ' + str(args.reps) + ')':>36}{'x naive':>9}"
    )
    for name in builders:
        med = statistics.median(times[name])
        runs = ", ".join(f"{v:.0f}" for v in times[name])
        print(
            f"{name:<14}{sizes[name]:>14,}{sizes[name] / base_size:>9.2f}{build_s[name]:>9.2f}"
            f"{med:>14.0f} ({runs}){'':>6}{med / base_ms:>9.2f}"
        )
    print(
        f"\nsimplified vs unsimplified: payload x{sizes['simplified'] / sizes['unsimplified']:.2f}, "
        f"first render x{statistics.median(times['simplified']) / statistics.median(times['unsimplified']):.2f}"
    )


if __name__ == "__main__":
    main()
