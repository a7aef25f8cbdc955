"""Stage win-probability calibration: fit on history, prove out of time, export for rollout."""

from .baselines import ConfiguredProbabilities, EmpiricalStageRate, GlobalWinRate, NaiveBayesOdoo
from .estimators import aalen_johansen, shrink
from .model import StageProbabilityModel
from .report import CalibrationReport, calibration_report, score_predictions

__all__ = [
    "CalibrationReport",
    "ConfiguredProbabilities",
    "EmpiricalStageRate",
    "GlobalWinRate",
    "NaiveBayesOdoo",
    "StageProbabilityModel",
    "aalen_johansen",
    "calibration_report",
    "score_predictions",
    "shrink",
]
