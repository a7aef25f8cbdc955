"""Period forecasts: every method backtested on the synthetic process, the sample and Maven
CRM; the default stage model against the true probabilities; the simulation's speed."""

from __future__ import annotations

import os
import resource
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

import salesanalytics as sa
from salesanalytics.forecast._window import window
from salesanalytics.forecast.period import simulate_wins
from salesanalytics.sample import Process, generate
from salesanalytics.sample import generator as _gen
from salesanalytics.sample.process import (
    BACK,
    CHANNELS,
    DWELL_SIGMA,
    LOST,
    LOST_DWELL_MULTIPLIER,
    REPS,
    SKIP,
    STAGES,
    WON,
    chain_move,
)

from .results import machine

N_SIMS = 4000
N_LEADS, MONTHS = 24_750, 27
MONTHLY = pd.date_range("2024-12-31", "2026-08-31", freq="ME")  # 21 month forecasts
QUARTERLY = pd.date_range("2024-12-31", "2026-06-30", freq="QE")  # 7 quarter forecasts
SEEDS, VOLUMES = (1, 2, 3), (1, 4)  # volume: multiple of N_LEADS (4x: about 216 wins a month)


def _dataset(g) -> sa.Dataset:
    return sa.read_dataset(
        {"opportunities": g.tables["opportunities"], "stage_history": g.tables["stage_history"]}
    )


# ---------------------------------------------------------------- the oracle
def _won_by(rng, proc, ch, rep, state, entered, now, stop) -> np.ndarray:
    """Day each deal is won (inf: not by ``stop``), continuing the generator's chain from its
    open ``state`` entered on day ``entered`` and still held on day ``now``.

    The exit still to come from the current stage is back, forward or lost with the prior
    weights times the chance its lognormal dwell outlasts the age already spent (lost exits
    dwell longer), its dwell drawn beyond that age; later moves follow the chain as generated.
    """
    n = len(state)
    p_adv, med = proc.advance_probability(ch, rep), proc.dwell_median(ch, rep)
    back, skip, rows = np.array(BACK), np.array(SKIP), np.arange(n)
    s = state.copy()
    age = np.maximum(now - entered, 1e-9)
    b, p, m = back[s], p_adv[rows, s], med[rows, s]
    sf = ndtr(-(np.log(age) - np.log(m)) / DWELL_SIGMA)
    sf_lost = ndtr(-(np.log(age) - np.log(m * LOST_DWELL_MULTIPLIER)) / DWELL_SIGMA)
    w_back, w_fwd, w_lost = b * sf, (1 - b) * p * sf, (1 - b) * (1 - p) * sf_lost
    u = rng.random(n) * (w_back + w_fwd + w_lost)
    go_back, fwd = u < w_back, (u >= w_back) & (u < w_back + w_fwd)
    lost = ~go_back & ~fwd
    beyond = np.maximum(rng.random(n), 1e-300) * np.where(lost, sf_lost, sf)
    t = entered + m * np.where(lost, LOST_DWELL_MULTIPLIER, 1.0) * np.exp(
        -DWELL_SIGMA * ndtri(beyond)
    )
    s = np.where(go_back, s - 1, np.where(lost, LOST, s + 1 + (fwd & (rng.random(n) < skip[s]))))
    out = np.full(n, np.inf)
    done = (s == WON) & (t <= stop)
    out[done] = t[done]
    active = (s < WON) & (t <= stop)
    for _ in range(200):
        a = np.flatnonzero(active)
        if not len(a):
            break
        sa_ = s[a]
        u, u2, z = rng.random(len(a)), rng.random(len(a)), rng.standard_normal(len(a))
        nxt, dwell = chain_move(sa_, u, u2, z, p=p_adv[a, sa_], med=med[a, sa_])
        te = t[a] + dwell
        s[a], t[a] = nxt, te
        hit = a[(nxt == WON) & (te <= stop)]
        out[hit] = t[hit]
        active[a] = (nxt < WON) & (te <= stop)
    return out


