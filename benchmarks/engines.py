"""Engines (issue 16): transitions + funnel + dwell + calibration fit in DuckDB vs pandas.

The history is generated inside a DuckDB file with SQL (``salesanalytics.engine.generate``),
never through pandas. Each route runs in a fresh interpreter so that its peak memory is its
own: the engine route reads the file through ``sa.read_dataset("duckdb:///...")``; the pandas
route loads the same two tables into DataFrames and calls the same functions on them.

python3 tasks.py bench engines            # 20M stage rows (about 4.6M opportunities)
python3 tasks.py bench engines --quick    # 2M stage rows
python3 tasks.py bench engines --data=/tmp/crm_20m.duckdb   # generated there once, reused
python3 tasks.py bench engines --routes=duckdb              # one route only

CPU is the process's own (all its threads), so that a run on a shared machine can be read
beside the wall time; the load average at the start of each route is recorded.
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
import gc, json, os, resource, sys, time, tracemalloc, warnings
warnings.simplefilter("ignore")
route, path, trace = sys.argv[1], sys.argv[2], sys.argv[5] == "1"
load = os.getloadavg()[0]
import salesanalytics as sa
if trace:
    tracemalloc.start()
steps, cpu = {}, {}
t0, c0 = time.perf_counter(), time.process_time()
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
steps["read"], cpu["read"] = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"read": [steps["read"], cpu["read"]]}), file=sys.stderr, flush=True)


def step(name, fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    steps[name], cpu[name] = time.perf_counter() - t, time.process_time() - c
    print(json.dumps({name: [steps[name], cpu[name]]}), file=sys.stderr, flush=True)
    return out


tr = step("transitions", lambda: sa.stage_transitions(ds, as_of=sys.argv[3]))
if route == "duckdb":
    len(tr)  # kept in the engine
f = step("funnel by channel", lambda: sa.funnel_summary(ds, transitions=tr, by="channel"))
d = step("dwell", lambda: sa.stage_dwell(ds, transitions=tr))
m = step(
    "calibration fit",
    lambda: sa.StageProbabilityModel(by="channel").fit(ds, as_of=sys.argv[4]),
)
total, total_cpu = time.perf_counter() - t0, time.process_time() - c0
peak = tracemalloc.get_traced_memory()[1] / 2**30 if trace else None
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(json.dumps({"steps": steps, "cpu": cpu, "total": total, "total_cpu": total_cpu,
                  "load": load, "python_gib": peak, "rss_gib": rss,
                  "won_prospect": float(m.table_["estimate"].iloc[0])}))
"""


