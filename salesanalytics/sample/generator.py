"""Deterministic synthetic CRM export with known ground truth.

``generate(seed)`` simulates 24 months of leads, opportunities with full stage history,
activities, orders, targets and accounts; ``write_sample(out)`` writes them as CSV plus
``ground_truth.json``. Same seed and versions: byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .mess import as_text, plant_mess
from .process import (
    BACK,
    BASE_ADVANCE,
    BOTTLENECK,
    CHANNELS,
    DWELL_MEDIAN_DAYS,
    DWELL_SIGMA,
    LOST,
    LOST_DWELL_MULTIPLIER,
    REPS,
    SKIP,
    SLOW_REP,
    STAGES,
    WON,
    Process,
    chain_move,
)

__all__ = [
    "SampleData",
    "generate",
    "generate_pipeline",
    "write_sample",
    "DEFAULT_SEED",
    "LEAD_DRIVERS",
]

DEFAULT_SEED = 20240701
START = pd.Timestamp("2024-07-01")
TERMINAL = ("won", "lost")
REGIONS = ("North", "South", "West")
INDUSTRIES = ("Manufacturing", "Retail", "Healthcare", "Finance", "Technology", "Education")
PRODUCTS = (("Core", 0.50, 8_000.0), ("Pro", 0.35, 25_000.0), ("Enterprise", 0.15, 80_000.0))
#: Lead conversion drivers: standardised logit coefficients (the truth a fitted scorecard
#: should rank). website_visits has no effect on purpose.
LEAD_DRIVERS = {
    "budget_fit": 0.9,
    "urgency": 0.6,
    "decision_maker_engaged": 0.4,
    "company_size": 0.25,
    "website_visits": 0.0,
}
LEAD_INTERCEPT = -1.0
LOSS_REASONS = {
    "early": (("no response", 0.45), ("no budget", 0.30), ("not a fit", 0.25)),
    "mid": (("competitor", 0.40), ("no budget", 0.30), ("requirements mismatch", 0.30)),
    "late": (
        ("price", 0.35),
        ("competitor", 0.30),
        ("timing", 0.20),
        ("procurement stalled", 0.15),
    ),
    "bottleneck": (("requirements mismatch", 0.70), ("competitor", 0.20), ("no budget", 0.10)),
}
_NAME_A = (
    "Apex",
    "Blue",
    "Cedar",
    "Delta",
    "Evergreen",
    "Falcon",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "Nova",
    "Orion",
    "Pioneer",
    "Quartz",
    "Ridge",
    "Summit",
    "Titan",
    "Unity",
    "Vertex",
    "Willow",
    "Zenith",
)
_NAME_B = {
    "Manufacturing": "Metals",
    "Retail": "Stores",
    "Healthcare": "Health",
    "Finance": "Capital",
    "Technology": "Systems",
    "Education": "Learning",
}


@dataclass
class SampleData:
    """Generated tables (canonical columns) and the ground truth dict."""

    tables: dict[str, pd.DataFrame]
    truth: dict

    def __getattr__(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def _days(t: np.ndarray) -> pd.Series:
    """Float days since START -> timestamps at minute precision."""
    minutes = np.floor(np.asarray(t, float) * 1440.0)
    return pd.Series(START + pd.to_timedelta(minutes, unit="min"))


def _choice(rng: np.random.Generator, options, p, size) -> np.ndarray:
    return rng.choice(len(options), size=size, p=np.asarray(p) / np.sum(p))


def generate(
    seed: int = DEFAULT_SEED,
    *,
    effects: bool = True,
    n_leads: int = 11_000,
    months: int = 24,
    n_accounts: int = 1_200,
    with_activities: bool = True,
) -> SampleData:
    """Simulate a CRM export.

    Parameters
    ----------
    seed
        Seed of the single random generator; same seed, same data.
    effects
        ``False`` generates the same process with no segment effects: every channel and
        rep advances and dwells alike and nothing is planted (for false-positive tests).
    n_leads, months, n_accounts
        Size. The default gives about 3,000 opportunities over 24 months.
    with_activities
        Skip activities for faster large runs (benchmarks).

    Returns
    -------
    SampleData
        ``tables`` (accounts, leads, opportunities, stage_history, activities, orders,
        targets) and ``truth`` (see ``ground_truth.json``).
    """
    rng = np.random.default_rng(seed)
    proc = Process(effects=effects)
    end = float((START + pd.DateOffset(months=months) - START).days)
    rep_region = np.array([REGIONS.index(r[1]) for r in REPS])

    # ---- accounts
    acc_ind = rng.integers(0, len(INDUSTRIES), n_accounts)
    acc_reg = _choice(rng, REGIONS, np.bincount(rep_region), n_accounts)
    acc_emp = np.maximum(5, np.round(np.exp(rng.normal(np.log(120), 1.0, n_accounts)))).astype(int)
    acc_id = np.array([f"ACC-{i + 1:05d}" for i in range(n_accounts)])
    acc_name = np.array(
        [
            f"{_NAME_A[i % len(_NAME_A)]} {_NAME_B[INDUSTRIES[acc_ind[i]]]} {i // len(_NAME_A) + 1}"
            for i in range(n_accounts)
        ]
    )
    size_band = pd.cut(
        acc_emp, [0, 50, 250, 1000, np.inf], labels=["small", "medium", "large", "enterprise"]
    )

    # ---- leads (seasonal arrivals: peak in November, trough in May)
    month_start = np.array(
        [(START + pd.DateOffset(months=m) - START).days for m in range(months + 1)], float
    )
    moy = (START.month - 1 + np.arange(months)) % 12 + 1
    season = 1.0 + 0.3 * np.cos(2 * np.pi * (moy - 11) / 12)
    m = _choice(rng, range(months), season * np.diff(month_start), n_leads)
    t_lead = np.sort(month_start[m] + rng.random(n_leads) * np.diff(month_start)[m])
    acc = rng.integers(0, n_accounts, n_leads)
    region = acc_reg[acc]
    reps_in = [np.flatnonzero(rep_region == g) for g in range(len(REGIONS))]
    owner = np.array(
        [reps_in[g][k % len(reps_in[g])] for g, k in zip(region, rng.integers(0, 840, n_leads))]
    )
    ch = _choice(rng, CHANNELS, [c[1] for c in CHANNELS], n_leads)
    budget = rng.integers(1, 6, n_leads)
    urgency = rng.integers(1, 6, n_leads)
    dm = rng.random(n_leads) < 0.4
    visits = rng.poisson(4, n_leads)
    z = {
        "budget_fit": (budget - 3) / np.sqrt(2),
        "urgency": (urgency - 3) / np.sqrt(2),
        "decision_maker_engaged": (dm - 0.4) / np.sqrt(0.24),
        "company_size": np.log(acc_emp[acc] / 120.0),
        "website_visits": (visits - 4) / 2.0,
    }
    signal = sum(LEAD_DRIVERS[k] * z[k] for k in LEAD_DRIVERS)
    p_conv = 1 / (1 + np.exp(-(LEAD_INTERCEPT + signal + proc.channel_lead_effect[ch])))
    will_convert = rng.random(n_leads) < p_conv
    t_conv = t_lead + np.exp(rng.normal(np.log(6.0), 0.7, n_leads))
    converted = will_convert & (t_conv <= end)
    noisy = signal + rng.normal(0, 0.7, n_leads)
    cut_a, cut_b = np.quantile(noisy, [0.75, 0.35])
    grade = np.where(noisy >= cut_a, "A", np.where(noisy >= cut_b, "B", "C"))
    resp_med = np.select([grade == "A", grade == "B"], [1.5, 3.0], 10.0)
    t_resp = t_lead + resp_med * np.exp(rng.normal(0, 1.0, n_leads)) / 24.0
    responded = (rng.random(n_leads) > 0.03) & (t_resp <= end)
    contacted = t_lead + 3 <= end
    q_hi = np.where(will_convert, 0.6, 0.1)
    q_mid = np.where(will_convert, 0.3, 0.3)
    uq = rng.random(n_leads)
    quality = np.where(uq < q_hi, "High", np.where(uq < q_hi + q_mid, "Medium", "Low"))
    phone = np.array([f"139{n:08d}" for n in rng.integers(0, 10**8, n_leads)])

    # ---- opportunities from converted leads, in order of creation
    conv_idx = np.flatnonzero(converted)
    conv_idx = conv_idx[np.argsort(t_conv[conv_idx], kind="stable")]
    n = len(conv_idx)
    o_ch, o_rep, o_acc, t0 = ch[conv_idx], owner[conv_idx], acc[conv_idx], t_conv[conv_idx]
    prod = _choice(rng, PRODUCTS, [p[1] for p in PRODUCTS], n)
    amount = np.round(np.array([p[2] for p in PRODUCTS])[prod] * np.exp(rng.normal(0, 0.5, n)), -2)
    exp_close = t0 + np.exp(rng.normal(np.log(60), 0.3, n))

    hist, final, t_final = _simulate(rng, proc, o_ch, o_rep, t0, end)
    opp_id = np.array([f"OPP-{i + 1:05d}" for i in range(n)])
    bottleneck_stage = STAGES.index(BOTTLENECK["stage"])
    lost_from = _stage_before_terminal(hist, n)
    reason = np.full(n, None, dtype=object)
    for i in np.flatnonzero(final == LOST):
        s = lost_from[i]
        group = "early" if s <= 1 else "mid" if s <= 3 else "late"
        if effects and s == bottleneck_stage and CHANNELS[o_ch[i]][0] == BOTTLENECK["channel"]:
            group = "bottleneck"
        names, probs = zip(*LOSS_REASONS[group])
        reason[i] = names[_choice(rng, names, probs, 1)[0]]
    close_amount = np.where(
        final == WON, np.round(amount * np.exp(rng.normal(0, 0.08, n)), 2), np.nan
    )
    state_names = np.array(STAGES + TERMINAL)

    opportunities = pd.DataFrame(
        {
            "opportunity_id": opp_id,
            "owner": np.array([r[0] for r in REPS])[o_rep],
            "created_at": _days(t0),
            "stage": state_names[final],
            "amount": amount,
            "account_id": acc_id[o_acc],
            "account_name": acc_name[o_acc],
            "channel": np.array([c[0] for c in CHANNELS])[o_ch],
            "region": np.array(REGIONS)[acc_reg[o_acc]],
            "team": np.array(["Team " + r[1] for r in REPS])[o_rep],
            "industry": np.array(INDUSTRIES)[acc_ind[o_acc]],
            "product": np.array([p[0] for p in PRODUCTS])[prod],
            "expected_close_date": _days(exp_close).dt.normalize(),
            "closed_at": _days(t_final).where(final >= WON),
            "close_amount": close_amount,
            "loss_reason": reason,
            "currency": "USD",
        }
    )
    stage_history = pd.DataFrame(
        {
            "opportunity_id": opp_id[hist["deal"].to_numpy()],
            "stage": state_names[hist["state"].to_numpy()],
            "entered_at": _days(hist["t"].to_numpy()),
            "owner": opportunities["owner"].to_numpy()[hist["deal"].to_numpy()],
            "amount": amount[hist["deal"].to_numpy()],
        }
    )

    leads = pd.DataFrame(
        {
            "lead_id": [f"LEAD-{i + 1:06d}" for i in range(n_leads)],
            "created_at": _days(t_lead),
            "channel": np.array([c[0] for c in CHANNELS])[ch],
            "owner": np.array([r[0] for r in REPS])[owner],
            "first_response_at": _days(t_resp).where(responded),
            "grade": grade,
            "region": np.array(REGIONS)[region],
            "industry": np.array(INDUSTRIES)[acc_ind[acc]],
            "account_id": acc_id[acc],
            "company_size": acc_emp[acc],
            "budget_fit": budget,
            "urgency": urgency,
            "decision_maker_engaged": np.where(dm, "yes", "no"),
            "website_visits": visits,
            "lead_quality": pd.Series(quality).where(contacted),
            "converted": np.where(converted, "yes", "no"),
            "converted_at": _days(t_conv).where(converted),
            "opportunity_id": pd.Series(pd.NA, index=range(n_leads), dtype="object"),
            "phone": phone,
        }
    )
    leads.loc[conv_idx, "opportunity_id"] = opp_id

    orders = _orders(rng, opportunities, final, t_final, end)
    first_purchase = orders.groupby("account_id")["ordered_at"].min()
    accounts = pd.DataFrame(
        {
            "account_id": acc_id,
            "name": acc_name,
            "industry": np.array(INDUSTRIES)[acc_ind],
            "region": np.array(REGIONS)[acc_reg],
            "size": np.asarray(size_band, dtype=object),
            "employees": acc_emp,
            "first_purchase_at": pd.Series(acc_id).map(first_purchase).dt.normalize(),
        }
    )
    tables = {
        "accounts": accounts,
        "leads": leads,
        "opportunities": opportunities,
        "stage_history": stage_history,
        "activities": _activities(rng, stage_history, opportunities, end)
        if with_activities
        else None,
        "orders": orders,
        "targets": _targets(opportunities, months),
        "products": pd.DataFrame(
            {
                "product": [p[0] for p in PRODUCTS],
                "series": "Sample",
                "list_price": [p[2] for p in PRODUCTS],
            }
        ),
        "reps": pd.DataFrame(
            {
                "owner": [r[0] for r in REPS],
                "manager": ["Manager " + r[1] for r in REPS],
                "team": ["Team " + r[1] for r in REPS],
                "region": [r[1] for r in REPS],
            }
        ),
    }
    tables = {k: v for k, v in tables.items() if v is not None}
    truth = _truth(proc, seed, end, months, o_ch, o_rep, tables)
    return SampleData(tables, truth)


def generate_pipeline(
    n_opportunities: int, seed: int = DEFAULT_SEED, *, effects: bool = True, months: int = 24
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Opportunities and stage history only, straight from the chain (for benchmarks).

    Same process as :func:`generate` without leads, accounts or activities, so millions of
    deals take seconds. Returns ``(opportunities, stage_history)`` with canonical dtypes
    (``status`` included), ready for the funnel functions.
    """
    rng = np.random.default_rng(seed)
    proc = Process(effects=effects)
    end = float((START + pd.DateOffset(months=months) - START).days)
    ch = _choice(rng, CHANNELS, [c[1] for c in CHANNELS], n_opportunities)
    rep = rng.integers(0, len(REPS), n_opportunities)
    t0 = np.sort(rng.random(n_opportunities) * end)
    hist, final, t_final = _simulate(rng, proc, ch, rep, t0, end)
    ids = pd.Series(np.arange(1, n_opportunities + 1)).map("OPP-{:07d}".format).to_numpy()
    names = np.array(STAGES + TERMINAL)
    status = np.where(final == WON, "won", np.where(final == LOST, "lost", "open"))
    opps = pd.DataFrame(
        {
            "opportunity_id": pd.array(ids, dtype="string"),
            "owner": pd.array(np.array([r[0] for r in REPS])[rep], dtype="string"),
            "created_at": _days(t0),
            "stage": pd.array(names[final], dtype="string"),
            "amount": np.round(8_000 * np.exp(rng.normal(0, 0.8, n_opportunities)), -2),
            "channel": pd.array(np.array([c[0] for c in CHANNELS])[ch], dtype="string"),
            "closed_at": _days(t_final).where(final >= WON),
            "status": pd.array(status, dtype="string"),
        }
    )
    history = pd.DataFrame(
        {
            "opportunity_id": pd.array(ids[hist["deal"].to_numpy()], dtype="string"),
            "stage": pd.array(names[hist["state"].to_numpy()], dtype="string"),
            "entered_at": _days(hist["t"].to_numpy()),
        }
    )
    return opps, history


