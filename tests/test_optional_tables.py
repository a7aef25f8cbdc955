"""Optional tables everywhere: every notebook runs on partial and empty exports.

Each notebook is executed by papermill (into a temporary folder) on a small copy of the
sample: (b) opportunities + stage_history only, (c) leads only, (d) every table header-only.
A section that needs an absent table prints one line saying it is skipped; nothing fails.
Case (a), the whole sample, is nbval's re-execution of notebooks/*.ipynb against their
committed outputs; ``test_committed_outputs_skip_nothing`` checks those outputs hold no
"skipped" line, so together they prove (a) without a fourth run here.

The 27 runs are started once, two at a time (CI has two cores; each kernel is mostly one
busy process), by a module fixture; each parametrized test then checks its own run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml
from small_sample import ALL_TABLES, write_small_sample

import salesanalytics as sa
from salesanalytics import _paths

VARIANTS = {
    "deals_only": {"tables": ("opportunities", "stage_history")},
    "leads_only": {"tables": ("leads",)},
    "empty": {"tables": ALL_TABLES, "empty": ALL_TABLES},
}
NOTEBOOKS = sorted(p.stem for p in _paths.NOTEBOOKS_DIR.glob("[0-9][0-9]-*.ipynb"))
FAST = {  # fewer simulations: the test is about running, not about the numbers
    "06-forecast": {"n_sims": 200, "backtest_from": "2026-03-31"},
    "07-targets-performance": {"n_sims": 200},
}
#: Which sections say they are skipped, per variant (one line each).
SKIPPED = {
    ("00-data-overview", "leads_only"): [
        "Stage mix and monthly volumes: skipped (no opportunities"
    ],
    ("02-funnel-bottlenecks", "leads_only"): ["Funnel, dwell and bottlenecks: skipped"],
    ("03-channels-and-reps", "deals_only"): [
        "Channels and first-response SLA: skipped (no leads table",
        "Follow-up cadence: skipped (no leads / activities table",
    ],
    ("03-channels-and-reps", "leads_only"): ["Reps: dwell, coaching, bottlenecks: skipped"],
    ("04-stage-probabilities", "empty"): [
        "Stage probabilities: skipped (the opportunities table has no rows)"
    ],
    ("05-scoring-calibration", "deals_only"): ["Lead scorecard: skipped (no leads table"],
    ("06-forecast", "leads_only"): [
        "Forecast, backtest, review and waterfall: skipped (no opportunities table"
    ],
    ("06-forecast", "empty"): [
        "Forecast, backtest, review and waterfall: skipped (the opportunities table has no rows"
    ],
    ("07-targets-performance", "deals_only"): [
        "Attainment, pacing, roll-up and review workbook: skipped (no targets table"
    ],
    ("07-targets-performance", "leads_only"): [
        "Attainment, pacing, roll-up and review workbook: skipped (no opportunities / targets",
        "Growth, product mix, customers, tiers and under-performers: skipped (no opportunities",
    ],
    ("07-targets-performance", "empty"): [
        "Growth, product mix, customers, tiers and under-performers: skipped (the opportunities",
    ],
    ("08-engine-funnel", "deals_only"): ["Conversion by segment: skipped (no leads table"],
    ("08-engine-funnel", "leads_only"): [
        "Funnel, dwell and stage probabilities: skipped (no opportunities table"
    ],
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("variants")
    return {k: write_small_sample(root / k, **v) for k, v in VARIANTS.items()}


def test_print_dataset_on_any_subset(folders, tmp_path):
    folders = {**folders, "sample": write_small_sample(tmp_path / "sample")}
    tables = {k: v["tables"] for k, v in VARIANTS.items()} | {"sample": ALL_TABLES}
    for name, folder in folders.items():
        ds = sa.read_dataset(folder)
        assert repr(ds).startswith("Dataset(")
        assert sorted(ds.tables) == sorted(tables[name])
    ds = sa.read_dataset({"leads": folders["leads_only"] / "leads.csv"})
    assert ds.products is None and ds.reps is None and "leads=" in repr(ds)


def _cases():
    for nb in NOTEBOOKS:
        for v in VARIANTS:
            yield pytest.param(nb, v, id=f"{nb}-{v}")


def _text(nb: dict) -> str:
    return "".join(
        "".join(o.get("text", ""))
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )


def test_committed_outputs_skip_nothing():
    """Case (a): on the whole sample no section is skipped (nbval re-runs these outputs)."""
    assert len(NOTEBOOKS) >= 9
    for name in NOTEBOOKS:
        nb = json.loads((_paths.NOTEBOOKS_DIR / f"{name}.ipynb").read_text(encoding="utf-8"))
        text = _text(nb)
        assert text, name  # outputs are committed
        assert ": skipped (" not in text, name


def _execute(notebook: str, variant: str, folder, out_dir) -> str:
    """Run one notebook in its own papermill process: a process has its own working folder
    (papermill's in-process ``cwd=`` changes the whole test process's, which two threads
    at a time would leave wrong)."""
    out = out_dir / f"{notebook}-{variant}.ipynb"
    params = {"data_dir": str(folder), "output_dir": str(out_dir / f"{notebook}-{variant}")}
    params |= FAST.get(notebook, {})
    pfile = out_dir / f"{notebook}-{variant}.yaml"
    pfile.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(_paths.NOTEBOOKS_DIR / f"{notebook}.ipynb"),
            str(out),
            "-f",
            str(pfile),
            "--cwd",
            str(_paths.NOTEBOOKS_DIR),
            "-k",
            "python3",
            "--no-progress-bar",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"{notebook} on {variant} failed:\n{done.stderr[-3000:]}")
    return _text(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def runs(folders, tmp_path_factory, request):
    """Each selected (notebook, variant) executed once, two kernels at a time: its output
    text, or the exception it raised."""
    out_dir = tmp_path_factory.mktemp("runs")
    cases = [
        (item.callspec.params["notebook"], item.callspec.params["variant"])
        for item in request.session.items
        if getattr(item, "originalname", "") == "test_notebook_runs_on_partial_exports"
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {c: pool.submit(_execute, *c, folders[c[1]], out_dir) for c in cases}
    return {c: (f.exception() or f.result()) for c, f in futures.items()}


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook,variant", list(_cases()))
def test_notebook_runs_on_partial_exports(notebook, variant, runs):
    text = runs[(notebook, variant)]
    if isinstance(text, BaseException):
        raise text
    for line in SKIPPED.get((notebook, variant), []):
        assert line in text, (line, text[-2000:])
