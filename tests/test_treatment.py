"""Treatment options (models.treatment) and `python -m models recommend`, checked against the demo ground truth."""
from __future__ import annotations

import dataclasses
import json
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import torch

from genomics.demo import make_demo_cohort
from genomics.errors import InputError
from genomics.regimens import regimen_flags, regimen_labels, regimens
from genomics.spec import CohortSpec, spec_of
from models.cli import main
from models.effects import TreatmentEffectModel
from models.evidence import RegimenEvidence
from models.features import FeatureBuilder, survival_target
from models.registry import ModelCard, load_bundle, save_bundle
from models.training import split_patients
from models.treatment import (
    BENEFIT_READINGS,
    CAVEAT,
    HARM,
    NO_INTERVAL,
    NO_WORTHWHILE,
    NOT_ENOUGH,
    REFERENCE,
    SMALL,
    UNCERTAIN,
    WORTHWHILE,
    choose_regimen,
    e_value,
    flagged_patients,
    min_benefit,
    reading,
    readings,
    recommend_table,
    treatment_options,
    worthwhile_threshold,
)

torch.set_num_threads(1)
N_BOOTSTRAP = 20


@pytest.fixture(scope="module")
def cohort():
    return make_demo_cohort(n_patients=1500)  # == load_cohort("demo"), the card's cohort


@pytest.fixture(scope="module")
def bundle(cohort, tmp_path_factory):
    """The treatment-effect model (competing risks, bootstrap replicates), saved and loaded as a verified bundle."""
    spec = spec_of(cohort)
    t, e, _ = survival_target(cohort, endpoint="OS", spec=spec)
    _, dss, _ = survival_target(cohort, endpoint="DSS", spec=spec)
    train, test = split_patients(e, seed=0)
    features = FeatureBuilder().fit(cohort[train], spec=spec)
    X = features.transform(cohort[train]).X
    model = TreatmentEffectModel(n_bootstrap=N_BOOTSTRAP, seed=0).fit(
        X, t[train], e[train], feature_names=features.columns_, treatment_index=features.treatment_index,
        cause=dss[train])
    card = ModelCard(
        model_id="demo-os-effects-test", model_kind="effects", cohort_id=spec.id, cohort_name=spec.display_name,
        cohort_licence=spec.licence, cohort_attribution=spec.attribution, endpoint="OS",
        endpoint_description="Overall survival", n_features=len(features.columns_), feature_groups={},
        n_train=len(train), events_train=int(e[train].sum()), n_test=len(test), events_test=int(e[test].sum()),
        test_patient_ids=[str(cohort.obs_names[i]) for i in test], metrics={}, versions={}, device="cpu", seed=0,
        created=datetime.now(UTC).isoformat(timespec="seconds"), synthetic_cohort=True,
    )
    folder = save_bundle(tmp_path_factory.mktemp("bundle") / "demo-os", model=model, features=features, card=card)
    return load_bundle(folder)


@pytest.fixture(scope="module")
def held_out(cohort, bundle):
    keep = set(bundle.card.test_patient_ids)
    return cohort[[pid in keep for pid in cohort.obs_names]].copy()


@pytest.fixture(scope="module")
def evidence(bundle, cohort):
    return RegimenEvidence().fit(bundle.features, cohort)


@pytest.fixture(scope="module")
def options(bundle, held_out, evidence):
    return treatment_options(bundle, held_out, cohort=evidence)


def test_regimens_and_flags():
    spec = spec_of(make_demo_cohort(n_patients=200, n_genes=185))
    names = regimens(spec.treatments)
    assert len(names) == 8 == len(set(names)) and names[0] == "none"
    assert "chemotherapy+hormone_therapy+radio_therapy" in names
    for name in names:
        flags = regimen_flags(name, spec.treatments)
        obs = pd.DataFrame([flags])
        assert regimen_labels(obs, spec.treatments).iloc[0] == name
    with pytest.raises(InputError, match="Unknown regimen"):  # a regimen name is input: genomics.regimens says so
        regimen_flags("surgery", spec.treatments)


def test_table_shape_baseline_zero_and_intervals_contain_point(options, held_out):
    t = options.table
    assert len(t) == held_out.n_obs * 8 and options.caveat == CAVEAT and "confound" in CAVEAT
    base = t[t["regimen"] == "none"]
    for h in ("60", "120"):
        assert (base[[f"B{h}", f"B{h}_lo", f"B{h}_hi"]].to_numpy() == 0.0).all()
        for kind in ("S", "B"):
            assert (t[f"{kind}{h}_lo"] <= t[f"{kind}{h}"] + 1e-12).all()
            assert (t[f"{kind}{h}"] <= t[f"{kind}{h}_hi"] + 1e-12).all()
    assert (base["reading"] == REFERENCE).all() and base["is_baseline"].all()
    assert t[["S60", "S120"]].stack().between(0, 1).all() and (t["S120"] <= t["S60"] + 1e-9).all()


