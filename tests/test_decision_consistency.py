"""The one decision rule, checked where it is shown: the options table, the words, the NNT, the summary line, the
History line, the chart's reading and the PDF's options rows never disagree.

(a) A property test over random option rows (intervals, thresholds, evidence, baselines, single models) built as
:func:`models.treatment.treatment_options` writes them. (b) A sweep over real patients: the demo cohort (no data
folder needed) through :func:`models.treatment.treatment_options` and the clinical page's service
(:func:`dashboard.patient.service.analyse`), both horizons, two baselines; METABRIC too when the data folder is set.
"""
from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard.patient.figure_parts import reading_class, reading_code_at
from dashboard.patient.presentation import (
    READING_TITLES,
    history_summary,
    option_summary,
    options_table,
    reading_at,
    summary_text,
    threshold_text,
)
from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.exports import export_table
from dashboard.patient.report.pdf import options_rows
from genomics.regimens import regimen_label, regimens
from models.columns import READING, column
from models.decision import (
    BENEFIT_READINGS,
    HARM,
    NO_INTERVAL,
    NO_WORTHWHILE,
    NOT_ENOUGH,
    REFERENCE,
    SMALL,
    UNCERTAIN,
    WORTHWHILE,
    number_needed_to_treat,
    reading,
    worthwhile_threshold,
)

TREATMENTS = ("chemotherapy", "hormone_therapy", "radio_therapy")
NAMES = regimens(TREATMENTS)
HORIZONS = [60.0, 120.0]
#: What the words of each reading say first (lower case), so a sentence can never contradict its title.
OPENING = {WORTHWHILE: "likely worthwhile benefit", SMALL: "likely small benefit", HARM: "likely harm",
           NO_WORTHWHILE: "no worthwhile benefit", UNCERTAIN: "uncertain", NO_INTERVAL: "uncertain",
           NOT_ENOUGH: "not enough evidence", REFERENCE: "reference"}


def _analysis(options: list[dict], baseline: str, horizons=HORIZONS, recommended: str = "") -> PatientAnalysis:
    return PatientAnalysis(
        patient_id="PT-prop", created="2026-03-14T09:26:53+00:00", user="u", cohort_id="demo", cohort_name="Demo",
        synthetic_cohort=True, model_id="m", model_kind="effects", bundle_sha256="", endpoint="OS",
        horizons=list(horizons), baseline=baseline, inputs_sha256={}, caveat="c", options=options,
        risk={"recommended": recommended} if recommended else {})


def _f(value) -> float:
    return math.nan if value is None else float(value)


def check_consistent(a: PatientAnalysis) -> None:
    """Every invariant between the rule's stored readings and what every consumer shows, at every horizon."""
    last = a.horizons[-1]
    others = [r for r in a.options if not r.get("is_baseline")]
    header, pdf_rows = options_rows(a)
    csv = export_table(a)
    for h in a.horizons:
        table = options_table(a, h)
        assert len(table) == len(a.options)
        for row, (_, shown), pdf in zip(a.options, table.iterrows(), pdf_rows, strict=True):
            code = reading_at(row, h)
            stored = REFERENCE if row.get("is_baseline") else row[column(READING, h)]
            assert code == stored
            if not row.get("is_baseline"):  # the rule, applied again to the row's own numbers, agrees
                tag = f"{h:g}"
                assert code == reading(_f(row.get(f"B{tag}_lo")), _f(row.get(f"B{tag}_hi")), row["evidence"],
                                       threshold=row["min_benefit"])
            assert shown["Reading"] == READING_TITLES[code]
            benefit = code in BENEFIT_READINGS
            assert (shown["NNT"] != "–") == benefit, (code, shown["NNT"])
            assert not math.isnan(_f(row.get(column("nnt", h)))) == benefit
            words = shown["In plain words"]
            assert words.lower().startswith(OPENING[code]), (code, words)
            if code in (WORTHWHILE, SMALL, NO_WORTHWHILE) or (code == UNCERTAIN and row["min_benefit"] > 0):
                assert threshold_text(row, a.baseline) in words  # the regimen's own threshold, stated
            if code == SMALL:
                assert "below" in words and "above zero" in words
            for other in OPENING:  # no other reading's title in the sentence
                title = READING_TITLES[other].lower()
                if other not in (code, NO_INTERVAL, UNCERTAIN, REFERENCE) and title not in OPENING[code]:
                    assert title not in words.lower(), (code, other, words)
            assert reading_class(reading_code_at(row, h)) == reading_class(code)  # the chart colours the same
            assert pdf[header.index(f"Reading {h / 12:g} y")] == READING_TITLES[code]
            assert pdf[header.index("Evidence")] == shown["Evidence"]
            if h == last:
                assert pdf[header.index(f"NNT {h / 12:g} y")] == ("n/a" if shown["NNT"] == "–" else shown["NNT"])
        assert list(csv[column(READING, h)]) == [reading_at(r, h) for r in a.options]
        # the summary line at h: a benefit is named exactly where a row reads one
        codes = {str(r["regimen"]): reading_at(r, h) for r in others}
        text = summary_text(a, h)
        any_benefit = any(c in BENEFIT_READINGS for c in codes.values())
        assert ("No option shows a benefit" in text) == (not any_benefit and bool(others)), text
        assert ("no option shows a worthwhile benefit" in text) == (
            any_benefit and WORTHWHILE not in codes.values()), text
        for name, code in codes.items():
            if code in BENEFIT_READINGS:
                assert regimen_label(name) in text, (name, text)
        assert "likely benefit" not in text.lower()  # only today's vocabulary
        assert option_summary(a, h).startswith("**")
    # the History line: one count per non-baseline row, at the last horizon
    line = history_summary(a)
    if others:
        counts = {w: int(n) for n, w in re.findall(r"(\d+) ([a-z ]+?)(?:,|$)", line.split(": ", 1)[1])}
        assert sum(counts.values()) == len(others), line
        last_codes = [reading_at(r, last) for r in others]
        assert counts.get("worthwhile", 0) == last_codes.count(WORTHWHILE)
        assert counts.get("small", 0) == last_codes.count(SMALL)
        assert counts.get("uncertain", 0) == last_codes.count(UNCERTAIN) + last_codes.count(NO_INTERVAL)
    assert "_" not in line and line.startswith(("vs ", "No treatment options"))


