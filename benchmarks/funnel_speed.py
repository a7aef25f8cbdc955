"""stage_transitions and funnel_summary at 100k and 1M generated opportunities."""

from __future__ import annotations

import gc
import statistics
import time
import tracemalloc
from functools import partial

import salesanalytics as sa
from salesanalytics.sample import generate_pipeline

from .results import machine

RUNS = 5


def _measure(fn) -> tuple[float, float]:
    """Median seconds of RUNS calls and peak traced memory (MiB) of one call."""
    times = []
    for _ in range(RUNS):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak


def run(quick: bool = False) -> tuple[str, str]:
    sizes = [10_000, 100_000] if quick else [100_000, 1_000_000]
    rows = [
        "| opportunities | stage rows | step | median of 5 (s) | peak memory (MiB) |",
        "|---:|---:|---|---:|---:|",
    ]
    for n in sizes:
        opps, hist = generate_pipeline(n, seed=1)
        print(f"{n:,} opportunities, {len(hist):,} stage rows", flush=True)
        kw = {
            "stage_history": hist,
            "opportunities": opps,
            "stages": "default",
            "as_of": "2026-06-30",
        }
        t = sa.stage_transitions(**kw)
        fs = partial(sa.funnel_summary, transitions=t, stages="default")
        steps = {
            "stage_transitions": partial(sa.stage_transitions, **kw),
            "funnel_summary cohort": fs,
            "funnel_summary cohort by channel": partial(fs, by="channel"),
            "funnel_summary period (M)": partial(fs, mode="period", period="M"),
        }
        for name, fn in steps.items():
            sec, peak = _measure(fn)
            print(f"  {name}: {sec:.2f}s, {peak:,.0f} MiB", flush=True)
            rows.append(f"| {n:,} | {len(hist):,} | {name} | {sec:.2f} | {peak:,.0f} |")
    body = (
        f"Command: `python3 tasks.py bench funnel`. Machine: {machine()}.\n"
        "Data: `salesanalytics.sample.generate_pipeline(n, seed=1)` (the sample's process, "
        "deals only). Time: median of 5 runs; memory: peak traced by tracemalloc during one "
        "further run (numpy and pandas buffers included).\n\n" + "\n".join(rows)
    )
    return "Funnel speed (issue 4)", body
