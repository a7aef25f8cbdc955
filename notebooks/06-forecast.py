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
# # 06 · Pipeline forecast
# Expected bookings from the deals open on `as_of` in the next `horizon_days`, with an
# interval, in total and by segment: amount x the calibrated probability of winning within
# the horizon (notebook 04's model), next to the usual weighted pipeline (amount x the
# configured stage probability). Then the same forecast made on past dates and compared with
# what actually closed.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
as_of: str = "2026-06-30"  # forecast date, ISO; later history is ignored
horizon_days: float = 90.0  # forecast bookings won within this many days after as_of
segment: str = "channel"  # segment for the breakdown and the model's segment estimates
interval: float = 0.8  # central probability of the forecast interval
backtest_from: str = "2025-01-31"  # first past forecast date; empty means no backtest
n_sims: int = 20000  # simulated outcomes behind each interval
seed: int = 0  # random seed of the simulation
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa

pd.set_option("display.float_format", "{:,.0f}".format)
pd.set_option("display.max_columns", 30)
warnings.filterwarnings("ignore", message=".*below min_count.*")
ds = sa.read_dataset(data_dir or None, stages=stages)
deals = sa.pipeline_as_of(ds, as_of)
model = sa.StageProbabilityModel(by=segment or None).fit(ds, as_of=as_of)
print(ds)
print(f"{len(deals)} open deals on {as_of}; {int(deals['amount'].isna().sum())} without amount")

# %% [markdown]
# ## Forecast: bookings in the next `horizon_days`

# %%
kw = {"interval": interval, "n_sims": n_sims, "seed": seed}
calibrated = sa.forecast_bookings(
    deals, model, horizon_days=horizon_days, by=segment or None, **kw
).assign(method="calibrated, won within horizon")
weighted = sa.forecast_bookings(deals, ds.stages, by=segment or None, **kw).assign(
    method="configured, won eventually"
)
forecast = pd.concat([calibrated, weighted], ignore_index=True)
sa.save_table(forecast, output_dir, "forecast")
print(f"interval: central {interval:.0%} of {n_sims:,} simulated outcomes")
forecast.drop(columns="coverage")

# %% [markdown]
# The configured probabilities say nothing about timing: they weight every open deal by its
# chance of ever closing, so they cannot answer "how much this quarter". Per stage:

# %%
per_deal = sa.deal_forecast(deals, model, horizon_days=horizon_days)
by_stage = (
    per_deal.assign(configured=sa.deal_forecast(deals, ds.stages)["expected"])
    .groupby("stage", sort=False)
    .agg(
        deals=("stage", "size"),
        pipeline=("amount", "sum"),
        calibrated=("expected", "sum"),
        configured=("configured", "sum"),
    )
    .reindex([s for s in ds.stages.open_keys if s in set(deals["stage"])])
)
sa.save_table(by_stage.reset_index(), output_dir, "forecast_by_stage")
by_stage

# %% [markdown]
# ## Backtest: the forecast made on past dates vs what closed
# Each month end from `backtest_from` until `horizon_days` before `as_of`: the model is
# fitted on what was known then; the actual is what those open deals brought in within the
# horizon (deals created later are in neither).

# %%
last = pd.Timestamp(as_of) - pd.Timedelta(days=horizon_days)
dates = pd.date_range(backtest_from, last, freq="ME") if backtest_from else []
backtest = (
    sa.backtest_forecast(
        ds,
        dates,
        horizon_days,
        {"calibrated": sa.StageProbabilityModel(by=segment or None), "configured": ds.stages},
        **kw,
    )
    if len(dates)
    else None
)
if backtest is None:
    print("no backtest (set backtest_from to a date at least horizon_days before as_of)")
else:
    sa.save_table(backtest, output_dir, "backtest")
    summary = sa.backtest_summary(backtest)
    print(summary.to_string())

# %%
if backtest is not None:
    fig, ax = plt.subplots(figsize=(8, 3.8))
    sa.plot_backtest(backtest, ax=ax)
    sa.save_figure(fig, output_dir, "backtest")
    plt.show()
