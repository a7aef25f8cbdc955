"""Lead management as guide [001] writes it: statuses, assignment rules, response SLA by
grade, first-contact limits, follow-up cadence by intent grade or customer tier.

Rules come from ``params/lead_rules.yaml`` (:func:`load_lead_rules`); every function takes
them as keywords, so a team's own numbers replace the guide's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .._paths import PARAMS_DIR
from ._common import as_of_ts, wilson

__all__ = [
    "load_lead_rules",
    "lead_status_summary",
    "assignment_audit",
    "sla_breaches",
    "first_contact_check",
    "cadence_check",
    "LEAD_RULES_FILE",
]

LEAD_RULES_FILE = PARAMS_DIR / "lead_rules.yaml"
_KEYS = {
    "statuses",
    "grades",
    "sla_hours",
    "first_contact_days",
    "cadence_by_grade_days",
    "cadence_by_tier_days",
    "grace_days",
    "assignment",
}
_RULE_TARGETS = ("owner", "team", "role", "same")


def load_lead_rules(path: str | Path | None = None) -> dict[str, Any]:
    """Read lead rules (default ``params/lead_rules.yaml``); unknown keys are an error.

    Examples
    --------
    >>> r = load_lead_rules()
    >>> r["sla_hours"]["S"], r["first_contact_days"], r["cadence_by_grade_days"]["A"]
    (2.0, {'S': 3.0, 'C': 7.0}, 2.0)
    """
    path = Path(path) if path is not None else LEAD_RULES_FILE
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    unknown = set(spec) - _KEYS
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {sorted(unknown)}; expected {sorted(_KEYS)}")
    for key in ("sla_hours", "first_contact_days", "cadence_by_grade_days", "cadence_by_tier_days"):
        spec[key] = {str(k): float(v) for k, v in (spec.get(key) or {}).items()}
    spec["grace_days"] = float(spec.get("grace_days", 1))
    for i, rule in enumerate(spec.get("assignment") or []):
        if not any(t in rule for t in _RULE_TARGETS):
            raise ValueError(f"{path}: assignment rule {i + 1} names none of {_RULE_TARGETS}")
    return spec


def lead_status_summary(
    leads: pd.DataFrame, *, statuses: Sequence[Mapping[str, str]], column: str = "status"
) -> pd.DataFrame:
    """Leads per status in the lifecycle's order; values outside it are counted apart.

    A status matches its key, English or Chinese label (simplified or traditional as
    written in the rules).

    Returns
    -------
    DataFrame
        status (key), label_en, label_zh, leads, share, configured (False for the row
        ``"(not a configured status)"``).
    """
    lookup = {}
    for s in statuses:
        for v in (s["key"], s.get("en"), s.get("zh")):
            if v:
                lookup[str(v).strip().casefold()] = s["key"]
    values = leads[column].astype("string").str.strip().str.casefold()
    keys = values.map(lookup)
    counts = keys.value_counts()
    rows = [
        {
            "status": s["key"],
            "label_en": s.get("en", s["key"]),
            "label_zh": s.get("zh", s["key"]),
            "leads": int(counts.get(s["key"], 0)),
            "configured": True,
        }
        for s in statuses
    ]
    other = int(keys.isna().sum())
    if other:
        rows.append(
            {
                "status": "(not a configured status)",
                "label_en": "(not a configured status)",
                "label_zh": "(未配置的状态)",
                "leads": other,
                "configured": False,
            }
        )
    out = pd.DataFrame(rows)
    out["share"] = out["leads"] / max(len(leads), 1)
    out.attrs = {"statuses": [s["key"] for s in statuses], "column": column}
    return out[["status", "label_en", "label_zh", "leads", "share", "configured"]]


def assignment_audit(
    leads: pd.DataFrame,
    *,
    rules: Sequence[Mapping[str, Any]],
    reps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Leads whose owner breaks an assignment rule (region / industry / grade -> owner).

    Every rule whose conditions all hold for a lead applies. Conditions are lead columns
    (``grade: S``, ``region: North``, a list means any of). The target is one of
    ``owner`` (a name), ``team`` or ``role`` (the owner's value in ``reps``), or
    ``same: region`` (the owner's region in ``reps`` equals the lead's).

    Returns
    -------
    DataFrame
        One row per lead and broken rule: lead_id, owner, the rule (as text), expected,
        actual. ``attrs["checked"]`` counts leads checked per rule.

    Examples
    --------
    >>> leads = pd.DataFrame({"lead_id": ["L1", "L2"], "grade": ["S", "B"],
    ...                       "owner": ["Mia", "Ken"]})
    >>> reps = pd.DataFrame({"owner": ["Mia", "Ken"], "role": ["junior", "junior"]})
    >>> assignment_audit(leads, rules=[{"grade": "S", "role": "manager"}], reps=reps)[
    ...     ["lead_id", "expected", "actual"]]
      lead_id expected  actual
    0      L1  manager  junior
    """
    rep = reps.drop_duplicates("owner").set_index("owner") if reps is not None else None
    rows, checked = [], {}
    for i, rule in enumerate(rules):
        cond = {k: v for k, v in rule.items() if k not in _RULE_TARGETS}
        mask = pd.Series(True, index=leads.index)
        for col, want in cond.items():
            if col not in leads.columns:
                raise ValueError(f"assignment rule {i + 1}: leads have no column {col!r}")
            want = want if isinstance(want, list) else [want]
            mask &= leads[col].astype("string").isin([str(w) for w in want]).fillna(False)
        d = leads[mask]
        text = ", ".join(f"{k}={v}" for k, v in rule.items())
        checked[text] = int(len(d))
        if d.empty:
            continue
        if "owner" in rule:
            expected = pd.Series(str(rule["owner"]), index=d.index)
            actual = d["owner"].astype("string")
        else:
            col = rule.get("team") and "team" or rule.get("role") and "role" or rule.get("same")
            if rep is None or col not in rep.columns:
                raise ValueError(f"assignment rule {text!r} needs a reps table with {col!r}")
            actual = d["owner"].map(rep[col]).astype("string")
            if "same" in rule:
                expected = d[col].astype("string")
            else:
                expected = pd.Series(str(rule[col]), index=d.index)
        broken = ~(actual == expected).fillna(False).astype(bool)
        for idx in d.index[broken.to_numpy()]:
            rows.append(
                {
                    "lead_id": leads.at[idx, "lead_id"],
                    "owner": leads.at[idx, "owner"],
                    "rule": text,
                    "expected": expected[idx],
                    "actual": actual[idx] if pd.notna(actual[idx]) else "(unknown)",
                }
            )
    out = pd.DataFrame(rows, columns=["lead_id", "owner", "rule", "expected", "actual"])
    out.attrs = {"checked": checked, "rules": [dict(r) for r in rules]}
    return out


