"""One contract over every survival model: fit → predict → save → load, same answers, sane curves."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from genomics.demo import make_demo_cohort
from models.base import SurvivalModel
from models.deepsurv import DeepSurvModel
from models.ensemble import SurvivalEnsemble
from models.evaluate import harrell_c
from models.features import FeatureBuilder, survival_target
from models.xgb import XGBSurvival

torch.set_num_threads(1)
TIMES = np.array([12.0, 60.0, 120.0, 180.0])
MODELS = {
    "xgb": lambda: XGBSurvival(seed=0, nthread=1),
    "torch": lambda: DeepSurvModel(seed=0, n_threads=1),
    "ensemble": lambda: SurvivalEnsemble(kind="xgb", n_members=3, seed=0, member_options={"nthread": 1}),
}


@pytest.fixture(scope="module")
def data():
    cohort = make_demo_cohort(n_patients=1000, n_genes=200, seed=3)
    features = FeatureBuilder(genes=40).fit(cohort)
    frame = features.transform(cohort)
    t, e, usable = survival_target(cohort, endpoint="OS")
    X = frame.X[usable]
    return X[:700], t[usable][:700], e[usable][:700], X[700:], t[usable][700:], e[usable][700:], features


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_contract(kind, data, tmp_path):
    Xtr, ttr, etr, Xte, tte, ete, features = data
    model = MODELS[kind]().fit(Xtr, ttr, etr, feature_names=features.columns_, treatment_index=features.treatment_index)
    assert isinstance(model, SurvivalModel) and model.name == kind
    risk = model.predict_risk(Xte)
    assert risk.shape == (len(Xte),) and np.isfinite(risk).all()
    surv = model.predict_survival(Xte, TIMES)
    assert surv.shape == (len(Xte), len(TIMES))
    assert ((surv >= 0) & (surv <= 1)).all() and (np.diff(surv, axis=1) <= 1e-12).all()
    # higher risk, lower survival at 5 years (rank agreement)
    assert np.corrcoef(risk, surv[:, 1])[0, 1] < -0.5
    assert harrell_c(tte, ete, risk) > 0.6
    files = model.save(tmp_path)
    assert files and all((tmp_path / f).exists() for f in files)
    assert not any(str(f).endswith((".pkl", ".pickle", ".joblib")) for f in files)
    again = type(model).load(tmp_path)
    np.testing.assert_array_equal(again.predict_risk(Xte), risk)
    np.testing.assert_array_equal(again.predict_survival(Xte, TIMES), surv)
