"""What we will book this month or quarter: booked so far, open deals, deals not yet created.

``forecast_period`` adds three parts: ``already_won`` (booked in the period before
``as_of``, certain), ``from_open`` (open deals won before the period ends) and ``from_new``
(deals created after ``as_of`` and won within the period). Its interval is simulated over
deal outcomes, new-deal counts and the uncertainty of the estimates themselves.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..funnel._common import as_list
from ..funnel.transitions import stage_transitions
from ..snapshot import pipeline_as_of
from ..stages import StageConfig
from ._window import Window, window
from .bookings import _stage_probabilities, _stage_uncertainty, won_deals

__all__ = ["forecast_period", "forecast_deals", "METHODS"]

METHODS = ("model", "weighted", "funnel")
MISSING = "(missing)"
#: Draws per block of the simulation: memory stays near BLOCK x 4 bytes per array.
BLOCK = 4_000_000


def forecast_period(
    dataset: Dataset,
    as_of,
    horizon="M",
    *,
    by: str | Sequence[str] | None = None,
    method: str = "model",
    interval: float = 0.8,
    adjustment: float = 0.0,
    probabilities=None,
    model=None,
    pace: str | None = "owner",
    n_sims: int = 10_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Bookings of the period holding ``as_of``: expected, P10/P50/P90, and where they come from.

    Parameters
    ----------
    dataset
        History; only what was known at ``as_of`` is used.
    as_of
        Forecast date (a bare date is the end of that day). The period is the calendar month
        (``"M"``) or quarter (``"Q"``) holding the day after ``as_of``, or the next
        ``horizon`` days.
    horizon
        ``"M"``, ``"Q"`` or a number of days.
    by
        Segment column(s): one row per segment plus a ``(total)`` row. With ``method="model"``
        the stage model is segmented by them too; without, it chooses its own segments
        (``StageProbabilityModel(by="auto")``).
    method
        ``"model"``: P(win before the period ends) of each open deal from the stage model with
        time to close, plus new deals (creation rate with month-of-year seasonality x
        P(won within the rest of the window) x deal sizes seen). ``"weighted"``: amount x stage
        probability of the deals expected to close by the period end (the guides' weighted
        pipeline, [000]). ``"funnel"``: stage counts x the historical conversion of a stage to
        won within as many days x the average deal size, plus the usual number of deals
        created and won within such a window ([004]).
    interval
        Central probability of ``low``..``high``.
    adjustment
        Market adjustment of the part still to come, e.g. ``-0.05`` ([000]: +-5-10%).
    probabilities
        For ``"weighted"``: a stage config, preset, ``{stage: p}`` or a fitted model with
        ``predict_proba`` (win eventually); default the dataset's configured probabilities.
    model
        For ``"model"``: an unfitted ``StageProbabilityModel`` to fit at ``as_of`` instead of
        the default.
    pace
        For ``"model"``: the column whose values move deals at their own pace (default
        ``"owner"``: the rep working the deal). A deal's time to close is read from its
        stage's curve on a clock running ``k`` times slower, ``k`` = how much longer that
        value's stage visits last before moving forward than the average visit's (forward
        exits of visits entered at least 90 days before ``as_of``, geometric mean against the
        stage's, shrunk toward 1). The chance of winning is the stage model's either way; only
        the share of it that falls before the period ends changes. ``None``: every deal at its
        stage's average pace.
    n_sims, seed
        Simulated outcomes and the seed: same inputs, same numbers.

    Returns
    -------
    DataFrame
        Per segment (and ``(total)``): ``period``, ``method``, ``expected``, ``p10``, ``p50``,
        ``p90``, ``low``, ``high`` (the ``interval`` bounds), ``already_won``, ``from_open``,
        ``from_new``, ``open_deals``, ``pipeline``. ``attrs``: window, method and settings.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> f = sa.forecast_period(sa.read_dataset(), "2026-03-31", "M", n_sims=2000)
    >>> f.loc[0, "period"], bool(f.loc[0, "p10"] <= f.loc[0, "expected"] <= f.loc[0, "p90"])
    ('2026-04', True)
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not 0 < interval < 1:
        raise ValueError(f"interval must be between 0 and 1, got {interval}")
    w = window(as_of, horizon)
    by = as_list(by)
    t = stage_transitions(dataset, as_of=w.as_of)
    won = won_deals(dataset, t)
    won = won[won["won_at"] <= w.as_of]
    deals, fitted = forecast_deals(
        dataset,
        as_of,
        horizon,
        method=method,
        probabilities=probabilities,
        model=model,
        by=by,
        pace=pace,
        _t=t,
        _won=won,
        _with_model=True,
    )
    rng = np.random.default_rng([seed, 7])
    seg = _segment_key(deals, by)
    keys = sorted(set(seg)) if by else []
    open_draws = _simulate_open(deals, fitted, seg, keys, rng, n_sims)
    new = _new_part(dataset, t, won, w, by, keys, method, n_sims, seed)
    factor = 1.0 + adjustment
    rows = []
    q = [(1 - interval) / 2, 0.1, 0.5, 0.9, 1 - (1 - interval) / 2]
    booked = won[(won["won_at"] >= w.start) & (won["won_at"] <= w.as_of)]
    bkey = _segment_key(booked, by)
    for key in [None, *keys]:
        mine = slice(None) if key is None else (seg == key)
        d = deals[mine]
        already = float(
            booked.loc[(bkey == key) if key is not None else slice(None), "booked"].sum()
        )
        draws = factor * (open_draws[key] + new["draws"][key])
        lo, p10, p50, p90, hi = np.quantile(draws, q, method="inverted_cdf")
        e_open = float(np.nansum(d["expected"].to_numpy(float)))
        e_new = float(new["expected"][key])
        rows.append(
            {
                "period": w.label,
                **(
                    dict.fromkeys(by, "(total)")
                    if key is None
                    else dict(zip(by, key if isinstance(key, tuple) else (key,)))
                ),
                "method": method,
                "expected": already + factor * (e_open + e_new),
                "p10": already + p10,
                "p50": already + p50,
                "p90": already + p90,
                "low": already + lo,
                "high": already + hi,
                "already_won": already,
                "from_open": factor * e_open,
                "from_new": factor * e_new,
                "open_deals": len(d),
                "pipeline": float(np.nansum(d["amount"].to_numpy(float))),
            }
        )
    out = pd.DataFrame(rows)
    out.attrs = {
        "as_of": str(w.as_of.date()),
        "period": w.label,
        "start": str(w.start.date()),
        "end": str(w.stop.date()),
        "days_left": w.days_left,
        "method": method,
        "interval": interval,
        "adjustment": adjustment,
        "n_sims": n_sims,
        "seed": seed,
        **{k: v for k, v in deals.attrs.items() if k not in ("as_of", "period", "method")},
        "new_deals": new["info"],
    }
    return out


def forecast_deals(
    dataset: Dataset,
    as_of,
    horizon="M",
    *,
    method: str = "model",
    probabilities=None,
    model=None,
    by: str | Sequence[str] | None = None,
    pace: str | None = "owner",
    _t: pd.DataFrame | None = None,
    _won: pd.DataFrame | None = None,
    _with_model: bool = False,
):
    """Each deal open on ``as_of`` with ``p`` (won before the period ends) and ``expected``.

    The per-deal part of :func:`forecast_period` (``from_open``), e.g. for
    :func:`forecast_review`. Deals outside the weighted pipeline's close dates get ``p = 0``.
    Deals without an amount are valued at the average deal won in the last year
    (``forecast_amount``; their count in ``attrs["imputed_amounts"]``). ``pace``: as in
    :func:`forecast_period`.

    Examples
    --------
    >>> import salesanalytics as sa
    >>> d = sa.forecast_deals(sa.read_dataset(), "2026-03-31", "M", method="weighted")
    >>> {"opportunity_id", "owner", "p", "expected"} <= set(d.columns)
    True
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    w = window(as_of, horizon)
    by = as_list(by)
    t = _t if _t is not None else stage_transitions(dataset, as_of=w.as_of)
    deals = pipeline_as_of(dataset, w.as_of, transitions=t)
    deals = _with_close_date(deals, dataset)
    if "amount" not in deals:  # e.g. exports that value closed deals only
        deals = deals.assign(amount=np.nan)
    amount = pd.to_numeric(deals["amount"], errors="coerce")
    won = _won if _won is not None else won_deals(dataset, t)
    won = won[won["won_at"] <= w.as_of]
    info: dict = {"imputed_amounts": int(amount.isna().sum())}
    if amount.isna().any():  # no value on the deal: the average recent deal won
        amount = amount.fillna(_average_size(won, w))
    if method == "model":
        from ..calibration import StageProbabilityModel
        from ..calibration.model import fit_on_own_transitions

        m = model if model is not None else StageProbabilityModel(by=by or "auto")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = fit_on_own_transitions(_clone(m), dataset, w.as_of, t)
        p = _p_within(m, deals, t, w, pace)
        info["model_by"] = list(m.by_)
        info["pace"] = pace
    elif method == "weighted":
        if probabilities is not None and hasattr(probabilities, "predict_proba"):
            p = np.asarray(probabilities.predict_proba(deals), float)
        else:
            cfg = probabilities if probabilities is not None else dataset.stages
            table = _stage_probabilities(cfg)
            p = deals["stage"].map(table).astype(float).to_numpy()
        if "expected_close_date" in deals:
            due = pd.to_datetime(deals["expected_close_date"], errors="coerce")
            p = np.where(due.notna() & (due > w.stop), 0.0, p)
    else:
        rates, size, more = _funnel_rates(t, won, w, dataset.stages)
        info.update(more)
        p = deals["stage"].map(rates).fillna(0.0).to_numpy(float)
        amount = pd.Series(size, index=deals.index, dtype=float)
    p = np.clip(np.nan_to_num(p, nan=0.0), 0.0, 1.0)
    out = deals.assign(p=p, expected=amount.to_numpy(float) * p, forecast_amount=amount)
    out.attrs = {"as_of": str(w.as_of.date()), "period": w.label, "method": method, **info}
    return (out, m if method == "model" else None) if _with_model else out


