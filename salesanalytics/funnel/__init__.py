"""Funnel, dwell-time and bottleneck diagnostics."""

from .bottlenecks import find_bottlenecks
from .dwell import rep_dwell, stage_dwell, stale_deals
from .leads import conversion_by, followup_compliance, response_sla
from .summary import (
    GUIDE_CONVENTION,
    cohort_funnel,
    funnel_summary,
    guide_stage_summary,
    period_funnel,
)
from .transitions import COUNTING_RULES, coarse_history, stage_transitions

__all__ = [
    "COUNTING_RULES",
    "coarse_history",
    "conversion_by",
    "find_bottlenecks",
    "followup_compliance",
    "funnel_summary",
    "guide_stage_summary",
    "GUIDE_CONVENTION",
    "rep_dwell",
    "response_sla",
    "stage_dwell",
    "stage_transitions",
    "stale_deals",
]

from .lead_rules import (
    assignment_audit,
    cadence_check,
    first_contact_check,
    lead_status_summary,
    load_lead_rules,
    sla_breaches,
)
from .leads import lead_funnel

__all__ += [
    "assignment_audit",
    "cadence_check",
    "first_contact_check",
    "lead_funnel",
    "lead_status_summary",
    "load_lead_rules",
    "sla_breaches",
]

__all__ += ["cohort_funnel", "period_funnel"]
