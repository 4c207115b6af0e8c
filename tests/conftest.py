"""Shared fixtures for the end-to-end browser tests (``-m browser``).

``app_url`` runs ``streamlit run app.py`` in a subprocess on a free local port, once per test
module; ``chromium`` is headless Debian Chromium driven by Playwright (never a downloaded browser);
``offline_page`` opens a page with the network cut off: every request that is not to the local
server is aborted and recorded in ``page.external``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from store_fixtures import store_location  # noqa: F401 - the scenario store on SQLite and PostgreSQL

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
#: What a page may load: the local server, and what the browser makes itself.
LOCAL_PREFIXES = (
    "http://127.0.0.1",
    "http://localhost",
    "ws://127.0.0.1",
    "data:",
    "blob:",
    "about:",
)
HAS_CHROMIUM = Path(CHROMIUM).exists()
NO_CHROMIUM = f"Debian chromium not installed at {CHROMIUM}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    """A running dashboard on a free local port (stopped after the module's tests).

    Saved scenarios go to a throw-away ``GRID_PLANNER_HOME``, never the user's home.
    """
    port = _free_port()
    home = tmp_path_factory.mktemp("planner_home")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRID_PLANNER_HOME": str(home)}
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


@pytest.fixture(scope="module")
def chromium():
    """Headless Debian Chromium (one per test module)."""
    if not HAS_CHROMIUM:
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def open_offline(browser, *, width: int = 1440, height: int = 1500):
    """A new page whose non-local requests are aborted and listed in ``page.external``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    external: list[str] = []

    def route(r) -> None:
        if r.request.url.startswith(LOCAL_PREFIXES):
            r.continue_()
        else:
            external.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.external = external
    return page


@pytest.fixture
def offline_page(chromium):
    """:func:`open_offline` for one test, closed afterwards."""
    page = open_offline(chromium)
    yield page
    page.close()