# ---------------------------------------------------------------------------------------- (a) property test

_bound = st.floats(min_value=-0.3, max_value=0.3, allow_nan=False, allow_subnormal=False)


@st.composite
def option_rows(draw) -> PatientAnalysis:
    baseline = draw(st.sampled_from(NAMES))
    chosen = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=len(NAMES), unique=True))
    chosen = [baseline] + [r for r in chosen if r != baseline]
    has_interval = draw(st.booleans()) or draw(st.booleans())  # mostly with an interval, sometimes a single model
    thresholds = draw(st.sampled_from([None, {"chemotherapy": 0.05}, {"hormone_therapy": 0.0, "radio_therapy": 0.02}]))
    rows = []
    for regimen in chosen:
        is_base = regimen == baseline
        evidence = draw(st.sampled_from(["ok", "ok", "ok", "thin", "none"]))
        t = worthwhile_threshold(regimen, baseline, TREATMENTS, thresholds)
        prop = draw(st.floats(min_value=0.0, max_value=1.0))
        row: dict = {"regimen": regimen, "is_baseline": is_base, "evidence": evidence, "min_benefit": t,
                     "evidence_n": draw(st.integers(0, 100)), "evidence_k": 100, "propensity": prop,
                     "interval_level": 0.9 if has_interval else None}
        for h in HORIZONS:
            tag = f"{h:g}"
            s = draw(st.floats(min_value=0.05, max_value=0.95))
            row.update({f"S{tag}": s, f"S{tag}_lo": max(s - draw(st.floats(0, 0.2)), 0.0),
                        f"S{tag}_hi": min(s + draw(st.floats(0, 0.2)), 1.0)})
            if is_base:
                b = lo = hi = 0.0
            else:
                # intervals near the thresholds and near zero, where the readings turn
                edge = draw(st.sampled_from([0.0, t, -t, None]))
                lo = draw(_bound) if edge is None else edge + draw(st.sampled_from([-1e-3, 0.0, 1e-3]))
                hi = lo + draw(st.floats(min_value=0.0, max_value=0.2, allow_subnormal=False))
                b = draw(st.floats(min_value=lo, max_value=hi, allow_subnormal=False)) if hi > lo else lo
            code = REFERENCE if is_base else reading(lo if has_interval else math.nan,
                                                     hi if has_interval else math.nan, evidence, threshold=t)
            row.update({f"B{tag}": b, f"B{tag}_lo": lo if has_interval else None,
                        f"B{tag}_hi": hi if has_interval else None, f"reading{tag}": code,
                        f"nnt{tag}": float(number_needed_to_treat(b)) if code in BENEFIT_READINGS else math.nan})
        row["reading"] = row["reading120"]
        rows.append(row)
    recommended = draw(st.sampled_from(chosen))
    return _analysis(rows, baseline, recommended=recommended)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option_rows())
def test_table_words_nnt_summary_history_chart_and_pdf_agree(analysis):
    check_consistent(analysis)