class Oracle:
    """The forecast the generator's own parameters give for one generated dataset.

    Open deals: each continues the true chain from its stage and time in it (true win
    probabilities and true timing, per channel and rep); amounts as on the deal, the close
    amount's true noise. New deals: created at the true rate (seasonal leads x mean lead
    conversion per channel x the lognormal lead-to-deal delay), Poisson, then the chain from
    prospect. ``n_draws`` joint draws per date; nothing is fitted.
    """

    def __init__(self, g, n_leads: int, months: int = MONTHS, n_draws: int = 2000, seed=0):
        self.o = g.tables["opportunities"]
        h = g.tables["stage_history"]
        self.h = h.assign(t=self._day(h["entered_at"]))
        self.R, self.months = n_draws, months
        self.rng = np.random.default_rng(seed)
        self.proc = Process()
        start = _gen.START
        ms = np.array([(start + pd.DateOffset(months=k) - start).days for k in range(months + 1)])
        moy = (start.month - 1 + np.arange(months)) % 12 + 1
        w = (1.0 + 0.3 * np.cos(2 * np.pi * (moy - 11) / 12)) * np.diff(ms)
        self.month_start = ms.astype(float)
        self.leads_per_day = n_leads * (w / w.sum()) / np.diff(ms)
        # mean lead conversion per channel over the lead features' distribution
        r = np.random.default_rng(12345)
        k = 1_000_000
        emp = np.maximum(5, np.round(np.exp(r.normal(np.log(120), 1.0, k))))
        d = _gen.LEAD_DRIVERS
        signal = (
            d["budget_fit"] * (r.integers(1, 6, k) - 3) / np.sqrt(2)
            + d["urgency"] * (r.integers(1, 6, k) - 3) / np.sqrt(2)
            + d["decision_maker_engaged"] * ((r.random(k) < 0.4) - 0.4) / np.sqrt(0.24)
            + d["company_size"] * np.log(emp / 120.0)
        )
        conv = np.array(
            [
                np.mean(1 / (1 + np.exp(-(_gen.LEAD_INTERCEPT + signal + e))))
                for e in self.proc.channel_lead_effect
            ]
        )
        share = np.array([c[1] for c in CHANNELS]) / sum(c[1] for c in CHANNELS)
        self.conversion = float((share * conv).sum())
        self.new_channel = share * conv / self.conversion

    @staticmethod
    def _day(ts) -> np.ndarray:
        return np.asarray((pd.to_datetime(ts) - _gen.START).dt.total_seconds() / 86400, float)

    def creations_per_day(self, day: np.ndarray) -> np.ndarray:
        """Expected deals created per day: leads x conversion x lognormal(6 days, 0.7) delay."""
        lag = np.linspace(0.01, 150, 3000)
        dens = np.exp(-((np.log(lag) - np.log(6.0)) ** 2) / (2 * 0.7**2)) / (
            lag * 0.7 * np.sqrt(2 * np.pi)
        )
        m = np.searchsorted(self.month_start, day[:, None] - lag[None, :], side="right") - 1
        ok = (m >= 0) & (m < self.months)
        leads = np.where(ok, self.leads_per_day[np.clip(m, 0, self.months - 1)], 0.0)
        return self.conversion * (leads * dens).sum(axis=1) * (lag[1] - lag[0])

    def forecast(self, as_of, stop) -> dict:
        """Draws of what is booked in (as_of, stop]: ``total``, ``open``, ``new``."""
        now, end = self._day(pd.Series([as_of]))[0], self._day(pd.Series([stop]))[0]
        rng, R = self.rng, self.R
        last = self.h[self.h["t"] <= now].drop_duplicates("opportunity_id", keep="last")
        last = last[last["stage"].isin(STAGES)]
        o = self.o.set_index("opportunity_id").loc[last["opportunity_id"]]
        ch = o["channel"].map({c[0]: i for i, c in enumerate(CHANNELS)}).to_numpy()
        rep = o["owner"].map({r[0]: i for i, r in enumerate(REPS)}).to_numpy()
        stage = last["stage"].map({x: i for i, x in enumerate(STAGES)}).to_numpy()
        idx = np.tile(np.arange(len(stage)), R)
        won = _won_by(
            rng, self.proc, ch[idx], rep[idx], stage[idx], last["t"].to_numpy()[idx], now, end
        )
        amount = o["amount"].to_numpy(float)[idx] * np.exp(rng.normal(0, 0.08, len(idx)))
        open_ = np.where(np.isfinite(won), amount, 0.0).reshape(R, -1).sum(axis=1)
        grid = np.linspace(now, end, 400)
        lam = self.creations_per_day(grid)
        k = rng.poisson(float(np.trapezoid(lam, grid)), R)
        n = int(k.sum())
        t0 = np.interp(rng.random(n), np.cumsum(lam) / lam.sum(), grid)
        nch = rng.choice(len(CHANNELS), n, p=self.new_channel)
        w_new = _won_by(
            rng, self.proc, nch, rng.integers(0, len(REPS), n), np.zeros(n, int), t0, t0, end
        )
        prod = rng.choice(len(_gen.PRODUCTS), n, p=[x[1] for x in _gen.PRODUCTS])
        size = np.round(
            np.array([x[2] for x in _gen.PRODUCTS])[prod] * np.exp(rng.normal(0, 0.5, n)), -2
        ) * np.exp(rng.normal(0, 0.08, n))
        new = np.bincount(
            np.repeat(np.arange(R), k), weights=np.where(np.isfinite(w_new), size, 0), minlength=R
        )
        return {"total": open_ + new, "open": open_, "new": new}


