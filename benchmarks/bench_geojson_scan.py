"""Scanning a GeoJSON file's strings before GDAL reads it (``grid_planning.io.gistext.
check_geojson_text``): this checkout against an earlier revision's, side by side on one file.

The file, written here: one feature whose properties hold ``--mb`` MB of short keys and values
(``"k123": "v"``), no escape. A string cut by a chunk boundary used to send the whole next chunk
(1 MB, ~100,000 strings) through the byte-by-byte path, about half the chunks of such a file::

    python benchmarks/bench_geojson_scan.py                 # 100 MB, against 0126a76
    python benchmarks/bench_geojson_scan.py --mb 200 --before HEAD~1
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def write(path: Path, mb: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
                 '{"type": "Point", "coordinates": [114.3, 30.5]}, "properties": {"id": "F1"')
        i = 0
        while fh.tell() < mb * 1024 * 1024:
            fh.write("".join(f', "k{j}": "v{j % 7}"' for j in range(i, i + 10_000)))
            i += 10_000
        fh.write("}}]}")


def old_module(rev: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{rev}:grid_planning/io/gistext.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    module = types.ModuleType("gistext_old")
    exec(compile(source, f"{rev}:gistext.py", "exec"), module.__dict__)  # noqa: S102 - our own file
    return module


def best(fn, path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(path, 10_000)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--before", default="0126a76")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    from grid_planning.io import gistext

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "keys.geojson"
        write(path, args.mb)
        size = path.stat().st_size / 1024 / 1024
        old = best(old_module(args.before).check_geojson_text, path, args.repeat)
        new = best(gistext.check_geojson_text, path, args.repeat)
    print(f"{size:.0f} MB of short strings: {args.before} {old:.2f} s, this checkout {new:.2f} s, "
          f"ratio {old / new:.1f}x")


if __name__ == "__main__":
    main()