def test_current_baseline_is_the_patients_own_regimen(bundle, held_out, evidence):
    few = held_out[:25].copy()
    opts = treatment_options(bundle, few, cohort=evidence, baseline="current")
    own = regimen_labels(few.obs, tuple(bundle.features.treatments_))
    base = opts.table[opts.table["is_baseline"]].set_index("sample_id")
    assert list(base.index) == list(few.obs_names) and (base["regimen"] == own).all()
    assert (base[["B120", "B120_lo", "B120_hi", "B60"]].to_numpy() == 0.0).all()


def test_reading_rule_scalar_and_vectorised():
    # T = 3 points (chemotherapy over none)
    assert reading(0.03, 0.08, "ok", threshold=0.03) == WORTHWHILE  # lo >= T
    assert reading(0.001, 0.039, "ok", threshold=0.03) == SMALL  # 0 < lo < T
    assert reading(-0.08, -0.001, "ok", threshold=0.03) == HARM  # hi < 0
    assert reading(-0.01, 0.029, "ok", threshold=0.03) == NO_WORTHWHILE  # lo <= 0, hi < T
    assert reading(0.0, 0.02, "ok", threshold=0.03) == NO_WORTHWHILE  # lo = 0 is not above zero
    assert reading(-0.01, 0.03, "ok", threshold=0.03) == UNCERTAIN  # lo <= 0, hi >= T
    assert reading(0.001, 0.02, "ok", threshold=-0.02) == WORTHWHILE  # T floored at 0
    assert reading(0.0, 0.02, "ok", threshold=0.0) == UNCERTAIN  # a benefit needs the whole interval above zero
    assert reading(0.05, 0.08, "thin", threshold=0.03) == NOT_ENOUGH
    assert reading(np.nan, np.nan, "ok", threshold=0.03) == NO_INTERVAL
    rng = np.random.default_rng(0)
    lo = rng.normal(0, 0.03, 5000)
    hi = lo + rng.exponential(0.03, 5000)
    ev = rng.choice(["ok", "ok", "thin", "none"], 5000)
    t = rng.choice([-0.02, 0.0, 0.01, 0.03, np.nan], 5000)
    lo[::97] = np.nan
    lo[1::5], lo[2::7] = 0.0, np.nan_to_num(t[2::7])  # exactly at zero and at the threshold, where readings turn
    hi[3::11] = np.nan_to_num(t[3::11])
    hi = np.maximum(hi, lo)
    expected = [reading(a, b, e, threshold=th) for a, b, e, th in zip(lo, hi, ev, t, strict=True)]
    assert list(readings(lo, hi, ev, threshold=t)) == expected


def test_readings_follow_each_rows_threshold(options):
    t = options.table
    treatments = ("chemotherapy", "hormone_therapy", "radio_therapy")
    expected_t = [worthwhile_threshold(r, "none", treatments) for r in t["regimen"]]
    assert np.allclose(t["min_benefit"], expected_t) and (t["min_benefit"] >= 0).all()
    others = t[~t["is_baseline"]]
    for h in options.horizons:
        tag = f"{h:g}"
        want = [reading(lo, hi, ev, threshold=th) for lo, hi, ev, th in
                zip(others[f"B{tag}_lo"], others[f"B{tag}_hi"], others["evidence"], others["min_benefit"], strict=True)]
        assert list(others[f"reading{tag}"]) == want
        benefit = others[f"reading{tag}"].isin(BENEFIT_READINGS)
        assert (others[f"nnt{tag}"].notna() == benefit).all()  # NNT exactly where the reading is a benefit
        assert (others.loc[benefit, f"nnt{tag}"] == np.ceil(1 / others.loc[benefit, f"B{tag}"] - 1e-9)).all()
        assert (t.loc[t["is_baseline"], f"reading{tag}"] == REFERENCE).all()
    assert (t["reading"] == t["reading120"]).all()  # the plain reading is the last horizon's
    assert (others.loc[others["evidence"] != "ok", "reading"] == NOT_ENOUGH).all()
    assert others["reading120"].isin(BENEFIT_READINGS).any()  # the demo's hormone benefit reads as one
    levels = t.apply(lambda r: "none" if r.evidence_n == 0 else "thin" if r.evidence_n < 5 or r.propensity < 0.02
                     else "ok", axis=1)
    assert (levels == t["evidence"]).all()
    assert (t["evidence_k"] == 100).all() and (t["interval_level"] == 0.9).all()