def _simulate(rng, proc: Process, ch, rep, t0, end):
    """Walk every deal through the chain, vectorised over deals (a loop over moves only)."""
    n = len(t0)
    p_adv = proc.advance_probability(ch, rep)
    med = proc.dwell_median(ch, rep)
    state = np.zeros(n, int)
    t = t0.astype(float).copy()
    active = np.ones(n, bool)
    parts = [pd.DataFrame({"deal": np.arange(n), "state": 0, "t": t0})]
    for _ in range(200):
        a = np.flatnonzero(active)
        if not len(a):
            break
        s = state[a]
        u, u2, zn = rng.random(len(a)), rng.random(len(a)), rng.standard_normal(len(a))
        nxt, dwell = chain_move(s, u, u2, zn, p=p_adv[a, s], med=med[a, s])
        t_exit = t[a] + dwell
        moved = t_exit <= end
        idx = a[moved]
        state[idx], t[idx] = nxt[moved], t_exit[moved]
        parts.append(pd.DataFrame({"deal": idx, "state": nxt[moved], "t": t_exit[moved]}))
        active[a[~moved]] = False
        active[idx[state[idx] >= WON]] = False
    hist = pd.concat(parts, ignore_index=True).sort_values(["deal", "t"], kind="mergesort")
    return hist.reset_index(drop=True), state, t


