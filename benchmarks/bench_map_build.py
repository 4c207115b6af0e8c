"""Map payload and server-side build time: the page ``map_html`` writes and the script ``st_folium``
sends, for the sample city's home map and plan maps (k = 4).

Run:  python benchmarks/bench_map_build.py [--reps 3]

For each map: HTML size (characters and UTF-8 bytes) of :func:`grid_planning.maps.mapview.map_html`,
the median time to build and render it, and the size and median time of the path streamlit-folium
takes on every rerun (``get_root().render()``, ``render()``, then each element's script once more).
Caches warmed first (display geometry, costs), as on a running server.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit_folium import _get_map_string  # noqa: E402

from grid_planning.city.provenance import load_sample_city  # noqa: E402
from grid_planning.maps import mapview, overview, planmap  # noqa: E402
from grid_planning.session.workspace import Workspace  # noqa: E402


def _st_folium_script(m) -> str:
    m.get_root().render()
    m.render()
    return _get_map_string(m)


def main() -> None:
    """Build each map ``--reps`` times both ways and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()

    layers = load_sample_city()
    ws = Workspace(layers)
    ws.set_request(k=4)
    ws.run()
    units = ws.figures("zh").units
    builders = {
        "home": lambda: overview.city_overview_map(layers, lang="zh"),
        "plan (grids)": lambda: planmap.plan_map(
            layers, ws.plan, unit_df=units, shade="grid", lang="zh", view_key="plan"
        ),
        "plan (travel)": lambda: planmap.plan_map(
            layers, ws.plan, unit_df=units, shade="travel", lang="zh", view_key="plan"
        ),
        "coverage": lambda: planmap.coverage_map(layers, ws.plan, units, "t_lead", lang="zh"),
    }
    print(
        f"{'map':<15}{'map_html chars':>16}{'bytes':>12}{'ms':>7}"
        f"{'st_folium chars':>18}{'ms':>7}   (medians of {args.reps})"
    )
    for name, build in builders.items():
        build()  # warm the display caches
        page_ms, script_ms = [], []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            page = mapview.map_html(build())
            page_ms.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            script = _st_folium_script(build())
            script_ms.append((time.perf_counter() - t0) * 1000)
        print(
            f"{name:<15}{len(page):>16,}{len(page.encode('utf-8')):>12,}"
            f"{statistics.median(page_ms):>7.0f}{len(script):>18,}{statistics.median(script_ms):>7.0f}"
        )


if __name__ == "__main__":
    main()