def _route(route: str, path: Path, timeout: float, *, trace: bool = False) -> dict:
    """One route in a fresh interpreter; ``trace``: Python's peak by tracemalloc (which
    slows allocation-heavy code, so the timed runs go without it)."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, route, str(path), AS_OF, FIT_AS_OF, str(int(trace))],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as stopped:
        return {"error": f"did not finish in {timeout:.0f} s", "reached": _reached(stopped.stderr)}
    if out.returncode:
        last = (out.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"failed ({last[:120]})", "reached": _reached(out.stderr)}
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(
    quick: bool = False,
    *,
    pandas_rows: int | None = None,
    data: str | None = None,
    routes: str = "duckdb,pandas",
) -> tuple[str, str]:
    """``data``: a DuckDB file to reuse (generated there when missing) instead of a
    temporary one; ``routes``: which of duckdb, pandas to run (comma-separated)."""

    stage_rows = 2_000_000 if quick else 20_000_000
    n = int(stage_rows / ROWS_PER_DEAL)
    rows = [
        "| route | stage rows | read | transitions | funnel by channel | dwell | calibration fit "
        "| total (s) | total CPU (s) | load at start | Python peak (GiB) | max RSS (GiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    wanted = [r.strip() for r in routes.split(",") if r.strip()]
    unknown = set(wanted) - {"duckdb", "pandas"}
    if unknown:
        raise ValueError(f"unknown route(s) {sorted(unknown)}: duckdb, pandas")
    with tempfile.TemporaryDirectory() as tmp:
        plan = [(r, n) for r in wanted]
        if pandas_rows:
            plan.append(("pandas", int(pandas_rows / ROWS_PER_DEAL)))
        files: dict[int, tuple[Path, dict]] = {}
        for route, size in plan:
            if size not in files:
                files[size] = _data_file(Path(data) if data and size == n else None, tmp, size)
                print(f"data {files[size]}", flush=True)
            path, counts = files[size]
            r = _route(route, path, timeout=3600)
            print(route, counts, r, flush=True)
            if route == "duckdb" and "error" not in r:  # Python's own peak, a second run
                traced = _route(route, path, timeout=3600, trace=True)
                print("traced", traced, flush=True)
                r["python_gib"] = traced.get("python_gib")
            label = f"{counts['stage_history']:,}"
            if "error" in r:
                done = ", ".join(
                    f"{k} {w:.0f} s ({c:.0f} CPU)" for k, (w, c) in r.get("reached", {}).items()
                )
                rows.append(
                    f"| {route} | {label} | {r['error']}; finished: {done or 'nothing'} ||||||||||"
                )
                continue
            s, c = r["steps"], r["cpu"]
            cells = " | ".join(
                f"{s[k]:.1f} ({c[k]:.1f})"
                for k in ("read", "transitions", "funnel by channel", "dwell", "calibration fit")
            )
            rows.append(
                f"| {route} | {label} | {cells} | {r['total']:.1f} | {r['total_cpu']:.1f} | "
                f"{r['load']:.1f} | {_gib(r.get('python_gib'))} | {r['rss_gib']:.2f} |"
            )
    body = (
        f"Command: `python3 tasks.py bench engines`. Machine: {machine()}.\n"
        "Data: `salesanalytics.engine.generate.generate_duckdb(path, n, seed=1)` (SQL inside "
        "DuckDB). Steps: read (DuckDB: connect, clean in the engine; pandas: the two tables "
        "loaded into DataFrames, no cleaning), stage transitions as of "
        f"{AS_OF}, cohort funnel by channel, stage dwell, StageProbabilityModel(by='channel') "
        f"fitted as of {FIT_AS_OF}; one run each in a fresh interpreter (DuckDB: 2 threads, "
        "memory_limit 3GB). Each step: wall seconds (CPU seconds of the process, all "
        "threads). Load: the 1-minute load average when the route started (2 cores: above 2, "
        "other work shared them). Python peak: tracemalloc, in a second DuckDB run (tracing "
        "slows allocation-heavy code); pandas: not traced, its max RSS is its Python memory. "
        "Max RSS includes DuckDB's own buffers.\n\n" + "\n".join(rows)
    )
    return "Engines: DuckDB vs pandas on a generated history (issue 16)", body


def _reached(stderr) -> dict:
    """The steps a stopped route finished: {step: [wall, cpu]} from its progress lines."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    done = {}
    for line in (stderr or "").splitlines():
        if line.startswith("{"):
            try:
                done.update(json.loads(line))
            except ValueError:
                pass
    return done


def _gib(v) -> str:
    return "-" if v is None else f"{v:.2f}"


def _data_file(path: Path | None, tmp: str, size: int) -> tuple[Path, dict]:
    """The DuckDB file of ``size`` opportunities: ``path`` reused when it holds them."""
    import duckdb

    from salesanalytics.engine.generate import generate_duckdb

    if path is not None and path.exists():
        con = duckdb.connect(str(path), read_only=True)
        try:
            counts = {
                t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("opportunities", "stage_history")
            }
        finally:
            con.close()
        if counts["opportunities"] == size:
            return path, counts
    target = path if path is not None else Path(tmp) / f"crm_{size}.duckdb"
    return target, generate_duckdb(target, size, seed=1)
