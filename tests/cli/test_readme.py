"""The README's command lines run as written (after the first command) and do what they say."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Command line", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_every_command_line_of_the_readme_runs_as_written(tmp_path):
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    commands = _commands()
    assert len(commands) == 6 and all(c.startswith(".venv/bin/python -m grid_planning ") for c in commands)
    for line in commands:
        argv = [sys.executable, *line.split()[1:]]  # .venv/bin/python is this interpreter in CI
        proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (line, proc.stdout[-1500:], proc.stderr[-1500:])
        assert "Traceback" not in proc.stdout + proc.stderr
    for name in ("plan.gpkg", "plan.xlsx", "plan_report.pdf", "plan_map.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name


def test_readme_plans_at_the_dashboards_starting_tolerance():
    """The README planned at ±20 % while the dashboard starts the sample city at ±10 %."""
    from grid_planning.city.provenance import load_sample_city
    from grid_planning.domain.request import PlanRequest
    from grid_planning.planning.planner import suggest_balance

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = suggest_balance(load_sample_city(), PlanRequest(k=4))
    assert f"plan --grids 4 --balance {start.tolerance:g} " in text
