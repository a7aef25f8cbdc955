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
# # 00 · Data overview
# What was loaded: tables and row accounting, date ranges, the current stage mix and
# monthly volumes. Run it first on any new export: if a number here looks wrong, every
# later notebook will be wrong too.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
as_of: str = "2026-06-30"  # snapshot date, ISO; monthly volumes stop here
lang: str = "en"  # stage labels: en or zh
columns: dict = {}  # header mapping per table, {opportunities: {客户编号: opportunity_id}}
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa

sa.refuse_runner_format(globals())  # a runner-format params file given to papermill

pd.set_option("display.float_format", "{:,.2f}".format)
pd.set_option("display.width", 120)
ds = sa.read_dataset(data_dir or None, stages=stages, columns=columns)
as_of_ts = pd.Timestamp(as_of)
known = sa.dataset_as_of(ds, as_of)  # what was known at as_of: later rows and outcomes removed
sa.use_fonts(lang)
print(ds)
warnings_found = sa.run_warnings(ds, as_of)  # also listed in the runner's manifest
sa.save_table(warnings_found, output_dir, "run_warnings")
for w in warnings_found["warning"]:
    print("WARNING:", w)
has_deals = sa.has_tables(ds, "opportunities", section="Stage mix and monthly volumes")
if has_deals:
    print(f"known at {as_of}: {len(known.opportunities):,} opportunities")

# %% [markdown]
# ## Row accounting
# Every input row is either clean, rejected (with its reason) or an exact duplicate that was
# dropped: `rows_in = clean + rejected + duplicates_dropped`.

# %%
summary = ds.summary()
sa.save_table(summary, output_dir, "row_accounting")
sa.show(summary, lang=lang, name="row_accounting")

# %%
problems = sa.quality_summary(ds)
sa.save_table(problems, output_dir, "quality_summary")
sa.show(problems, lang=lang, name="quality_summary", empty="No data problems found.")

# %% [markdown]
# ## Date ranges (known at as_of)

# %%
ranges = sa.date_ranges(known)
sa.save_table(ranges, output_dir, "date_ranges")
sa.show(ranges, lang=lang, name="date_ranges")

# %% [markdown]
# ## Stage mix at as_of

# %%
if has_deals:
    dist = sa.stage_distribution(known, lang=lang)
    sa.save_table(dist, output_dir, "stage_distribution")
    sa.show(dist, lang=lang, name="stage_distribution")

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    sa.plot_stage_distribution(dist, ax=ax)
    sa.save_figure(fig, output_dir, "stage_distribution")
    plt.show()

# %% [markdown]
# ## New opportunities per month, by channel

# %%
if has_deals:
    monthly = sa.monthly_counts(known.opportunities, "created_at", by="channel", as_of=as_of_ts)
    sa.save_table(monthly, output_dir, "opportunities_per_month")
    sa.show(monthly.tail(6), lang=lang, name="opportunities_per_month")

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    sa.plot_monthly(monthly, ax=ax, title="New opportunities per month by channel")
    sa.save_figure(fig, output_dir, "opportunities_per_month")
    plt.show()

# %% [markdown]
# ## Deal conversion and headlines
# Won / (won + lost) of the deals known at as_of. An export holding won deals only cannot
# measure conversion: it says so instead of showing 100%.

# %%
if has_deals:
    conversion = sa.deal_conversion(ds, as_of=as_of)
    sa.save_table(conversion, output_dir, "deal_conversion")
    items, warns = sa.report.overview_headlines(ds, as_of=as_of, conversion=conversion)
    for w in warns:
        print("WARNING:", w)
    sa.show(sa.save_headlines(items, output_dir, warnings=warns, lang=lang), lang=lang)
