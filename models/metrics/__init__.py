"""How good is a survival model: discrimination, prediction error, calibration, intervals, cross-validation.

Conventions: times are in the cohort's unit (months for the built-in cohorts); ``risk`` is a log-hazard
(higher = worse, as :class:`models.base.SurvivalModel` returns it); a survival matrix is samples × times.
Every metric checks its (time, event) input with :func:`genomics.survival.survival_arrays` (an
:class:`~genomics.errors.InputError`, which is a ``ValueError``).

* :mod:`~models.metrics.concordance`: Harrell's C (the one C-index; tie rule in :func:`harrell_c`), Uno's C,
  td-AUC, C per subgroup; :mod:`~models.metrics.ipcw`: the censoring weights and :func:`ipcw_horizon`.
* :mod:`~models.metrics.brier`: integrated Brier score; :mod:`~models.metrics.km_calibration`: calibration.
* :mod:`~models.metrics.bootstrap`: intervals; :mod:`~models.metrics.report`: all metrics on one test set;
  :mod:`~models.metrics.cross_validation`: K-fold cross-validation.
"""
from __future__ import annotations

from models.metrics.bootstrap import Interval, bootstrap_ci
from models.metrics.brier import integrated_brier
from models.metrics.concordance import harrell_c, metrics_by_subgroup, td_auc, uno_c
from models.metrics.cross_validation import CVResult, cross_validate
from models.metrics.ipcw import SAFE_QUANTILE, ipcw_horizon
from models.metrics.km_calibration import CalibrationResult, calibration
from models.metrics.report import AUC_TIMES, DEFAULT_TIMES, EvaluationReport, evaluate_predictions

__all__ = [
    "AUC_TIMES", "DEFAULT_TIMES", "SAFE_QUANTILE", "CVResult", "CalibrationResult", "EvaluationReport", "Interval",
    "bootstrap_ci", "calibration", "cross_validate", "evaluate_predictions", "harrell_c", "integrated_brier",
    "ipcw_horizon", "metrics_by_subgroup", "td_auc", "uno_c",
]
