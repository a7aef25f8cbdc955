"""Hand-set vs fitted scorecards on held-out leads: the sample and X Education."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

import salesanalytics as sa

from .results import machine


def _rows(card_name, train, test, time_column):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sa.fit_scorecard(train, card_name, time_column=time_column)
    out = []
    for label, card in (("hand-set", card_name), ("fitted", fit.scorecard)):
        e = sa.evaluate_scorecard(card, test)
        out.append(
            f"| {label} | {len(test):,} | {e.auc:.4f} | {e.brier:.4f} | {'yes' if e.monotone else 'no: ' + '; '.join(e.violations)} |"
        )
    return out, fit


def run(quick: bool = False) -> tuple[str, str]:
    head = [
        "| scorecard | held-out leads | AUC | Brier (isotonic, cross-validated) | tiers monotone |",
        "|---|---:|---:|---:|---|",
    ]
    parts = [f"Command: `python3 tasks.py bench scoring`. Machine: {machine()}."]
    leads = sa.read_dataset().leads
    train, test = (
        leads[leads["created_at"] < "2025-12-01"],
        leads[leads["created_at"] >= "2025-12-01"],
    )
    rows, fit = _rows("lead_sabc", train, test, "created_at")
    parts += [
        "### Bundled sample: `lead_sabc`, trained on leads before 2025-12-01, tested after",
        "\n".join(head + rows),
        "Fitted weights: "
        + ", ".join(f"{r.dimension} {r.fitted_weight:g}" for r in fit.comparison.itertuples()),
    ]
    public = Path(
        os.environ.get(
            "SALESANALYTICS_PUBLIC_DATA",
            Path(__file__).resolve().parents[2] / "shared" / "datasets",
        )
    )
    x = public / "xeducation_leads" / "Leads.csv"
    if x.is_file():
        d = sa.clean(sa.read_table(x), "leads", relax=["created_at"]).data
        idx = np.random.default_rng(0).permutation(len(d))
        cut = int(0.7 * len(d))
        rows, fit = _rows("xeducation_precontact", d.iloc[idx[:cut]], d.iloc[idx[cut:]], None)
        parts += [
            "### X Education: `xeducation_precontact` (pre-contact fields only), random 70/30 split, seed 0",
            "\n".join(head + rows),
            "Fitted weights: "
            + ", ".join(f"{r.dimension} {r.fitted_weight:g}" for r in fit.comparison.itertuples())
            + ". The X Education export has no dates, so the split is random, not out of time.",
        ]
    return "Scorecards (issue 6)", "\n\n".join(parts)