def oracle_backtest(g, n_leads: int, dates=MONTHLY, n_draws: int = 2000) -> pd.DataFrame:
    """Per month: the oracle's mean, median, P10/P90 and its own expected absolute error."""
    orc, rows = Oracle(g, n_leads, n_draws=n_draws), []
    closed = pd.to_datetime(orc.o["closed_at"]).where(orc.o["stage"] == "won")
    for d in dates:
        w = window(d, "M")
        x = orc.forecast(w.as_of, w.stop)["total"]
        rows.append(
            {
                "as_of": w.as_of.date().isoformat(),
                "wins": int(((closed > w.as_of) & (closed <= w.stop)).sum()),
                "oracle": x.mean(),
                "oracle_p50": np.median(x),
                "oracle_p10": np.quantile(x, 0.1),
                "oracle_p90": np.quantile(x, 0.9),
                "oracle_abs": np.abs(x - np.median(x)).mean(),
            }
        )
    return pd.DataFrame(rows)


def with_oracle(model: pd.DataFrame, oracle: pd.DataFrame) -> pd.DataFrame:
    """The model's monthly backtest rows beside the oracle's, month by month."""
    return model[model["method"] == "model"].merge(oracle, on="as_of", validate="1:1")


def versus_oracle(b: pd.DataFrame) -> dict:
    """WAPE, bias and P10-P90 hits of the model and of the oracle on the same months (``b``
    from :func:`with_oracle`, one run or several runs' rows pooled); the oracle's expected
    WAPE (the floor: its own error if the process is as generated); the model's distance to
    the oracle (sum |model - oracle| / sum oracle: the error a better model could remove,
    free of the months' luck)."""
    a = b["actual"]
    return {
        "dates": len(b),
        "model_wape": float((b["expected"] - a).abs().sum() / a.sum()),
        "model_bias": float((b["expected"] - a).sum() / a.sum()),
        "model_covered": int(b["covered"].sum()),
        "oracle_wape": float((b["oracle"] - a).abs().sum() / a.sum()),
        "oracle_bias": float((b["oracle"] - a).sum() / a.sum()),
        "oracle_covered": int(((b["oracle_p10"] <= a) & (a <= b["oracle_p90"])).sum()),
        "floor": float(b["oracle_abs"].sum() / b["oracle"].sum()),
        "distance": float((b["expected"] - b["oracle"]).abs().sum() / b["oracle"].sum()),
        "wins_per_month": float(b["wins"].mean()),
    }


def _rows(label: str, horizon: str, b: pd.DataFrame) -> list[str]:
    s = sa.backtest_summary(b)
    # the WAPE expected if the forecast's own P10-P90 were the truth (normal: E|X - mean| =
    # 0.798 sd, sd = (P90 - P10) / 2.563): the part of the error no better mean removes
    sd = (b["p90"] - b["p10"]) / 2.563
    floor = (0.798 * sd).groupby(b["method"]).sum() / b.groupby("method")["actual"].sum()
    return [
        f"| {label} | {horizon} | {m} | {int(r['dates'])} | {r['wape']:.1%} | {r['bias']:+.1%} | "
        f"{int(r['covered'])} of {int(r['dates'])} ({r['coverage']:.0%}) | {r['accuracy']:.1%} | "
        f"{floor[m]:.1%} |"
        for m, r in s.iterrows()
    ]


