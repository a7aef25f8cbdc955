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
# # 06 · Forecast the period
# What we will book this month (or quarter): booked so far, the open deals that will close
# in time and the deals not created yet, with a P10–P90 range, by three methods: the stage
# model with time to close (`model`), the guides' weighted pipeline (`weighted`, amount x
# stage probability, ±`adjustment`) and the funnel forecast (`funnel`, stage counts x
# historical conversion x average deal size). Then the same forecasts made on past dates
# against what was booked, last period's accuracy review by deal and rep ([000]: deviations
# over 20% get a reason) and how the open pipeline changed over it.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
lang: str = "en"  # en or zh labels
as_of: str = "2026-06-30"  # forecast date, ISO; the period is the one holding the next day
horizon: str = "M"  # M (month) or Q (quarter)
segment: str = "channel"  # breakdown of the forecast; empty for the total only
interval: float = 0.8  # central probability of the forecast range; 0.8 gives P10 to P90
adjustment: float = 0.0  # market adjustment of what is still to come, e.g. -0.05 ([000])
backtest_periods: int = 6  # past periods backtested with every method; 0 for none
threshold: float = 0.2  # review: flag deals and reps off by more than this share
n_sims: int = 5000  # simulated outcomes behind each range
seed: int = 0  # random seed of the simulation
columns: dict = {}  # header mapping per table, {opportunities: {客户编号: opportunity_id}}
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa

sa.refuse_runner_format(globals())  # a runner-format params file given to papermill

pd.set_option("display.float_format", "{:,.0f}".format)
pd.set_option("display.max_columns", 30)
pd.set_option("display.width", 160)
warnings.filterwarnings("ignore", category=UserWarning)
ds = sa.read_dataset(data_dir or None, stages=stages, columns=columns)
kw = {"interval": interval, "adjustment": adjustment, "n_sims": n_sims, "seed": seed}
print(ds)
has_deals = sa.has_tables(ds, "opportunities", section="Forecast, backtest, review and waterfall")

# %% [markdown]
# ## This period's forecast

# %%
if has_deals:
    forecast = pd.concat(
        [
            sa.forecast_period(ds, as_of, horizon, by=segment or None, method=m, **kw)
            for m in ("model", "weighted", "funnel")
        ],
        ignore_index=True,
    )
    sa.save_table(forecast, output_dir, "forecast")
    cols = [segment] if segment else []
    cols += ["method", "expected", "p10", "p50", "p90", "already_won", "from_open", "from_new"]
    print(f"period {forecast.loc[0, 'period']}, forecast on {as_of}")
    sa.show(forecast[cols], lang=lang, name="forecast")

# %% [markdown]
# ## Backtest: every method on past periods, against what was booked
# On each past period end the forecast of the next period is made with only what was known
# that day. WAPE = Σ|forecast − actual| / Σ actual; accuracy = max(0, 1 − |actual −
# forecast| / actual).

# %%
freq = {"M": "ME", "Q": "QE"}[horizon]
ends = pd.date_range(end=pd.Timestamp(as_of), periods=backtest_periods + 1, freq=freq)
dates = [d for d in ends[:-1] if d < pd.Timestamp(as_of)][-backtest_periods:]
backtest = (
    sa.backtest_forecast(ds, dates, horizon, **kw) if has_deals and backtest_periods else None
)
if backtest is not None:
    sa.save_table(backtest, output_dir, "backtest")
    summary = sa.backtest_summary(backtest)
    sa.show(summary.drop(columns="actual"), lang=lang, name="backtest")

# %%
if backtest is not None:
    fig, ax = plt.subplots(figsize=(8, 3.6))
    sa.plot_forecast_fan(backtest, ax=ax)
    sa.save_figure(fig, output_dir, "forecast_fan")
    plt.show()

# %% [markdown]
# ## Last period's review
# The per-deal forecast made at the start of the last closed period (model method) against
# what each deal booked; the reason for every deal off by more than `threshold`.

# %%
last = pd.Period(pd.Timestamp(as_of), horizon)
if pd.Timestamp(as_of).normalize() < last.end_time.normalize():
    last = last - 1  # the period holding as_of is not over yet
made = (last.start_time - pd.Timedelta(days=1)).date().isoformat()
if has_deals:
    per_deal = sa.forecast_deals(ds, made, horizon)
    deals, reps = sa.forecast_review(ds, last, per_deal, threshold=threshold)
    sa.save_table(deals, output_dir, "review_deals")
    sa.save_table(reps, output_dir, "review_reps")
    print(f"period {last}, forecast made on {made}")
    reasons = deals[deals["flagged"]]["reason"].value_counts().reset_index()
    sa.show(reasons, lang=lang, empty="No deal off by more than the threshold.")

# %%
if has_deals:
    shown = reps.assign(
        deviation=reps["deviation"].map("{:+.0%}".format),
        accuracy=reps["accuracy"].map("{:.0%}".format),
    )
    sa.show(shown, lang=lang, name="review_reps")

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(7, 3.2))
    sa.plot_accuracy_by_rep(reps, ax=ax)
    sa.save_figure(fig, output_dir, "accuracy_by_rep")
    plt.show()

# %% [markdown]
# ## Pipeline waterfall over the last period

# %%
if has_deals:
    waterfall = sa.pipeline_waterfall(ds, made, last.end_time.date().isoformat())
    sa.save_table(waterfall, output_dir, "waterfall")
    fig, ax = plt.subplots(figsize=(8, 3.6))
    sa.plot_waterfall(waterfall, ax=ax)
    sa.save_figure(fig, output_dir, "waterfall")
    plt.show()
    sa.show(waterfall, lang=lang, name="waterfall")
