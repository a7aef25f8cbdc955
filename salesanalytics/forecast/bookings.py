"""Pipeline forecasts: expected bookings from open deals, with an interval, and their backtest.

A forecast is amount x probability. The probability comes from a fitted
:class:`~salesanalytics.StageProbabilityModel` (win within the horizon, from its curves) or,
as most teams do today, from the stage config (win eventually, no timing).
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..funnel._common import as_list
from ..funnel._common import as_of_ts as end_of
from ..funnel.transitions import stage_transitions
from ..snapshot import pipeline_as_of
from ..stages import StageConfig, load_stages

__all__ = ["backtest_forecast", "backtest_summary", "deal_forecast", "forecast_bookings"]


def deal_forecast(
    deals: pd.DataFrame, probabilities, *, horizon_days: float | None = None
) -> pd.DataFrame:
    """Each open deal with its win probability and expected value (amount x probability).

    Parameters
    ----------
    deals
        Open deals, e.g. :func:`~salesanalytics.pipeline_as_of`: ``stage``, ``amount``,
        ``age_days`` and segment columns.
    probabilities
        A fitted model with ``predict_proba`` (e.g. ``StageProbabilityModel``), or stage
        probabilities: a stage config, preset name or ``{stage: p}``.
    horizon_days
        With a model that supports it: the probability of winning within this many days.
        Stage probabilities have no timing: they always mean "wins eventually".

    Returns
    -------
    DataFrame
        ``deals`` plus ``p`` and ``expected`` (NaN amount: NaN expected, never silently 0).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"stage": ["proposal", "contract"], "amount": [1000.0, 500.0]})
    >>> deal_forecast(d, {"proposal": 0.5, "contract": 0.9})["expected"].tolist()
    [500.0, 450.0]
    """
    if hasattr(probabilities, "predict_proba"):
        if horizon_days is not None:
            if not _timed(probabilities):
                raise ValueError(
                    f"{type(probabilities).__name__} has no timing: give no horizon (win "
                    "eventually) or use a StageProbabilityModel"
                )
            p = probabilities.predict_proba(deals, horizon_days=horizon_days)["p_win_within"]
        else:
            p = probabilities.predict_proba(deals)
    else:
        table = _stage_probabilities(probabilities)
        unknown = set(deals["stage"].dropna()) - set(table)
        if unknown:
            raise ValueError(f"no probability for stage(s) {sorted(unknown)}")
        p = deals["stage"].map(table).astype(float)
    p = pd.Series(np.asarray(p, float), index=deals.index)
    amount = pd.to_numeric(deals["amount"], errors="coerce") if "amount" in deals else np.nan
    return deals.assign(p=p, expected=amount * p)


def forecast_bookings(
    deals: pd.DataFrame,
    probabilities,
    *,
    horizon_days: float | None = None,
    by: str | Sequence[str] | None = None,
    interval: float = 0.8,
    n_sims: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Expected bookings from the open deals, with an interval, in total and by segment.

    Each deal is won (its whole amount) or not, independently, with its probability; the
    interval is the central ``interval`` range of the simulated total (``n_sims`` draws from
    a generator seeded with ``seed``: the same inputs give the same numbers). With a fitted
    :class:`~salesanalytics.StageProbabilityModel`, each draw also redraws every stage's
    probability from its estimate's uncertainty (beta with the stage's effective count), so
    the interval is wider when the history is thin: an error in a stage probability moves
    all of that stage's deals together.

    Returns
    -------
    DataFrame
        Per segment (and a ``(total)`` row): ``deals``, ``no_amount`` (deals without an
        amount or a probability, left out of the sums), ``pipeline`` (sum of amounts),
        ``expected``, ``low``, ``high``, ``sd`` (of independent wins, without the
        probabilities' own uncertainty) and ``coverage`` (= ``interval``).

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"stage": ["a", "b"], "amount": [100.0, 200.0]})
    >>> f = forecast_bookings(d, {"a": 0.5, "b": 0.25})
    >>> f[["expected", "low", "high"]].iloc[0].tolist()
    [100.0, 0.0, 300.0]
    """
    if not 0 < interval < 1:
        raise ValueError(f"interval must be between 0 and 1, got {interval}")
    by = as_list(by)
    d = deal_forecast(deals, probabilities, horizon_days=horizon_days)
    groups = [(("(total)",) * len(by), d)]
    if by:
        groups += [
            (key, g) for key, g in d.groupby(by[0] if len(by) == 1 else by, dropna=False, sort=True)
        ]
    q = ((1 - interval) / 2, 1 - (1 - interval) / 2)
    spread = _stage_uncertainty(probabilities, n_sims, seed)
    rows = []
    for key, g in groups:
        has = g["expected"].notna()
        amount = pd.to_numeric(g.loc[has, "amount"]).to_numpy(float)
        p = np.clip(g.loc[has, "p"].to_numpy(float), 0, 1)
        factor = None
        if spread is not None:  # (draws x stages + a NaN column, stage column of each deal)
            col = {s: i for i, s in enumerate(spread.columns)}
            idx = g.loc[has, "stage"].map(col).fillna(len(col)).to_numpy(int)
            table = np.column_stack([spread.to_numpy(float), np.full(n_sims, np.nan)])
            factor = (table, idx)
        draws = _simulate(amount, p, factor, np.random.default_rng(seed), n_sims)
        low, high = np.quantile(draws, q, method="inverted_cdf")
        key = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                **dict(zip(by, key)),
                "deals": len(g),
                "no_amount": int((~has).sum()),
                "pipeline": float(amount.sum()),
                "expected": float((amount * p).sum()),
                "low": float(low),
                "high": float(high),
                "sd": float(np.sqrt((amount**2 * p * (1 - p)).sum())),
                "coverage": interval,
            }
        )
    out = pd.DataFrame(rows)
    out.attrs = {"horizon_days": horizon_days, "n_sims": n_sims, "seed": seed}
    return out


