"""Load benchmark: the dashboard driven by N concurrent headless-Chromium sessions.

Run:  python benchmarks/bench_load.py                  # 20 sessions, every step (a few minutes)
      python benchmarks/bench_load.py --nice-browsers --observers 1   # the server's view, and a planner's own PC
      python benchmarks/bench_load.py --nice-browsers --observers 1 --burst --ks 3,4,5,6,7,8
      python benchmarks/bench_load.py --quick          # smoke run: 3 sessions, home + plan
      python benchmarks/bench_load.py --sessions 8 --steps home,plan --port 8600

What it does: starts ``streamlit run app.py`` (sample city, a throw-away ``GRID_PLANNER_HOME``) and
opens N browser contexts at once in ONE headless Debian Chromium (``/usr/bin/chromium``, the flags
of ``tests/conftest.py``); a context is a separate browser profile, so each is its own Streamlit
session. Requests other than the local server go to a dead proxy and are counted as errors. Each
session does, as a planner would:

==========  =====================================================  ===============================
step        action                                                 result waited for
==========  =====================================================  ===============================
home        open the dashboard's address                           overview map drawn, tables there
plan_open   click "plan" in the navigation                         the run button
plan_run    k = 4 (``--ks``), click "run"                          "done: 4 grids", plan map drawn,
                                                                   grid table
select      click a populous unit on the plan map                  "1 unit selected" caption
move        pick another grid in the hand-edit box, click "move"   "last action: moved 1 unit"
export      export tab, "prepare", click the download button       the file downloaded
==========  =====================================================  ===============================

Reported per step: p50/p95/max seconds from the action to the result being visible, and the
server's share of it: the time from each rerun request the browser sent (``rerun_script``) to the
server's ``script_finished`` (Chrome DevTools websocket frames, timestamped by the browser's
network service, so a renderer busy drawing does not stretch them), and the megabytes the server
sent. Errors: a step that failed or timed out, an exception block, a traceback, the page guard's
message (``app.error``), a request that tried to leave the machine. Memory: peak RSS of the
streamlit process and its children, sampled every 0.2 s. CPU: seconds used by the server, by the
browser processes, by this driver and by everything else on the machine during the run (the
browsers run on the same cores as the server; the split shows what the server's share is).

The browsers share the server's two cores. ``--nice-browsers`` puts them at the lowest priority
(their whole scheduling group: see :func:`_niced_chromium`), so the server's clock is the
server's; ``--observers N`` runs N sessions in a second Chromium at normal priority, each starting
a new session after its last step until the others are done: their clock is what a planner sees on
their own PC while the rest load the server. ``--burst`` makes the loaded sessions click "run" at
the same moment; ``--ks`` gives them different numbers of grids (different plans).

The browser part (:func:`run_load`) is used by ``tests/benchmarks/test_bench_load.py`` as a smoke test.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _p in (str(ROOT), str(ROOT / "tests")):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from conftest import CHROMIUM, CHROMIUM_ARGS, LOCAL_PREFIXES  # noqa: E402

from grid_planning.base.i18n import t  # noqa: E402

LANG = "zh"  # the dashboard's default language: sessions never touch the switch
#: Step groups on the command line and the timed steps each one runs.
STEP_GROUPS: dict[str, tuple[str, ...]] = {
    "home": ("home",),
    "plan": ("plan_open", "plan_run"),
    "move": ("select", "move"),
    "export": ("export",),
}
ALL_STEPS: tuple[str, ...] = tuple(s for group in STEP_GROUPS.values() for s in group)
#: Issue 8's targets: p95 seconds per step, server memory, errors.
TARGETS_S = {"home": 5.0, "plan_run": 5.0}
TARGET_MEMORY_MB = 2048.0
#: Most sessions one observer runs one after another while the loaded sessions work.
OBSERVER_ROUNDS = 12
MAP_IFRAME = "iframe[title*='st_folium']"
#: A dead local port used as proxy: anything that is not the local server fails at once.
DEAD_PROXY = "http://127.0.0.1:9"
TRACEBACK_MARKERS = ("Traceback (most recent call last)",)
#: Where a failed step's page is saved as a PNG (``--shots``); None: not saved.
SHOTS_DIR: Path | None = None


# ---- the server -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dashboard(port: int | None = None, *, app_dir: Path = ROOT,
              timeout_s: float = 90.0) -> Iterator[tuple[str, int, Path]]:
    """Run ``streamlit run app.py`` (of ``app_dir``) on a local port with a throw-away
    ``GRID_PLANNER_HOME``.

    Yields ``(url, pid, timing log)``: the server runs under ``timed_server.py``, which writes a
    line per rerun request received and per script run finished; it is stopped (and its home
    removed) afterwards.
    """
    port = port or free_port()
    app_dir = Path(app_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="bench_load_home_") as home:
        env = {**os.environ, "PYTHONPATH": str(app_dir), "GRID_PLANNER_HOME": home}
        log = open(Path(home) / "server.log", "wb")  # noqa: SIM115 - closed below
        timing = Path(home) / "timing.log"
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("timed_server.py")), str(timing),
             "run", str(app_dir / "app.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=app_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + timeout_s
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.time() > deadline:
                        log.flush()
                        raise RuntimeError(
                            "streamlit did not start:\n"
                            + (Path(home) / "server.log").read_text(errors="replace")[-2000:]
                        ) from None
                    time.sleep(0.3)
            yield url, proc.pid, timing
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


# ---- process accounting (/proc, Linux) -----------------------------------------------------------
_CLK = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children_map() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry.name))
    return kids


def _tree(root: int, kids: dict[int, list[int]]) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(kids.get(pid, []))
    return out


def _cpu_and_rss(pid: int) -> tuple[float, float] | None:
    """(CPU seconds user+system, RSS MB) of one process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
    except OSError:
        return None
    cpu = (int(fields[11]) + int(fields[12])) / _CLK
    rss_mb = int(fields[21]) * _PAGE_KB / 1024
    return cpu, rss_mb


