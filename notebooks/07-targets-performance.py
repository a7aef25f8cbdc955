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
# # 07 · Performance review (monthly or quarterly)
# The review the guides hold every month or quarter: completion against target and against
# the pace due by `as_of` (anyone more than 20% behind flagged [002]), YoY and MoM, the team
# roll-up checked, where the open period is heading, growth over time, product mix, customers
# new and returning with their tiers ([003] VIP / core / normal / potential), reps below 80%
# of the team average three months running [001], and the review workbook.
# `period="M"` is the monthly review, `period="Q"` the quarterly one.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
as_of: str = "2026-05-15"  # date of the review, ISO; later history is ignored
period: str = "M"  # M for the monthly review, Q for the quarterly one (Y also works)
pace: str = "linear"  # pace due by as_of: linear (working days) or seasonal (past years)
lag_threshold: float = 0.2  # flag a rep more than this share behind the pace (guide 002)
team_column: str = "team"  # targets column for the team roll-up; empty means none
under_months: int = 3  # months running below the team average that flag a rep (guide 001)
under_threshold: float = 0.8  # share of the team average a rep must reach each month
tier_scheme: str = "guide_003"  # customer tiers: guide_003 (default) or guide_000 (A/B/C)
lang: str = "en"  # en or zh labels (zh: the guides' own sheet layouts in the workbook)
interval: float = 0.8  # central probability of the projection interval
n_sims: int = 20000  # simulated outcomes behind each interval
seed: int = 0  # random seed of the simulation
columns: dict = {}  # header mapping per table, {opportunities: {客户编号: opportunity_id}}
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa

sa.refuse_runner_format(globals())  # a runner-format params file given to papermill

pd.set_option("display.float_format", "{:,.2f}".format)
pd.set_option("display.max_columns", 30)
warnings.filterwarnings("ignore", message=".*below min_count.*")
ds = sa.read_dataset(data_dir or None, stages=stages, columns=columns)
print(ds)
has_targets = sa.has_tables(
    ds, "opportunities", "targets", section="Attainment, pacing, roll-up and review workbook"
)
has_deals = sa.has_tables(
    ds, "opportunities", section="Growth, product mix, customers, tiers and under-performers"
)
if has_targets:
    reps = sa.attainment(
        ds, period=period, by="owner", as_of=as_of, pace=pace, lag_threshold=lag_threshold
    )
    sa.save_table(reps, output_dir, "attainment_by_rep")
    print(f"pace: {reps.attrs['pace_basis']}; {reps.attrs['share_due']:.1%} of the period due")

# %% [markdown]
# ## The period under review: completion and pace per rep
# `expected_to_date` is the target due by `as_of`; `pace_ratio` = bookings / that;
# `lagging` when more than `lag_threshold` behind. `yoy` compares with the same period a
# year earlier up to the same day (empty when the data do not reach back that far).

# %%
if has_targets:
    current = reps[reps["period"] == reps["period"].max()]
    cols = ["owner", "target", "bookings", "attainment", "expected_to_date", "pace_ratio"]
    cols += ["lagging", "yoy", "mom"]
    sa.show(current[cols], lang=lang, name="attainment_by_rep")

# %%
if has_targets:
    fig, ax = plt.subplots(figsize=(7, 4))
    sa.plot_attainment(reps, ax=ax)
    sa.save_figure(fig, output_dir, "attainment")
    plt.show()

# %% [markdown]
# ## Attainment per rep and period

# %%
if has_targets:
    by_period = reps.pivot(index="owner", columns="period", values="attainment")
    sa.show(by_period, lang=lang, name="attainment_by_rep")

# %% [markdown]
# ## Team roll-up, checked: the reps add up to their team

# %%
if has_targets and team_column:
    teams = sa.attainment(
        ds, period=period, by=team_column, as_of=as_of, pace=pace, lag_threshold=lag_threshold
    )
    by_rep = sa.attainment(ds, period=period, by=[team_column, "owner"], as_of=as_of)
    check = sa.check_rollup(by_rep, teams, on=["period", team_column])
    sa.save_table(teams, output_dir, "attainment_by_team")
    print(f"roll-up mismatches: {int((~check['consistent']).sum())}")
    by_team = teams.pivot(index=team_column, columns="period", values="attainment")
    sa.show(by_team, lang=lang, name="attainment_by_team")
