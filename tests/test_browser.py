"""End to end: `streamlit run app.py` in a subprocess, opened in headless Debian Chromium with the
network cut off (every non-local request aborted and recorded)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason=f"Debian chromium not installed at {CHROMIUM}"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url():
    """A running dashboard on a free local port (stopped after the tests)."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
        pytest.fail(f"streamlit did not start: {out[-2000:]}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def open_home(url: str, screenshot: Path, *, lang_en: bool = False) -> tuple[list[str], str]:
    """Open the home page offline; return (external requests attempted, visible page text)."""
    from playwright.sync_api import sync_playwright

    external: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1500})

        def route(r) -> None:
            if r.request.url.startswith(
                (
                    "http://127.0.0.1",
                    "http://localhost",
                    "ws://127.0.0.1",
                    "data:",
                    "blob:",
                    "about:",
                )
            ):
                r.continue_()
            else:
                external.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(
            "iframe[title*='st_folium'], iframe[title*='streamlit_folium']", timeout=60_000
        )
        frame = next(f for f in page.frames if "streamlit_folium" in f.url or "st_folium" in f.url)
        frame.wait_for_selector(".leaflet-container", timeout=60_000)
        frame.wait_for_selector(
            ".leaflet-overlay-pane canvas, .leaflet-overlay-pane path",
            state="attached",
            timeout=60_000,
        )
        frame.wait_for_selector(".gp-legend", timeout=30_000)
        page.wait_for_timeout(1500)  # let the canvas paint and metrics settle
        text = page.inner_text("body")
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return external, text


def test_home_renders_offline_with_map(app_url, tmp_path):
    shot = tmp_path / "home.png"
    external, text = open_home(app_url, shot)
    assert external == [], f"external requests attempted: {external}"
    assert "网格化布局规划" in text
    assert "12,326,518" in text
    assert shot.exists() and shot.stat().st_size > 50_000
    if os.environ.get("GRID_SCREENSHOT"):  # refresh docs/screenshots/home.png on request
        Path(os.environ["GRID_SCREENSHOT"]).write_bytes(shot.read_bytes())
