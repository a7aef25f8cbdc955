"""StageProbabilityModel fitted from counts computed in the engine.

The model's estimators (Aalen-Johansen with delayed entry, beta-binomial shrinkage) take
weighted subjects; the engine groups identical subjects (stage, segment, duration, fate,
entry) and returns their count, so the fit reads aggregates, never the stage history.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pandas as pd

from ..calibration.estimators import aalen_johansen, shrink
from ..calibration.model import stage_row
from ..funnel._common import as_list, as_of_ts
from . import expressions as ex

__all__ = ["fit_in_engine", "calibration_counts"]


def _kinds(fate: pd.Series) -> np.ndarray:
    return fate.astype(object).where(fate.notna(), None).to_numpy()


def _counts(g: pd.DataFrame) -> dict:
    n = g["n"].to_numpy(np.int64)
    fate = g["fate"]
    return {
        "entered": int(n.sum()),
        "won": int(n[(fate == "won").to_numpy(bool)].sum()),
        "lost": int(n[(fate == "lost").to_numpy(bool)].sum()),
        "open": int(n[fate.isna().to_numpy()].sum()),
    }


def _by_stage(df: pd.DataFrame) -> dict:
    return {k: g for k, g in df.groupby("stage", sort=False, observed=True)}


def _eventual(cr, g: pd.DataFrame) -> tuple[float, float]:
    won, lost = cr.final("won"), cr.final("lost")
    if won + lost <= 0:
        return float("nan"), 0.0
    return won / (won + lost), float(g.loc[g["fate"].notna(), "_w"].sum())


def _aj(g: pd.DataFrame):
    return aalen_johansen(
        g["duration"].to_numpy(float),
        _kinds(g["fate"]),
        ("won", "lost"),
        g["_w"].to_numpy(float),
        g["_entry"].to_numpy(float),
    )


def calibration_counts(ds, *, as_of, by=None) -> pd.DataFrame:
    """Per stage (and segment): deals entered, won, lost, open, as the model counts them.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> ds = sa.read_dataset(engine="duckdb")
    >>> calibration_counts(ds, as_of="2025-12-31")["stage"].iloc[0]
    'prospect'
    """
    from ..calibration.model import StageProbabilityModel

    model = StageProbabilityModel(by=by, age_effect=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_in_engine(model, ds, as_of)
    cols = ["stage", *as_list(by), "entered", "won", "lost", "open"]
    return model.table_[cols].copy()


def fit_in_engine(model, ds, as_of):
    """Fit ``model`` (a StageProbabilityModel) on an engine dataset; returns the model."""
    if as_of is None:
        raise ValueError("fit needs as_of: the date the estimate is made on")
    if "auto" in (model.window_days, model.age_effect):
        raise NotImplementedError(
            "window_days/age_effect='auto' run an inner backtest on open pipelines, which "
            "needs the pandas path: use EngineDataset.to_pandas() or fixed settings"
        )
    from ..stages import load_stages

    cfg = load_stages(model.stages if model.stages is not None else ds.stages)
    tr = ex.transitions(ds, as_of=as_of)
    as_of_end = as_of_ts(tr.attrs["as_of"])
    window, age = model.window_days, model.age_effect
    model.window_, model.age_effect_ = window, age
    fc = ex.first_close(tr)
    model.history_start_ = model._history_start(fc)
    model._check_history(fc, as_of_end)
    start = model.history_start_
    if window:
        w_start = as_of_end - pd.Timedelta(days=window)
        start = w_start if start is None else max(start, w_start)
    by = as_list(model.by)
    v = ex.visit_counts(
        tr, as_of=as_of_end, by=by, start=start, half_life_days=model.half_life_days
    )
    model.stages_ = cfg
    model.by_ = by
    model.as_of_ = as_of_end.normalize()
    model.data_sha256_ = hashlib.sha256(  # the counts come sorted: the same on every run
        pd.util.hash_pandas_object(v[["stage", "duration", "fate", "n"]], index=False)
        .to_numpy()
        .tobytes()
    ).hexdigest()
    model.curves_ = {}
    rows, stage_p = [], {}
    parts = _by_stage(v)
    empty = v.iloc[:0]
    for s in cfg.open_keys:
        g = parts.get(s, empty)
        cr = _aj(g)
        model.curves_[s] = cr
        p, n_eff = _eventual(cr, g)
        stage_p[s] = p
        rows.append(stage_row(s, p, n_eff, _counts(g), by=by, alpha=model.alpha))
    model.stage_estimate_ = pd.Series(stage_p, name="estimate")
    if by:
        rows += _segments(model, v, by, stage_p)
    table = pd.DataFrame(rows)
    table["configured"] = table["stage"].map(cfg.probabilities)
    model.table_ = table
    _fit_age(model, tr, stage_p, cfg, start)
    model.engine_ = ds.engine
    return model


def _segments(model, v, by, stage_p) -> list[dict]:
    rows, fallback = [], []
    parts = _by_stage(v)
    for s in model.stages_.open_keys:
        g = parts.get(s, v.iloc[:0])
        cells = []
        for key, cell in g.groupby(by, dropna=False, sort=True, observed=True):
            key = key if isinstance(key, tuple) else (key,)
            p, n_eff = _eventual(_aj(cell), cell)
            cells.append((key, cell, p, n_eff))
        if not cells:
            continue
        wins = np.array([p * n for _, _, p, n in cells])
        ns = np.array([n for _, _, _, n in cells])
        mean, lo, hi, kappa = shrink(wins, ns, stage_p[s], alpha=model.alpha)
        for (key, cell, p, n_eff), m, lo_, hi_ in zip(cells, mean, lo, hi):
            enough = int(cell["n"].sum()) >= model.min_count
            if not enough:
                fallback.append(f"{s}/{'/'.join(map(str, key))}")
            rows.append(
                {
                    "stage": s,
                    **dict(zip(by, key)),
                    **_counts(cell),
                    "estimate": m if enough else stage_p[s],
                    "low": lo_,
                    "high": hi_,
                    "stage_estimate": stage_p[s],
                    "effective_n": n_eff,
                    "raw": p,
                    "prior_strength": kappa,
                    "fallback": not enough,
                }
            )
    if fallback:
        warnings.warn(
            f"{len(fallback)} segment(s) below min_count={model.min_count} use their "
            f"stage estimate: {', '.join(fallback[:8])}{' ...' if len(fallback) > 8 else ''}",
            stacklevel=4,
        )
    return rows


def _fit_age(model, tr, stage_p, cfg, start) -> None:
    exits, nxt = ex.exit_counts(tr, start=start)
    value_of = {**stage_p, cfg.won: 1.0, cfg.lost: 0.0}
    model.exit_curves_ = {}
    parts = _by_stage(exits)
    for i, s in enumerate(cfg.open_keys):
        g = parts.get(s, exits.iloc[:0])
        cr = aalen_johansen(
            g["dwell_days"].to_numpy(float),
            _kinds(g["_kind"]),
            ("forward", "back", "lost"),
            g["n"].to_numpy(float),
            g["_entry"].to_numpy(float),
        )
        f = nxt[nxt["stage"] == s]
        val = f["next_stage"].map(value_of).astype(float)
        ok = val.notna().to_numpy()
        n = f["n"].to_numpy(float)
        v_fwd = float((val.to_numpy()[ok] * n[ok]).sum() / n[ok].sum()) if ok.any() else stage_p[s]
        v_back = stage_p[cfg.open_keys[i - 1]] if i > 0 else 0.0
        v_back = 0.0 if not np.isfinite(v_back) else v_back
        model.exit_curves_[s] = (cr, v_fwd, v_back)
