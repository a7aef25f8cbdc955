"""Account features, customer tiers ([003] by default, [000] as a preset) and the tier ->
follow-up cadence plan."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..dataset import Dataset
from ..funnel._common import as_of_ts
from ..funnel.leads import DEFAULT_CADENCE_DAYS

__all__ = [
    "customer_features",
    "customer_tiers",
    "followup_plan",
    "load_tier_scheme",
    "tier_features",
]


def customer_features(ds: Dataset, as_of=None, *, months: int = 6) -> pd.DataFrame:
    """Per account: purchases in the last ``months``, orders, tenure, open pipeline.

    Orders come from the orders table, or from won opportunities when there is none.
    """
    t = as_of_ts(as_of, (ds.orders, "ordered_at"), (ds.opportunities, "created_at"))
    if ds.orders is not None:
        o = ds.orders.rename(columns={"ordered_at": "at"})[["account_id", "at", "amount"]]
    else:
        won = ds.opportunities[ds.opportunities["status"] == "won"]
        amount = won["close_amount"] if "close_amount" in won else won.get("amount")
        if amount is not None and "amount" in won:  # close amount, else the pipeline amount
            amount = amount.fillna(won["amount"])
        o = pd.DataFrame(
            {"account_id": won["account_id"], "at": won["closed_at"], "amount": amount}
        )
    o = o[o["at"] <= t]
    since = t - pd.DateOffset(months=months)
    recent = o[o["at"] > since].groupby("account_id")["amount"].sum().rename("purchases_6m")
    first = o.groupby("account_id")["at"].min()
    accounts = (
        ds.accounts["account_id"]
        if ds.accounts is not None
        else pd.Series(o["account_id"].unique())
    )
    out = pd.DataFrame({"account_id": accounts.to_numpy()})
    out["purchases_6m"] = out["account_id"].map(recent).fillna(0.0)
    out["orders"] = out["account_id"].map(o.groupby("account_id").size()).fillna(0).astype("int64")
    out["tenure_days"] = ((t - out["account_id"].map(first)).dt.total_seconds() / 86400).fillna(0.0)
    if ds.opportunities is not None and "account_id" in ds.opportunities:
        op = ds.opportunities[
            (ds.opportunities["status"] == "open") & (ds.opportunities["created_at"] <= t)
        ]
        out["open_pipeline"] = (
            out["account_id"].map(op.groupby("account_id")["amount"].sum()).fillna(0.0)
        )
    else:
        out["open_pipeline"] = 0.0
    out.attrs = {"as_of": str(t.date()), "months": months}
    return out


def followup_plan(
    tiers: pd.DataFrame,
    *,
    as_of,
    cadence_days: Mapping[str, float] | None = None,
    last_contact: pd.Series | None = None,
    id_column: str = "account_id",
) -> pd.DataFrame:
    """Tier -> cadence, and each row's next planned follow-up from its last contact (or as_of)."""
    cad = dict(DEFAULT_CADENCE_DAYS if cadence_days is None else cadence_days)
    t = pd.Timestamp(as_of)
    out = tiers[[id_column, "tier"]].copy()
    out["cadence_days"] = (
        out["tier"].map(cad).astype(float)
    )  # a tier without a cadence: no due date
    last = (
        out[id_column].map(last_contact)
        if last_contact is not None
        else pd.Series(pd.NaT, index=out.index)
    )
    base = pd.to_datetime(last).fillna(t)
    out["next_due"] = (base + pd.to_timedelta(out["cadence_days"], unit="D")).dt.normalize()
    out["overdue"] = out["next_due"] < t.normalize()
    return out.sort_values(["next_due", id_column], kind="mergesort").reset_index(drop=True)


TIER_SCHEMES = ("guide_003", "guide_000")


