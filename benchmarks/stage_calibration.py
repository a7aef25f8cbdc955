"""Stage win probabilities out of time: ours vs the baselines, on the sample and on Maven CRM."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd

import salesanalytics as sa

from .results import machine

COLUMNS = ["model", "n", "brier", "reliability", "resolution", "log_loss", "ece", "auc"]


def _models(segment_fields):
    return {
        "calibrated (default settings)": sa.StageProbabilityModel(
            by=segment_fields[0] if segment_fields else None
        ),
        "configured": sa.ConfiguredProbabilities(),
        "global win rate": sa.GlobalWinRate(),
        "stage rate, open dropped": sa.EmpiricalStageRate(),
        "naive Bayes (Odoo-style)": sa.NaiveBayesOdoo(fields=segment_fields),
    }


def _table(scores) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---" + "|---:" * (len(COLUMNS) - 1) + "|"]
    for _, r in scores.iterrows():
        lines.append(
            "| "
            + " | ".join(
                [str(r["model"]), f"{int(r['n']):,}"] + [f"{r[c]:.4f}" for c in COLUMNS[2:]]
            )
            + " |"
        )
    return "\n".join(lines)


def run(quick: bool = False) -> tuple[str, str]:
    warnings.filterwarnings("ignore", message=".*below min_count.*")
    parts = [
        f"Command: `python3 tasks.py bench calibration`. Machine: {machine()}.",
        "Each model is fitted on the history known at the split and scores the open deals of "
        "the split and of every later month start (outcome: won or lost by the end of the data; "
        "deals never closed are left out). Lower Brier / log-loss / ECE is better.",
    ]
    ds = sa.read_dataset()
    r = sa.calibration_report(_models(["channel"]), ds, "2025-12-31")
    parts += ["### Bundled sample, split 2025-12-31, segment channel", _table(r.scores)]
    public = Path(
        os.environ.get(
            "SALESANALYTICS_PUBLIC_DATA",
            Path(__file__).resolve().parents[2] / "shared" / "datasets",
        )
    )
    maven = public / "maven_crm"
    if maven.is_dir():
        m = sa.read_dataset(maven, stages="maven")
        t = sa.stage_transitions(m)
        midpoint = (
            t["entered_at"].min() + (pd.Timestamp(t.attrs["as_of"]) - t["entered_at"].min()) / 2
        ).normalize()
        for split, label in (
            (midpoint, "midpoint of the data (the declared split)"),
            (pd.Timestamp("2017-03-31"), "sensitivity"),
            (pd.Timestamp("2017-06-30"), "sensitivity"),
        ):
            r = sa.calibration_report(_models(["product", "owner"]), m, split)
            parts += [
                f"### Maven CRM, split {split.date()} ({label}), segment product",
                _table(r.scores),
            ]
        parts.append(
            "Maven is not stationary: the win rate of closed deals falls from 0.81 for the "
            "Nov-Dec 2016 cohorts to about 0.6 from April 2017, and 1,589 deals never close. At the "
            "declared split the calibrated model has the lowest Brier and log-loss; at the two "
            "sensitivity splits it does not (at 2017-03-31 every data-driven model extrapolates the "
            "early cohorts and the preset's placeholder 0.60, not a measured number, scores best; at "
            "2017-06-30 the global rate is 0.002 lower in Brier). The acceptance criterion is "
            "therefore not claimed as met."
        )
    else:
        parts.append(f"Maven CRM not found under {public}: section skipped.")
    return "Stage probability calibration (issue 5)", "\n\n".join(parts)
