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
# # 04 · Stage win probabilities
# Fit P(win | stage, segment) on what was known at the split date, with open deals censored
# (Aalen-Johansen, won vs lost) and small segments shrunk toward their stage; then score the
# open deals of every later month against what happened, next to the configured numbers and
# three baselines. Export the calibrated stage config when asked.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
lang: str = "en"  # en or zh labels
split: str = "2025-12-31"  # fit on history up to this date; evaluate on later snapshots
rolling: bool = False  # also refit at every month end after split, each scoring the next month
segment: str = "channel"  # segment whose estimates are shrunk toward the stage estimate
half_life_days: float = 0.0  # recency weighting half-life in days; 0 means none
min_count: int = 30  # fewest deals entering a stage before a segment gets its own estimate
export_as_of: str = ""  # when set, refit on history up to this date and export for rollout
export_path: str = "params/calibrated/stage_probabilities.yaml"  # where the export goes
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
warnings.filterwarnings("ignore", message=".*below min_count.*")
ds = sa.read_dataset(data_dir or None, stages=stages, columns=columns)
print(ds)
has_deals = sa.has_tables(ds, "opportunities", section="Stage probabilities")
if has_deals:
    model = sa.StageProbabilityModel(
        by=segment or None, half_life_days=half_life_days or None, min_count=min_count
    )
    model.fit(ds, as_of=split)
    start = model.history_start_
    print(
        f"closes recorded over {model.history_days_} days before {split}; time at risk counted "
        f"from {start:%Y-%m-%d} (the first recorded close)"
        if start is not None
        else "time at risk counted from each deal's entry"
    )

# %% [markdown]
# ## Calibrated vs configured, per stage

# %%
if has_deals:
    table = model.table_
    per_stage = table.drop_duplicates("stage")[
        ["stage", "entered", "won", "lost", "open", "stage_estimate", "low", "high", "configured"]
    ]
    per_stage = per_stage.assign(
        configured_minus_calibrated=per_stage["configured"] - per_stage["stage_estimate"]
    )
    sa.save_table(table, output_dir, "stage_probabilities")
    sa.show(per_stage, lang=lang, name="stage_probabilities")

# %% [markdown]
# Where the configured number lies outside the calibrated interval, it is wrong by more than
# noise; the last column says by how much (positive: configured too optimistic).

# %%
if has_deals:
    outside = per_stage[
        (per_stage["configured"] < per_stage["low"]) | (per_stage["configured"] > per_stage["high"])
    ]
    sa.show(outside, lang=lang, empty="Every configured probability lies inside its interval.")

# %% [markdown]
# ## Segments (shrunk toward their stage)

# %%
if has_deals and segment:
    segments = table[table[segment] != "(all)"]
    by_seg = segments.pivot(index=segment, columns="stage", values="estimate")
    sa.show(by_seg[list(ds.stages.open_keys)], lang=lang, name="stage_probabilities")
elif has_deals:
    print("no segment (segment is empty): stage estimates only")

# %% [markdown]
# ## Out of time: fitted at the split, scored on later snapshots

# %%
if has_deals:
    models = {
        "calibrated": model,
        "configured": sa.ConfiguredProbabilities(),
        "global rate": sa.GlobalWinRate(),
        "stage rate, open dropped": sa.EmpiricalStageRate(),
        "naive Bayes (Odoo-style)": sa.NaiveBayesOdoo(fields=[segment] if segment else ()),
    }
    end = sa.stage_transitions(ds).attrs["as_of"]
    refits = (
        [
            pd.Timestamp(split),
            *pd.date_range(split, pd.Timestamp(end) - pd.Timedelta(days=30), freq="ME"),
        ]
        if rolling
        else [pd.Timestamp(split)]
    )
    report = sa.calibration_report(models, ds, refits, by=[segment] if segment else [])
    sa.save_table(report.scores, output_dir, "scores")
    sa.save_table(report.reliability, output_dir, "reliability")
    print(
        f"split {report.scores.attrs['split']}; snapshots {report.scores.attrs['snapshots'][0]} .. "
        f"{report.scores.attrs['snapshots'][-1]}; {report.scores.attrs['outcome']}"
    )
    sa.show(report.scores, lang=lang, name="scores")

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(5.5, 5))
    sa.plot_reliability(report.reliability, ax=ax)
    sa.save_figure(fig, output_dir, "reliability")
    plt.show()

# %%
if has_deals:
    bs = report.by_stage.pivot_table(index="stage", columns="model", values="brier")
    sa.show(bs.loc[list(ds.stages.open_keys)], lang=lang)

# %% [markdown]
# Brier per refit date (one row unless `rolling`): a model that wins only on average is
# fragile; compare the rows before rolling a new set of probabilities out.

# %%
if has_deals:
    by_refit = report.by_split.pivot(index="split", columns="model", values="brier").round(4)
    sa.save_table(by_refit.reset_index(), output_dir, "brier_by_refit")
    sa.show(by_refit, lang=lang, name="brier_by_refit")

# %% [markdown]
# ## Export for rollout

# %%
if has_deals:
    if export_as_of:
        final = sa.StageProbabilityModel(
            by=segment or None, half_life_days=half_life_days or None, min_count=min_count
        )
        final.fit(ds, as_of=export_as_of)
        path = final.to_yaml(_paths.PROJECT_ROOT / export_path)
        print(f"exported {path.relative_to(_paths.PROJECT_ROOT)}")
    else:
        print("no export (set export_as_of to write the calibrated stage config)")
