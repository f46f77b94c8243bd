"""The guideline rule (models.guideline) and the guided policy on the options (models.treatment.guidance)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genomics.demo import make_demo_cohort
from models.decision import DEPART_CONFIDENCE
from models.guideline import guideline_regimen
from models.training import train_bundle
from models.treatment import recommend_table, treatment_options


def test_guideline_rule_by_hand():
    obs = pd.DataFrame({
        "er_status": ["Positive", "Negative", "Positive", "Positive", None],
        "her2_status": ["Negative", "Negative", "Positive", "Negative", "Negative"],
        "grade": [1, 3, 2, 3, 2],
        "lymph_nodes_positive": [0, 0, 0, 2, 0],
        "tumor_size_mm": [15.0, 25.0, 12.0, 18.0, 10.0],
    })
    assert guideline_regimen(obs).tolist() == [
        "hormone_therapy", "chemotherapy+radio_therapy", "chemotherapy+hormone_therapy",
        "chemotherapy+hormone_therapy+radio_therapy", ""]  # the last: ER status unknown, no guideline regimen
    assert guideline_regimen(obs, ("chemotherapy", "hormone_therapy")).tolist()[1] == "chemotherapy"
    assert guideline_regimen(obs.drop(columns="grade")).tolist() == [""] * 5


@pytest.fixture(scope="module")
def options(tmp_path_factory):
    cohort = make_demo_cohort(n_patients=800, n_genes=185, seed=2)
    bundle = train_bundle(cohort, endpoint="OS", kind="effects", out=tmp_path_factory.mktemp("b") / "b")
    patients = cohort[:60].copy()
    patients.obs.loc[patients.obs_names[0], "grade"] = np.nan  # no guideline regimen for this one
    return treatment_options(bundle, patients, cohort=cohort)


def test_guided_policy_presents_the_guideline_unless_the_replicates_agree(options):
    g = options.guidance
    assert g is not None and len(g) == 60
    assert g.at[0, "guideline"] == "" and g.at[0, "presented"] == "" and np.isnan(g.at[0, "departure_confidence"])
    rest = g.iloc[1:]
    assert (rest["guideline"] != "").all()
    departs = rest["presented"] != rest["guideline"]
    assert (rest.loc[departs, "presented"] == rest.loc[departs, "best_option"]).all()
    assert (rest.loc[departs, "departure_confidence"] >= DEPART_CONFIDENCE).all()
    same = rest["best_option"] == rest["guideline"]
    assert (rest.loc[same, "departure_confidence"] == 0).all()
    assert rest["departs"].equals(departs)
    table = recommend_table(options)
    assert table["guided"].tolist()[1:] == rest["presented"].tolist()


def test_guidance_and_modifier_words():
    from dashboard.i18n import language_scope
    from dashboard.patient.guidance import guidance_text, modifier_lines

    assert guidance_text({}) == "" and guidance_text({"guideline": "hormone_therapy"}) == ""
    same = guidance_text({"guideline": "hormone_therapy", "best_option": "hormone_therapy", "departure_confidence": 0.0})
    assert "Guideline rule" in same and "same regimen" in same
    sure = guidance_text({"guideline": "hormone_therapy", "best_option": "chemotherapy+hormone_therapy",
                          "departure_confidence": 0.93})
    assert "93%" in sure and "discuss first" in sure
    unsure = guidance_text({"guideline": "hormone_therapy", "best_option": "chemotherapy+hormone_therapy",
                            "departure_confidence": 0.62})
    assert "62%" in unsure and "not enough to depart" in unsure
    rows = [{"treatment": "chemotherapy", "gene": "B4GALT1", "z": -5.3, "q": 0.0002, "stability": 0.64,
             "benefit_falls_with_gene": False, "patient_value": 1.24},
            {"treatment": "radio_therapy", "gene": "ACSS1", "z": 4.1, "q": 0.03, "stability": float("nan"),
             "benefit_falls_with_gene": True, "patient_value": float("nan")}]
    lines = modifier_lines(rows)
    assert "more benefit as B4GALT1" in lines[0] and "+1.2 SD" in lines[0] and "64%" in lines[0]
    assert "less benefit as ACSS1" in lines[1] and "not measured" in lines[1]
    with language_scope("zh_CN"):
        chinese = guidance_text({"guideline": "hormone_therapy", "best_option": "chemotherapy+hormone_therapy",
                                 "departure_confidence": 0.93})
        assert "指南规则" in chinese and "内分泌治疗" in chinese
        assert "获益越大" in modifier_lines(rows)[0]