def load_tier_scheme(scheme: str | Mapping = "guide_003") -> dict:
    """A customer tier scheme: a preset name under ``params/tiers`` or a YAML path or a dict.

    Examples
    --------
    >>> load_tier_scheme()["tiers"][0]["min_purchases"]
    500000
    """
    if isinstance(scheme, Mapping):
        return dict(scheme)
    import yaml

    from .._paths import PARAMS_DIR

    path = Path(scheme)
    if not path.suffix:
        path = PARAMS_DIR / "tiers" / f"{scheme}.yaml"
    if not path.is_file():
        raise ValueError(f"unknown tier scheme {scheme!r}: presets are {TIER_SCHEMES}")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def tier_features(ds: Dataset, *, as_of, months: int = 6) -> pd.DataFrame:
    """Per customer: ``purchases`` in the last ``months`` up to ``as_of``, ``orders`` ever,
    ``relationship_start`` (first purchase, from orders / won deals or the accounts table's
    ``first_purchase_at``) and ``need`` (an opportunity open on ``as_of``)."""
    t = as_of_ts(as_of)
    if ds.orders is not None:
        o = ds.orders.rename(columns={"ordered_at": "at"})[["account_id", "at", "amount"]]
    else:
        won = ds.opportunities[ds.opportunities["status"] == "won"]
        o = pd.DataFrame(
            {
                "account_id": won["account_id"],
                "at": won["closed_at"],
                "amount": won["close_amount"].fillna(won["amount"]),
            }
        )
    o = o[o["at"] <= t]
    since = t - pd.DateOffset(months=months)
    ids = set(o["account_id"].dropna())
    if ds.accounts is not None:
        ids |= set(ds.accounts["account_id"].dropna())
    op = ds.opportunities
    if op is not None and "account_id" in op:
        closed = op["closed_at"] if "closed_at" in op else pd.Series(pd.NaT, index=op.index)
        is_open = (op["created_at"] <= t) & (closed.isna() | (closed > t))
        need = set(op.loc[is_open, "account_id"].dropna())
        ids |= need
    else:
        need = set()
    out = pd.DataFrame({"account_id": sorted(ids)})
    recent = o[o["at"] > since].groupby("account_id")["amount"].sum()
    out["purchases"] = out["account_id"].map(recent).astype(float).fillna(0.0)
    out["orders"] = out["account_id"].map(o.groupby("account_id").size()).fillna(0).astype(int)
    first = o.groupby("account_id")["at"].min()
    start = out["account_id"].map(first)
    if ds.accounts is not None and "first_purchase_at" in ds.accounts:
        acc = ds.accounts.drop_duplicates("account_id").set_index("account_id")
        given = out["account_id"].map(acc["first_purchase_at"])
        given = given.where(given <= t)
        start = pd.concat([pd.to_datetime(start), pd.to_datetime(given)], axis=1).min(axis=1)
    out["relationship_start"] = pd.to_datetime(start)
    out["need"] = out["account_id"].isin(need)
    out.attrs = {"as_of": str(t.date()), "months": months}
    return out