def _backtests(label, ds, monthly, quarterly, lines, seconds) -> dict:
    out = {}
    for h, dates in (("M", monthly), ("Q", quarterly)):
        t0 = time.perf_counter()
        b = sa.backtest_forecast(ds, dates, h, n_sims=N_SIMS)
        seconds[f"{label} {h}"] = time.perf_counter() - t0
        lines += _rows(label, {"M": "month", "Q": "quarter"}[h], b)
        out[h] = b
    return out


# ------------------------------------------------- acceptance by seed and volume
def synthetic_run(seed: int, volume: int, lines: list[str], seconds: dict) -> dict:
    """Every method backtested monthly (21 dates) and quarterly (7), and the oracle monthly,
    on ``generate(seed, n_leads=N_LEADS * volume, months=27)``; the backtests' rows go to
    ``lines`` (the table of every method)."""
    n_leads = N_LEADS * volume
    g = generate(seed, with_activities=False, n_leads=n_leads, months=MONTHS)
    label = f"synthetic, seed {seed}" + (f", {volume}x volume" if volume > 1 else "")
    b = _backtests(label, _dataset(g), MONTHLY, QUARTERLY, lines, seconds)
    t0 = time.perf_counter()
    vs = with_oracle(b["M"], oracle_backtest(g, n_leads, MONTHLY))
    seconds[f"{label} oracle"] = time.perf_counter() - t0
    name = f"seed {seed}, n_leads {n_leads:,}"
    return {"name": name, "volume": volume, "deals": len(g.tables["opportunities"]), **b, "vs": vs}


def pooled(runs: list[dict]) -> dict:
    """Runs of one volume as one: their months (quarters) summed, coverage counted over all."""
    return {
        "name": f"pooled, n_leads {N_LEADS * runs[0]['volume']:,} (seeds "
        + ", ".join(r["name"].split(",")[0].split()[1] for r in runs)
        + ")",
        "volume": runs[0]["volume"],
        "deals": sum(r["deals"] for r in runs),
        **{k: pd.concat([r[k] for r in runs], ignore_index=True) for k in ("M", "Q", "vs")},
    }


def acceptance(run: dict) -> dict:
    """The issue's two lines on the synthetic process read on one run (or pooled runs):
    monthly P10-P90 coverage in [65%, 95%], WAPE <= 12% and below weighted and funnel;
    quarterly coverage >= 4 of 7 (as a share when pooled) and WAPE <= 12%. Each line: the
    parts that fail (empty: met)."""
    m, q = sa.backtest_summary(run["M"]), sa.backtest_summary(run["Q"])
    mm, qm = m.loc["model"], q.loc["model"]
    monthly = {
        f"coverage {int(mm['covered'])} of {int(mm['dates'])} ({mm['coverage']:.1%}) outside "
        "65-95%": 0.65 <= mm["coverage"] <= 0.95,
        f"WAPE {mm['wape']:.2%} > 12%": mm["wape"] <= 0.12,
        f"not below weighted ({m.loc['weighted', 'wape']:.1%})": mm["wape"]
        < m.loc["weighted", "wape"],
        f"not below funnel ({m.loc['funnel', 'wape']:.1%})": mm["wape"] < m.loc["funnel", "wape"],
    }
    quarterly = {
        f"coverage {int(qm['covered'])} of {int(qm['dates'])} < 4/7": 7 * qm["covered"]
        >= 4 * qm["dates"],
        f"WAPE {qm['wape']:.2%} > 12%": qm["wape"] <= 0.12,
    }
    return {
        "month": m,
        "quarter": q,
        "monthly_fails": [k for k, ok in monthly.items() if not ok],
        "quarterly_fails": [k for k, ok in quarterly.items() if not ok],
        **versus_oracle(run["vs"]),
    }


def _verdict(fails: list[str]) -> str:
    return "met" if not fails else "NOT met: " + "; ".join(fails)


