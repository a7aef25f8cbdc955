"""Realistic mess planted in the written sample, with its own ground truth.

The committed sample is what a CRM export looks like: a few exact duplicates, stage names
typed in Chinese, amounts with currency symbols, negative amounts, a misspelt rep, unreadable
dates, the same person arriving through a second channel, orders without an amount, and
stage-history rows of a deal that is not in the export. ``ground_truth.json["mess"]`` lists
what was planted where, so tests can check that cleaning finds exactly that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["as_text", "plant_mess"]

ZH_STAGES = {"proposal": "方案展示", "negotiation": "商务谈判", "won": "成交", "lost": "流失"}


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text written to CSV (amounts with two decimals, missing as '')."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_float_dtype(col):
            out[c] = [("" if pd.isna(v) else f"{v:.2f}") for v in col]
        else:
            out[c] = col.astype(object).where(col.notna(), "").astype(str)
    return out


def _pick(rng: np.random.Generator, candidates: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    chosen = rng.choice(candidates, size=sum(sizes), replace=False)
    return np.split(np.sort(chosen), np.cumsum(sizes)[:-1]) if len(sizes) > 1 else [np.sort(chosen)]


def plant_mess(tables: dict[str, pd.DataFrame], seed: int) -> tuple[dict[str, pd.DataFrame], dict]:
    """Return text tables with planted problems, and the truth about them."""
    rng = np.random.default_rng(seed + 1)
    t = {k: v.copy() for k, v in tables.items()}
    truth: dict[str, dict] = {}

    o = t["opportunities"]
    zh_ok = np.flatnonzero(o["stage"].isin(list(ZH_STAGES)).to_numpy())
    ben = np.flatnonzero((o["owner"] == "Ben Okafor").to_numpy())
    ana = np.flatnonzero((o["owner"] == "Ana Silva").to_numpy())
    has_amount = np.flatnonzero((o["amount"] != "").to_numpy())
    (zh,) = _pick(rng, zh_ok, [12])
    (typo,) = _pick(rng, ben, [2])
    (lower,) = _pick(rng, ana, [3])
    rest = np.setdiff1d(has_amount, np.concatenate([zh, typo, lower]))
    money, negative, dup = _pick(rng, rest, [10, 3, 5])
    o.loc[zh, "stage"] = o.loc[zh, "stage"].map(ZH_STAGES)
    o.loc[typo, "owner"] = "Ben Okafr"
    o.loc[lower, "owner"] = "ana silva"
    o.loc[money, "amount"] = [f"${float(v):,.2f}" for v in o.loc[money, "amount"]]
    o.loc[negative, "amount"] = "-" + o.loc[negative, "amount"]
    t["opportunities"] = pd.concat([o, o.loc[dup]], ignore_index=True)
    truth["opportunities"] = {
        "duplicates_dropped": 5,
        "duplicate_rows": [int(len(o) + i) for i in range(5)],
        "below_minimum_rows": negative.tolist(),
        "unknown_owner_rows": typo.tolist(),
        "unknown_owner": "Ben Okafr",
        "chinese_stage_rows": zh.tolist(),
        "currency_amount_rows": money.tolist(),
        "case_drift_rows": lower.tolist(),
    }

    ld = t["leads"]
    not_conv = np.flatnonzero((ld["converted"] == "no").to_numpy())
    bad_date, again = _pick(rng, not_conv, [4, 6])
    ld.loc[bad_date, "created_at"] = "31/31/2025"
    extra = ld.loc[again].copy()
    channels = sorted(ld["channel"].unique())
    extra["channel"] = [channels[(channels.index(c) + 1) % len(channels)] for c in extra["channel"]]
    later = pd.to_datetime(extra["created_at"]) + pd.Timedelta(days=9)
    extra["created_at"] = later.dt.strftime("%Y-%m-%d %H:%M")
    extra["lead_id"] = [f"LEAD-9{i:05d}" for i in range(1, len(extra) + 1)]
    extra["first_response_at"] = ""
    t["leads"] = pd.concat([ld, extra], ignore_index=True)
    truth["leads"] = {
        "rejected_rows": bad_date.tolist(),
        "merged": 6,
        "merged_rows": [int(len(ld) + i) for i in range(6)],
        "merged_into": ld.loc[again, "lead_id"].tolist(),
    }

    od = t["orders"]
    (no_amount,) = _pick(rng, np.arange(len(od)), [3])
    od.loc[no_amount, "amount"] = "N/A"
    truth["orders"] = {"rejected_rows": no_amount.tolist()}

    act = t["activities"]
    (shout,) = _pick(rng, np.flatnonzero((act["kind"] == "call").to_numpy()), [5])
    act.loc[shout, "kind"] = "CALL"
    truth["activities"] = {"case_drift_rows": shout.tolist()}

    h = t["stage_history"]
    orphan = pd.DataFrame(
        {
            "opportunity_id": ["OPP-99999"] * 2,
            "stage": ["prospect", "contacted"],
            "entered_at": ["2025-03-03 10:00", "2025-03-10 10:00"],
            "owner": ["Gao Lin"] * 2,
            "amount": ["5000.00"] * 2,
        }
    )
    t["stage_history"] = pd.concat([h, orphan], ignore_index=True)
    truth["stage_history"] = {"rejected_rows": [len(h), len(h) + 1]}
    return t, truth
