"""Reading a spreadsheet: the stream reader (``grid_planning.io.sheets._read_sheet``) against the
pandas reader it replaced (``pd.read_excel(dtype=str, nrows=...)``), side by side.

Two workbooks, written here with openpyxl:

- **points**: population points (id, name, lon, lat, population, pop_65plus), ``--rows`` rows;
- **sparse**: five facilities and one stray cell in column XFD at row ``--stray-row`` (the file is
  a few KB; pandas pads every row to 16,384 cells).

Each reader runs in a fresh process (peak memory is the process's own), alternating, ``--repeat``
times; the best time and the largest peak are printed with the ratio old / new. The old reader is
not run on the sparse workbook beyond ``--old-limit-row`` (it takes minutes and gigabytes)::

    python benchmarks/bench_sheet.py                       # 100,000 points, stray cell at row 3,000
    python benchmarks/bench_sheet.py --rows 500000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

READ = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
path, how = Path({path!r}), {how!r}
import openpyxl, pandas as pd  # both processes import the same modules: peaks compare data only
from grid_planning.io import limits, sheets
t0 = time.perf_counter()
if how == "old":
    df = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl", nrows=500_001)
else:
    sub = limits.SubLayer(path.stem, None, None, (), path, None)
    df = sheets.read_sheet(sub, limits.limits())
seconds = time.perf_counter() - t0
status = Path("/proc/self/status").read_text()
peak_kb = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1])
print(json.dumps({{"seconds": seconds, "peak_mb": peak_kb / 1024, "shape": list(df.shape)}}))
"""


def write_points(path: Path, rows: int) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("人口点")
    sheet.append(["id", "name", "lon", "lat", "population", "pop_65plus"])
    for i in range(rows):
        sheet.append([f"P{i:07d}", f"点{i}", 114.0 + (i % 1000) / 1000, 30.3 + (i // 1000) / 2000,
                      100 + i % 900, 10 + i % 90])
    book.save(path)


def write_sparse(path: Path, stray_row: int) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["id", "name", "level", "type", "lon", "lat", "beds"])
    for i in range(5):
        sheet.append([f"F{i}", f"H{i}", "三级", "综合", 114.3 + i / 100, 30.5, 100])
    sheet.cell(row=stray_row, column=16384, value="x")
    book.save(path)


def run(path: Path, how: str) -> dict:
    code = READ.format(root=str(ROOT), path=str(path), how=how)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--stray-row", type=int, default=3_000)
    ap.add_argument("--old-limit-row", type=int, default=5_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_sheet_") as tmp:
        points, sparse = Path(tmp) / "points.xlsx", Path(tmp) / "sparse.xlsx"
        write_points(points, args.rows)
        write_sparse(sparse, args.stray_row)
        cases = [("points", points, ("old", "new")),
                 ("sparse", sparse, ("old", "new") if args.stray_row <= args.old_limit_row else ("new",))]
        print(f"{'workbook':<8} {'KB':>8} {'reader':<4} {'best_s':>8} {'peak_MB':>8} shape")
        for name, path, hows in cases:
            best: dict[str, dict] = {}
            for _ in range(args.repeat):
                for how in hows:  # alternating: both see the same machine
                    r = run(path, how)
                    b = best.setdefault(how, r)
                    b["seconds"] = min(b["seconds"], r["seconds"])
                    b["peak_mb"] = max(b["peak_mb"], r["peak_mb"])
            kb = path.stat().st_size / 1024
            for how in hows:
                r = best[how]
                print(f"{name:<8} {kb:>8.0f} {how:<4} {r['seconds']:>8.2f} {r['peak_mb']:>8.0f} {r['shape']}")
            if len(hows) == 2:
                o, n = best["old"], best["new"]
                print(f"{name:<8} ratio old/new: time {o['seconds'] / n['seconds']:.2f}, "
                      f"peak memory {o['peak_mb'] / n['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