def _start(leads: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The clock start of a lead: assigned_at when the file has it, else created_at."""
    if "assigned_at" in leads.columns:
        start = leads["assigned_at"].fillna(leads["created_at"])
        basis = np.where(leads["assigned_at"].notna(), "assigned_at", "created_at")
    else:
        start = leads["created_at"]
        basis = np.full(len(leads), "created_at")
    return start, pd.Series(basis, index=leads.index)


def _limit_check(leads, limits, as_of, unit_seconds, response_col):
    t = as_of_ts(as_of, (leads, "created_at"))
    ld = leads[(leads["created_at"] <= t) & leads["grade"].astype("string").isin(list(limits))]
    ld = ld.copy()
    start, basis = _start(ld)
    limit = ld["grade"].astype(str).map(limits).astype(float)
    resp = ld[response_col].where(ld[response_col] <= t)
    elapsed = (resp - start).dt.total_seconds() / unit_seconds
    waited = (t - start).dt.total_seconds() / unit_seconds
    ld["measured_from"] = basis
    ld["limit"] = limit
    ld["elapsed"] = elapsed
    ld["within"] = resp.notna() & (elapsed <= limit)
    ld["pending"] = resp.isna() & (waited <= limit)
    ld["breach"] = ~ld["within"] & ~ld["pending"]
    return ld, t


def _per(ld: pd.DataFrame, by: list[str], unit: str) -> pd.DataFrame:
    g = ld.groupby(by, dropna=False)
    out = pd.DataFrame(
        {
            "leads": g.size(),
            "within": g["within"].sum(),
            "breaches": g["breach"].sum(),
            "pending": g["pending"].sum(),
            f"median_{unit}": g["elapsed"].median(),
        }
    ).reset_index()
    for c in ("leads", "within", "breaches", "pending"):
        out[c] = out[c].astype("int64")
    judged = (out["leads"] - out["pending"]).astype(float)
    out["compliance"] = out["within"] / judged.where(judged > 0)
    out["compliance_low"], out["compliance_high"] = wilson(out["within"], judged)
    return out


def sla_breaches(
    leads: pd.DataFrame,
    *,
    sla_hours: Mapping[str, float],
    as_of=None,
    by: str | list[str] = "owner",
    response_column: str = "first_response_at",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Response SLA by grade (guide: S and A 2 h, B 4 h, C 24 h), breaches per rep.

    The clock starts at ``assigned_at`` (分配時間) when the lead has one, else at
    ``created_at``; column ``measured_from`` says which, per lead. A lead not answered
    yet breaches once its limit has passed at ``as_of``; before that it is pending.

    Returns
    -------
    (per_rep, leads)
        per_rep: the ``by`` columns, leads, within, breaches, pending, median_hours,
        compliance with Wilson bounds. leads: each judged lead with measured_from,
        limit, elapsed (hours), within, pending, breach.

    Examples
    --------
    >>> ld = pd.DataFrame({"lead_id": ["L1", "L2"], "owner": ["Mia", "Mia"],
    ...     "grade": ["S", "C"], "created_at": pd.to_datetime(["2024-01-01 09:00"] * 2),
    ...     "first_response_at": pd.to_datetime(["2024-01-01 12:00", "2024-01-01 12:00"])})
    >>> sla_breaches(ld, sla_hours={"S": 2, "C": 24}, as_of="2024-01-02")[0][
    ...     ["owner", "within", "breaches"]]
      owner  within  breaches
    0   Mia       1         1
    """
    by = [by] if isinstance(by, str) else list(by)
    ld, t = _limit_check(leads, dict(sla_hours), as_of, 3600, response_column)
    per = _per(ld, by, "hours")
    keep = ["lead_id", *by, "grade", "measured_from", "limit", "elapsed", "within"]
    detail = ld[[*dict.fromkeys([*keep, "pending", "breach"])]].reset_index(drop=True)
    detail = detail.rename(columns={"limit": "limit_hours", "elapsed": "hours"})
    basis = detail["measured_from"].value_counts().to_dict()
    per.attrs = detail.attrs = {
        "as_of": str(t.date()),
        "sla_hours": dict(sla_hours),
        "measured_from": {k: int(v) for k, v in basis.items()},
        "rule": "hours from assigned_at (created_at when a lead has no assignment time) to "
        f"{response_column}; unanswered after the limit is a breach",
    }
    return per, detail


def first_contact_check(
    leads: pd.DataFrame,
    *,
    limits_days: Mapping[str, float],
    as_of=None,
    by: str | list[str] = "owner",
    contact_column: str = "first_response_at",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """初步接洽 time limits by grade (guide: S within 3 days, C within 7 days).

    Days from assignment (or creation) to ``contact_column``, the moment the first
    contact milestone was reached; grades without a limit are not judged.

    Returns
    -------
    (per_rep, leads)
        As :func:`sla_breaches`, in days.
    """
    by = [by] if isinstance(by, str) else list(by)
    ld, t = _limit_check(leads, dict(limits_days), as_of, 86400, contact_column)
    per = _per(ld, by, "days")
    detail = ld[["lead_id", *by, "grade", "measured_from", "limit", "elapsed", "within"]]
    detail = detail.assign(pending=ld["pending"], breach=ld["breach"]).reset_index(drop=True)
    detail = detail.rename(columns={"limit": "limit_days", "elapsed": "days"})
    per.attrs = detail.attrs = {
        "as_of": str(t.date()),
        "limits_days": dict(limits_days),
        "measured_from": {k: int(v) for k, v in detail["measured_from"].value_counts().items()},
    }
    return per, detail


def cadence_check(
    activities: pd.DataFrame,
    *,
    grades: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    cadence_days: Mapping[str, float],
    as_of=None,
    grace_days: float = 1.0,
    key: str = "account_id",
    grade_column: str = "grade",
    active: Sequence | pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Follow-up cadence per rep, by intent grade (S daily, A every 2 days, B/C weekly) or
    by customer tier (A weekly, B fortnightly, C monthly): pass the matching ``cadence_days``.

    Parameters
    ----------
    grades
        ``key`` and ``grade_column``: each account's (or lead's) grade or tier.
    leads
        When ``grades`` is None: each account's best lead grade (S before A before B ...).
    active
        Keys still worked (e.g. accounts with an open deal): only they can be overdue.
        Default: every graded key with an activity.
    grace_days
        A planned follow-up (``next_planned_at``) is done when the next activity on the
        same account comes no later than this many days after the plan.

    Returns
    -------
    (per_rep, overdue)
        per_rep: owner, accounts, planned, done, plan_completion (done / planned, planned
        follow-ups due by ``as_of``), overdue. overdue: accounts whose last follow-up is
        older than their cadence at ``as_of``: key, owner, grade, last_followup,
        days_since, cadence_days.

    Examples
    --------
    >>> act = pd.DataFrame({"account_id": ["K1", "K1"], "owner": ["Mia", "Mia"],
    ...     "occurred_at": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    ...     "next_planned_at": pd.to_datetime(["2024-01-02", "2024-01-03"])})
    >>> per, overdue = cadence_check(act, grades=pd.DataFrame({"account_id": ["K1"],
    ...     "grade": ["S"]}), cadence_days={"S": 1}, as_of="2024-01-05")
    >>> per[["owner", "planned", "done", "overdue"]].to_dict("records")
    [{'owner': 'Mia', 'planned': 2, 'done': 1, 'overdue': 1}]
    """
    t = as_of_ts(as_of, (activities, "occurred_at"))
    cad = {str(k): float(v) for k, v in cadence_days.items()}
    if grades is None:
        if leads is None or key not in leads or "grade" not in leads:
            raise ValueError(f"cadence_check needs grades= or leads with {key} and grade")
        rank = {g: i for i, g in enumerate(["S", "A", "B", "C", "D"])}
        ld = leads.dropna(subset=[key, "grade"])
        ld = ld.assign(_r=ld["grade"].astype(str).map(rank).fillna(99))
        best = ld.sort_values([key, "_r"], kind="mergesort").drop_duplicates(key)
        grades = best[[key, "grade"]].rename(columns={"grade": grade_column})
    g = grades[[key, grade_column]].dropna().drop_duplicates(key)
    a = activities[(activities["occurred_at"] <= t) & activities[key].notna()]
    a = a.merge(g, on=key, how="inner")
    a = a[a[grade_column].astype(str).isin(cad)]
    a = a.sort_values([key, "occurred_at"], kind="mergesort").reset_index(drop=True)
    grace = pd.Timedelta(days=grace_days)
    nxt = a.groupby(key)["occurred_at"].shift(-1)
    planned_col = (
        a["next_planned_at"] if "next_planned_at" in a else pd.Series(pd.NaT, index=a.index)
    )
    due = planned_col.notna() & (planned_col + grace <= t)
    done = due & nxt.notna() & (nxt <= planned_col + grace)
    a = a.assign(_due=due, _done=done)
    last = a.groupby(key).agg(
        owner=("owner", "last"), grade=(grade_column, "first"), last_followup=("occurred_at", "max")
    )
    last["days_since"] = (t - last["last_followup"]).dt.total_seconds() / 86400
    last["cadence_days"] = last["grade"].astype(str).map(cad)
    if active is not None:
        last = last[last.index.isin(pd.Series(active).dropna().unique())]
    overdue = last[last["days_since"] > last["cadence_days"]].reset_index()
    overdue = overdue.sort_values(
        ["days_since", key], ascending=[False, True], kind="mergesort"
    ).reset_index(drop=True)
    per = a.groupby("owner").agg(
        accounts=(key, "nunique"), planned=("_due", "sum"), done=("_done", "sum")
    )
    per["overdue"] = overdue.groupby("owner").size().reindex(per.index, fill_value=0)
    per = per.reset_index()
    for c in ("accounts", "planned", "done", "overdue"):
        per[c] = per[c].astype("int64")
    per["plan_completion"] = per["done"] / per["planned"].astype(float).where(per["planned"] > 0)
    per = per[["owner", "accounts", "planned", "done", "plan_completion", "overdue"]]
    per.attrs = overdue.attrs = {
        "as_of": str(t.date()),
        "cadence_days": cad,
        "grace_days": grace_days,
        "rule": "plan completion = planned follow-ups due by as_of done within grace days / "
        "planned; overdue = last follow-up older than the grade's cadence",
    }
    return per, overdue
