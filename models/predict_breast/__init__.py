"""PREDICT Breast v2.1: the published clinical prognostic model, as a reference beside the learned models.

PREDICT v2.1 (Candido dos Reis F. et al., *An updated PREDICT breast cancer prognostication and treatment
benefit prediction model with independent validation*, Breast Cancer Res 2017;19:58; Winton Centre for Risk
and Evidence Communication and University of Cambridge, https://breast.predict.nhs.uk) predicts survival after
surgery for early invasive breast cancer from routine clinical fields. This is an independent Python
implementation written from the published equations; the coefficients, the baseline hazards and the
radiotherapy extension were checked against the Winton Centre's public reference implementations:

* ``WintonCentre/predict-v21-r``, ``resources/Predict-v2.1-2018-04-07.R`` (R reference model);
* ``WintonCentre/predict-v21-main``, ``src/cljs/predict/models/predict.cljs`` (the web model, with the
  radiotherapy and bisphosphonate extensions) and its tests ``test/cljs/predict/models/predict_test.cljs``,
  whose reference values ``tests/test_predict.py`` reproduces.

The model
---------
Two competing causes of death, each a proportional-hazards model with a baseline cumulative hazard that is a
function of years since surgery ``t`` (1 to 15):

* breast-cancer mortality, separate for ER-positive and ER-negative disease:
  ``H_br(t) = sum over years k <= t of ΔH0_br(k) · exp(PI + rx)``, with the prognostic index ``PI`` from age
  (fractional polynomial), tumour size, positive nodes, grade, screen detection, HER2 and (ER+ only) Ki-67, and
  ``rx`` the sum of the treatment log hazard ratios (chemotherapy 2nd/3rd generation, 5 years of endocrine
  therapy in ER+, trastuzumab in HER2+, bisphosphonates, radiotherapy);
* other-cause mortality from age alone, ``H_oth(t) = H0_oth(t) · exp(MI + rx_oth)``.

Overall survival is ``OS(t) = exp(-H_br(t)) · exp(-H_oth(t))``. ``bcss`` below is the breast-cancer-specific
(net) survival ``exp(-H_br(t))``: what the Kaplan-Meier of disease-specific death (other deaths censored)
estimates. The crude cumulative incidences of breast and other deaths split each year's all-cause deaths in
proportion to the two causes' yearly risks (the R reference's ``pred.cum.br.rx`` / ``pred.cum.oth.rx``), so
``os + breast_mortality + other_mortality = 1`` at every horizon.

Unknown fields follow PREDICT: unknown grade enters as 2.13 for ER+ (and as grade 1 for ER-, as in both
reference implementations), unknown screen detection as 0.204, unknown HER2 and Ki-67 contribute nothing.
Age below 25 is set to 25. Radiotherapy follows the web model's extension (Darby et al.): when radiotherapy is
known (given or not) the baseline breast and other log hazards are shifted by +0.133 and -0.047 (removing the
69% of the development cohort who received it), and radiotherapy adds -0.198 (HR 0.82) to breast-cancer and
+0.068 (HR 1.07) to other-cause mortality; when it is unknown (``None``) the standard v2.1 model (population
mix) is used. Extended (10-year) endocrine therapy and the coefficient uncertainty bands are not modelled.

Research use only: PREDICT was developed on UK patients treated 1999-2003; it is not validated on these cohorts
and is no substitute for the clinical tool.

The package: :mod:`~models.predict_breast.equations` (coefficients, baseline hazards, one patient and a table
of patients), :mod:`~models.predict_breast.ladder` (the treatment ladder), :mod:`~models.predict_breast.inputs`
(inputs from a cohort or an upload) and :mod:`~models.predict_breast.evaluation` (C-index and calibration on a
cohort's endpoints).
"""
from __future__ import annotations

from models.predict_breast.equations import (
    CAVEAT,
    CITATION,
    DEFAULT_YEARS,
    INPUT_COLUMNS,
    MAX_YEAR,
    PredictInputs,
    baseline_breast_hazard,
    baseline_other_hazard,
    inputs_frame,
    linear_predictors,
    not_computed_reasons,
    predict_survival,
    predict_table,
    survival_curves,
)
from models.predict_breast.evaluation import (
    MORTALITY_TARGETS,
    PredictCalibration,
    predict_calibration,
    predict_evaluation,
    predict_summary,
    summary_frame,
)
from models.predict_breast.inputs import REFERENCE_COLUMNS, clinical_reference_table, cohort_inputs, patient_inputs
from models.predict_breast.ladder import LADDER_LABELS, LETTER_COLUMNS, ladder_regimens, treatment_ladder

__all__ = [
    "CAVEAT", "CITATION", "DEFAULT_YEARS", "INPUT_COLUMNS", "LADDER_LABELS", "LETTER_COLUMNS", "MAX_YEAR",
    "MORTALITY_TARGETS", "REFERENCE_COLUMNS", "PredictCalibration", "PredictInputs", "baseline_breast_hazard",
    "baseline_other_hazard", "clinical_reference_table", "cohort_inputs", "inputs_frame", "ladder_regimens",
    "linear_predictors", "not_computed_reasons", "patient_inputs", "predict_calibration", "predict_evaluation",
    "predict_summary", "predict_survival", "predict_table", "summary_frame", "survival_curves", "treatment_ladder",
]