def _acceptance_table(runs: list[dict]) -> str:
    head = (
        "| data | wins a month | month WAPE: model / weighted / funnel | month P10-P90 holds "
        "(model) | quarter WAPE (model) | quarter P10-P90 holds (model) | oracle month WAPE / "
        "expected WAPE (floor) | monthly line | quarterly line |\n"
        "|---|---:|---|---|---:|---|---|---|---|"
    )
    lines = []
    for r in runs:
        a = acceptance(r)
        m, q = a["month"], a["quarter"]
        mm, qm = m.loc["model"], q.loc["model"]
        lines.append(
            f"| {r['name']} | {a['wins_per_month']:.0f} | "
            + " / ".join(f"{m.loc[k, 'wape']:.1%}" for k in ("model", "weighted", "funnel"))
            + f" | {int(mm['covered'])} of {int(mm['dates'])} ({mm['coverage']:.0%}) | "
            f"{qm['wape']:.1%} | {int(qm['covered'])} of {int(qm['dates'])} | "
            f"{a['oracle_wape']:.1%} / {a['floor']:.1%} | {_verdict(a['monthly_fails'])} | "
            f"{_verdict(a['quarterly_fails'])} |"
        )
    return "\n".join([head, *lines])


def _acceptance_text(table: list[dict]) -> str:
    """The issue's synthetic lines read against the oracle, per volume (its pooled line where
    there is one), then which runs meet every line and which fail, and why."""
    text = []
    for volume in VOLUMES:
        mine = [r for r in table if r["volume"] == volume]
        r = mine[-1]  # the pooled line, or the one run
        a = versus_oracle(r["vs"])
        text.append(
            f"{r['name']}, {a['wins_per_month']:.0f} wins a month: model monthly WAPE "
            f"{a['model_wape']:.1%}, the oracle's {a['oracle_wape']:.1%} on the same months, "
            f"its expected WAPE (the floor) {a['floor']:.1%}"
            + (
                ", above the issue's 12%: no forecast meets that line but by luck"
                if a["floor"] > 0.12
                else ""
            )
            + f"; the model's forecasts {a['distance']:.1%} away from the oracle's month by "
            "month."
        )
    each = [(r["name"], acceptance(r)) for r in table if not r["name"].startswith("pooled")]
    held = [n for n, a in each if not a["monthly_fails"] and not a["quarterly_fails"]]
    failed = [
        f"{n} ({'; '.join(a['monthly_fails'] + a['quarterly_fails'])})"
        for n, a in each
        if a["monthly_fails"] or a["quarterly_fails"]
    ]
    text.append("Every acceptance line holds on: " + ("; ".join(held) or "none") + ".")
    if failed:
        text.append("A line fails on: " + "; ".join(failed) + ".")
    return " ".join(text)


def _oracle_text(runs: list[dict]) -> str:
    head = (
        "| data | deals | wins a month | model WAPE | oracle WAPE | oracle expected WAPE "
        "(floor) | model bias | oracle bias | P10-P90 holds: model, oracle | model's distance "
        "to the oracle |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"
    )
    lines = []
    for run in runs:
        r = versus_oracle(run["vs"])
        lines.append(
            f"| {run['name']} | {run['deals']:,} | "
            f"{r['wins_per_month']:.0f} | {r['model_wape']:.1%} | {r['oracle_wape']:.1%} | "
            f"{r['floor']:.1%} | {r['model_bias']:+.1%} | {r['oracle_bias']:+.1%} | "
            f"{r['model_covered']}, {r['oracle_covered']} of {r['dates']} | "
            f"{r['distance']:.1%} |"
        )
    return "\n".join([head, *lines])