def test_the_property_test_can_fail():
    """A row whose table would show an NNT without a benefit reading (the issue's contradiction) is caught."""
    analysis = _analysis([{"regimen": "none", "is_baseline": True, "evidence": "ok", "min_benefit": 0.0,
                           "B60": 0.0, "B120": 0.0, "reading60": REFERENCE, "reading120": REFERENCE},
                          {"regimen": "hormone_therapy", "is_baseline": False, "evidence": "ok", "min_benefit": 0.01,
                           "B60": 0.005, "B60_lo": 0.001, "B60_hi": 0.039, "B120": 0.005, "B120_lo": 0.001,
                           "B120_hi": 0.039, "reading60": UNCERTAIN, "reading120": UNCERTAIN,  # wrongly read
                           "nnt60": 202, "nnt120": 202}], "none")
    with pytest.raises(AssertionError):
        check_consistent(analysis)


# ---------------------------------------------------------------------------------------- (b) real patients


def _sweep(bundle, cohort, patients, *, baselines=("none", "current")) -> dict[str, int]:
    """treatment_options over many patients, each patient's rows checked as the page would show them."""
    from genomics.spec import spec_of
    from models.evidence import RegimenEvidence
    from models.treatment import treatment_options

    spec = spec_of(cohort)
    train = set(map(str, cohort.obs_names)) - set(bundle.card.test_patient_ids)
    evidence = RegimenEvidence().fit(bundle.features, cohort[[str(i) in train for i in cohort.obs_names]].copy())
    seen: dict[str, int] = {}
    for baseline in baselines:
        options = treatment_options(bundle, patients, cohort=evidence, baseline=baseline,
                                    thresholds=dict(spec.worthwhile_benefit))
        table = options.table.drop(columns=["sample_id"])
        for _, rows in table.groupby(options.table["sample_id"], sort=False):
            records = [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                       for r in rows.to_dict("records")]
            base = next(str(r["regimen"]) for r in records if r["is_baseline"])
            check_consistent(_analysis(records, base, horizons=options.horizons))
            for r in records:
                for h in options.horizons:
                    seen[r[column(READING, h)]] = seen.get(r[column(READING, h)], 0) + 1
    return seen


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory):
    from dashboard.modelling.bundles import train_treatment
    from genomics.cohorts import load_cohort
    from genomics.spec import spec_of

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ONCOTX_DATA", raising=False)
        cohort = load_cohort("demo")
    return cohort, train_treatment(cohort, spec_of(cohort), tmp_path_factory.mktemp("demo") / "treatment")


@pytest.mark.slow
def test_demo_patients_sweep(demo_bundle):
    cohort, bundle = demo_bundle
    held = cohort[[str(i) in set(bundle.card.test_patient_ids) for i in cohort.obs_names]].copy()
    seen = _sweep(bundle, cohort, held[:150])
    print(f"\ndemo sweep: 150 held-back patients x 8 regimens x 2 horizons x 2 baselines: {seen}")
    assert seen.get(REFERENCE) and sum(seen.get(c, 0) for c in BENEFIT_READINGS) > 0  # the sweep reaches both


@pytest.mark.slow
def test_demo_patients_through_the_clinical_service(demo_bundle):
    from dashboard.patient import service
    from genomics.spec import spec_of

    cohort, bundle = demo_bundle
    spec = spec_of(cohort)
    context = service.make_context(spec, cohort, bundle, with_map=False)
    for pid in bundle.card.test_patient_ids[:6]:
        upload = service.cohort_patient_upload(spec, cohort, pid)
        obs = cohort.obs.loc[pid]
        clinical = {f.name: (obs[f.name] if f.name in obs.index else None) for f in spec.clinical}
        regimen = {t: int(obs[t]) for t in bundle.features.treatments_}
        for baseline in ("none", "current"):
            analysis = service.analyse(upload, context=context, clinical=clinical, regimen=regimen, baseline=baseline)
            check_consistent(PatientAnalysis.from_json(analysis.to_json()))  # as saved and reopened
            assert analysis.assumptions["worthwhile_benefit"]["chemotherapy"] == pytest.approx(0.03)


@pytest.mark.slow
@pytest.mark.realdata
def test_metabric_patients_sweep(metabric, tmp_path):
    from dashboard.modelling.bundles import train_treatment
    from genomics.spec import spec_of

    bundle = train_treatment(metabric, spec_of(metabric), tmp_path / "treatment")
    held = metabric[[str(i) in set(bundle.card.test_patient_ids) for i in metabric.obs_names]].copy()
    seen = _sweep(bundle, metabric, held)
    print(f"\nMETABRIC sweep: {held.n_obs} held-back patients x 8 regimens x 2 horizons x 2 baselines: {seen}")
    assert sum(seen.get(c, 0) for c in BENEFIT_READINGS) > 0
