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
lang: str = "en"  # table labels: en or zh
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
# Every lead counts in the denominator, with 95% Wilson intervals.

# %%
if has_leads:
    lead_total = sa.lead_funnel(ds, as_of=as_of)
    sa.save_table(lead_total, output_dir, "lead_funnel")
    leads_by_channel = sa.lead_funnel(ds, by=channel_column, as_of=as_of)
    sa.save_table(leads_by_channel, output_dir, "lead_funnel_by_channel")
    all_leads = lead_total.assign(**{channel_column: "(all)"})
    sa.show(pd.concat([leads_by_channel, all_leads], ignore_index=True), lang=lang)

# %%
if has_leads:
    channels = sa.conversion_by(ds, by=channel_column, as_of=as_of)
    sa.save_table(channels, output_dir, "conversion_by_channel")
    sa.show(channels, lang=lang, name="conversion_by_channel")

# %% [markdown]
# ## First response against the SLA

# %%
if has_leads:
    sla = sa.response_sla(ds, sla_hours=sla_hours, as_of=as_of)
    sa.save_table(sla, output_dir, "response_sla")
    sa.show(sla, lang=lang, name="response_sla")

# %% [markdown]
# ## Reps: dwell and coaching
# Coaching when a rep's mean dwell is above the factor times the team's *and* a one-sided
# Mann-Whitney test says it is more than noise.

# %%
if has_deals:
    reps = sa.rep_dwell(ds, transitions=transitions, coaching_factor=coaching_factor, alpha=alpha)
    sa.save_table(reps, output_dir, "rep_dwell")
    sa.show(reps[reps["stage"] == "(all stages)"], lang=lang)

# %%
if has_deals:
    sa.show(reps[reps["coaching"]], lang=lang, empty="No rep flagged for coaching.")

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
    sa.show(rep_bottlenecks[rep_bottlenecks["flagged"]], lang=lang)

# %% [markdown]
# ## Follow-up cadence by tier
# Tier = each account's best lead grade unless a tier table is given.

# %%
if has_followup:
    cadence, overdue = sa.followup_compliance(ds, cadence_days=cadence_days, as_of=as_of)
    sa.save_table(cadence, output_dir, "followup_compliance")
    sa.save_table(overdue, output_dir, "overdue_followups")
    sa.show(cadence, lang=lang, name="followup_compliance")

# %%
if has_followup:
    print(f"{len(overdue)} accounts with an open deal and no follow-up within their cadence")
    sa.show(overdue, lang=lang, max_rows=10, name="overdue_followups")

# %% [markdown]
# ## Lead rules per rep (guide [001])
# Response SLA by grade, measured from the assignment time when the leads carry one (else
# from creation: the table says which), and follow-up plan completion and overdue accounts
# per rep at the tier cadence above (overdue: accounts with a deal open on as_of).

# %%
if has_leads:
    sla_by_rep, _ = sa.sla_breaches(ds.leads, sla_hours=sla_hours, as_of=as_of)
    sa.save_table(sla_by_rep, output_dir, "sla_by_rep")
    print("SLA clock started at:", sla_by_rep.attrs["measured_from"])
    sa.show(sla_by_rep, lang=lang, name="sla_by_rep")

# %%
if has_followup:
    open_accounts = sa.pipeline_as_of(ds, as_of)["account_id"]
    plan_by_rep, _ = sa.cadence_check(
        ds.activities, leads=ds.leads, cadence_days=cadence_days, as_of=as_of, active=open_accounts
    )
    sa.save_table(plan_by_rep, output_dir, "followup_plan_by_rep")
    sa.show(plan_by_rep, lang=lang, name="followup_plan_by_rep")

# %% [markdown]
# ## Headlines

# %%
if has_leads:
    items = sa.report.lead_headlines(lead_total, reps if has_deals else None, sla)
    sa.show(sa.save_headlines(items, output_dir, lang=lang), lang=lang)