def brier_excess(ds: sa.Dataset, fit_at: str = "2025-07-01") -> dict:
    """Brier above the generator's exact probabilities, deals open on the 8 month starts after
    ``fit_at`` whose fate is known."""
    t = sa.stage_transitions(ds)
    fate = t.drop_duplicates("opportunity_id", keep="last").set_index("opportunity_id")["outcome"]
    models = {
        "default (by='auto')": sa.StageProbabilityModel(by="auto"),
        "no segments (by=None)": sa.StageProbabilityModel(by=None),
        "by='channel'": sa.StageProbabilityModel(by="channel"),
    }
    fitted = {k: m.fit(ds, as_of=fit_at) for k, m in models.items()}
    proc, rows = Process(), []
    start = pd.Timestamp(fit_at) + pd.offsets.MonthBegin(1)
    for s in pd.date_range(start, periods=8, freq="MS"):
        d = sa.pipeline_as_of(ds, s - pd.Timedelta(days=1))
        keep = (
            d["opportunity_id"].map(fate).isin(["won", "lost"])
            & d["owner"].isin([r[0] for r in REPS])
            & d["channel"].isin([c[0] for c in CHANNELS])
        ).to_numpy()
        d = d[keep]
        truth = proc.win_probability_given_age(
            d["channel"].map({c[0]: i for i, c in enumerate(CHANNELS)}).to_numpy(),
            d["owner"].map({r[0]: i for i, r in enumerate(REPS)}).to_numpy(),
            d["stage"].map({x: i for i, x in enumerate(STAGES)}).to_numpy(),
            d["age_days"].to_numpy(),
        )
        y = (d["opportunity_id"].map(fate) == "won").to_numpy(float)
        rows.append(
            pd.DataFrame(
                {"y": y, "truth": truth, **{k: m.predict_proba(d) for k, m in fitted.items()}}
            )
        )
    r = pd.concat(rows)
    true = float(np.mean((r["truth"] - r["y"]) ** 2))
    out = {k: float(np.mean((r[k] - r["y"]) ** 2)) - true for k in models}
    out["n"] = len(r)
    out["chosen"] = "+".join(fitted["default (by='auto')"].by_)
    return out


def speed(n_deals: int = 100_000, n_sims: int = 10_000) -> tuple[float, float, float, float]:
    """Wall and CPU seconds, traced peak MiB and the process's peak resident MiB."""
    rng = np.random.default_rng(0)
    amount = rng.lognormal(10, 0.5, n_deals).round(-2)
    p = rng.uniform(0.05, 0.9, n_deals)
    stage = rng.integers(0, 6, n_deals)
    factor = rng.beta(50, 50, (n_sims, 6)) / 0.5
    tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    simulate_wins(amount, p, np.zeros(n_deals, int), 1, n_sims, rng, factor=(factor, stage))
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return secs, cpu, peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bookings_memory(n_deals: int = 200_000, n_sims: int = 5_000) -> tuple[float, float]:
    """``forecast_bookings`` with a fitted stage model (stage-probability redraws) over
    ``n_deals`` open deals: CPU seconds and traced peak MiB."""
    ds = sa.read_dataset()
    m = sa.StageProbabilityModel(by=None).fit(ds, as_of="2025-12-31")
    d = sa.pipeline_as_of(ds, "2025-12-31").sample(n_deals, replace=True, random_state=0)
    tracemalloc.start()
    c0 = time.process_time()
    sa.forecast_bookings(d.reset_index(drop=True), m, horizon_days=90, n_sims=n_sims)
    cpu = time.process_time() - c0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return cpu, peak


