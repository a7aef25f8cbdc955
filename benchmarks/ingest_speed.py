"""read + clean of a generated CRM against a raw pandas/pyarrow read of the same files.

python3 tasks.py bench ingest                                   # 150k opportunities
python3 tasks.py bench ingest --quick                           # 15k
python3 tasks.py bench ingest --sizes=150000,1000000            # 150k and 1M
python3 tasks.py bench ingest --folders=/work/benchdata/150k,/work/benchdata/1m   # given CSVs

Each size runs in a fresh interpreter (``python -m benchmarks.ingest_speed --worker DIR``):
after a warm-up read of the bundled sample (one-off library loading: pyarrow's CSV reader
and allocator, the script conversion table), the memory growth of one
``sa.read_dataset(DIR, stages="default")`` (peak resident set
during the call, VmHWM reset before it, minus the resident set before it; the CSV files'
size for comparison), then ``RUNS`` rounds of the raw read (``pd.read_csv(engine="pyarrow")``
of both files) and ours, alternating, so both see the same machine load. Times are medians;
the ratio is the median of the per-round ratios.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .scale import _reset_peak, _status_mib

RUNS = 3
FILES = ("opportunities.csv", "stage_history.csv")


def write_crm(folder: Path, n: int, seed: int = 1) -> None:
    """The generator's opportunities and stage history as CSV files in ``folder``."""
    from salesanalytics.sample import generate_pipeline

    opps, hist = generate_pipeline(n, seed=seed)
    opps.to_csv(folder / "opportunities.csv", index=False)
    hist.to_csv(folder / "stage_history.csv", index=False)


def worker(folder: str, runs: int = RUNS) -> dict:
    """Measure one folder in this (fresh) process; the figures as a dict."""
    import pandas as pd
    import pandera  # noqa: F401  (imported on first use by clean: not part of the timing)
    import pyarrow.csv  # noqa: F401

    import salesanalytics as sa

    files = [Path(folder) / f for f in FILES]
    # warm-up on the bundled sample: the libraries' one-off loading (pyarrow's CSV reader and
    # allocator, the traditional/simplified script table) is not growth with the data
    sa.read_dataset()
    before = _status_mib("VmRSS")
    _reset_peak()
    ds = sa.read_dataset(folder, stages="default")
    growth = _status_mib("VmHWM") - before
    rows = {t: len(df) for t, df in ds.tables.items()}
    del ds
    raw_s, ours_s = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        [pd.read_csv(f, engine="pyarrow") for f in files]
        raw_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sa.read_dataset(folder, stages="default")
        ours_s.append(time.perf_counter() - t0)
    return {
        "folder": str(folder),
        "rows": rows,
        "csv_mib": sum(f.stat().st_size for f in files) / 2**20,
        "growth_mib": growth,
        "raw_s": statistics.median(raw_s),
        "ours_s": statistics.median(ours_s),
        "ratio": statistics.median(o / r for o, r in zip(ours_s, raw_s)),
    }


def _measure(folder: Path, runs: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.ingest_speed", "--worker", str(folder), str(runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(
    quick: bool = False,
    n: int | str | None = None,
    sizes: str | None = None,
    folders: str | None = None,
    runs: int | str = RUNS,
) -> tuple[str, str]:
    runs = int(runs)
    results = []
    if folders:
        for folder in folders.split(","):
            results.append(_measure(Path(folder), runs))
    else:
        ns = [int(x) for x in sizes.split(",")] if sizes else [int(n or 0) or None]
        for size in ns:
            size = size or (15_000 if quick else 150_000)
            with tempfile.TemporaryDirectory() as tmp:
                write_crm(Path(tmp), size)
                results.append(_measure(Path(tmp), runs))
    from .results import machine

    lines = [
        "| opportunities | stage rows | CSV MiB | pyarrow read s | read_dataset s | ratio "
        "(target <= 10x) | read+clean growth MiB | growth / CSV (target <= 5x) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['rows'].get('opportunities', 0):,} | {r['rows'].get('stage_history', 0):,} "
            f"| {r['csv_mib']:.0f} | {r['raw_s']:.3f} | {r['ours_s']:.3f} | {r['ratio']:.1f}x "
            f"| {r['growth_mib']:.0f} | {r['growth_mib'] / r['csv_mib']:.1f}x |"
        )
    body = (
        f"Command: `python3 tasks.py bench ingest` (see benchmarks/ingest_speed.py for options). "
        f"Machine: {machine()}.\nData: generate_pipeline(n, seed=1) written as CSV. "
        f"Each size in a fresh interpreter; times are medians of {runs} alternating rounds, "
        "the ratio the median of the per-round ratios; memory is the growth of the first "
        "read_dataset call (clean row counts after cross-table checks).\n\n"
        + "\n".join(lines)
        + "\n"
    )
    return "Ingestion speed (issue 15)", body


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        res = worker(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else RUNS)
        print(json.dumps(res))
    else:
        print(run()[1])
