# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Scoring and tiering
# Before rolling out new weights: on history, does the hand-set scorecard rank leads, what
# does each tier really convert at, would fitted weights do better on leads it has not seen,
# and what changes if they are rolled out. Then customer tiers from orders, with the
# follow-up plan each tier implies.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
lang: str = "en"  # en or zh labels
scorecard: str = "lead_sabc"  # hand-set lead scorecard: preset name or YAML path
outcome: str = "converted"  # 0/1 lead outcome column
split: str = "2025-12-01"  # fit on leads created before this date, evaluate on the rest
leads_per_week: float = 110.0  # expected new leads per week (capacity cut-off)
reps: int = 8  # reps working leads
capacity_per_rep: float = 5.0  # leads each rep can work properly per week
customer_scorecard: str = "customer_tiers"  # customer tiering scorecard
as_of: str = "2026-06-30"  # date of the customer tiering and follow-up plan, ISO
export_path: str = ""  # when set, write the fitted scorecard to this path
columns: dict = {}  # header mapping per table, {opportunities: {客户编号: opportunity_id}}
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa
from salesanalytics import _paths

sa.refuse_runner_format(globals())  # a runner-format params file given to papermill

pd.set_option("display.float_format", "{:,.3f}".format)
pd.set_option("display.max_columns", 30)
warnings.filterwarnings("ignore", message=".*no positive effect.*")
ds = sa.read_dataset(data_dir or None, columns=columns)
has_leads = sa.has_tables(ds, "leads", section="Lead scorecard")
has_customers = sa.has_tables(ds, "opportunities") or sa.has_tables(ds, "orders")
if not has_customers:
    print("Customer tiers: skipped (neither opportunities nor orders in this export)")
if has_leads:
    leads = ds.leads
    train, test = leads[leads["created_at"] < split], leads[leads["created_at"] >= split]
    hand = sa.Scorecard.from_yaml(scorecard)
    print(f"{len(train):,} leads to fit on, {len(test):,} held out (created from {split})")

# %% [markdown]
# ## Hand-set vs fitted weights
# Fitted by regularised logistic regression on each dimension's points, time-ordered folds;
# leakage guard on (fields filled in after the outcome are refused).

# %%
if has_leads:
    fit = sa.fit_scorecard(train, hand, outcome=outcome)
    sa.save_table(fit.comparison, output_dir, "weights")
    print("cross-validated AUC per fold:", [round(a, 3) for a in fit.cv_auc])
    sa.show(fit.comparison, lang=lang, name="weights")

# %% [markdown]
# ## On held-out leads: tier conversion, AUC, Brier

# %%
if has_leads:
    evaluations = {
        "hand-set": sa.evaluate_scorecard(hand, test, outcome=outcome),
        "fitted": sa.evaluate_scorecard(fit.scorecard, test, outcome=outcome),
    }
    summary = pd.DataFrame(
        [
            {
                "scorecard": k,
                "auc": e.auc,
                "brier": e.brier,
                "monotone": e.monotone,
                "violations": "; ".join(e.violations),
            }
            for k, e in evaluations.items()
        ]
    )
    sa.save_table(summary, output_dir, "holdout_scores")
    sa.show(summary, lang=lang, name="holdout_scores")

# %%
if has_leads:
    tiers = pd.concat(
        [e.tiers.assign(scorecard=k) for k, e in evaluations.items()], ignore_index=True
    )
    sa.save_table(tiers, output_dir, "tier_conversion")
    sa.show(tiers, lang=lang, name="tier_conversion")

# %%
if has_leads:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for k, e in evaluations.items():
        ax.plot(e.gains["decile"], e.gains["cumulative_share_of_conversions"], marker="o", label=k)
    ax.plot([0, 10], [0, 1], color="#999999", linestyle="--", label="random")
    ax.set_xlabel("score decile (1 = best)")
    ax.set_ylabel("share of conversions")
    ax.set_title("Gains on held-out leads")
    ax.legend(frameon=False)
    sa.save_figure(fig, output_dir, "gains")
    plt.show()

# %% [markdown]
# ## What changes if the fitted weights are rolled out
# Rows: tier today (hand-set); columns: tier with fitted weights (held-out leads).

# %%
if has_leads:
    migration = pd.crosstab(
        evaluations["hand-set"].scored["tier"], evaluations["fitted"].scored["tier"]
    )
    sa.save_table(migration.reset_index(), output_dir, "tier_migration")
    sa.show(migration, lang=lang, name="tier_migration")

# %% [markdown]
# ## Capacity: which leads can the team work?

# %%
if has_leads:
    cutoff = sa.capacity_cutoff(
        evaluations["fitted"].scored["score"],
        leads_per_week=leads_per_week,
        reps=reps,
        capacity_per_rep=capacity_per_rep,
    )
    print(
        f"{reps} reps x {capacity_per_rep:g} leads a week of {leads_per_week:g} new leads: work leads scoring "
        f"{cutoff:.1f} or more with the fitted weights"
    )

# %% [markdown]
# ## Customer tiers and follow-up plan

# %%
if has_customers:
    features = sa.customer_features(ds, as_of=as_of)
    customer_card = sa.Scorecard.from_yaml(customer_scorecard)
    customers = features.join(customer_card.score(features)[["score", "tier"]])
    last_contact = (
        ds.activities.groupby("account_id")["occurred_at"].max()
        if ds.activities is not None
        else None
    )
    plan = sa.followup_plan(
        customers,
        as_of=as_of,
        last_contact=last_contact,
        cadence_days={"VIP": 7.0, "core": 14.0, "normal": 30.0, "potential": 60.0},
    )
    sa.save_table(customers, output_dir, "customer_tiers")
    sa.save_table(plan, output_dir, "followup_plan")
    by_tier = customers.groupby("tier", observed=True).agg(
        accounts=("account_id", "size"),
        purchases_6m=("purchases_6m", "sum"),
        open_pipeline=("open_pipeline", "sum"),
    )
    sa.show(by_tier, lang=lang)

# %%
if has_customers:
    sa.show(plan, lang=lang, max_rows=10, name="followup_plan")

# %%
if has_leads:
    if export_path:
        print(
            f"exported {fit.scorecard.to_yaml(_paths.PROJECT_ROOT / export_path).relative_to(_paths.PROJECT_ROOT)}"
        )
    else:
        print("no export (set export_path to write the fitted scorecard)")
