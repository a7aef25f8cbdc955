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
# # 07 · Targets and performance
# Bookings against target per rep and team for every finished period, the trend, and where
# the current period is heading: booked so far plus what the open deals are expected to
# bring in before the period ends (calibrated win-within-horizon probabilities), with an
# interval and a status per rep: on track, at risk or behind.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
as_of: str = "2026-05-15"  # date of the review, ISO; later history is ignored
period: str = "Q"  # M, Q or Y; monthly targets add up
team_column: str = "team"  # targets column for the team roll-up; empty means none
interval: float = 0.8  # central probability of the projection interval
n_sims: int = 20000  # simulated outcomes behind each interval
seed: int = 0  # random seed of the simulation
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import warnings

import matplotlib.pyplot as plt
import pandas as pd

import salesanalytics as sa

pd.set_option("display.float_format", "{:,.2f}".format)
pd.set_option("display.max_columns", 30)
warnings.filterwarnings("ignore", message=".*below min_count.*")
ds = sa.read_dataset(data_dir or None, stages=stages)
reps = sa.attainment(ds, period=period, by="owner", as_of=as_of)
sa.save_table(reps, output_dir, "attainment_by_rep")
print(ds)

# %% [markdown]
# ## Attainment per rep and period (bookings / target)

# %%
reps.pivot(index="owner", columns="period", values="attainment")

# %% [markdown]
# ## Team roll-up

# %%
if team_column:
    teams = sa.attainment(ds, period=period, by=team_column, as_of=as_of)
    sa.save_table(teams, output_dir, "attainment_by_team")
    out = teams.pivot(index=team_column, columns="period", values="attainment")
else:
    out = "no team roll-up (team_column is empty)"
out

# %% [markdown]
# ## The current period: where it is heading
# `projected` = booked + expected from the deals open on `as_of` that are won before the
# period ends. Deals not created yet are not counted, so for a period with weeks left it is
# a floor. `run_rate` (booked / share of the period elapsed) is the naive alternative.

# %%
pacing = sa.period_pacing(
    ds, as_of=as_of, period=period, by="owner", interval=interval, n_sims=n_sims, seed=seed
)
sa.save_table(pacing, output_dir, "pacing")
print(f"{pacing.attrs['period']}: {pacing.attrs['days_left']:.0f} days left after {as_of}")
pacing

# %%
fig, ax = plt.subplots(figsize=(7, 4))
sa.plot_pacing(pacing, ax=ax)
sa.save_figure(fig, output_dir, "pacing")
plt.show()

# %% [markdown]
# ## Who needs attention
# Reps behind, or at risk with less than half of the target booked.

# %%
pacing[
    (pacing["owner"] != "(total)")
    & (
        (pacing["status"] == "behind")
        | ((pacing["status"] == "at risk") & (pacing["booked"] < 0.5 * pacing["target"]))
    )
][["owner", "target", "booked", "projected", "low", "high", "status"]]