def run(quick: bool = False) -> tuple[str, str]:
    warnings.filterwarnings("ignore", category=UserWarning)
    lines = [
        "| data | period | method | dates | WAPE | bias | P10-P90 holds the actual | "
        "mean accuracy | WAPE if its interval is right |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    seconds: dict[str, float] = {}
    runs, table = [], []  # table: each volume's runs, then their pooled line
    for volume in VOLUMES:
        mine = [synthetic_run(seed, volume, lines, seconds) for seed in SEEDS[: 1 if quick else 3]]
        runs += mine
        table += mine + ([pooled(mine)] if len(mine) > 1 else [])
    if not quick:
        ds = sa.read_dataset()
        _backtests(
            "bundled sample",
            ds,
            pd.date_range("2024-12-31", "2026-05-31", freq="ME"),
            pd.date_range("2024-12-31", "2026-03-31", freq="QE"),
            lines,
            seconds,
        )
        public = os.environ.get("SALESANALYTICS_PUBLIC_DATA")
        if public and (Path(public) / "maven_crm").is_dir():
            m = sa.read_dataset(Path(public) / "maven_crm", stages="maven")
            _backtests(
                "Maven CRM",
                m,
                pd.date_range("2017-03-31", "2017-11-30", freq="ME"),
                pd.date_range("2017-03-31", "2017-09-30", freq="QE"),
                lines,
                seconds,
            )
    b = brier_excess(sa.read_dataset())
    secs, cpu, peak, rss = speed()
    bcpu, bpeak = bookings_memory()
    body = "\n\n".join(
        [
            f"Command: `python3 tasks.py bench forecast`. Machine: {machine()}.",
            "Backtest of `forecast_period`: on each month (quarter) end, every method "
            "forecasts what the next month (quarter) books, with only what was known that "
            "day; `model` is the default (stage model with `by='auto'` and time to close, "
            "plus deals not yet created), `weighted` amount x configured stage probability "
            "of the deals expected to close by the period end, `funnel` stage counts x "
            "historical stage-to-won conversion within the period x average deal size. WAPE "
            "= sum |forecast - actual| / sum actual; accuracy = max(0, 1 - |actual - "
            f"forecast| / actual); {N_SIMS:,} draws. Synthetic: `generate(seed, n_leads, "
            "months=27)` (2024-07 to 2026-09), 21 month and 7 quarter forecasts; at the "
            "benchmark's volume (n_leads 24,750: about 7,900 deals, 53 wins a month) its "
            "bookings are lumpy (products of 8k, 25k and 80k with lognormal spread), so also at "
            "4x that volume (n_leads 99,000, about 216 wins a month), seeds 1 to 3 each: how "
            "much of the error no forecast removes is measured against the oracle below.",
            "\n".join(lines),
            "Acceptance on the synthetic process, by seed and volume: the issue's lines "
            "(monthly over at least 17 dates: P10-P90 coverage in 65-95%, WAPE <= 12% and "
            "below weighted and funnel; quarterly over at least 7 dates: coverage >= 4 of 7, "
            "WAPE <= 12%), read on the backtests above; pooled: each volume's seeds as one "
            "(sum |forecast - actual| / sum actual over all their months, coverage counted over "
            "all, the quarterly coverage as a share of 4/7); the oracle's columns as below.",
            _acceptance_table(table),
            "Against the oracle (monthly, the same 21 dates): the oracle forecasts with the "
            "generator's true parameters (each open deal continues the true chain from its "
            "stage and time in it, per channel and rep; new deals at the true seasonal rate; "
            "2,000 joint draws; nothing fitted). Its WAPE is what no model can beat on these "
            "months; its expected WAPE (E|bookings - its median| / E bookings, from its own "
            "draws) is the floor free of the months' luck; the model's distance to the oracle "
            "(sum |model - oracle| / sum oracle) is the part a better model could remove.",
            _oracle_text(table),
            _acceptance_text(table),
            "Time per backtest (s): " + "; ".join(f"{k} {v:.0f}" for k, v in seconds.items()) + ".",
            "Default stage model vs the truth (bundled sample, fit at 2025-07-01, one year in; "
            f"deals open on the next 8 month starts with known fate, n = {b['n']:,}): Brier "
            "above the true probabilities: "
            + ", ".join(f"{k} {v:.5f}" for k, v in b.items() if k not in ("n", "chosen"))
            + f"; `auto` chose `{b['chosen']}`.",
            f"Simulation: 100,000 open deals x 10,000 draws (with stage-probability "
            f"uncertainty) in {secs:.1f} s wall, {cpu:.1f} s CPU, peak {peak:,.0f} MiB traced "
            f"(process peak resident set {rss:,.0f} MiB, including the backtests above); "
            "float32 buffers of 4 million deal-draws, stage by stage, on one BLAS thread "
            "(threaded BLAS on the shared 2 cores cost about 4x the CPU). The machine is "
            "shared: wall time depends on the load, CPU time much less. `forecast_bookings` "
            f"with stage-probability redraws over 200,000 deals x 5,000 draws: {bcpu:.0f} s "
            f"CPU, peak {bpeak:,.0f} MiB traced (its draws x deals factors are built one block "
            "of deals at a time; before, one 200,000 x 5,000 float64 matrix: 7.5 GiB).",
        ]
    )
    return "Pipeline forecast", body