# ---------------------------------------------------------------- open deals
#: Pace: visits entered at least this many days before ``as_of`` (their forward exits are
#: nearly all seen, so slow segments are not flattered by the slow visits still open).
PACE_SETTLED_DAYS = 90


def _p_within(m, deals: pd.DataFrame, t: pd.DataFrame, w: Window, pace) -> np.ndarray:
    """P(won before the period ends): the stage model's P(win) times its share of the wins
    still to come that fall within the days left, on a clock run at the segment's pace.

    Without ``pace`` the stage model's own timing (per stage, every deal at the stage's
    pace). With ``pace="owner"`` a deal whose rep moves deals through stages ``k`` times as
    slowly as the average visit has its age and the days left divided by ``k`` before the
    stage's time-to-close curve is read (durations scale with the segment: accelerated
    failure time), so a slow rep's deals are not credited with the average rep's pace.
    """
    left = w.days_left
    pr = m.predict_proba(deals, horizon_days=left)
    p = pr["p_win_within"].to_numpy(float, copy=True)
    if not pace or len(deals) == 0 or pace not in deals or pace not in t:
        return p
    speed = _pace(t, w.as_of, pace)
    k = deals[pace].astype("string").map(speed).astype(float).fillna(1.0).to_numpy(float)
    age = deals["age_days"].fillna(0.0).to_numpy(float) if "age_days" in deals else 0.0
    p_win = pr["p_win"].to_numpy(float)
    for kk in np.unique(k[k != 1.0]):
        at = np.flatnonzero(k == kk)
        d = deals.iloc[at].assign(age_days=np.broadcast_to(age, len(deals))[at] / kk)
        q = m.predict_proba(d, horizon_days=left / kk)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(q["p_win"] > 0, q["p_win_within"] / q["p_win"], 0.0)
        p[at] = p_win[at] * np.clip(share, 0.0, 1.0)
    return p


