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
# # 08 · Funnel, dwell and stage probabilities where the data live
# The same funnel, dwell, conversion and calibration tables as notebooks 02-04, computed by
# the engine that holds the CRM (DuckDB, Spark, a warehouse) when `data_dir` is a
# connection URL: only the aggregates come back. With a folder (or empty: the bundled
# sample) pandas computes them, with the same numbers.

# %% tags=["parameters"]
data_dir: str = ""  # CRM files folder, or a URL (duckdb:///crm.duckdb; secrets as ${ENV})
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
lang: str = "en"  # en or zh labels
as_of: str = "2026-06-30"  # snapshot date, ISO; later history is never read
period: str = "Q"  # period of the stage summary: M (month) or Q (quarter)
segment: str = "channel"  # segment for the funnel, conversion and stage probabilities
stale_factor: float = 1.5  # overdue when in stage longer than this times the stage mean
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa

sa.refuse_runner_format(globals())  # a runner-format params file given to papermill

pd.set_option("display.float_format", "{:,.3f}".format)
pd.set_option("display.max_columns", 30)
ds = sa.read_dataset(data_dir or None, stages=stages)
print(type(ds).__name__, "on", getattr(ds, "engine", "pandas"))
has_deals = sa.has_tables(ds, "opportunities", section="Funnel, dwell and stage probabilities")
has_leads = sa.has_tables(ds, "leads", section="Conversion by segment")
if has_deals:
    transitions = sa.stage_transitions(ds, as_of=as_of)
    print(f"as of {transitions.attrs['as_of']}")

# %% [markdown]
# ## Cohort funnel by segment

# %%
if has_deals:
    funnel = sa.funnel_summary(ds, transitions=transitions)
    sa.save_table(funnel, output_dir, "funnel_cohort")
    by_segment = sa.funnel_summary(ds, transitions=transitions, by=segment)
    sa.save_table(by_segment, output_dir, f"funnel_by_{segment}")
    fig, ax = plt.subplots(figsize=(7, 4))
    sa.plot_funnel(funnel, ax=ax, stages=ds.stages)
    sa.save_figure(fig, output_dir, "funnel")
    plt.show()
    cols = ["stage", segment, "reached", "advanced", "lost_here", "open_here", "conversion"]
    sa.show(by_segment[cols], lang=lang, name=f"funnel_by_{segment}")

# %% [markdown]
# ## Stage summary per period

# %%
if has_deals:
    periods = sa.funnel_summary(ds, transitions=transitions, mode="period", period=period)
    sa.save_table(periods, output_dir, "stage_summary_by_period")
    sa.show(periods.tail(12), lang=lang, name="stage_summary_by_period")

# %% [markdown]
# ## Dwell per stage (open deals censored) and overdue deals

# %%
if has_deals:
    dwell = sa.stage_dwell(ds, transitions=transitions, timeout_factor=stale_factor)
    sa.save_table(dwell, output_dir, "stage_dwell")
    stale = sa.stale_deals(ds, transitions=transitions, factor=stale_factor)
    sa.save_table(stale, output_dir, "overdue_deals")
    print(f"overdue open deals: {len(stale):,}")
    sa.show(dwell, lang=lang, name="stage_dwell")

# %% [markdown]
# ## Conversion by segment (when leads are present)

# %%
if has_leads:
    conversion = sa.conversion_by(ds, by=segment, as_of=as_of)
    sa.save_table(conversion, output_dir, f"conversion_by_{segment}")
    sa.show(conversion, lang=lang, name=f"conversion_by_{segment}")

# %% [markdown]
# ## Stage win probabilities (open deals censored), fitted on what was known at as_of

# %%
if has_deals:
    model = sa.StageProbabilityModel(by=segment).fit(ds, as_of=as_of)
    table = model.table_
    sa.save_table(table, output_dir, "stage_probabilities")
    cols = ["stage", "entered", "won", "lost", "open", "estimate", "configured"]
    sa.show(table[table[segment] == "(all)"][cols], lang=lang, name="stage_probabilities")
