"""Out-of-time evaluation: fit at the split, score open deals on later snapshots."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..funnel.transitions import stage_transitions
from ..metrics import (
    auc,
    brier_decomposition,
    brier_score,
    expected_calibration_error,
    log_loss,
    reliability_table,
    wilson,
)
from ..snapshot import pipeline_as_of
from ..view import rewind

__all__ = ["CalibrationReport", "calibration_report", "score_predictions", "snapshot_predictions"]


@dataclass
class CalibrationReport:
    """``scores`` (one row per model), ``reliability`` (binned), ``by_stage``, ``predictions``,
    ``by_split`` (Brier per model and refit date)."""

    scores: pd.DataFrame
    reliability: pd.DataFrame
    by_stage: pd.DataFrame
    predictions: pd.DataFrame
    by_split: pd.DataFrame


def snapshot_predictions(
    models: Mapping[str, object], dataset: Dataset, split, snapshots=None, *, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Fit copies of ``models`` at ``split``; predict the open deals of every snapshot.

    ``split`` is one date, or several for a rolling evaluation: the models are refitted at
    each split date and score the snapshots up to the next one. The outcome ``y`` is the
    deal's fate at the end of the data (1 won, 0 lost); deals still open at the end are
    left out (their outcome is unknown).
    """
    full = stage_transitions(dataset)
    end = pd.Timestamp(full.attrs["as_of"])
    fate = full.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")[
        "outcome"
    ]
    splits = _splits(split)
    if snapshots is None:
        first = splits[0]
        snapshots = (
            pd.date_range(first, end - pd.Timedelta(days=30), freq="MS")
            if end - first > pd.Timedelta(days=60)
            else [first]
        )
        snapshots = sorted({*splits, *snapshots})
    snapshots = sorted(pd.Timestamp(s) for s in snapshots)
    parts = []
    for i, fit_at in enumerate(splits):
        until = splits[i + 1] if i + 1 < len(splits) else None
        todo = [s for s in snapshots if s >= fit_at and (until is None or s < until)]
        if not todo:
            continue
        fitted = {
            name: copy.deepcopy(m).fit(*rewind(dataset, fit_at)) for name, m in models.items()
        }
        for snap in todo:
            deals = pipeline_as_of(*rewind(dataset, snap))
            y = deals["opportunity_id"].map(fate)
            deals = deals[y.isin(["won", "lost"])].reset_index(drop=True)
            yy = (deals["opportunity_id"].map(fate) == "won").astype(int).to_numpy()
            for name, m in fitted.items():
                p = m.predict_proba(deals)
                p = p["p_win"] if isinstance(p, pd.DataFrame) else p
                parts.append(
                    pd.DataFrame(
                        {
                            "split": fit_at.date().isoformat(),
                            "snapshot": snap.date().isoformat(),
                            "model": name,
                            "opportunity_id": deals["opportunity_id"],
                            "stage": deals["stage"],
                            **{b: deals[b] for b in by if b in deals},
                            "p": p.to_numpy(float),
                            "y": yy,
                        }
                    )
                )
    if not parts:
        raise ValueError("no snapshot on or after the split date: nothing to score")
    return pd.concat(parts, ignore_index=True)


def _splits(split) -> list[pd.Timestamp]:
    if isinstance(split, (str, pd.Timestamp)) or not isinstance(split, Iterable):
        return [pd.Timestamp(split)]
    out = sorted({pd.Timestamp(s) for s in split})
    if not out:
        raise ValueError("split: give at least one date")
    return out


def score_predictions(
    pred: pd.DataFrame, *, bins: int = 10, group: str = "model"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Brier (with reliability / resolution / uncertainty), log-loss, ECE, AUC; reliability table."""
    rows, rel = [], []
    for name, g in pred.groupby(group, sort=False):
        p = g["p"].clip(0, 1).fillna(g["y"].mean()).to_numpy()
        y = g["y"].to_numpy()
        tab = reliability_table(p, y, bins)
        base = y.mean()
        rows.append(
            {
                group: name,
                "n": len(y),
                "observed_rate": base,
                "mean_predicted": p.mean(),
                "brier": brier_score(p, y),
                **brier_decomposition(p, y, bins),
                "log_loss": log_loss(p, y),
                "ece": expected_calibration_error(p, y, bins),
                "auc": auc(y, p) if np.ptp(p) > 0 else float("nan"),
            }
        )
        lo, hi = wilson(tab["wins"], tab["n"])
        rel.append(
            tab.reset_index().assign(
                **{group: name},
                observed_low=lo,
                observed_high=hi,
                bin_low=lambda d: d["k"] / bins,
                bin_high=lambda d: (d["k"] + 1) / bins,
            )
        )
    rel = pd.concat(rel, ignore_index=True)[
        [
            group,
            "bin_low",
            "bin_high",
            "n",
            "mean_predicted",
            "observed",
            "observed_low",
            "observed_high",
        ]
    ]
    return pd.DataFrame(rows), rel


def calibration_report(
    models: Mapping[str, object],
    dataset: Dataset,
    split,
    *,
    snapshots=None,
    by: Sequence[str] | str = (),
    bins: int = 10,
) -> CalibrationReport:
    """Compare models out of time: fit at ``split``, score open deals on later snapshots.

    Parameters
    ----------
    models
        ``{"name": estimator}``; each is fitted (a copy) with ``fit(dataset, as_of=split)``.
    split
        The date the models are fitted on; only history up to it is used. Several dates give
        a rolling evaluation: refitted at each, scoring the snapshots up to the next one.
    snapshots
        Dates whose open deals are scored (default: the split and every month start after it,
        up to 30 days before the end of the data).
    by
        Segment columns carried into ``predictions`` and scored in ``by_stage``.

    Returns
    -------
    CalibrationReport
        ``scores``: per model, n, Brier with its reliability / resolution / uncertainty
        decomposition, log-loss, ECE and AUC. ``reliability``: per model and probability bin,
        mean predicted vs observed with a Wilson interval. ``by_stage``: Brier per model and
        stage (and segment). ``by_split``: Brier per model and refit date.
    """
    by = [by] if isinstance(by, str) else list(by)
    pred = snapshot_predictions(models, dataset, split, snapshots, by=by)
    scores, rel = score_predictions(pred, bins=bins)
    errors = pred.assign(_se=(pred["p"] - pred["y"]) ** 2)

    def brier_by(keys):
        return (
            errors.groupby(keys, sort=False)
            .agg(
                n=("y", "size"),
                mean_predicted=("p", "mean"),
                observed=("y", "mean"),
                brier=("_se", "mean"),
            )
            .reset_index()
        )

    scores.attrs = {
        "split": ", ".join(str(d.date()) for d in _splits(split)),
        "snapshots": sorted(pred["snapshot"].unique().tolist()),
        "outcome": "won (1) or lost (0) by the end of the data; deals still open then are left out",
    }
    return CalibrationReport(
        scores, rel, brier_by(["model", "stage", *by]), pred, brier_by(["model", "split"])
    )
