"""Lead and customer scoring, tiering, and calibrating scoring weights before rollout."""

from .customers import (
    customer_features,
    customer_tiers,
    followup_plan,
    load_tier_scheme,
    tier_features,
)
from .evaluate import ScorecardEvaluation, capacity_cutoff, evaluate_scorecard
from .fit import LeakageError, ScorecardFit, fit_scorecard
from .scorecard import LEAKY_FIELDS, Dimension, Scorecard, load_scorecard

__all__ = [
    "LEAKY_FIELDS",
    "Dimension",
    "LeakageError",
    "Scorecard",
    "ScorecardEvaluation",
    "ScorecardFit",
    "capacity_cutoff",
    "customer_features",
    "customer_tiers",
    "load_tier_scheme",
    "tier_features",
    "evaluate_scorecard",
    "fit_scorecard",
    "followup_plan",
    "load_scorecard",
]
