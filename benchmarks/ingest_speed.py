"""read + clean of a generated CRM against a raw pandas/pyarrow read of the same files."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

import salesanalytics as sa
from salesanalytics.sample import generate_pipeline

from .results import machine

RUNS = 3


def _median(fn) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def write_crm(folder: Path, n: int, seed: int = 1) -> None:
    """The generator's opportunities and stage history as CSV files in ``folder``."""
    opps, hist = generate_pipeline(n, seed=seed)
    opps.to_csv(folder / "opportunities.csv", index=False)
    hist.to_csv(folder / "stage_history.csv", index=False)


def run(quick: bool = False, n: int | None = None) -> tuple[str, str]:
    n = n or (15_000 if quick else 150_000)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_crm(folder, n)
        files = [folder / "opportunities.csv", folder / "stage_history.csv"]

        def ours():
            return sa.read_dataset(folder)

        def raw():
            return [pd.read_csv(f, engine="pyarrow") for f in files]

        rows = len(pd.read_csv(files[1], engine="pyarrow"))
        t_raw = _median(raw)
        t_ours = _median(ours)
    body = (
        f"Command: `python3 tasks.py bench ingest`. Machine: {machine()}.\n"
        f"Data: generate_pipeline({n:,}, seed=1) written as CSV ({rows:,} stage rows). "
        f"Median of {RUNS} runs.\n\n"
        "| step | seconds |\n|---|---:|\n"
        f"| pd.read_csv(engine='pyarrow') of both files | {t_raw:.3f} |\n"
        f"| sa.read_dataset (read + clean + cross-table checks) | {t_ours:.3f} |\n"
        f"| ratio | {t_ours / t_raw:.1f}x |\n"
    )
    return "Ingestion speed (issue 15)", body


if __name__ == "__main__":
    print(run()[1])
