"""Largest message each page sends to a browser, against the bound ``max_message_mb``.

Run:  python benchmarks/bench_messages.py [--k 8] [--options 9]

The dashboard runs under Streamlit's AppTest (the real pages, the sample city): the plan page
plans at ``--k``, then the coverage, members and checklist pages are shown, then ``--options``
plans (the first at ``--k``, then k = 3, 4, ... where the sample can be planned) are saved to a throw-away store and put
on the compare and presentation pages. Every element a page sends is one delta message; its size
is the byte size of the element's protobuf, which is what Streamlit serialises into the message
(a few bytes of path and framing come on top). The largest per page is printed beside the bound
(setting ``max_message_mb``) and their ratio: the margin the bound leaves for a larger city.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from grid_planning.city.provenance import load_sample_city  # noqa: E402
from grid_planning.domain.request import PlanRequest  # noqa: E402
from grid_planning.session.message_bound import message_limit_mb  # noqa: E402
from grid_planning.session.workspace import Workspace  # noqa: E402
from grid_planning.store.scenarios import ScenarioStore  # noqa: E402

APP = str(ROOT / "app.py")


def element_sizes(at: AppTest) -> list[tuple[int, str, str]]:
    """(bytes, element type, key) of every element on the page, largest first."""
    out: list[tuple[int, str, str]] = []
    stack = [at.main, at.sidebar]
    while stack:
        node = stack.pop()
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ByteSize"):
            out.append((proto.ByteSize(), type(node).__name__, str(getattr(node, "key", "") or "")[:24]))
        stack.extend(getattr(node, "children", {}).values())
    return sorted(out, reverse=True)


def show(at: AppTest, page: str, rows: list) -> None:
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    size, kind, key = element_sizes(at)[0]
    rows.append((page, size, kind, key))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--options", type=int, default=9)
    args = ap.parse_args()
    home = tempfile.mkdtemp(prefix="bench_messages_")
    os.environ["GRID_PLANNER_HOME"] = home
    for name in ("USER_HEADER", "ADMINS", "STORE_URL", "CONFIG"):
        os.environ.pop(f"GRID_PLANNER_{name}", None)
    started = time.perf_counter()
    rows: list = []
    at = AppTest.from_file(APP, default_timeout=900)
    at.session_state["lang"] = "zh"
    at.switch_page("pages/plan.py")
    at.run()
    at.number_input(key="plan_k").set_value(args.k)
    at.button(key="plan_run").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    size, kind, key = element_sizes(at)[0]
    rows.append((f"pages/plan.py (k = {args.k})", size, kind, key))
    for page in ("pages/coverage.py", "pages/members.py", "pages/checklist.py", "pages/home.py"):
        show(at, page, rows)

    store = ScenarioStore(Path(home) / "scenarios.sqlite")
    ws = Workspace(load_sample_city(), request=PlanRequest(k=2))
    ids: list[int] = []
    for k in [args.k, *range(3, 20)]:  # --k first, then other k the sample can be planned at
        if len(ids) == args.options:
            break
        ws.set_request(k=k)
        if ws.run().ok:
            ids.append(ws.save(store, f"方案{len(ids) + 1}（k = {k}）"))
    query = ",".join(map(str, ids))
    for page in ("pages/compare.py", "pages/present.py"):
        at = AppTest.from_file(APP, default_timeout=900)
        at.session_state["lang"] = "zh"
        at.query_params["ids"] = query
        show(at, f"{page}", rows)
        rows[-1] = (f"{page} ({len(ids)} options)", *rows[-1][1:])

    bound = message_limit_mb() * 1_000_000
    print(f"bound: max_message_mb = {message_limit_mb()} ({bound:,} bytes)")
    print(f"{'page':42} {'largest message':>16} {'element':>16} {'bound / size':>13}")
    for page, size, kind, _key in rows:
        print(f"{page:42} {size:>16,} {kind:>16} {bound / size:>12.1f}x")
    largest = max(r[1] for r in rows)
    print(f"largest: {largest:,} bytes = {largest / 1e6:.2f} MB; bound / largest = {bound / largest:.1f}x")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