def _pace(t: pd.DataFrame, as_of: pd.Timestamp, col: str) -> pd.Series:
    """Per value of ``col``: how many times longer than the average visit its stage visits
    last before moving forward (geometric mean of dwell over the stage's, shrunk toward 1).

    Log dwell of the forward exits (advanced, skipped, won) of the visits entered at least
    ``PACE_SETTLED_DAYS`` before ``as_of``, less its stage's mean; each value's mean residual
    is shrunk by empirical Bayes (between-value variance against the residual variance / n).
    """
    v = t[
        t["outcome"].isin(["advanced", "skipped", "won"])
        & (t["entered_at"] <= as_of - pd.Timedelta(days=PACE_SETTLED_DAYS))
        & (t["dwell_days"] > 0)
        & t[col].notna()
    ]
    if len(v) < 30:
        return pd.Series(dtype=float)
    y = np.log(v["dwell_days"].to_numpy(float))
    r = y - v.groupby("stage")["dwell_days"].transform(lambda d: np.log(d).mean()).to_numpy()
    g = pd.DataFrame({"key": v[col].astype("string").to_numpy(), "r": r}).groupby("key")["r"]
    mean, n = g.mean(), g.size().astype(float)
    s2 = float(np.var(r, ddof=1))
    tau2 = max(
        float(np.average((mean - np.average(mean, weights=n)) ** 2, weights=n))
        - float(np.mean(s2 / n)),
        0.0,
    )
    if tau2 == 0.0:
        return pd.Series(1.0, index=mean.index)
    shrunk = mean * tau2 / (tau2 + s2 / n)
    return np.exp(shrunk).rename(col)