def _stage_before_terminal(hist: pd.DataFrame, n: int) -> np.ndarray:
    """Open stage each deal was in when it closed (or its last stage)."""
    open_rows = hist[hist["state"] < WON]
    return open_rows.groupby("deal")["state"].last().reindex(range(n)).to_numpy()


def _orders(rng, opps: pd.DataFrame, final, t_final, end) -> pd.DataFrame:
    won = np.flatnonzero(final == WON)
    repeat = rng.poisson(0.8, len(won))
    base = np.repeat(won, repeat)
    t_rep = t_final[base] + rng.random(len(base)) * (end - t_final[base])
    amt_rep = np.round(
        opps["amount"].to_numpy()[base] * 0.3 * np.exp(rng.normal(0, 0.4, len(base))), 2
    )
    deal = np.concatenate([won, base])
    t = np.concatenate([t_final[won], t_rep])
    amt = np.concatenate([opps["close_amount"].to_numpy()[won], amt_rep])
    order = np.lexsort((deal, t))
    deal, t, amt = deal[order], t[order], amt[order]
    return pd.DataFrame(
        {
            "order_id": [f"ORD-{i + 1:05d}" for i in range(len(deal))],
            "account_id": opps["account_id"].to_numpy()[deal],
            "ordered_at": _days(t),
            "amount": amt,
            "product": opps["product"].to_numpy()[deal],
            "owner": opps["owner"].to_numpy()[deal],
            "channel": opps["channel"].to_numpy()[deal],
        }
    )


