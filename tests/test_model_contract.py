"""One contract over every survival model: fit → predict → save → load, same answers, sane curves."""
from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from genomics.demo import make_demo_cohort
from models.base import SurvivalModel
from models.deepsurv import DeepSurvModel
from models.effects import TreatmentEffectModel
from models.ensemble import SurvivalEnsemble
from models.features import FeatureBuilder, survival_target
from models.metrics import harrell_c
from models.xgb import XGBSurvival

torch.set_num_threads(1)
TIMES = np.array([12.0, 60.0, 120.0, 180.0])
MODELS = {
    "xgb": lambda: XGBSurvival(seed=0, nthread=1),
    "torch": lambda: DeepSurvModel(seed=0, n_threads=1),
    "ensemble": lambda: SurvivalEnsemble(kind="xgb", n_members=3, seed=0, member_options={"nthread": 1}),
    "effects": lambda: TreatmentEffectModel(n_bootstrap=5, seed=0),  # few refits: the contract, not the intervals
}
METHODS = ("fit", "predict_risk", "predict_survival", "save", "load")


def _signature_problems(cls: type, method: str) -> list[str]:
    """How ``cls.method`` departs from SurvivalModel's: each of its parameters, by name and kind (callers pass
    ``feature_names``/``treatment_index`` by keyword), and only optional extras."""
    want = inspect.signature(getattr(SurvivalModel, method)).parameters
    have = inspect.signature(getattr(cls, method)).parameters
    problems = [f"{method}({name}): missing or of another kind" for name, p in want.items()
                if name not in have or have[name].kind != p.kind]
    problems += [f"{method}({name}): an extra parameter without a default" for name, p in have.items()
                 if name not in want and p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return problems


def contract_problems(cls: type) -> list[str]:
    """Every way ``cls`` departs from the SurvivalModel protocol's method signatures (empty: it follows it)."""
    return [problem for method in METHODS for problem in _signature_problems(cls, method)]


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
    unfitted = MODELS[kind]()
    model = unfitted.fit(Xtr, ttr, etr, feature_names=features.columns_, treatment_index=features.treatment_index)
    assert model is unfitted and type(model).name == model.name == kind  # fit returns the model itself
    assert [p for m in METHODS for p in _signature_problems(type(model), m)] == []
    assert isinstance(inspect.getattr_static(type(model), "load"), classmethod)
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