def test_thresholds_come_from_the_caller_then_the_cohort_spec(bundle, cohort, held_out, evidence):
    few = held_out[:10]
    own = treatment_options(bundle, few, cohort=evidence, thresholds={"hormone_therapy": 0.05}).table
    assert np.allclose(own.loc[own["regimen"] == "hormone_therapy", "min_benefit"], 0.05)
    spec = dataclasses.replace(spec_of(cohort), worthwhile_benefit={"chemotherapy": 0.06})
    assert CohortSpec.from_dict(json.loads(spec.to_json())) == spec  # the field round-trips
    strict = cohort.copy()
    strict.uns["oncotx"] = {**strict.uns["oncotx"], "spec": spec.to_json()}
    ev = RegimenEvidence().fit(bundle.features, strict)
    table = treatment_options(bundle, few, cohort=ev).table
    assert np.allclose(table.loc[table["regimen"] == "chemotherapy", "min_benefit"], 0.06)
    assert np.allclose(table.loc[table["regimen"] == "radio_therapy", "min_benefit"], 0.01)  # default kept
    default = treatment_options(bundle, few, cohort=evidence).table
    assert np.allclose(default.loc[default["regimen"] == "chemotherapy", "min_benefit"], 0.03)


def test_regimen_nobody_received_is_not_enough_evidence(bundle, cohort, held_out):
    absent = "chemotherapy+hormone_therapy"
    labels = regimen_labels(cohort.obs, tuple(bundle.features.treatments_))
    subset = cohort[(labels != absent).to_numpy()].copy()
    ev = RegimenEvidence().fit(bundle.features, subset)
    opts = treatment_options(bundle, held_out[:20], cohort=ev)
    rows = opts.table[opts.table["regimen"] == absent]
    assert (rows["evidence"] == "none").all() and (rows["evidence_n"] == 0).all()
    assert (rows["propensity"] == 0).all() and (rows["reading"] == NOT_ENOUGH).all()
    assert np.isfinite(rows["B120"]).all()  # the number exists; the reading refuses to interpret it


def test_single_model_has_no_interval(bundle, held_out, evidence, cohort):
    spec = spec_of(cohort)
    t, e, _ = survival_target(cohort, endpoint="OS", spec=spec)
    fb = bundle.features
    X = fb.transform(cohort[:600]).X
    point_only = TreatmentEffectModel(n_bootstrap=0).fit(X, t[:600], e[:600], feature_names=fb.columns_,
                                                         treatment_index=fb.treatment_index)
    single = dataclasses.replace(bundle, model=point_only)
    opts = treatment_options(bundle=single, adata=held_out[:10], cohort=evidence)
    t = opts.table[~opts.table["is_baseline"]]
    assert t[["S120_lo", "B120_lo", "B120_hi"]].isna().all().all() and t["B120"].notna().all()
    assert set(t["reading"]) <= {NO_INTERVAL, NOT_ENOUGH} and (t["reading"] == NO_INTERVAL).any()


def test_hormone_benefit_sign_and_coverage_against_truth(options, held_out):
    er_pos = held_out.obs_names[(held_out.obs["er_status"].astype(str) == "Positive").to_numpy()]
    truth = held_out.obsm["true_survival"]
    true_b = (truth["S120_hormone_therapy"] - truth["S120_none"]).loc[er_pos]
    est = options.table[options.table["regimen"] == "hormone_therapy"].set_index("sample_id").loc[er_pos]
    sign_accuracy = float((np.sign(est["B120"]) == np.sign(true_b)).mean())
    coverage = float(((true_b >= est["B120_lo"]) & (true_b <= est["B120_hi"])).mean())
    print(f"\nER+ held-out n={len(er_pos)}: sign accuracy {sign_accuracy:.3f}, 90% interval coverage {coverage:.3f}, "
          f"mean true benefit {true_b.mean():.3f}, mean estimate {est['B120'].mean():.3f}")
    assert sign_accuracy >= 0.9
    assert coverage >= 0.6  # 20 replicates on 1,200 patients; bench/treatment.py measures 80-98% at full size


def test_one_patient_is_fast(bundle, held_out, evidence):
    treatment_options(bundle, held_out[:1], cohort=evidence)  # warm-up
    started = time.perf_counter()
    opts = treatment_options(bundle, held_out[1:2], cohort=evidence)
    assert time.perf_counter() - started < 1.0 and len(opts.table) == 8


def _expression_csv(adata, path):
    spec = spec_of(adata)
    table = adata.to_df()
    for col in [f.name for f in spec.clinical if f.name in adata.obs.columns] + list(spec.treatments):
        table[col] = adata.obs[col].to_numpy()
    table.index.name = "patient_id"
    table.to_csv(path)