def _activities(rng, hist: pd.DataFrame, opps: pd.DataFrame, end) -> pd.DataFrame:
    """Follow-ups during each open stage visit: calls and e-mails early, meetings later."""
    visits = hist[~hist["stage"].isin(TERMINAL)].reset_index(drop=True)
    start = (visits["entered_at"] - START).dt.total_seconds().to_numpy() / 86400
    nxt = hist.groupby("opportunity_id")["entered_at"].shift(-1)[~hist["stage"].isin(TERMINAL)]
    stop = np.minimum(((nxt - START).dt.total_seconds() / 86400).fillna(end).to_numpy(), end)
    k = 1 + np.minimum(rng.poisson(np.maximum(stop - start, 0) / 6.0), 5)
    row = np.repeat(np.arange(len(visits)), k)
    t = start[row] + rng.random(len(row)) * np.maximum(stop - start, 0)[row]
    order = np.lexsort((row, t))
    row, t = row[order], t[order]
    stage_pos = visits["stage"].map({s: i for i, s in enumerate(STAGES)}).to_numpy()[row]
    kinds = np.array(["call", "email", "meeting", "visit"])
    early = np.array([0.5, 0.4, 0.05, 0.05])
    late = np.array([0.2, 0.25, 0.35, 0.2])
    u = rng.random(len(row))
    cum_e, cum_l = np.cumsum(early), np.cumsum(late)
    kind = np.where(stage_pos <= 1, np.searchsorted(cum_e, u), np.searchsorted(cum_l, u))
    gap = 7.0 * (1 + rng.poisson(0.5, len(row)))
    acc_by_opp = opps.set_index("opportunity_id")["account_id"]
    return pd.DataFrame(
        {
            "activity_id": [f"ACT-{i + 1:06d}" for i in range(len(row))],
            "owner": visits["owner"].to_numpy()[row],
            "occurred_at": _days(t),
            "kind": kinds[np.minimum(kind, 3)],
            "account_id": acc_by_opp.reindex(visits["opportunity_id"].to_numpy()[row]).to_numpy(),
            "opportunity_id": visits["opportunity_id"].to_numpy()[row],
            "next_planned_at": _days(t + gap),
        }
    )