def customer_tiers(
    data: Dataset | pd.DataFrame,
    *,
    as_of,
    scheme: str | Mapping = "guide_003",
) -> pd.DataFrame:
    """Customer tiers by a named scheme; [003] VIP / core / normal / potential by default.

    ``data`` is a Dataset (features from :func:`tier_features`) or a frame with
    ``account_id``, ``purchases`` (in the scheme's window, yuan), ``relationship_start``
    and ``need`` (and ``orders``, else a purchase counts as an order).

    [003] (``scheme="guide_003"``): VIP = purchases >= 50万 in the last half year and a
    relationship >= 2 years; core = >= 20万 and >= 1 year; normal = any other buyer;
    potential = a need and no purchase yet; anyone else ``none``. Exactly 50万 is VIP side
    and exactly 2 years qualifies (first purchase on or before as_of minus 2 years).
    ``"guide_000"``: the value/potential A/B/C grading of [000].

    Returns
    -------
    DataFrame
        The features plus ``tenure_years``, ``tier``, ``tier_zh``, ``cadence``,
        ``cadence_days``, ``service_records_per_month`` and ``scheme``; with activities
        (or a ``service_records`` column) ``service_records`` in the month to ``as_of`` and
        ``service_ok`` (VIP: at least 2 a month [003]; empty for tiers without a quota);
        ``attrs["scheme"]`` names the scheme in every table built from it.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"account_id": ["K1"], "purchases": [500000.0],
    ...                   "relationship_start": [pd.Timestamp("2022-06-30")], "need": [False]})
    >>> customer_tiers(f, as_of="2024-06-30")["tier"].tolist()
    ['VIP']
    """
    s = load_tier_scheme(scheme)
    t = as_of_ts(as_of)
    if isinstance(data, Dataset):
        f = tier_features(data, as_of=as_of, months=int(s.get("window_months", 6)))
    else:
        need_cols = {"account_id", "purchases", "relationship_start", "need"}
        missing = sorted(need_cols - set(data.columns))
        if missing:
            raise ValueError(f"customer features lack column(s) {missing}")
        f = data.copy()
        if "orders" not in f:
            f["orders"] = (f["purchases"] > 0).astype(int)
    start = pd.to_datetime(f["relationship_start"])
    day = t.normalize()
    years = pd.Series(0, index=f.index, dtype=int)
    for k in range(1, 100):
        ok = start.notna() & (start.dt.normalize() <= day - pd.DateOffset(years=k))
        if not ok.any():
            break
        years = years.where(~ok, k)
    f["tenure_years"] = years  # whole years completed on as_of
    purchases = f["purchases"].astype(float).fillna(0.0)
    bought = (f["orders"] > 0) | (purchases > 0)
    need = f["need"].astype(bool)
    tier = pd.Series("none", index=f.index, dtype=object)
    decided = pd.Series(False, index=f.index)
    if s.get("kind", "rules") == "rules":
        for rule in s["tiers"]:
            hit = ~decided
            if "min_purchases" in rule:
                hit &= purchases >= float(rule["min_purchases"])
            if "min_tenure_years" in rule:
                hit &= f["tenure_years"] >= int(rule["min_tenure_years"])
            if "purchased" in rule:
                hit &= bought == bool(rule["purchased"])
            if "need" in rule:
                hit &= need == bool(rule["need"])
            tier = tier.where(~hit, rule["tier"])
            decided |= hit
        f["score"] = np.nan
    else:
        value = pd.Series(0.0, index=f.index)
        for band in sorted(s["value_bands"], key=lambda b: -float(b["min"])):
            value = value.where(~((value == 0) & (purchases >= float(band["min"]))), band["points"])
        score = (
            value * float(s["value_weight"])
            + need * float(s["need_points"]) * s["potential_weight"]
        ) / 10.0
        f["score"] = score
        for rule in s["tiers"]:
            hit = ~decided & (score >= float(rule["min_score"]))
            tier = tier.where(~hit, rule["tier"])
            decided |= hit
    by_tier = {r["tier"]: r for r in s["tiers"]}
    f["tier"] = tier
    f["tier_zh"] = tier.map(lambda x: by_tier.get(x, {}).get("label_zh", "未分层"))
    f["cadence"] = tier.map(lambda x: by_tier.get(x, {}).get("cadence"))
    f["cadence_days"] = tier.map(lambda x: by_tier.get(x, {}).get("cadence_days")).astype(float)
    f["service_records_per_month"] = tier.map(
        lambda x: by_tier.get(x, {}).get("service_records_per_month", np.nan)
    ).astype(float)
    if (
        isinstance(data, Dataset)
        and data.activities is not None
        and "account_id" in data.activities
    ):
        act = data.activities
        recent = act[(act["occurred_at"] > t - pd.DateOffset(months=1)) & (act["occurred_at"] <= t)]
        f["service_records"] = (
            f["account_id"].map(recent.groupby("account_id").size()).fillna(0).astype(int)
        )
    if "service_records" in f:
        need_n = f["service_records_per_month"]
        f["service_ok"] = (f["service_records"] >= need_n).where(need_n.notna())
    f["scheme"] = s["name"]
    f.attrs = {"as_of": str(t.date()), "scheme": s["name"], "source": s.get("source", "")}
    return f
