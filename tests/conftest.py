"""Shared fixtures: every AppTest fails on the error guard's message; the end-to-end browser tests
(``-m browser``).

``_no_guard_message`` (autouse) makes an AppTest run raise :class:`GuardMessageError` when a page shows
the message of ``pages._common.page_guard`` (an exception the guard turned into ``st.error``): the
guard keeps a traceback from the planner, and would otherwise keep it from the tests as well
(``at.exception`` stays empty). A test that means to show it is marked ``guard_message_expected``.

``app_url`` runs ``streamlit run app.py`` in a subprocess on a free local port, once per test
module; ``chromium`` is headless Debian Chromium driven by Playwright (never a downloaded browser);
``offline_page`` opens a page with the network cut off: every request that is not to the local
server is aborted and recorded in ``page.external``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from pilot_fixtures import fuxin, planned  # noqa: F401 - a pilot city that is not Wuhan, planned once
from store_fixtures import store_location  # noqa: F401 - the scenario store on SQLite and PostgreSQL

from grid_planning.base.i18n import LANGUAGES, t

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


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "guard_message_expected: the test shows the error guard's message on purpose"
    )


def pytest_collection_modifyitems(config, items):
    """Browser tests start a dashboard server and Chromium: all of them are ``slow`` (the quick loop
    ``-m "not slow"`` leaves them out; the plain command runs them)."""
    for item in items:
        if item.get_closest_marker("browser") and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)


#: How the guard's message starts in each language (catalogue key app.error, before {detail}).
GUARD_PREFIXES = tuple(t("app.error", lang).split("{detail}")[0] for lang in LANGUAGES)


class GuardMessageError(AssertionError):
    """A page crashed and the guard showed its friendly message instead of a traceback."""


def guard_messages(at) -> list[str]:
    """The guard's messages on the AppTest's current page (sidebar included)."""
    return [str(e.value) for e in at.error if str(e.value).startswith(GUARD_PREFIXES)]


@pytest.fixture(autouse=True)
def _no_guard_message(request, monkeypatch):
    """Every AppTest run in every test fails when a page shows the guard's message."""
    if request.node.get_closest_marker("guard_message_expected"):
        yield
        return
    from streamlit.testing.v1 import AppTest

    original = AppTest._run

    def run(self, *args, **kwargs):
        at = original(self, *args, **kwargs)
        shown = guard_messages(at)
        if shown:
            raise GuardMessageError(f"a page crashed behind the error guard: {shown}")
        return at

    monkeypatch.setattr(AppTest, "_run", run)
    yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: Settings a developer's shell may hold that must not reach a test's server (it gets its own).
_SERVER_SETTINGS = ("STORE_URL", "STORE_SCHEMA", "USER_HEADER", "CONFIG", "ADMINS", "SHARED_STORE")