def _targets(opps: pd.DataFrame, months: int) -> pd.DataFrame:
    """Monthly target per rep: 110% of the rep's average monthly bookings, to the thousand."""
    won = opps[opps["stage"] == "won"]
    per_rep = won.groupby("owner")["close_amount"].sum() / months
    periods = pd.period_range(START, periods=months, freq="M").astype(str)
    reps = [r[0] for r in REPS]
    grid = pd.MultiIndex.from_product([periods, reps], names=["period", "owner"]).to_frame(
        index=False
    )
    grid["target_amount"] = np.round(grid["owner"].map(per_rep).fillna(0).to_numpy() * 1.1, -3)
    grid["region"] = grid["owner"].map({r[0]: r[1] for r in REPS})
    grid["team"] = "Team " + grid["region"]
    return grid[["period", "owner", "region", "team", "target_amount"]]


def _truth(proc: Process, seed, end, months, o_ch, o_rep, tables) -> dict:
    """Exact per-stage probabilities from the chain, mixed by the realised segment counts."""
    nc, nr = len(CHANNELS), len(REPS)
    counts = np.zeros((nc, nr))
    np.add.at(counts, (o_ch, o_rep), 1)
    win = np.zeros((nc, nr, 6))
    reach = np.zeros((nc, nr, 6))
    visits = np.zeros((nc, nr, 6))
    fwd = np.zeros((nc, nr, 6))
    for c in range(nc):
        for r in range(nr):
            win[c, r] = proc.win_probability(c, r)
            reach[c, r] = proc.reach_probability(c, r)
            visits[c, r] = proc.expected_visits(c, r)
            fwd[c, r] = proc.forward_probability(c, r)

    def table(values, weights):
        w = counts[:, :, None] * weights
        overall = (w * values).sum(axis=(0, 1)) / w.sum(axis=(0, 1))
        by_c = (w * values).sum(axis=1) / w.sum(axis=1)
        by_r = (w * values).sum(axis=0) / w.sum(axis=0)
        return {
            "by_stage": {s: round(float(overall[i]), 6) for i, s in enumerate(STAGES)},
            "by_stage_channel": {
                s: {CHANNELS[c][0]: round(float(by_c[c, i]), 6) for c in range(nc)}
                for i, s in enumerate(STAGES)
            },
            "by_stage_owner": {
                s: {REPS[r][0]: round(float(by_r[r, i]), 6) for r in range(nr)}
                for i, s in enumerate(STAGES)
            },
        }

    lognormal_mean = float(np.exp(DWELL_SIGMA**2 / 2))
    p_lost = 1 - fwd - np.array(BACK)[None, None, :]
    exit_mult = (1 - p_lost) + p_lost * LOST_DWELL_MULTIPLIER
    med = np.stack([proc.dwell_median(np.full(nr, c), np.arange(nr)) for c in range(nc)])
    mean_dwell = med * lognormal_mean * exit_mult
    dwell = table(mean_dwell, visits)
    conversion = fwd / (1 - np.array(BACK))[None, None, :]
    return {
        "seed": seed,
        "effects": proc.effects,
        "start": str(START.date()),
        "end": str((START + pd.Timedelta(days=end)).date()),
        "as_of": str((START + pd.Timedelta(days=end - 1)).date()),
        "stages": list(STAGES),
        "process": {
            "base_advance": dict(zip(STAGES, BASE_ADVANCE)),
            "skip": dict(zip(STAGES, SKIP)),
            "back": dict(zip(STAGES, BACK)),
            "dwell_median_days": dict(zip(STAGES, DWELL_MEDIAN_DAYS)),
            "dwell_sigma": DWELL_SIGMA,
            "lost_dwell_multiplier": LOST_DWELL_MULTIPLIER,
        },
        "channel_advance_effects": dict(zip(proc.channel_names, map(float, proc.channel_effect))),
        "rep_advance_effects": dict(zip(proc.rep_names, map(float, proc.rep_effect))),
        "planted": {
            "bottleneck": BOTTLENECK if proc.effects else None,
            "slow_rep": SLOW_REP if proc.effects else None,
        },
        "win_probability": table(win, reach),
        "forward_probability": table(fwd, visits),
        "conversion": table(conversion, visits),
        "mean_dwell_days": dwell,
        "notes": (
            "Probabilities are exact for the Markov chain. win_probability: P(won | in the "
            "stage), cells mixed by realised opportunities x chance of reaching the stage. "
            "Per-visit tables mix cells by realised opportunities x expected visits: "
            "forward_probability, P(the move out of a stage goes forward: next, skip or won); "
            "conversion, P(forward | forward or lost), i.e. advanced / (advanced + lost); "
            "mean_dwell_days, mean over all exits (lost exits dwell longer)."
        ),
        "lead_drivers": {
            "standardised_coefficients": LEAD_DRIVERS,
            "order": [k for k, v in sorted(LEAD_DRIVERS.items(), key=lambda kv: -kv[1])],
            "intercept": LEAD_INTERCEPT,
            "channel_effects": dict(zip(proc.channel_names, map(float, proc.channel_lead_effect))),
            "leaky_fields": ["lead_quality"],
        },
        "counts": {k: int(len(v)) for k, v in tables.items()},
    }


