"""Engines (issue 16): transitions + funnel + dwell + calibration fit in DuckDB vs pandas.

The history is generated inside a DuckDB file with SQL (``salesanalytics.engine.generate``),
never through pandas. Each route runs in a fresh interpreter so that its peak memory is its
own: the engine route reads the file through ``sa.read_dataset("duckdb:///...")``; the pandas
route loads the same two tables into DataFrames and calls the same functions on them.

python3 tasks.py bench engines            # 20M stage rows (about 4.6M opportunities)
python3 tasks.py bench engines --quick    # 2M stage rows
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from .results import machine

ROWS_PER_DEAL = 4.35  # stage rows per generated opportunity (measured by the generator)
AS_OF = "2026-06-30"
FIT_AS_OF = "2025-12-31"

_CHILD = r"""
import gc, json, resource, sys, time, tracemalloc, warnings
warnings.simplefilter("ignore")
route, path = sys.argv[1], sys.argv[2]
import salesanalytics as sa
tracemalloc.start()
steps = {}
t0 = time.perf_counter()
if route == "duckdb":
    ds = sa.read_dataset("duckdb:///" + path + "?threads=2&memory_limit=3GB")
else:
    import duckdb
    con = duckdb.connect(path, read_only=True)
    opps = con.table("opportunities").df()
    hist = con.table("stage_history").df()
    con.close()
    opps["status"] = opps["stage"].map({"won": "won", "lost": "lost"}).fillna("open")
    ds = sa.Dataset(stages=sa.load_stages("default"), opportunities=opps, stage_history=hist)
steps["read"] = time.perf_counter() - t0
t = time.perf_counter()
tr = sa.stage_transitions(ds, as_of=sys.argv[3])
if route == "duckdb":
    len(tr)  # materialised in the engine
steps["transitions"] = time.perf_counter() - t
t = time.perf_counter()
f = sa.funnel_summary(ds, transitions=tr, by="channel")
steps["funnel by channel"] = time.perf_counter() - t
t = time.perf_counter()
d = sa.stage_dwell(ds, transitions=tr)
steps["dwell"] = time.perf_counter() - t
t = time.perf_counter()
m = sa.StageProbabilityModel(by="channel").fit(ds, as_of=sys.argv[4])
steps["calibration fit"] = time.perf_counter() - t
total = time.perf_counter() - t0
peak = tracemalloc.get_traced_memory()[1] / 2**30
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"steps": steps, "total": total, "python_gib": peak, "rss_gib": rss,
                  "won_prospect": float(m.table_["estimate"].iloc[0])}))
"""


def _route(route: str, path: Path, timeout: float) -> dict:
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, route, str(path), AS_OF, FIT_AS_OF],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s"}
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"failed ({last[:120]})"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool = False, *, pandas_rows: int | None = None) -> tuple[str, str]:
    from salesanalytics.engine.generate import generate_duckdb

    stage_rows = 2_000_000 if quick else 20_000_000
    n = int(stage_rows / ROWS_PER_DEAL)
    rows = [
        "| route | stage rows | read | transitions | funnel by channel | dwell | calibration fit "
        "| total (s) | Python peak (GiB) | process max RSS (GiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        plan = [("duckdb", n), ("pandas", n)]
        if pandas_rows:
            plan.append(("pandas", int(pandas_rows / ROWS_PER_DEAL)))
        files: dict[int, tuple[Path, dict]] = {}
        for route, size in plan:
            if size not in files:
                p = Path(tmp) / f"crm_{size}.duckdb"
                files[size] = (p, generate_duckdb(p, size, seed=1))
                print(f"generated {files[size][1]}", flush=True)
            path, counts = files[size]
            r = _route(route, path, timeout=1800)
            print(route, counts, r, flush=True)
            label = f"{counts['stage_history']:,}"
            if "error" in r:
                rows.append(f"| {route} | {label} | {r['error']} ||||||||")
                continue
            s = r["steps"]
            rows.append(
                f"| {route} | {label} | {s['read']:.1f} | {s['transitions']:.1f} | "
                f"{s['funnel by channel']:.1f} | {s['dwell']:.1f} | {s['calibration fit']:.1f} | "
                f"{r['total']:.1f} | {r['python_gib']:.2f} | {r['rss_gib']:.2f} |"
            )
    body = (
        f"Command: `python3 tasks.py bench engines`. Machine: {machine()}.\n"
        "Data: `salesanalytics.engine.generate.generate_duckdb(path, n, seed=1)` (SQL inside "
        "DuckDB). Steps: read (DuckDB: connect, clean in the engine; pandas: the two tables "
        "loaded into DataFrames, no cleaning), stage transitions as of "
        f"{AS_OF}, cohort funnel by channel, stage dwell, StageProbabilityModel(by='channel') "
        f"fitted as of {FIT_AS_OF}; one run each in a fresh interpreter (DuckDB: 2 threads, "
        "memory_limit 3GB). Python peak: tracemalloc; max RSS includes DuckDB's own buffers."
        "\n\n" + "\n".join(rows)
    )
    return "Engines: DuckDB vs pandas on a generated history (issue 16)", body
