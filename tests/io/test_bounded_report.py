"""The report case: a plan file whose facility name is enormous is refused when it is read, in
bounded memory and seconds (a 90 MB name held the PDF report for 14 minutes at 6 GB); a name at the
limit still gives its report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_EXPORT = r"""
import json, resource, sys, time
from grid_planning.cli import main
vm = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
cap = vm + 600 * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cpu = time.process_time()
code = main(["export", sys.argv[1], "--format", "report", "--out", sys.argv[2], "--lang", "en"])
print(json.dumps({"code": code, "cpu_seconds": time.process_time() - cpu,
                  "peak_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024}))
"""


_WRITE = r"""
import sys
from dataclasses import replace
from pathlib import Path
from export_fixtures import hostile_city, hostile_plan
from plan_fixtures import make_costs
from grid_planning.exports.planfile import write_plan
city = hostile_city()
for arg in sys.argv[2:]:
    fac = city.facilities.copy()
    fac.loc[fac["id"] == "F1", "name"] = "长" * int(arg)
    path = Path(sys.argv[1]) / f"plan_{arg}.gpkg"
    write_plan(path, replace(city, facilities=fac), hostile_plan(), make_costs(), lang="zh")
"""

#: The lengths of F1's name in the plan files the tests read (:func:`plan_files`).
HUGE, AT_LIMIT, SHORT = 90 * 1024 * 1024 // 3, 10_000, 20


@pytest.fixture(scope="module")
def plan_files(tmp_path_factory) -> dict[int, Path]:
    """The hostile plan with facility F1 named by :data:`HUGE`, :data:`AT_LIMIT` and :data:`SHORT`
    characters: {chars: file}. Written once for the module, in one subprocess: this process never
    holds the name (its peak memory is inherited by every process it starts, which other tests
    measure). Tests copy a file before changing it."""
    folder = tmp_path_factory.mktemp("bounded_report")
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    sizes = (HUGE, AT_LIMIT, SHORT)
    subprocess.run(
        [sys.executable, "-c", _WRITE, str(folder), *map(str, sizes)], check=True, timeout=600, env=env
    )
    return {chars: folder / f"plan_{chars}.gpkg" for chars in sizes}


def _export(plan: Path, out: Path) -> tuple[dict, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "OPENBLAS_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2",
    }
    done = subprocess.run(
        [sys.executable, "-c", _EXPORT, str(plan), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stdout + done.stderr


@pytest.mark.parametrize(("chars", "refused"), [(HUGE, True), (AT_LIMIT, False)])
def test_the_report_never_sees_an_unbounded_name(plan_files, tmp_path, chars, refused):
    plan = plan_files[chars]
    got, printed = _export(plan, tmp_path / "report.pdf")
    assert got["peak_mb"] < 600, got
    if refused:
        assert got["code"] != 0 and not (tmp_path / "report.pdf").exists()
        assert "longer than 10,000 characters" in printed and len(printed) < 5000
        assert got["cpu_seconds"] < 30, got
    else:
        assert got["code"] == 0 and (tmp_path / "report.pdf").stat().st_size > 0, printed


def test_a_plan_meta_value_is_bounded_too(plan_files, tmp_path):
    # plan_meta holds the plan's own JSON and was read whatever its length: a 90 MB value took
    # the report and `check` to 700 MB.
    import shutil
    import sqlite3

    plan = Path(shutil.copy(plan_files[SHORT], tmp_path / "plan.gpkg"))
    with sqlite3.connect(plan) as con:
        assert con.execute("UPDATE plan_meta SET value = ? WHERE key = 'city'",
                           ("长" * (90 * 1024 * 1024 // 3),)).rowcount == 1
    got, printed = _export(plan, tmp_path / "report.pdf")
    assert got["code"] != 0 and not (tmp_path / "report.pdf").exists(), printed
    assert "longer than 4,000,000 characters" in printed and len(printed) < 5000
    assert got["peak_mb"] < 100 and got["cpu_seconds"] < 30, got