def _simulate_open(deals: pd.DataFrame, m, seg, keys, rng, n_sims: int) -> dict:
    """Per segment key (None: total) the simulated bookings of the open deals."""
    amount = deals["forecast_amount"].to_numpy(float)
    p = deals["p"].to_numpy(float)
    ok = np.isfinite(amount) & (p > 0)
    factor = None
    if m is not None:
        spread = _stage_uncertainty(m, n_sims, int(rng.integers(2**31)))
        if spread is not None:
            col = {s: i for i, s in enumerate(spread.columns)}
            factor = (spread.to_numpy(float), deals["stage"].map(col).to_numpy())
    codes = np.zeros(len(deals), int)
    for i, k in enumerate(keys):
        codes[seg == k] = i + 1
    totals = simulate_wins(
        amount[ok], p[ok], codes[ok], len(keys) + 1, n_sims, rng, factor=_sub(factor, ok)
    )
    out = {k: totals[i + 1] for i, k in enumerate(keys)}
    out[None] = totals.sum(axis=0) if keys else totals[0]
    return out


def _sub(factor, ok):
    if factor is None:
        return None
    return factor[0], factor[1][ok]


def simulate_wins(
    amount: np.ndarray,
    p: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    n_sims: int,
    rng: np.random.Generator,
    *,
    factor=None,
) -> np.ndarray:
    """Simulated totals per group (``n_groups`` x ``n_sims``) of independent wins.

    Each deal wins its amount with probability ``p`` (times its stage's redrawn factor for
    the draw, when ``factor = (draws x stages, stage index per deal)``). Deals are taken
    stage by stage in blocks of at most ``BLOCK`` deal-draws, in float32 buffers reused
    from block to block, so memory stays bounded whatever the size. The sums run on one BLAS
    thread: the blocks are small, and threads fighting over a busy machine's cores cost more
    than they give (about 4x the CPU time on 2 shared cores).
    """
    with _one_blas_thread():
        return _simulate_blocks(amount, p, group, n_groups, n_sims, rng, factor)