def _process_kind(pid: int) -> str:
    """"renderer", "gpu-process", "utility", "browser" (Chromium) or "playwright" (its driver)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            # Chromium rewrites its command line as one string: split on blanks too.
            args = f.read().decode(errors="replace").replace("\0", " ").split()
    except OSError:
        return "?"
    if not args:
        return "?"
    if "chromium" not in args[0]:
        return "playwright" if "playwright" in " ".join(args[:2]) else Path(args[0]).name
    kind = next((a.split("=", 1)[1] for a in args if a.startswith("--type=")), "browser")
    return kind


def _machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (all cores, idle and iowait excluded)."""
    with open("/proc/stat") as f:
        parts = [int(v) for v in f.readline().split()[1:]]
    return (sum(parts[:8]) - parts[3] - parts[4]) / _CLK


class Monitor(threading.Thread):
    """Samples the server's memory and everybody's CPU every ``interval`` seconds.

    Groups: ``server`` (the streamlit process and its children), ``browsers`` (every other
    descendant of this process: the Playwright driver and Chromium), ``driver`` (this process),
    ``other`` (the rest of the machine: other users' jobs).
    """

    def __init__(self, server_pid: int | None, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.interval = interval
        self.peak_rss_mb = 0.0
        self.samples = 0
        self._cpu: dict[str, dict[int, float]] = {"server": {}, "browsers": {}, "driver": {}}
        self._kind: dict[int, str] = {}
        self._start_cpu: dict[str, dict[int, float]] = {}
        self._machine0 = 0.0
        self._machine1 = 0.0
        self._halt = threading.Event()
        self.load_before = os.getloadavg()
        self.load_after: tuple[float, float, float] | None = None

    def _sample(self) -> None:
        kids = _children_map()
        me = os.getpid()
        server = set(_tree(self.server_pid, kids)) if self.server_pid else set()
        mine = set(_tree(me, kids)) - server - {me}
        rss = 0.0
        for group, pids in (("server", server), ("browsers", mine), ("driver", {me})):
            for pid in pids:
                got = _cpu_and_rss(pid)
                if got is None:
                    continue
                cpu, mb = got
                prev = self._cpu[group].get(pid, 0.0)
                self._cpu[group][pid] = max(prev, cpu)
                if pid not in self._kind:
                    self._kind[pid] = _process_kind(pid)
                if group == "server":
                    rss += mb
        self.peak_rss_mb = max(self.peak_rss_mb, rss)
        self.samples += 1

    def begin(self) -> None:
        self._sample()
        self._start_cpu = {g: dict(v) for g, v in self._cpu.items()}
        self._machine0 = _machine_cpu()
        self.start()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            self._sample()

    def end(self) -> None:
        self._halt.set()
        self.join()
        self._sample()
        self._machine1 = _machine_cpu()
        self.load_after = os.getloadavg()

    def cpu_by_kind(self) -> dict[str, float]:
        """CPU seconds of the browser group by kind of process (renderer, gpu, browser, driver)."""
        out: dict[str, float] = {}
        start = self._start_cpu.get("browsers", {})
        for pid, v in self._cpu["browsers"].items():
            kind = self._kind.get(pid, "?")
            out[kind] = out.get(kind, 0.0) + v - start.get(pid, 0.0)
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds per group between :meth:`begin` and :meth:`end`."""
        out = {
            g: sum(v - self._start_cpu.get(g, {}).get(pid, 0.0) for pid, v in pids.items())
            for g, pids in self._cpu.items()
        }
        out["other"] = max(0.0, (self._machine1 - self._machine0) - sum(out.values()))
        return out


# ---- websocket frames: the server's share of a step ---------------------------------------------
@dataclass
class Frames:
    """Rerun requests sent and ``script_finished`` messages received by one page, with the
    browser's network timestamps (seconds, the same clock as :func:`time.monotonic`)."""

    reruns: list[float] = field(default_factory=list)
    #: Per rerun request: the widgets it reports as just pressed (buttons) or changed by a
    #: component, to tell what asked for it.
    triggers: list[str] = field(default_factory=list)
    finished: list[tuple[float, bool]] = field(default_factory=list)  # (time, stopped early)
    received: list[tuple[float, int]] = field(default_factory=list)  # (time, bytes)
    #: The server's ids of this page's session (from its first message; a new one on reconnect).
    session_ids: set[str] = field(default_factory=set)

    def on_sent(self, event: dict) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        resp = event["response"]
        if resp.get("opcode") != 2:
            return
        msg = BackMsg()
        with contextlib.suppress(Exception):
            msg.ParseFromString(base64.b64decode(resp["payloadData"]))
            if msg.WhichOneof("type") == "rerun_script":
                self.reruns.append(float(event["timestamp"]))
                pressed = [w.id.split("-")[-1][:24] for w in msg.rerun_script.widget_states.widgets
                           if w.WhichOneof("value") in ("trigger_value", "string_trigger_value",
                                                        "json_trigger_value")]
                self.triggers.append(",".join(pressed) or "-")

    def on_received(self, event: dict) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        resp = event["response"]
        payload = resp.get("payloadData", "")
        size = len(payload) * 3 // 4 if resp.get("opcode") == 2 else len(payload)
        ts = float(event["timestamp"])
        self.received.append((ts, size))
        if resp.get("opcode") != 2 or len(payload) > 65536:  # big frames are elements
            return
        msg = ForwardMsg()
        with contextlib.suppress(Exception):
            msg.ParseFromString(base64.b64decode(payload))
            if msg.WhichOneof("type") == "new_session":
                self.session_ids.add(msg.new_session.initialize.session_id)
            elif msg.WhichOneof("type") == "script_finished":
                early = msg.script_finished == ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
                self.finished.append((ts, early))

    def network_seconds(self, start: float, end: float) -> float:
        """Time from each rerun request this page sent in ``[start, end]`` to the first complete
        ``script_finished`` it received after it (union of those intervals), by the browser's
        network clock: the server's run plus the transfer, not the page's drawing."""
        return _busy(self.reruns, self.finished, start, end)

    def bytes_between(self, start: float, end: float) -> int:
        """Bytes this page received from the server in ``[start, end]``."""
        return sum(n for ts, n in self.received if start <= ts <= end)


def _busy(requests: Sequence[float], finished: Sequence[tuple[float, bool]], start: float,
          end: float) -> float:
    """Union of the intervals from each request in ``[start, end]`` to the first finished run
    after it that did not stop early for another (else the first finished run at all)."""
    spans = []
    for r in (r for r in requests if start <= r <= end):
        done = next((f for f, early in finished if f >= r and not early), None)
        if done is None:
            done = next((f for f, _ in finished if f >= r), end)
        spans.append((r, min(done, end)))
    total, cur_a, cur_b = 0.0, None, None
    for a, b in sorted(spans):
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += cur_b - cur_a
    return total


def read_timing_log(path: Path) -> dict[str, tuple[list[float], list[tuple[float, bool]]]]:
    """``timed_server.py``'s marks per session id: (requests received, runs finished)."""
    out: dict[str, tuple[list[float], list[tuple[float, bool]]]] = {}
    if not path or not Path(path).exists():
        return out
    for line in Path(path).read_text().splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        sid, kind, ts = parts
        reqs, fins = out.setdefault(sid, ([], []))
        if kind == "req":
            reqs.append(float(ts))
        else:
            fins.append((float(ts), kind == "early"))
    return out


# ---- one session ---------------------------------------------------------------------------------
@dataclass
class StepResult:
    session: int
    step: str
    seconds: float | None  # None when it failed: from the action to the result shown
    server_s: float | None = None  # the server's own time (timed_server.py's marks)
    net_s: float | None = None  # the server's time plus the transfer (browser's network clock)
    mbytes: float | None = None
    error: str | None = None
    t0: float = 0.0
    t1: float = 0.0


@dataclass
class LoadResult:
    sessions: int
    steps: tuple[str, ...]
    results: list[StepResult]
    wall_s: float
    peak_rss_mb: float | None = None
    cpu_s: dict[str, float] | None = None
    browser_cpu_s: dict[str, float] | None = None
    load_before: tuple[float, float, float] | None = None
    load_after: tuple[float, float, float] | None = None
    external: list[str] = field(default_factory=list)
    nice_browsers: bool = False
    #: With nice_browsers: whether the browsers' scheduling group was found at nice 19 (else
    #: only the processes were niced, and the server still shares the CPU with them).
    browsers_group_niced: bool | None = None
    #: Sessions at once in the observers' browser (0: none).
    n_observers: int = 0
    #: The loaded sessions clicked "run" at the same moment.
    burst: bool = False
    #: The numbers of grids the sessions planned, in turn.
    ks: tuple[int, ...] = (4,)
    #: Sessions (indices) whose browser ran at normal priority beside the niced others (an
    #: observer's rounds, each a new session).
    observers: tuple[int, ...] = ()

    @property
    def errors(self) -> list[StepResult]:
        return [r for r in self.results if r.error]

    def times(self, step: str) -> list[float]:
        return [r.seconds for r in self.results if r.step == step and r.seconds is not None]


class StepError(Exception):
    pass


class Session:
    """One planner in one browser context; every wait is bounded by ``timeout_s``."""

    def __init__(self, index: int, context, page, frames: Frames, timeout_s: float, unit,
                 k: int = 4) -> None:
        self.index = index
        self.k = k
        self.context = context
        self.page = page
        self.frames = frames
        self.timeout_ms = timeout_s * 1000
        self.unit = unit
        self.source_grid: str | None = None
        self.in_burst = False

    # -- waits -------------------------------------------------------------------------------------
    async def settle(self, ms: int = 300) -> None:
        page = self.page
        await page.wait_for_timeout(ms)
        await page.wait_for_function(
            "() => !document.querySelector('[data-testid^=\"stStatusWidgetRunning\"]')",
            timeout=self.timeout_ms,
        )

    async def map_drawn(self):
        page = self.page
        await page.wait_for_selector(MAP_IFRAME, timeout=self.timeout_ms)
        handle = await page.locator(MAP_IFRAME).last.element_handle(timeout=self.timeout_ms)
        frame = await handle.content_frame()
        await frame.wait_for_function("() => window.map && window.map._loaded", timeout=self.timeout_ms)
        await frame.wait_for_selector(".leaflet-overlay-pane canvas", state="attached",
                                      timeout=self.timeout_ms)
        return frame

    async def check_clean(self) -> None:
        page = self.page
        if await page.get_by_test_id("stException").count():
            raise StepError("exception block on the page")
        text = await page.inner_text("body")
        guard = t("app.error", LANG, detail="").split("{")[0][:4]
        for marker in (*TRACEBACK_MARKERS, guard):
            if marker in text:
                i = text.find(marker)
                raise StepError(f"{marker!r} on the page: {text[max(0, i - 100):i + 300]!r}")

    # -- steps -------------------------------------------------------------------------------------
    async def home(self, url: str) -> None:
        page = self.page
        await page.goto(url, wait_until="commit", timeout=self.timeout_ms)
        await page.get_by_test_id("stSidebarNav").wait_for(timeout=self.timeout_ms)
        await self.map_drawn()
        await page.get_by_text(t("home.counts.title", LANG), exact=True).wait_for(timeout=self.timeout_ms)

    async def plan_open(self) -> None:
        page = self.page
        await page.get_by_test_id("stSidebarNav").get_by_role("link", name=t("ws.nav.plan", LANG)).click()
        await page.get_by_role("button", name=t("ws.plan.run", LANG)).wait_for(timeout=self.timeout_ms)
        await self.settle()

    async def set_k(self, k: int) -> None:
        box = self.page.get_by_role("spinbutton", name=t("ws.plan.k", LANG))
        if await box.input_value() != str(k):
            await box.fill(str(k))
            await box.press("Enter")
            await self.settle()

    async def plan_run(self) -> None:
        page = self.page
        await page.get_by_role("button", name=t("ws.plan.run", LANG)).click()
        done = t("ws.plan.done", LANG, k=self.k, seconds="").split("，")[0]
        await page.get_by_text(done).first.wait_for(timeout=self.timeout_ms)
        await page.get_by_text(t("ws.grids.title", LANG), exact=True).wait_for(timeout=self.timeout_ms)
        await self.map_drawn()

    async def click_unit(self) -> None:
        page = self.page
        _uid, _pop, lon, lat = self.unit
        frame = await self.map_drawn()
        await frame.evaluate(
            "([lat, lon]) => { window.map.setView([lat, lon], 12, {animate: false}); return null; }",
            [lat, lon],
        )
        await page.wait_for_timeout(300)
        xy = await frame.evaluate(
            "([lat, lon]) => {const p = window.map.latLngToContainerPoint([lat, lon]);"
            " const r = window.map.getContainer().getBoundingClientRect();"
            " return [p.x + r.left, p.y + r.top];}",
            [lat, lon],
        )
        box = await page.locator(MAP_IFRAME).last.bounding_box()
        await page.mouse.click(box["x"] + xy[0], box["y"] + xy[1])

    def _selected_pattern(self) -> re.Pattern:
        text = t("ws.edit.selected", LANG, n=1, population="@P@", grids="@G@")
        pattern = re.escape(text).replace("@P@", r"[\d,]+").replace("@G@", r"(G\d+)")
        return re.compile(pattern.rstrip("。").rstrip(r"\."))

    async def select(self) -> None:
        await self.click_unit()
        caption = self.page.get_by_text(self._selected_pattern())
        await caption.wait_for(timeout=self.timeout_ms)
        m = self._selected_pattern().search(await caption.inner_text())
        self.source_grid = m.group(1) if m else None

    async def choose_target(self) -> str:
        page = self.page
        label = t("ws.edit.target", LANG)
        box = page.get_by_test_id("stSelectbox").filter(has_text=label)
        for _ in range(6):
            await self.settle()
            current = await box.get_by_role("combobox").input_value()
            if current and not current.startswith(f"{self.source_grid} "):
                return current.split(" · ")[0]
            await box.click()
            option = page.get_by_role("option", name=re.compile(r"^G\d+ · ")).filter(
                has_not_text=re.compile(rf"^{self.source_grid} · ")
            )
            try:
                await option.first.click(timeout=10_000)
            except Exception:  # noqa: BLE001 - a rerun closed the list: open it again
                await page.keyboard.press("Escape")
        raise StepError("could not choose a target grid")

    async def move(self, target: str) -> None:
        page = self.page
        await page.get_by_role("button", name=t("ws.edit.move", LANG), exact=True).click()
        what = t("workspace.action.move", LANG, n=1, grid=target)
        await page.get_by_text(t("ws.last_action", LANG, what=what), exact=True).wait_for(
            timeout=self.timeout_ms
        )

    async def open_export(self) -> None:
        await self.page.get_by_role("tab", name=t("ws.tab.export", LANG)).click()
        await self.page.get_by_role("button", name=t("ws.export.prepare", LANG)).wait_for(
            timeout=self.timeout_ms
        )

    async def export(self, out_dir: Path) -> int:
        page = self.page
        await page.get_by_role("button", name=t("ws.export.prepare", LANG)).click()
        button = page.get_by_test_id("stDownloadButton")
        await button.wait_for(timeout=self.timeout_ms)
        async with page.expect_download(timeout=self.timeout_ms) as info:
            await button.get_by_role("button").click()
        download = await info.value
        path = out_dir / f"s{self.index}_{download.suggested_filename}"
        await download.save_as(path)
        size = path.stat().st_size
        if size == 0:
            raise StepError("empty download")
        return size


def _short(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"


async def _timed(session: Session, name: str, results: list[StepResult], coro) -> bool:
    """Run one step, time it and its server share; False (and an error recorded) when it failed."""
    t0 = time.monotonic()
    try:
        await coro
        await session.check_clean()
    except Exception as exc:  # noqa: BLE001 - any failure is a result of the benchmark
        t1 = time.monotonic()
        fr = session.frames
        runs = [f"{r - t0:.1f}s:{w}" for r, w in zip(fr.reruns, fr.triggers, strict=True) if t0 <= r <= t1]
        done = [f"{f - t0:.1f}s{'(early)' if e else ''}" for f, e in fr.finished if t0 <= f <= t1]
        results.append(StepResult(session.index, name, None,
                                  error=f"{_short(exc)} [reruns {runs}, finished {done}]"))
        if SHOTS_DIR is not None:
            with contextlib.suppress(Exception):
                await session.page.screenshot(path=str(SHOTS_DIR / f"s{session.index}_{name}.png"),
                                              full_page=True)
        return False
    t1 = time.monotonic()
    results.append(StepResult(
        session.index, name, t1 - t0,
        net_s=session.frames.network_seconds(t0, t1),
        mbytes=session.frames.bytes_between(t0, t1) / 1e6,
        t0=t0, t1=t1,
    ))
    return True


class Burst:
    """Holds sessions back until every one still running has arrived (then all go at once); a
    session that failed before arriving is no longer waited for."""

    def __init__(self, n: int) -> None:
        self.expected = n
        self.arrived = 0
        self.go = asyncio.Event()

    def _check(self) -> None:
        if self.arrived >= self.expected:
            self.go.set()

    async def wait(self) -> None:
        self.arrived += 1
        self._check()
        await self.go.wait()

    def leave(self) -> None:
        self.expected -= 1
        self._check()


async def _steps(s: Session, url: str, groups: Sequence[str], out_dir: Path,
                 results: list[StepResult], burst: Burst | None = None) -> bool:
    """The planner's steps, in order; False at the first that failed. With ``burst``, the plan
    run waits until every session has k set, and all click "run" together."""
    index = s.index
    if not await _timed(s, "home", results, s.home(url)):
        return False
    if "plan" not in groups:
        return True
    if not await _timed(s, "plan_open", results, s.plan_open()):
        return False
    try:
        await s.set_k(s.k)
    except Exception as exc:  # noqa: BLE001
        results.append(StepResult(index, "plan_run", None, error=f"setting k: {_short(exc)}"))
        return False
    if burst is not None:
        s.in_burst = True
        await burst.wait()
    if not await _timed(s, "plan_run", results, s.plan_run()):
        return False
    if "move" in groups:
        await s.settle()
        if not await _timed(s, "select", results, s.select()):
            return False
        try:
            target = await s.choose_target()
        except Exception as exc:  # noqa: BLE001
            results.append(StepResult(index, "move", None, error=f"choosing a grid: {_short(exc)}"))
            return False
        if not await _timed(s, "move", results, s.move(target)):
            return False
    if "export" in groups:
        await s.settle()
        try:
            await s.open_export()
        except Exception as exc:  # noqa: BLE001
            results.append(StepResult(index, "export", None, error=f"export tab: {_short(exc)}"))
            return False
        if not await _timed(s, "export", results, s.export(out_dir)):
            return False
    return True


async def _at_rest(s: Session, idle_s: float, results: list[StepResult]) -> None:
    """A page nobody touches must not rerun by itself (a map reporting in after it is drawn
    reruns the page, and under load such a rerun can drop the user's next click)."""
    t0 = time.monotonic()
    await s.page.wait_for_timeout(idle_s * 1000)
    reruns = [r for r in s.frames.reruns if r >= t0]
    if reruns:
        results.append(StepResult(s.index, "at_rest", None,
                                  error=f"{len(reruns)} rerun(s) in {idle_s:.0f} s with no action"))


async def _session(index: int, browser, url: str, groups: Sequence[str], timeout_s: float,
                   unit, out_dir: Path, results: list[StepResult], external: list[str],
                   start_gate: asyncio.Event, idle_s: float, frames_of: dict[int, Frames],
                   burst: Burst | None = None, k: int = 4) -> None:
    context = await browser.new_context(viewport={"width": 1600, "height": 1400},
                                        accept_downloads=True)
    context.set_default_timeout(timeout_s * 1000)
    try:
        page = await context.new_page()
        page.on("request", lambda r: None if r.url.startswith(LOCAL_PREFIXES)
                else external.append(f"session {index}: {r.url}"))
        frames = frames_of[index] = Frames()
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        cdp.on("Network.webSocketFrameSent", frames.on_sent)
        cdp.on("Network.webSocketFrameReceived", frames.on_received)
        s = Session(index, context, page, frames, timeout_s, unit, k)
        await start_gate.wait()
        try:
            ok = await _steps(s, url, groups, out_dir, results, burst)
        finally:
            if burst is not None and not s.in_burst:
                burst.leave()  # never arrives: the others must not wait for it
        if ok and idle_s > 0:
            await _at_rest(s, idle_s, results)  # from the moment the last result showed
    finally:
        await context.close()


def pick_units(n: int) -> list[tuple[str, int, float, float]]:
    """``n`` different populous sample units well away from any facility marker, so that each
    session clicks and moves its own unit (different plans: no session reuses another's map):
    ``(id, population, lon, lat)``."""
    import numpy as np

    from grid_planning.city.provenance import load_sample_city

    layers = load_sample_city()
    units = layers.units
    pts = units.geometry.representative_point()
    ux, uy = pts.x.to_numpy(), pts.y.to_numpy()
    fac = layers.facilities
    fx, fy = fac.geometry.x.to_numpy(), fac.geometry.y.to_numpy()
    # Kilometres, roughly (Wuhan is at 30.5°N); markers are at most ~8 px (2 km at zoom 9).
    near = np.sqrt(((ux[:, None] - fx) * 96.0) ** 2 + ((uy[:, None] - fy) * 111.0) ** 2).min(1)
    pop = units["population"].to_numpy(float)
    order = np.argsort(-np.where(near > 2.5, pop, -1), kind="stable")[:n]
    return [(str(units["id"].iloc[i]), round(pop[i]), float(ux[i]), float(uy[i])) for i in order]


def autogroups_apply() -> bool:
    """Whether the kernel schedules this process in an autogroup (``/proc/self/autogroup`` names
    one). It does not when autogrouping is off or the process sits in a CPU cgroup other than the
    root (containers, CI runners): plain nice values apply then."""
    try:
        return bool(Path("/proc/self/autogroup").read_text().split())
    except OSError:
        return False


def browser_groups() -> dict[int, list[str]]:
    """The scheduling group of every Chromium process below this one: pid -> the words of
    ``/proc/PID/autogroup`` (``["/autogroup-123", "nice", "19"]``)."""
    groups = {}
    for pid in _tree(os.getpid(), _children_map())[1:]:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/comm").read_text().strip().startswith("chrom"):
                words = Path(f"/proc/{pid}/autogroup").read_text().split()
                # The kernel prints nothing for a process that is exiting (Chromium starts
                # short-lived helpers) or that sits in a CPU cgroup of its own: no group to judge.
                if words:
                    groups[pid] = words
    return groups


def _browser_group_niced() -> bool | None:
    """Whether every Chromium process started so far is in a scheduling group at nice 19 (what
    :func:`_niced_chromium` asks for; the kernel may refuse the write). None without autogroups
    (plain nice values then apply)."""
    if not autogroups_apply():
        return None
    groups = browser_groups()
    return bool(groups) and all(g[-1] == "19" for g in groups.values())


@contextlib.contextmanager
def _niced_chromium() -> Iterator[str]:
    """A wrapper that starts Chromium at the lowest CPU priority.

    ``nice -n 19`` alone does not do it on Linux with autogrouping (``kernel.sched_autogroup_enabled``,
    on by default in Debian): Playwright starts the browser in a session of its own (``setsid``),
    the kernel puts that session in its own scheduling group, and groups share the CPU equally
    whatever the nice values inside them. Measured on this machine: with 20 renderers busy the
    server's runnable threads got 0-0.2 of a core. The wrapper is the session's first process, so
    it lowers the whole group (``/proc/PID/autogroup``) before starting Chromium; only then: a
    wrapper in the caller's session would lower the caller's group, server included.
    """
    with tempfile.TemporaryDirectory(prefix="bench_load_nice_") as tmp:
        path = Path(tmp) / "chromium"
        path.write_text("#!/bin/sh\n"
                        'if [ "$(cut -d" " -f6 /proc/$$/stat)" = "$$" ] && [ -w /proc/$$/autogroup ]; then\n'
                        "  echo 19 > /proc/$$/autogroup 2>/dev/null\n"
                        "fi\n"
                        f'exec nice -n 19 {CHROMIUM} "$@"\n')
        path.chmod(0o755)
        yield str(path)


def run_load(url: str, *, sessions: int = 20, groups: Sequence[str] = tuple(STEP_GROUPS),
             server_pid: int | None = None, timeout_s: float = 300.0,
             nice_browsers: bool = False, idle_s: float = 3.0,
             timing_log: Path | None = None, observers: int = 0, burst: bool = False,
             ks: Sequence[int] = (4,), observer_rounds: int = OBSERVER_ROUNDS) -> LoadResult:
    """Drive ``sessions`` concurrent browser sessions through ``groups`` of steps.

    Parameters
    ----------
    url : str
        The running dashboard.
    sessions : int
        Browser contexts started at the same moment.
    groups : sequence of str
        Step groups of :data:`STEP_GROUPS`, in order ("home" is always run).
    server_pid : int, optional
        The streamlit process, for its peak memory and CPU (None: not measured).
    timeout_s : float
        Longest wait for any one result before the step counts as failed.
    nice_browsers : bool
        Run Chromium at the lowest CPU priority, so that the server gets the cores whenever it
        wants them: the browsers' own CPU is then taken out of the server's timings (they still
        share the machine with it, and with everything else running on it).
    idle_s : float
        After its last step, each session waits this long touching nothing; any rerun in that
        time is an error (0: no check).
    timing_log : Path, optional
        The marks of a server started by :func:`dashboard` (``timed_server.py``): each step's
        server time is then the server's own, from receiving a request to finishing the run.
    observers : int
        With ``nice_browsers``: this many of the sessions run in a second Chromium at normal
        priority. The niced browsers yield the cores to it and to the server, so its clock is
        close to what a planner sees on their own PC while the other sessions load the server
        (the observers still share the two cores with the server and with each other). An
        observer does the steps again in a new session (a first visit each time, up to
        ``observer_rounds`` times) until the loaded sessions are done, which gives its clock
        more than one sample per run.
    burst : bool
        The loaded sessions (not the observers) click "run" at the same moment: each waits, k
        set, until all have arrived. Without it they click as their pages come, spread over
        seconds by the home page's drawing.
    ks : sequence of int
        The number of grids each session plans, in turn (session i plans ``ks[i % len(ks)]``):
        ``(4,)`` is the same request everywhere (one planning run serves all); several values
        make as many different plans at once, each with its own figures and map.
    observer_rounds : int
        Most sessions each observer runs one after another (default :data:`OBSERVER_ROUNDS`; 1: its
        first visit only, the smallest run, as the smoke test in tests/benchmarks uses).

    Returns
    -------
    LoadResult
    """
    unknown = set(groups) - set(STEP_GROUPS)
    if unknown:
        raise ValueError(f"unknown steps {sorted(unknown)}; choose from {list(STEP_GROUPS)}")
    if observers and not nice_browsers:
        raise ValueError("observers need nice_browsers: otherwise every browser is an observer")
    if not 0 <= observers <= sessions:
        raise ValueError(f"observers must be between 0 and the {sessions} sessions")
    if observer_rounds < 1:
        raise ValueError(f"observer_rounds must be at least 1, got {observer_rounds}")
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 2:
        raise ValueError(f"ks must list numbers of grids of at least 2 (G2), got {list(ks)}")
    n_units = sessions + observer_rounds * observers
    units = pick_units(n_units) if "move" in groups else [None] * n_units
    watched: list[int] = []
    monitor = Monitor(server_pid)
    results: list[StepResult] = []
    external: list[str] = []
    frames_of: dict[int, Frames] = {}
    lowered: list[bool | None] = []
    loaded_end: list[float] = []

    async def main() -> float:
        from playwright.async_api import async_playwright

        async with async_playwright() as p:
            args = [*CHROMIUM_ARGS, f"--proxy-server={DEAD_PROXY}"]
            with (_niced_chromium() if nice_browsers else contextlib.nullcontext(CHROMIUM)) as exe:
                browser = await p.chromium.launch(executable_path=exe, args=args)
            if nice_browsers:
                lowered.append(_browser_group_niced())
            own = await p.chromium.launch(executable_path=CHROMIUM, args=args) if observers else None
            try:
                with tempfile.TemporaryDirectory(prefix="bench_load_dl_") as out:
                    gate, loaded_done = asyncio.Event(), asyncio.Event()

                    together = Burst(sessions - observers) if burst and "plan" in groups else None

                    def session(i: int, on, together: Burst | None = None) -> asyncio.Task:
                        return asyncio.create_task(_session(i, on, url, groups, timeout_s, units[i],
                                                            Path(out), results, external, gate,
                                                            idle_s, frames_of, together,
                                                            ks[i % len(ks)]))

                    async def observe(slot: int) -> None:
                        for k in range(observer_rounds):
                            index = sessions + slot * observer_rounds + k
                            watched.append(index)
                            await session(index, own)
                            if loaded_done.is_set():
                                break

                    loaded = [session(i, browser, together) for i in range(observers, sessions)]
                    watching = [asyncio.create_task(observe(j)) for j in range(observers)]
                    await asyncio.sleep(1.0)  # every context open before the clock starts
                    monitor.begin()
                    t0 = time.monotonic()
                    gate.set()
                    await asyncio.gather(*loaded)
                    loaded_end.append(time.monotonic())
                    loaded_done.set()
                    await asyncio.gather(*watching)
                    wall = time.monotonic() - t0
                    monitor.end()
                    return wall
            finally:
                await browser.close()
                if own is not None:
                    await own.close()

    wall = asyncio.run(main())
    # An observer's steps begun once the loaded sessions were done ran on an idle server.
    late = {id(r) for r in results if r.session in watched and r.seconds is not None
            and loaded_end and r.t0 > loaded_end[0]}
    results = [r for r in results if id(r) not in late]
    watched = [i for i in watched if any(r.session == i for r in results)]
    if timing_log is not None:
        marks = read_timing_log(timing_log)
        for r in results:
            if r.seconds is None or r.session not in frames_of:
                continue
            reqs: list[float] = []
            fins: list[tuple[float, bool]] = []
            for sid in frames_of[r.session].session_ids:
                reqs += marks.get(sid, ([], []))[0]
                fins += marks.get(sid, ([], []))[1]
            r.server_s = _busy(sorted(reqs), sorted(fins), r.t0, r.t1)
    return LoadResult(
        sessions=sessions,
        steps=tuple(s for g in groups for s in STEP_GROUPS[g]),
        results=results,
        wall_s=wall,
        peak_rss_mb=monitor.peak_rss_mb if server_pid else None,
        cpu_s=monitor.cpu_seconds(),
        browser_cpu_s=monitor.cpu_by_kind(),
        load_before=monitor.load_before,
        load_after=monitor.load_after,
        external=external,
        nice_browsers=nice_browsers,
        browsers_group_niced=lowered[0] if lowered else None,
        observers=tuple(watched),
        n_observers=observers,
        burst=burst,
        ks=tuple(ks),
    )


# ---- report --------------------------------------------------------------------------------------
def _pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 values is the 19th)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _priority(res: LoadResult) -> str:
    if not res.nice_browsers:
        return "same priority as the server"
    if res.browsers_group_niced is False:
        return "nice 19 in their own scheduling group only (NOT lowered: they still share the CPU with the server)"
    return "nice 19 (the server first)"


def report(res: LoadResult) -> str:
    """The figures as text: per-step table, targets with ratios, CPU split, errors."""
    lines = [
        f"sessions: {res.sessions}   browsers: "
        f"{_priority(res)}"
        f"{f', observers at normal priority ({len(res.observers)} sessions)' if res.observers else ''}"
        f"{', plan runs clicked together' if res.burst else ''}"
        f"{', k = ' + '/'.join(map(str, res.ks)) if res.ks != (4,) else ''}   "
        f"wall: {res.wall_s:.1f} s   "
        f"load average before/after: {' '.join(f'{v:.2f}' for v in res.load_before or ())} / "
        f"{' '.join(f'{v:.2f}' for v in res.load_after or ())}",
        "",
        "seconds per step: browser = from the action to the result shown; server = the server's "
        "own time (request received -> run finished); net = server + transfer (browser's network)",
        f"{'step':<10}{'ok':>6}{'browser p50':>12}{'p95':>7}{'max':>7}{'server p50':>11}{'p95':>7}"
        f"{'max':>7}{'net p50':>8}{'p95':>7}{'MB/sess':>8}",
    ]

    def pct(values: list, q: float) -> float:
        return _pct([v for v in values if v is not None], q)

    def table(results: list[StepResult], n: int) -> None:
        for step in res.steps:
            rows = [r for r in results if r.step == step and r.seconds is not None]
            secs = [r.seconds for r in rows]
            srv = [r.server_s for r in rows]
            net = [r.net_s for r in rows]
            mb = [r.mbytes for r in rows if r.mbytes is not None]
            lines.append(
                f"{step:<10}{len(rows):>3}/{n:<2}{_pct(secs, 50):>12.2f}{_pct(secs, 95):>7.2f}"
                f"{max(secs, default=math.nan):>7.2f}{pct(srv, 50):>11.2f}{pct(srv, 95):>7.2f}"
                f"{max((v for v in srv if v is not None), default=math.nan):>7.2f}"
                f"{pct(net, 50):>8.2f}{pct(net, 95):>7.2f}"
                f"{statistics.median(mb) if mb else math.nan:>8.2f}"
            )

    watched = [r for r in res.results if r.session in res.observers]
    table([r for r in res.results if r.session not in res.observers], res.sessions - res.n_observers)
    if watched:
        lines += ["", f"observers: {len(res.observers)} sessions one after another in {res.n_observers} browser(s) "
                      "at normal priority (what a planner's own PC shows while the others load the server):"]
        table(watched, len(res.observers))
    lines += ["", f"{'target':<36}{'measured':>10}{'target':>9}{'ratio':>8}  met"]

    def target(label: str, value: float, limit: float) -> None:
        ok = value <= limit
        lines.append(f"{label:<36}{value:>10.2f}{limit:>9.2f}{value / limit:>8.2f}  "
                     f"{'yes' if ok else 'NO'}")

    n_err = len(res.errors) + len(res.external)
    lines.append(f"{'errors (steps failed, external)':<36}{n_err:>10}{0:>9}{'':>8}  "
                 f"{'yes' if n_err == 0 else 'NO'}")
    for step, limit in TARGETS_S.items():
        if step in res.steps:
            target(f"{step} p95 (s, browser clock)",
                   _pct([t for r in res.results if r.step == step and r.session not in res.observers
                         and (t := r.seconds) is not None], 95), limit)
            seen = [r.seconds for r in watched if r.step == step and r.seconds is not None]
            if seen:
                target(f"{step} p95 (s, observers' browser)", _pct(seen, 95), limit)
            srv = [r.server_s for r in res.results if r.step == step and r.server_s is not None]
            if srv:
                target(f"{step} p95 (s, server's own time)", _pct(srv, 95), limit)
    if res.peak_rss_mb is not None:
        target("server peak RSS (MB)", res.peak_rss_mb, TARGET_MEMORY_MB)
    if res.cpu_s:
        total = sum(res.cpu_s.values()) or 1.0
        lines += ["", "CPU seconds during the run (2 cores = "
                  f"{2 * res.wall_s:.0f} core-seconds available):"]
        lines.append("  " + "   ".join(f"{g} {v:.1f} s ({v / total:.0%})" for g, v in res.cpu_s.items()))
        if res.browser_cpu_s:
            lines.append("  browsers by process: " + "   ".join(
                f"{k} {v:.1f} s" for k, v in sorted(res.browser_cpu_s.items(), key=lambda kv: -kv[1])))
    if res.errors or res.external:
        lines += ["", "errors:"]
        lines += [f"  session {r.session} {r.step}: {r.error}" for r in res.errors[:30]]
        lines += [f"  external request: {u}" for u in res.external[:10]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--steps", default=",".join(STEP_GROUPS),
                        help=f"comma-separated step groups among {','.join(STEP_GROUPS)}")
    parser.add_argument("--port", type=int, default=None, help="server port (default: a free one)")
    parser.add_argument("--app", type=Path, default=ROOT,
                        help="checkout whose app.py is served (e.g. an export of an older commit "
                             "for a before/after comparison); default: this one")
    parser.add_argument("--url", default=None,
                        help="drive a dashboard that is already running (no server is started)")
    parser.add_argument("--pid", type=int, default=None,
                        help="with --url: the server's process id, for its memory and CPU")
    parser.add_argument("--timing-log", type=Path, default=None,
                        help="with --url: the log of a server started as benchmarks/timed_server.py LOG run app.py "
                             "..., for the server's own time per step")
    parser.add_argument("--timeout", type=float, default=300.0, help="longest wait per step (s)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 sessions, home + plan")
    parser.add_argument("--cold", action="store_true",
                        help="start the clock on a fresh server (default: one session first opens "
                             "home and runs a plan, so the city, its index and costs are loaded)")
    parser.add_argument("--nice-browsers", action="store_true",
                        help="run Chromium at nice 19: the server's timings without the browsers' "
                             "CPU (they run on the same cores)")
    parser.add_argument("--observers", type=int, default=0,
                        help="with --nice-browsers: this many sessions in a second Chromium at normal "
                             "priority, timed as a planner's own PC would show them")
    parser.add_argument("--ks", default="4",
                        help="comma-separated numbers of grids, planned in turn by the sessions (default 4: "
                             "one request everywhere; e.g. 3,4,5,6,7,8 for six different plans at once)")
    parser.add_argument("--burst", action="store_true",
                        help="the sessions click 'run' at the same moment (each waits, k set, for the others)")
    parser.add_argument("--shots", type=Path, default=None,
                        help="save a screenshot of each failed step in this folder")
    args = parser.parse_args()
    if args.shots:
        global SHOTS_DIR
        SHOTS_DIR = args.shots
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
    sessions, groups = args.sessions, [g.strip() for g in args.steps.split(",") if g.strip()]
    if args.quick:
        sessions, groups = 3, ["home", "plan"]
    server = (contextlib.nullcontext((args.url, args.pid, args.timing_log)) if args.url
              else dashboard(args.port, app_dir=args.app))
    with server as (url, pid, timing):
        if not args.cold:
            warm = run_load(url, sessions=1, groups=["home", "plan"], timeout_s=args.timeout)
            print(f"warm-up (one session, home + plan): {warm.wall_s:.1f} s", flush=True)
        res = run_load(url, sessions=sessions, groups=groups, server_pid=pid, timeout_s=args.timeout,
                       nice_browsers=args.nice_browsers, timing_log=timing, observers=args.observers,
                       burst=args.burst, ks=[int(k) for k in args.ks.split(",") if k.strip()])
    print(report(res))
    sys.exit(1 if res.errors or res.external else 0)


if __name__ == "__main__":
    main()
