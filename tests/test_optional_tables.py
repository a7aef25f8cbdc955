"""Optional tables everywhere: every notebook runs on partial and empty exports.

Each notebook is executed by papermill (into a temporary folder) on a small copy of the
sample: (a) every table, (b) opportunities + stage_history only, (c) leads only, (d) every
table header-only. A section that needs an absent table prints one line saying it is
skipped; nothing fails.
"""

from __future__ import annotations

import json
import os

import pytest
from small_sample import ALL_TABLES, write_small_sample

import salesanalytics as sa
from salesanalytics import _paths

VARIANTS = {
    "sample": {"tables": ALL_TABLES},
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


def test_print_dataset_on_any_subset(folders):
    for name, folder in folders.items():
        ds = sa.read_dataset(folder)
        assert repr(ds).startswith("Dataset(")
        assert sorted(ds.tables) == sorted(VARIANTS[name]["tables"])
    ds = sa.read_dataset({"leads": folders["leads_only"] / "leads.csv"})
    assert ds.products is None and ds.reps is None and "leads=" in repr(ds)


def _cases():
    for nb in NOTEBOOKS:
        for v in VARIANTS:
            yield pytest.param(nb, v, id=f"{nb}-{v}")


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook,variant", list(_cases()))
def test_notebook_runs_on_partial_exports(notebook, variant, folders, tmp_path):
    import papermill as pm

    os.environ.pop("MPLBACKEND", None)
    out = tmp_path / f"{notebook}.ipynb"
    params = {"data_dir": str(folders[variant]), "output_dir": str(tmp_path / "out")}
    params |= FAST.get(notebook, {})
    pm.execute_notebook(
        str(_paths.NOTEBOOKS_DIR / f"{notebook}.ipynb"),
        str(out),
        parameters=params,
        cwd=str(_paths.NOTEBOOKS_DIR),
        kernel_name="python3",
        progress_bar=False,
    )
    nb = json.loads(out.read_text())
    text = "".join(
        "".join(o.get("text", ""))
        for c in nb["cells"]
        if c["cell_type"] == "code"
        for o in c.get("outputs", [])
    )
    for line in SKIPPED.get((notebook, variant), []):
        assert line in text, (line, text[-2000:])
    if variant == "sample":
        assert ": skipped (" not in text
