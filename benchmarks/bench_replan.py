"""Re-plan to shown, in a real browser: how long a planner waits after changing k on the sample city.

Starts ``streamlit run app.py`` on a free port, opens the plan page in headless Debian Chromium with
every non-local request blocked, runs a first plan (travel costs and adjacency are then cached), and
times each further re-plan from the click on "run" until the page has finished its script run, the
per-grid table lists the new number of grids and the map frame has drawn again.

    python benchmarks/bench_replan.py [--runs 6]

Prints every run and the median; the target (issue 5) is under 2 s.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
RUNNING = "[data-testid^='stStatusWidgetRunning']"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _idle(page) -> None:
    page.wait_for_timeout(150)
    page.wait_for_function(f"() => !document.querySelector(\"{RUNNING}\")", timeout=120_000)


_GRID_ROWS_JS = """() => [...document.querySelectorAll("[data-testid='stDataFrame'] table")]
    .map(t => [...t.rows].map(r => r.cells.length ? r.cells[0].innerText.trim() : '').join('|')).join('#')"""


def _grids_shown(page, k: int, before: str) -> None:
    """The tables changed since ``before`` and one of them lists grid ``G<k>`` and none beyond."""
    page.wait_for_function(
        """([k, before]) => { const now = (""" + _GRID_ROWS_JS + """)();
            return now !== before && now.split(/[|#]/).includes('G' + k)
                   && !now.split(/[|#]/).includes('G' + (k + 1)); }""",
        arg=[k, before],
        timeout=120_000,
    )


def _map_drawn(page) -> None:
    frame = page.locator("iframe[title*='st_folium']").last.element_handle().content_frame()
    frame.wait_for_function("() => window.map && window.map._loaded", timeout=120_000)
    frame.wait_for_selector(".leaflet-overlay-pane canvas", state="attached", timeout=120_000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=6)
    args = parser.parse_args(argv)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
         "--server.headless", "true"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1400})
            external: list[str] = []

            def route(r):
                if r.request.url.startswith(("http://localhost", "http://127.0.0.1", "data:", "blob:")):
                    r.continue_()
                else:
                    external.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            for _ in range(60):
                try:
                    page.goto(f"http://localhost:{port}/plan")
                    break
                except Exception:  # noqa: BLE001 - server still starting
                    time.sleep(1)
            page.get_by_role("button", name="运行规划").wait_for(timeout=120_000)
            _idle(page)
            k_box = page.get_by_test_id("stNumberInput").filter(has_text="网格数").locator("input")
            times = []
            for i, k in enumerate([4] + [5, 6, 4, 7, 3, 5, 6, 4][: args.runs]):
                k_box.fill(str(k))
                k_box.press("Enter")
                _idle(page)
                before = page.evaluate(_GRID_ROWS_JS)
                start = time.perf_counter()
                page.get_by_role("button", name="运行规划").click()
                _grids_shown(page, k, before)
                _idle(page)
                _map_drawn(page)
                took = time.perf_counter() - start
                label = "first plan (costs computed)" if i == 0 else f"re-plan k={k}"
                print(f"{label:30s} {took:6.2f} s")
                if i:
                    times.append(took)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    print(f"re-plan to shown, median of {len(times)}: {statistics.median(times):.2f} s "
          f"(min {min(times):.2f}, max {max(times):.2f}); target < 2 s")
    print(f"external requests attempted: {len(external)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