def backtest_forecast(
    dataset: Dataset,
    as_of_dates: Sequence,
    horizon_days: float,
    models: Mapping[str, object] | None = None,
    *,
    interval: float = 0.8,
    n_sims: int = 20_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Forecast the bookings of the open pipeline on past dates and compare with what closed.

    On each date, every model is fitted on the history known then (``fit(dataset, as_of)``)
    and forecasts the deals open that day; the actual is the amount of those deals won in the
    next ``horizon_days``. Deals created later are not part of the forecast nor the actual.

    Parameters
    ----------
    models
        ``{"name": model or stage probabilities}``. Default: the calibrated model (win within
        the horizon) and the configured stage probabilities (win eventually), the usual
        "weighted pipeline".

    Returns
    -------
    DataFrame
        Per date and model: ``deals``, ``expected``, ``low``, ``high``, ``actual``,
        ``error`` (expected - actual), ``covered`` (actual inside the interval).

    Examples
    --------
    >>> import salesanalytics as sa
    >>> bt = sa.backtest_forecast(sa.read_dataset(), ["2025-12-31"], 90, n_sims=2000)
    >>> list(bt["model"]), bool((bt["actual"] > 0).all())
    (['calibrated', 'configured'], True)
    """
    from ..calibration import StageProbabilityModel

    models = (
        models
        if models is not None
        else {
            "calibrated": StageProbabilityModel(),
            "configured": dataset.stages,
        }
    )
    won = won_deals(dataset, stage_transitions(dataset))
    rows = []
    for as_of in sorted(pd.Timestamp(a) for a in as_of_dates):
        deals = pipeline_as_of(dataset, as_of)
        start = end_of(as_of)
        stop = start + pd.Timedelta(days=horizon_days)
        mine = won[won["opportunity_id"].isin(deals["opportunity_id"])]
        hit = (mine["won_at"] > start) & (mine["won_at"] <= stop)
        actual = float(mine.loc[hit, "booked"].sum())
        for name, m in models.items():
            if hasattr(m, "fit"):
                m = copy.deepcopy(m).fit(dataset, as_of=as_of)
            f = forecast_bookings(
                deals,
                m,
                horizon_days=horizon_days if _timed(m) else None,
                interval=interval,
                n_sims=n_sims,
                seed=seed,
            ).iloc[0]
            rows.append(
                {
                    "as_of": as_of.date().isoformat(),
                    "model": name,
                    "deals": int(f["deals"]),
                    "expected": f["expected"],
                    "low": f["low"],
                    "high": f["high"],
                    "actual": actual,
                    "error": f["expected"] - actual,
                    "covered": bool(f["low"] <= actual <= f["high"]),
                }
            )
    out = pd.DataFrame(rows)
    out.attrs = {"horizon_days": horizon_days, "interval": interval}
    return out


def backtest_summary(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per model: forecast dates, mean actual, mean error (bias), mean absolute error and
    how many intervals held the actual, from :func:`backtest_forecast`."""
    return (
        backtest.assign(abs_error=backtest["error"].abs())
        .groupby("model", sort=False)
        .agg(
            dates=("as_of", "size"),
            mean_actual=("actual", "mean"),
            mean_error=("error", "mean"),
            mean_abs_error=("abs_error", "mean"),
            covered=("covered", "sum"),
        )
    )


def _simulate(amount: np.ndarray, p: np.ndarray, factor, rng, n_sims: int) -> np.ndarray:
    """Totals of ``n_sims`` draws of independent wins, in blocks to bound memory.

    ``factor`` (None, or ``(table, column)``: draws x stages and each deal's stage column)
    scales each deal's probability per draw. Deals go in blocks of ``2_000_000 // n_sims``;
    a block's uniforms are drawn draws x deals, row by row, so the same seed gives the same
    wins whatever the chunking below. Each block is worked through in chunks of draws small
    enough to stay in the processor's cache (memory: a few chunk-sized buffers).
    """
    total = np.zeros(n_sims)
    block = max(1, 2_000_000 // n_sims)
    rows = max(1, min(n_sims, _CHUNK // block))
    width = min(block, len(amount))
    buffers = [np.empty(rows * width), np.empty(rows * width), np.empty(rows * width, bool)]
    for i in range(0, len(amount), block):
        sl = slice(i, i + block)
        a, pp = amount[sl], p[sl]
        k = len(a)
        col = None if factor is None else factor[1][sl]
        for r0 in range(0, n_sims, rows):
            r1 = min(r0 + rows, n_sims)
            m = r1 - r0
            # contiguous m x k views: the generator fills them row by row
            uu, pr, ww = (b[: m * k].reshape(m, k) for b in buffers)
            rng.random(out=uu)
            if factor is None:
                np.less(uu, pp, out=ww)
            else:
                # p x factor, clipped to [0, 1], compared with a uniform in [0, 1): the clip
                # never changes the comparison, so it is left out
                np.take(factor[0][r0:r1], col, axis=1, out=pr)
                np.multiply(pr, pp, out=pr)
                np.less(uu, pr, out=ww)
            pr[...] = ww  # as numbers: ``wins @ a`` of the original casts the same way
            total[r0:r1] += pr @ a
    return total


#: Numbers per chunk of draws x deals in ``_simulate`` (about 1.6 MB per buffer).
_CHUNK = 200_000


def _stage_uncertainty(model, n_sims: int, seed: int) -> pd.DataFrame | None:
    """Per draw and stage: the redrawn stage probability over its estimate (None: none known)."""
    table = getattr(model, "stage_estimate_", None)
    if table is None:
        return None
    t = model.table_.drop_duplicates("stage").set_index("stage")
    p = t["stage_estimate"].clip(1e-6, 1 - 1e-6)
    n = t["effective_n"].clip(lower=1)
    rng = np.random.default_rng([seed, 1])
    draws = rng.beta((p * n).to_numpy(), ((1 - p) * n).to_numpy(), size=(n_sims, len(t)))
    return pd.DataFrame(draws / p.to_numpy(), columns=t.index)


def _stage_probabilities(probabilities) -> dict[str, float]:
    if isinstance(probabilities, Mapping) and all(
        isinstance(v, (int, float)) for v in probabilities.values()
    ):
        return {str(k): float(v) for k, v in probabilities.items()}
    cfg = probabilities if isinstance(probabilities, StageConfig) else load_stages(probabilities)
    return dict(cfg.probabilities)


def won_deals(dataset: Dataset, transitions: pd.DataFrame) -> pd.DataFrame:
    """Each won deal once: ``opportunity_id``, ``won_at`` and ``booked`` (the close amount,
    else the pipeline amount), with the transitions' segment columns."""
    won = transitions[transitions["outcome"] == "won"].drop_duplicates(
        "opportunity_id", keep="last"
    )
    o = dataset.opportunities
    closing = (
        o.drop_duplicates("opportunity_id").set_index("opportunity_id")["close_amount"]
        if o is not None and "close_amount" in o
        else pd.Series(dtype=float)
    )
    fallback = won["amount"] if "amount" in won else pd.Series(np.nan, index=won.index)
    booked = won["opportunity_id"].map(closing).fillna(fallback)
    return won.assign(won_at=won["exited_at"], booked=pd.to_numeric(booked, errors="coerce"))


def _timed(model) -> bool:
    """Whether ``model.predict_proba`` can say when a deal is won (``horizon_days``)."""
    predict = getattr(model, "predict_proba", None)
    return predict is not None and "horizon_days" in inspect.signature(predict).parameters