_DATE_ONLY = ("expected_close_date", "first_purchase_at")


def _format(df: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ``YYYY-MM-DD HH:MM`` (dates as ``YYYY-MM-DD``) for stable CSV bytes."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d" if c in _DATE_ONLY else "%Y-%m-%d %H:%M")
    return out


def write_sample(
    out: str | Path,
    seed: int = DEFAULT_SEED,
    *,
    effects: bool = True,
    mess: bool = True,
    n_leads: int = 11_000,
    months: int = 24,
    n_accounts: int = 1_200,
    with_activities: bool = True,
) -> list[Path]:
    """Generate and write the sample as CSV files plus ``ground_truth.json``.

    Parameters
    ----------
    out
        Output folder.
    seed, effects, n_leads, months, n_accounts, with_activities
        Passed to :func:`generate`.
    mess
        Plant a little realistic mess in the files (see :mod:`salesanalytics.sample.mess`);
        ``ground_truth.json["mess"]`` says what and where.

    Examples
    --------
    >>> import tempfile
    >>> paths = write_sample(tempfile.mkdtemp(), n_leads=500)
    >>> sorted(p.name for p in paths)[:2]
    ['accounts.csv', 'activities.csv']
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = generate(
        seed,
        effects=effects,
        n_leads=n_leads,
        months=months,
        n_accounts=n_accounts,
        with_activities=with_activities,
    )
    texts = {name: as_text(_format(df)) for name, df in data.tables.items()}
    truth = dict(data.truth)
    if mess:
        texts, truth["mess"] = plant_mess(texts, seed)
    paths = []
    for name, df in texts.items():
        p = out / f"{name}.csv"
        df.to_csv(p, index=False, lineterminator="\n")
        paths.append(p)
    p = out / "ground_truth.json"
    p.write_text(json.dumps(truth, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    paths.append(p)
    return paths