def test_cli_recommend_writes_the_contract(bundle, held_out, tmp_path, capsys):
    few = held_out[:4].copy()
    expression = tmp_path / "four.csv"
    _expression_csv(few, expression)
    out = tmp_path / "options.csv"
    assert main(["recommend", "--model", str(bundle.path), "--expression", str(expression), "--out", str(out),
                 "--baseline", "current"]) == 0
    table = pd.read_csv(out)
    assert list(table["patient_id"]) == list(few.obs_names)
    names = regimens(spec_of(few).treatments)
    for r in names:
        for prefix in ("S5", "S10", "B5", "B10"):
            assert {f"{prefix}_{r}", f"{prefix}_{r}_lo", f"{prefix}_{r}_hi"} <= set(table.columns)
        assert {f"evidence_{r}", f"reading5_{r}", f"reading10_{r}"} <= set(table.columns)
    assert {"risk", "recommended", "recommendation_note", "gene_coverage"} <= set(table.columns)
    assert table["recommended"].isin(names).all() and table["recommendation_note"].str.contains("not a directive").all()
    own = regimen_labels(few.obs, spec_of(few).treatments).to_numpy()
    for i, r in enumerate(own):
        assert table.loc[i, f"B10_{r}"] == 0.0 and table.loc[i, f"reading10_{r}"] == REFERENCE
    captured = capsys.readouterr()
    assert "confounded" in captured.err
    assert f"{flagged_patients(table)} with an option read as 'worthwhile benefit'" in captured.out


def test_cli_recommend_single_patient_with_record(bundle, held_out, tmp_path):
    one = held_out[:1]
    expression = tmp_path / "one.csv"
    one.to_df().to_csv(expression, index_label="patient_id")
    record = tmp_path / "r.json"
    record.write_text(json.dumps({"age_at_diagnosis": 55, "er_status": "Positive", "grade": 2}))
    out = tmp_path / "one_options.csv"
    assert main(["recommend", "--model", str(bundle.path), "--expression", str(expression), "--records", str(record),
                 "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert len(table) == 1 and table.loc[0, "B10_none"] == 0.0


def test_recommendation_is_the_best_net_option_with_evidence(options):
    table = recommend_table(options)
    t = options.table
    treatments = ("chemotherapy", "hormone_therapy", "radio_therapy")
    for _, row in table.iterrows():
        g = t[t["sample_id"] == row["patient_id"]].set_index("regimen")
        allowed = g[(g["evidence"] == "ok") | g["is_baseline"]]
        net = allowed["S120"] - [min_benefit(r, treatments) for r in allowed.index]
        assert row["recommended"] == net.idxmax()
        assert g.at[row["recommended"], "evidence"] == "ok" or g.at[row["recommended"], "is_baseline"]
    assert table["recommended"].nunique() >= 2  # the options differ between patients


def test_choose_regimen_weighs_burden_and_evidence():
    treatments = ("chemotherapy", "hormone_therapy", "radio_therapy")
    survival = {"none": 0.70, "hormone_therapy": 0.75, "chemotherapy+hormone_therapy": 0.765, "radio_therapy": 0.70}
    ok = dict.fromkeys(survival, "ok")
    # chemotherapy adds 1.5 points, under its 3-point minimum worthwhile benefit: endocrine therapy alone
    assert choose_regimen(survival, ok, treatments, baseline="none") == "hormone_therapy"
    assert choose_regimen({**survival, "chemotherapy+hormone_therapy": 0.80}, ok, treatments,
                          baseline="none") == "chemotherapy+hormone_therapy"
    thin = {**ok, "hormone_therapy": "thin"}
    assert choose_regimen(survival, thin, treatments, baseline="none") == "chemotherapy+hormone_therapy"
    assert choose_regimen(survival, ok, treatments, baseline="none", thresholds={"hormone_therapy": 0.06}) == "none"
    assert min_benefit("chemotherapy+radio_therapy", treatments) == pytest.approx(0.04)
    assert e_value(np.log(0.5)) == pytest.approx(2 + np.sqrt(2))
    assert e_value(0.0) == 1.0


def test_cli_recommend_bad_input_exits_2(bundle, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"gene,value\nESR1,1\nPGR,2\n")
    out = tmp_path / "never.csv"
    assert main(["recommend", "--model", str(bundle.path), "--expression", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ERROR: ") and "Traceback" not in err and not out.exists()
    assert main(["recommend", "--model", str(tmp_path), "--cohort", "demo", "--out", str(out)]) == 2