def _one_blas_thread():
    """A context limiting BLAS to one thread (threadpoolctl, a scikit-learn dependency)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn always brings it
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _simulate_blocks(amount, p, group, n_groups, n_sims, rng, factor) -> np.ndarray:
    out = np.zeros((n_groups, n_sims))
    n = len(amount)
    if n == 0:
        return out
    stage = factor[1] if factor is not None else np.zeros(n, int)
    order = np.lexsort((group, stage))
    amount, p, group, stage = amount[order], p[order], group[order], stage[order]
    cuts = np.flatnonzero(np.diff(stage)) + 1
    runs = list(zip(np.r_[0, cuts], np.r_[cuts, n]))
    sims = min(n_sims, max(1, BLOCK // min(n, BLOCK)))
    cols = max(1, min(n, BLOCK // sims))
    u = np.empty(sims * cols, np.float32)
    prob = np.empty(sims * cols, np.float32)
    wins = np.empty(sims * cols, np.float32)
    for a, b in runs:
        f_all = factor[0][:, stage[a]].astype(np.float32) if factor is not None else None
        for d0 in range(a, b, cols):
            d1 = min(b, d0 + cols)
            k = d1 - d0
            onehot = np.zeros((k, n_groups), np.float32)
            onehot[np.arange(k), group[d0:d1]] = amount[d0:d1]
            pk = p[d0:d1].astype(np.float32)
            for s0 in range(0, n_sims, sims):
                s1 = min(n_sims, s0 + sims)
                m = s1 - s0
                uu, pp, ww = (x[: m * k].reshape(m, k) for x in (u, prob, wins))
                rng.random(dtype=np.float32, out=uu)
                if f_all is not None:
                    np.multiply(pk[None, :], f_all[s0:s1, None], out=pp)
                    np.less(uu, pp, out=ww, casting="unsafe")  # 1.0 where won
                else:
                    np.less(uu, pk[None, :], out=ww, casting="unsafe")
                out[:, s0:s1] += (ww @ onehot).T
    return out


# ---------------------------------------------------------------- new deals
def _new_part(dataset, t, won, w: Window, by, keys, method, n_sims, seed) -> dict:
    """Expected bookings of deals created after ``as_of`` and won in the window, and draws."""
    zero = np.zeros(n_sims)
    if method == "weighted":
        return {
            "expected": dict.fromkeys([None, *keys], 0.0),
            "draws": dict.fromkeys([None, *keys], zero),
            "info": "weighted pipeline: open deals only",
        }
    created = _creations(t)
    if by:
        created = created.assign(_seg=_segment_key(created, by))
    expected, draws, info = {}, {}, {}
    for i, key in enumerate([None, *keys] if not by else keys):
        c = created if key is None else created[created["_seg"] == key]
        rng = np.random.default_rng([seed, 11, i])
        if method == "funnel":
            e, d, note = _new_funnel(c, won, w, rng, n_sims)
        else:
            e, d, note = _new_model(c, won, w, rng, n_sims)
        expected[key], draws[key] = e, d
        info[str(key)] = note
    if by:
        expected[None] = float(sum(expected[k] for k in keys))
        draws[None] = np.sum([draws[k] for k in keys], axis=0) if keys else zero
    return {"expected": expected, "draws": draws, "info": info.get("None", info)}


def _creations(t: pd.DataFrame) -> pd.DataFrame:
    """One row per deal: when it entered the pipeline, and its segment columns."""
    first = t.sort_values("entered_at", kind="mergesort").drop_duplicates("opportunity_id")
    return first.rename(columns={"entered_at": "created"}).reset_index(drop=True)


def _time_to_win(created: pd.DataFrame, won: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """Days from creation to win (inf: not won by as_of) and the booked amount per deal."""
    wi = won.drop_duplicates("opportunity_id").set_index("opportunity_id")
    at = created["opportunity_id"].map(wi["won_at"])
    days = ((at - created["created"]).dt.total_seconds() / 86400).to_numpy(float)
    days = np.where(np.isnan(days), np.inf, days)
    return days, created["opportunity_id"].map(wi["booked"])


def _new_model(c: pd.DataFrame, won, w: Window, rng, n_sims):
    """Creation rate (with seasonality) x P(won within the days left) x deal sizes."""
    L = int(np.ceil(w.days_left))
    zero = np.zeros(n_sims)
    if len(c) == 0 or L <= 0:
        return 0.0, zero, {"rate_per_day": 0.0}
    rate, dispersion, n_rate = _creation_rate(c["created"], w)
    age = (w.as_of - c["created"]).dt.total_seconds().to_numpy() / 86400
    ttw, booked = _time_to_win(c, won)
    recent = age <= 730
    # P(won within d days of creation), from deals created at least d days before as_of
    grid = np.arange(L) + 0.5
    F = np.zeros(L)
    n_obs = np.zeros(L)
    for k, d in enumerate(grid):
        seen = recent & (age >= d)
        n_obs[k] = seen.sum()
        F[k] = (ttw[seen] <= d).mean() if n_obs[k] else 0.0
    lam = rate(np.arange(L))  # expected creations per day still to come
    creations = float(lam.sum())
    mu = float((lam * F[::-1]).sum())  # a deal created on day k has L - k - 0.5 days to win
    q = mu / creations if creations > 0 else 0.0
    sizes = booked[(ttw <= max(L, 30)) & recent].to_numpy(float)
    if len(sizes) < 20:
        sizes = booked[np.isfinite(ttw)].to_numpy(float)
    sizes = sizes[np.isfinite(sizes)]
    if len(sizes) == 0 or mu == 0:
        return 0.0, zero, {"rate_per_day": creations / L, "p_win_in_window": q}
    # parameter uncertainty: the rate (gamma on the count it rests on), the win share (beta)
    # and the mean deal size (Bayesian bootstrap weights on the sizes seen)
    lam_draw = creations * rng.gamma(n_rate, 1.0 / n_rate, n_sims)
    n_q = float(n_obs[n_obs > 0].mean()) if (n_obs > 0).any() else 1.0
    q_draw = rng.beta(max(q * n_q, 1e-3), max((1 - q) * n_q, 1e-3), n_sims)
    if dispersion > 1.0:  # negative binomial: variance = dispersion x mean
        r = lam_draw / (dispersion - 1.0)
        counts = rng.negative_binomial(r, r / (r + lam_draw))
    else:
        counts = rng.poisson(lam_draw)
    k = rng.binomial(counts, q_draw)
    total = int(k.sum())
    pick = rng.integers(0, len(sizes), total)
    draws = np.bincount(np.repeat(np.arange(n_sims), k), weights=sizes[pick], minlength=n_sims)
    expected = mu * float(sizes.mean())
    info = {
        "expected_creations": round(creations, 2),
        "p_win_in_window": round(q, 4),
        "mean_size": round(float(sizes.mean()), 2),
        "dispersion": round(dispersion, 3),
    }
    return expected, draws, info


def _creation_rate(created: pd.Series, w: Window):
    """Daily creation rate for the days after ``as_of`` (function of the day offset).

    With at least 12 full months of history: log monthly rate = level + first harmonic of the
    month of year, fitted on the last 24 full months; else the rate of the last 90 days. Also
    the dispersion of monthly counts around the fit (1: Poisson) and the count the level
    rests on.
    """
    months = created.dt.to_period("M")
    last_full = pd.Period(w.as_of.normalize() + pd.Timedelta(days=1), "M") - 1
    first_full = months.min() + 1
    span = pd.period_range(max(first_full, last_full - 23), last_full, freq="M")
    if len(span) >= 12:
        counts = months.value_counts().reindex(span, fill_value=0).to_numpy(float)
        days = np.array([p.days_in_month for p in span], float)
        moy = np.array([p.month for p in span], float)
        X = np.column_stack(
            [np.ones(len(span)), np.cos(2 * np.pi * moy / 12), np.sin(2 * np.pi * moy / 12)]
        )
        beta = _poisson_fit(X, counts, np.log(days))
        fit = np.exp(X @ beta + np.log(days))
        dispersion = float(np.sum((counts - fit) ** 2 / fit) / max(len(span) - 3, 1))
        dispersion = max(dispersion, 1.0)

        def rate(offset: np.ndarray) -> np.ndarray:
            day = w.as_of.normalize() + pd.to_timedelta(offset + 1, unit="D")
            m = day.month.to_numpy(float)
            return np.exp(
                beta[0]
                + beta[1] * np.cos(2 * np.pi * m / 12)
                + beta[2] * np.sin(2 * np.pi * m / 12)
            )

        return rate, dispersion, float(counts.sum())
    since = w.as_of - pd.Timedelta(days=90)
    start = max(since, created.min())
    days = max((w.as_of - start).total_seconds() / 86400, 1.0)
    n = float(((created > since) & (created <= w.as_of)).sum())
    return (lambda offset: np.full(len(offset), n / days)), 1.0, max(n, 1.0)


def _poisson_fit(X: np.ndarray, y: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Poisson regression by Newton steps (a few parameters, a few dozen rows)."""
    beta = np.zeros(X.shape[1])
    beta[0] = np.log(max(y.sum(), 0.5) / np.exp(offset).sum())
    for _ in range(50):
        mu = np.exp(X @ beta + offset)
        step = np.linalg.solve(X.T @ (mu[:, None] * X) + 1e-9 * np.eye(X.shape[1]), X.T @ (y - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return beta


def _new_funnel(c: pd.DataFrame, won, w: Window, rng, n_sims):
    """Average number of deals created and won within as many days in the past x avg size."""
    L = w.days_left
    ttw, booked = _time_to_win(c, won)
    starts = _past_starts(w)
    counts = []
    for s in starts:
        made = (c["created"] > s) & (c["created"] <= s + pd.Timedelta(days=L))
        end_days = ((s + pd.Timedelta(days=L)) - c["created"]).dt.total_seconds() / 86400
        counts.append(int((made & (ttw <= end_days.to_numpy())).sum()))
    size = _average_size(won, w)
    mean = float(np.mean(counts)) if counts else 0.0
    draws = rng.poisson(mean, n_sims) * size
    return mean * size, draws.astype(float), {"new_wins_per_window": mean, "size": size}


def _past_starts(w: Window) -> list[pd.Timestamp]:
    """Up to 12 past window starts, 30 days apart, whose window ended by ``as_of``."""
    L = pd.Timedelta(days=w.days_left)
    return [w.as_of - L - pd.Timedelta(days=30 * j) for j in range(12)]


def _average_size(won: pd.DataFrame, w: Window) -> float:
    recent = won[won["won_at"] > w.as_of - pd.Timedelta(days=365)]
    recent = recent if len(recent) else won
    return float(recent["booked"].mean()) if len(recent) else 0.0


def _funnel_rates(t, won, w: Window, cfg: StageConfig) -> tuple[dict, float, dict]:
    """Per stage: share of the deals in it at past dates that were won within the window."""
    L = pd.Timedelta(days=w.days_left)
    won_at = won.drop_duplicates("opportunity_id").set_index("opportunity_id")["won_at"]
    n, k = {}, {}
    for s in _past_starts(w):
        open_ = t[(t["entered_at"] <= s) & (t["exited_at"].isna() | (t["exited_at"] > s))]
        open_ = open_.drop_duplicates("opportunity_id", keep="last")
        at = open_["opportunity_id"].map(won_at)
        hit = (at > s) & (at <= s + L)
        for stage, g in hit.groupby(open_["stage"]):
            n[stage] = n.get(stage, 0) + len(g)
            k[stage] = k.get(stage, 0) + int(g.sum())
    rates = {s: k[s] / n[s] for s in n if n[s]}
    size = _average_size(won, w)
    return rates, size, {"funnel_rates": {s: round(r, 4) for s, r in rates.items()}, "size": size}


# ---------------------------------------------------------------- helpers
def _segment_key(df: pd.DataFrame, by: list[str]) -> np.ndarray:
    if not by:
        return np.zeros(len(df), int)
    cols = [df[b].astype("object").where(df[b].notna(), MISSING).astype(str) for b in by]
    if len(by) == 1:
        return cols[0].to_numpy(object)
    keys = np.empty(len(df), object)
    keys[:] = list(zip(*cols))
    return keys


def _with_close_date(deals: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    o = dataset.opportunities
    if o is None or "expected_close_date" not in o or "expected_close_date" in deals:
        return deals
    due = o.drop_duplicates("opportunity_id").set_index("opportunity_id")["expected_close_date"]
    return deals.assign(expected_close_date=deals["opportunity_id"].map(due))


def _clone(model):
    """A fresh, unfitted copy with the same settings (constructor params only)."""
    import copy

    return copy.deepcopy(model)