def start_dashboard(home: Path, **settings: str) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run app.py`` on a free local port: (process, url); not yet ready.

    ``GRID_PLANNER_HOME`` is ``home`` (never the user's); ``settings`` are further
    ``GRID_PLANNER_<NAME>`` values (``store_url=...``); the shell's own are not passed on.
    """
    port = _free_port()
    own = {f"GRID_PLANNER_{name}" for name in _SERVER_SETTINGS}
    env = {k: v for k, v in os.environ.items() if k not in own}
    env.update({"PYTHONPATH": str(ROOT), "GRID_PLANNER_HOME": str(home)})
    env.update({f"GRID_PLANNER_{k.upper()}": v for k, v in settings.items()})
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_ready(proc: subprocess.Popen, url: str, timeout_s: float = 90.0) -> None:
    """Wait for the server's health check; fail the test with its output if it does not come."""
    deadline = time.time() + timeout_s
    while time.time() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    proc.kill()
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    pytest.fail(f"streamlit did not start: {out[-2000:]}")


def stop_dashboard(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@contextlib.contextmanager
def dashboard(home: Path, **settings: str) -> Iterator[str]:
    """A running dashboard (:func:`start_dashboard`): its url; stopped afterwards."""
    proc, url = start_dashboard(home, **settings)
    try:
        wait_ready(proc, url)
        yield url
    finally:
        stop_dashboard(proc)


def benchmark_module(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` imported as a module (the benchmarks are scripts, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    """A running dashboard on a free local port (stopped after the module's tests).

    Saved scenarios go to a throw-away ``GRID_PLANNER_HOME``, never the user's home.
    """
    with dashboard(tmp_path_factory.mktemp("planner_home")) as url:
        yield url


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


#: True when no Streamlit script run is going on (its "running" indicator is gone).
IDLE = "() => !document.querySelector('[data-testid^=\"stStatusWidgetRunning\"]')"


def painted(target) -> None:
    """Return once the page (or frame) ``target`` has painted twice since the call: what the last
    script or map call drew is on screen (instead of a fixed wait "to let it paint")."""
    target.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(null))))"
    )


#: Counts Streamlit's script runs from its websocket, in the page itself (so a run asked for by a
#: click is counted before the click returns): ``asks`` is each rerun the page asks for
#: (``BackMsg.rerun_script``, field 11), ``lastAsk``/``lastEnd`` the order of the last ask and of the
#: last run that ended (``ForwardMsg.script_finished``, field 6, except status 2,
#: FINISHED_EARLY_FOR_RERUN: another run follows it). Only the top-level fields are read.
RUN_COUNTER = """
(() => {
  const runs = window.__gpRuns = {seq: 0, asks: 0, lastAsk: 0, lastEnd: 0};
  const fields = (bytes) => {
    const out = []; let i = 0;
    const varint = () => { let v = 0, m = 1, c; do { c = bytes[i++]; v += (c & 127) * m; m *= 128; }
                           while (c & 128 && i < bytes.length); return v; };
    while (i < bytes.length) {
      const tag = varint(), f = Math.floor(tag / 8), w = tag % 8;
      if (w === 0) out.push([f, varint()]);
      else if (w === 2) { i += varint(); out.push([f, null]); }
      else if (w === 1) { i += 8; out.push([f, null]); }
      else if (w === 5) { i += 4; out.push([f, null]); }
      else break;
    }
    return out;
  };
  const asBytes = (d) => d instanceof ArrayBuffer ? new Uint8Array(d)
    : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    const b = asBytes(data);
    if (b && fields(b).some(([f]) => f === 11)) { runs.asks += 1; runs.lastAsk = ++runs.seq; }
    return send.call(this, data);
  };
  const received = (b) => {
    const end = fields(b).find(([f]) => f === 6);
    if (end && end[1] !== 2) runs.lastEnd = ++runs.seq;
  };
  const Native = window.WebSocket;
  window.WebSocket = new Proxy(Native, {construct(target, args) {
    const ws = new target(...args);
    ws.addEventListener('message', (e) => {
      const b = asBytes(e.data);
      if (b) received(b); else if (e.data instanceof Blob) e.data.arrayBuffer().then((a) => received(new Uint8Array(a)));
    });
    return ws;
  }});
})();
"""

#: Every script run the page asked for is over (and Streamlit's app root agrees; its "running"
#: widget shows only after 500 ms of running, so its absence says nothing about a short run).
RUNS_OVER = """() => {
  const r = window.__gpRuns, app = document.querySelector('[data-testid="stApp"]');
  return !!r && !!app && r.lastEnd > r.lastAsk && app.dataset.testScriptState === 'notRunning'
    && app.dataset.testConnectionState === 'CONNECTED';
}"""


def asked(page) -> int:
    """How many script runs the page has asked for so far (take it before an action, give it to
    :func:`idle` after)."""
    return int(page.evaluate("() => window.__gpRuns.asks"))


def idle(page, *, since: int | None = None, asks: int = 1, timeout: float = 90_000) -> None:
    """Return once every script run the page has asked for is over and what it drew is painted
    (no fixed wait: the runs are counted on the page's websocket, see :data:`RUN_COUNTER`).

    With ``since`` (:func:`asked` before an action), first wait until the page has asked for
    ``asks`` more runs: an upload asks only once its file is sent, a map click once the map's frame
    has posted it, so the action's run may not have been asked for when the action returns.
    """
    if since is not None:
        page.wait_for_function("n => window.__gpRuns.asks >= n", arg=since + asks, timeout=timeout)
    page.wait_for_function(RUNS_OVER, timeout=timeout)
    painted(page)


def open_offline(browser, *, width: int = 1440, height: int = 1500):
    """A new page whose non-local requests are aborted and listed in ``page.external``, with
    Streamlit's script runs counted (:func:`asked`, :func:`idle`)."""
    page = browser.new_page(viewport={"width": width, "height": height})
    page.add_init_script(RUN_COUNTER)
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
