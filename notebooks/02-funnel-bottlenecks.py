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
# # 02 · Funnel and bottlenecks
# Where do deals get stuck, for which segment, and is it more than noise? Cohort funnel,
# the period stage summary, dwell per stage with open deals censored, overdue deals and
# a ranked list of bottlenecks with the profile of the deals lost there.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
lang: str = "en"  # table labels: en or zh
as_of: str = "2026-06-30"  # snapshot date, ISO; later history is ignored
period: str = "Q"  # period of the stage summary: M (month) or Q (quarter)
segment: str = "channel"  # segment for the funnel and bottlenecks: channel, owner, region, product
cohort_start: str = "2025-07-01"  # cohort funnel: deals created from this date
stale_factor: float = 1.5  # overdue when in stage longer than this times the stage mean
alpha: float = 0.01  # family-wise significance level for bottleneck flags
min_count: int = 30  # fewest finished stage visits before a cell is tested
columns: dict = {}  # header mapping per table, {opportunities: {客户编号: opportunity_id}}
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa

sa.refuse_runner_format(globals())  # a runner-format params file given to papermill

pd.set_option("display.float_format", "{:,.3f}".format)
pd.set_option("display.max_columns", 30)
ds = sa.read_dataset(data_dir or None, stages=stages, columns=columns)
print(ds)
has_deals = sa.has_tables(ds, "opportunities", section="Funnel, dwell and bottlenecks")
if has_deals:
    transitions = sa.stage_transitions(ds, as_of=as_of)
    print(f"as of {transitions.attrs['as_of']}; stage visits: {len(transitions):,}")
    if transitions.attrs["coarse_history"]:
        print("NOTE:", transitions.attrs["note"])

# %% [markdown]
# ## Counting rules
# Stated here because every number below depends on them.

# %%
for rule, text in sa.COUNTING_RULES.items():
    print(f"{rule}: {text}")
print("conversion: advanced / (advanced + lost); deals still open are censored, not lost")

# %% [markdown]
# ## Cohort funnel

# %%
if has_deals:
    funnel = sa.funnel_summary(ds, transitions=transitions, start=cohort_start)
    sa.save_table(funnel, output_dir, "funnel_cohort")
    sa.show(funnel, lang=lang, name="funnel_cohort")

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    sa.plot_funnel(funnel, ax=ax, stages=ds.stages)
    sa.save_figure(fig, output_dir, "funnel")
    plt.show()

# %% [markdown]
# ## Conversion by stage and segment

# %%
if has_deals:
    by_segment = sa.funnel_summary(ds, transitions=transitions, by=segment, start=cohort_start)
    sa.save_table(by_segment, output_dir, f"funnel_by_{segment}")
    fig, ax = plt.subplots(figsize=(8, 4))
    sa.plot_conversion_heatmap(by_segment, segment, ax=ax)
    sa.save_figure(fig, output_dir, "conversion_heatmap")
    plt.show()

# %% [markdown]
# ## Stage summary per period
# opening + new - advanced - lost - regressed = closing; expected amount = amount x configured
# stage probability of the deals still in the stage at period end.

# %%
if has_deals:
    periods = sa.funnel_summary(ds, transitions=transitions, mode="period", period=period)
    sa.save_table(periods, output_dir, "stage_summary_by_period")
    sa.show(periods[periods["period"] == periods["period"].max()], lang=lang)

# %% [markdown]
# ## The month as guide [004] keeps it
# The guide's own convention, beside ours: closing = opening + new - lost (deals that moved
# on stay counted), conversion = advanced / closing, expected = closing x the stage's mean
# amount. Stages under 40% conversion are flagged; the previous month is beside it.

# %%
if has_deals:
    guide = sa.guide_stage_summary(ds, transitions=transitions, period=as_of[:7])
    sa.save_table(guide, output_dir, "stage_summary_guide")
    sa.show(guide, lang=lang, name="stage_summary_guide")

# %% [markdown]
# ## Dwell per stage (open deals censored)

# %%
if has_deals:
    dwell = sa.stage_dwell(ds, transitions=transitions, timeout_factor=stale_factor)
    sa.save_table(dwell, output_dir, "stage_dwell")
    sa.show(dwell, lang=lang, name="stage_dwell")

# %% [markdown]
# ## Overdue deals

# %%
if has_deals:
    stale = sa.stale_deals(ds, transitions=transitions, factor=stale_factor)
    sa.save_table(stale, output_dir, "overdue_deals")
    print(f"{len(stale)} open deals in stage longer than {stale_factor} x the stage mean")
    sa.show(stale, lang=lang, max_rows=15, name="overdue_deals")

# %% [markdown]
# ## Bottlenecks
# Step 1, lowest conversion against the rest of the team; step 2, the profile of the deals
# lost there; step 3 (root cause) starts from the loss reasons shown.

# %%
if has_deals:
    bottlenecks = sa.find_bottlenecks(
        ds, transitions=transitions, by=segment, alpha=alpha, min_count=min_count
    )
    sa.save_table(bottlenecks, output_dir, f"bottlenecks_by_{segment}")
    sa.show(bottlenecks[bottlenecks["flagged"]], lang=lang)

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(7, 4))
    sa.plot_bottlenecks(bottlenecks, ax=ax)
    sa.save_figure(fig, output_dir, "bottlenecks")
    plt.show()

# %% [markdown]
# ## Headlines

# %%
if has_deals:
    items = sa.report.funnel_headlines(funnel, stale, bottlenecks, segment=segment)
    sa.show(sa.save_headlines(items, output_dir, lang=lang), lang=lang)
