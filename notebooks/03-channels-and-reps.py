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
# # 03 · Channels and reps
# Lead to opportunity to won by channel, response time against the SLA by grade, the
# per-rep dwell table with coaching flags, rep bottlenecks, and follow-up cadence by tier.

# %% tags=["parameters"]
data_dir: str = ""  # folder of CRM table files; empty means the bundled sample (data/sample)
stages: str = "default"  # stage preset name (see params/stages) or a YAML path
as_of: str = "2026-06-30"  # snapshot date, ISO; later history is ignored
channel_column: str = "channel"  # lead column that names the source
sla_hours: dict = {"A": 2.0, "B": 4.0, "C": 24.0}  # first-response SLA in hours per grade
cadence_days: dict = {"A": 7.0, "B": 14.0, "C": 30.0}  # follow-up cadence in days per tier
coaching_factor: float = 1.2  # coach when a rep's dwell is above this times the team's
alpha: float = 0.01  # significance level for coaching and bottleneck flags
focus_stage: str = "proposal"  # stage whose dwell is plotted per rep
columns: dict = {}  # header mapping per table, {opportunities: {客户编号: opportunity_id}}
output_dir: str = ""  # where tables and figures go; empty means not saved (runner sets it)

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

import salesanalytics as sa

sa.refuse_runner_format(globals())  # a runner-format params file given to papermill

pd.set_option("display.float_format", "{:,.3f}".format)
pd.set_option("display.max_columns", 30)
ds = sa.read_dataset(data_dir or None, stages=stages, columns=columns)
print(ds)
has_leads = sa.has_tables(ds, "leads", section="Channels and first-response SLA")
has_deals = sa.has_tables(ds, "opportunities", section="Reps: dwell, coaching, bottlenecks")
has_followup = sa.has_tables(
    ds, "leads", "activities", "opportunities", section="Follow-up cadence"
)
transitions = sa.stage_transitions(ds, as_of=as_of) if has_deals else None

# %% [markdown]
# ## Channels: lead -> opportunity -> won

# %%
if has_leads:
    channels = sa.conversion_by(ds, by=channel_column, as_of=as_of)
    sa.save_table(channels, output_dir, "conversion_by_channel")
    display(channels)

# %% [markdown]
# ## First response against the SLA

# %%
if has_leads:
    sla = sa.response_sla(ds, sla_hours=sla_hours, as_of=as_of)
    sa.save_table(sla, output_dir, "response_sla")
    display(sla)

# %% [markdown]
# ## Reps: dwell and coaching
# Coaching when a rep's mean dwell is above the factor times the team's *and* a one-sided
# Mann-Whitney test says it is more than noise.

# %%
if has_deals:
    reps = sa.rep_dwell(ds, transitions=transitions, coaching_factor=coaching_factor, alpha=alpha)
    sa.save_table(reps, output_dir, "rep_dwell")
    display(reps[reps["stage"] == "(all stages)"])

# %%
if has_deals:
    display(reps[reps["coaching"]])

# %%
if has_deals:
    fig, ax = plt.subplots(figsize=(7, 3.5))
    sa.plot_dwell_by_rep(transitions, focus_stage, ax=ax)
    sa.save_figure(fig, output_dir, "dwell_by_rep")
    plt.show()

# %%
if has_deals:
    rep_bottlenecks = sa.find_bottlenecks(ds, transitions=transitions, by="owner", alpha=alpha)
    sa.save_table(rep_bottlenecks, output_dir, "bottlenecks_by_owner")
    display(rep_bottlenecks[rep_bottlenecks["flagged"]])

# %% [markdown]
# ## Follow-up cadence by tier
# Tier = each account's best lead grade unless a tier table is given.

# %%
if has_followup:
    cadence, overdue = sa.followup_compliance(ds, cadence_days=cadence_days, as_of=as_of)
    sa.save_table(cadence, output_dir, "followup_compliance")
    sa.save_table(overdue, output_dir, "overdue_followups")
    display(cadence)

# %%
if has_followup:
    print(f"{len(overdue)} accounts with an open deal and no follow-up within their cadence")
    display(overdue.head(10))
