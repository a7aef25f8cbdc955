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
# # 01 · Data quality
# Every problem found while cleaning, what it puts at risk, what was fixed and what was
# rejected. Nothing is lost: each input row is clean, rejected (with its reason), an exact
# duplicate that was dropped, or merged into an earlier lead of the same person.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
lang: str = "en"  # table labels: en or zh
dayfirst: bool = False  # read ambiguous slash dates as D/M/Y (columns that decide are not affected)
relax: dict = {}  # required columns to treat as optional, e.g. {leads: [created_at]}
columns: dict = {}  # header mapping per table, {opportunities: {客户编号: opportunity_id}}
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa

sa.refuse_runner_format(globals())  # a runner-format params file given to papermill

pd.set_option("display.float_format", "{:,.2f}".format)
pd.set_option("display.max_colwidth", 80)
ds = sa.read_dataset(
    data_dir or None, stages=stages, dayfirst=dayfirst, relax=relax, columns=columns
)
print(ds)

# %% [markdown]
# ## Row accounting

# %%
summary = ds.summary()
sa.save_table(summary, output_dir, "row_accounting")
sa.show(summary, lang=lang, name="row_accounting")

# %% [markdown]
# ## Problems and what they affect

# %%
problems = sa.quality_summary(ds)
sa.save_table(problems, output_dir, "problems")
sa.show(problems, lang=lang, name="problems", empty="No data problems found.")

# %%
fig, ax = plt.subplots(figsize=(7, 3))
sa.plot_quality(problems, ax=ax)
sa.save_figure(fig, output_dir, "problems")
plt.show()

# %% [markdown]
# ## Key metrics next to their problems
# `value` uses every clean row; `value_without_flagged` leaves out rows that carry a flag.
# A large gap means the flagged rows matter for that metric; rejected rows are in neither.

# %%
impact = sa.quality_impact(ds)
sa.save_table(impact, output_dir, "metric_impact")
sa.show(impact, lang=lang, name="metric_impact")

# %% [markdown]
# ## What was fixed

# %%
sa.show(sa.format_notes(ds), lang=lang)

# %% [markdown]
# ## What was rejected (first rows per table)

# %%
sa.show(sa.rejected_examples(ds, n=5), lang=lang)

# %%
sa.save_table(ds.quality, output_dir, "all_problems")
for table, rejected in ds.rejected.items():
    if len(rejected):
        sa.save_table(rejected, output_dir, f"rejected_{table}")

# %% [markdown]
# ## Headlines

# %%
items = sa.report.quality_headlines(ds, accounting=summary, problems=problems)
sa.show(sa.save_headlines(items, output_dir, lang=lang), lang=lang)