elif has_targets:
    print("no team roll-up (team_column is empty)")

# %% [markdown]
# ## Where the open period is heading
# `projected` = booked + expected from the deals open on `as_of` that are won before the
# period ends (a floor: deals not created yet are not counted).

# %%
if has_targets:
    pacing = sa.period_pacing(
        ds, as_of=as_of, period=period, by="owner", interval=interval, n_sims=n_sims, seed=seed
    )
    sa.save_table(pacing, output_dir, "pacing")
    print(f"{pacing.attrs['period']}: {pacing.attrs['days_left']:.0f} days left after {as_of}")
    sa.show(pacing, lang=lang, name="pacing")

# %%
if has_targets:
    fig, ax = plt.subplots(figsize=(7, 4))
    sa.plot_pacing(pacing, ax=ax)
    sa.save_figure(fig, output_dir, "pacing")
    plt.show()

# %% [markdown]
# ## Growth over time
# MoM and YoY; trend and seasonality once two full years exist.

# %%
if has_deals:
    grow = sa.growth(ds, period=period, as_of=as_of)
    sa.save_table(grow, output_dir, "growth")
    print(grow.attrs["decomposition"])
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sa.plot_growth(grow, ax=ax)
    sa.save_figure(fig, output_dir, "growth")
    plt.show()

# %% [markdown]
# ## Product mix: share, contribution to growth, star products

# %%
if has_deals:
    mix = sa.product_mix(ds, period=period, as_of=as_of)
    sa.save_table(mix, output_dir, "product_mix")
    print("; ".join(mix.attrs["notes"]) or "margin included")
    sa.show(mix[mix["period"] == mix["period"].max()], lang=lang, name="product_mix")

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sa.plot_product_share(mix, ax=ax)
    sa.save_figure(fig, output_dir, "product_share")
    plt.show()

# %% [markdown]
# ## Customers: new and returning, repeat rate, churn against its ceiling

# %%
if has_deals:
    customers = sa.customer_activity(ds, period=period, as_of=as_of)
    sa.save_table(customers, output_dir, "customers")
    sa.show(customers.tail(6), lang=lang, name="customers")

# %% [markdown]
# ## Customer tiers and how customers moved since a year ago

# %%
if has_deals:
    tiers = sa.customer_tiers(ds, as_of=as_of, scheme=tier_scheme)
    start = str((pd.Timestamp(as_of) - pd.DateOffset(years=1)).date())
    moves = sa.tier_migration(ds, start=start, end=as_of, scheme=tier_scheme)
    sa.save_table(tiers, output_dir, "customer_tiers")
    print(f"scheme {tiers.attrs['scheme']} ({tiers.attrs['source']})")
    sa.show(tiers["tier"].value_counts().reset_index(), lang=lang)

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(5, 4))
    sa.plot_tier_migration(moves, ax=ax)
    sa.save_figure(fig, output_dir, "tier_migration")
    plt.show()

# %% [markdown]
# ## Reps below the team average month after month

# %%
if has_deals:
    under = sa.underperformers(ds, months=under_months, threshold=under_threshold, as_of=as_of)
    sa.save_table(under, output_dir, "underperformers")
    sa.show(under, lang=lang, name="underperformers", empty="No rep below the team average.")

# %% [markdown]
# ## Target sheet and the review workbook
# Every target row with its actual value; the workbook holds a summary and one sheet per
# view (`lang="zh"`: the guides' layouts, amounts in 万元).

# %%
if has_targets:
    sheet = sa.target_sheet(ds, period=period, as_of=as_of)
    if output_dir:
        path = sa.write_review(
            Path(output_dir) / f"review_{period}.xlsx",
            attainment=reps,
            targets=sheet,
            underperformers=under,
            growth=grow,
            product_mix=mix,
            customers=customers,
            tiers=moves,
            lang=lang,
        )
        print(f"workbook written: {path.name}")
    sa.show(sheet[sheet["period"] == sheet["period"].max()], lang=lang)
