"""FHIR R4 Bundles (HL7 mCODE where present) read into a :class:`ClinicalRecord`, by code (system + code), never by
display text: :class:`FhirReader`. Validated with the ``fhir.resources`` R4B models (R4B is R4 plus a few
non-clinical changes and reads R4 mCODE resources)."""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

from genomics.deadline import Deadline
from genomics.errors import InputError
from genomics.records.codes import (
    AJCC,
    BUNDLE_TYPES,
    FIELD_RESULT_CODES,
    GIVEN_STATUSES,
    GRADE_CODES,
    LOINC,
    MCODE_PROFILE_PREFIX,
    MENOPAUSE_CODES,
    OBSERVATION_CODES,
    OBSERVATION_CODES_UNUSED,
    PROCEDURE_CODES,
    RESULT_CODES,
    SNOMED,
    STAGE_SNOMED,
    TNM_SNOMED,
    UNIT_TO_MM,
)
from genomics.records.diagnosis import age_at_diagnosis, breast_primary_coding
from genomics.records.drugs import Drug, chemo_generation, drug_of
from genomics.records.fhir_types import (
    code_label,
    codings,
    concept_text,
    parse_fhir_date,
    quantity_value,
    ucum_unit,
    validation_problems,
)
from genomics.records.free_text import RADIOTHERAPY_WORDS, SURGERY_WORDS, drugs_in_text, words_in_text
from genomics.records.provenance import REVIEW_FIELDS, field_provenance
from genomics.records.schema import ClinicalRecord, RecordSchema
from genomics.records.values import TNM_RE, field_words, is_number, parse_stage

MAX_FHIR_ENTRIES = 5000


class FhirReader:
    """Maps a FHIR R4 Bundle (mCODE or plain FHIR) onto canonical fields, by code."""

    def __init__(self, schema: RecordSchema, source_name: str, deadline: Deadline | None = None) -> None:
        self.schema = schema
        self.name = source_name
        self.deadline = deadline if deadline is not None else Deadline.unlimited()
        self.candidates: dict[str, list[tuple[int, Any, str]]] = {}
        self.unknown: Counter[str] = Counter()
        self.warnings: list[str] = []
        self.mapped: set[str] = set()
        self.profiles: set[str] = set()
        self.other_profiles = 0
        self.notes: Counter[str] = Counter()
        self.targeted: set[str] = set()
        self.index: dict[str, dict[str, Any]] = {}
        self.patient_refs: set[str] = set()
        self.birth: tuple[int, int | None, int | None] | str | None = None
        self.staging: dict[str, str] = {}
        self.chosen: dict[str, str] = {}  # field -> the source of the value used
        self.text_sources: set[str] = set()  # sources that are free text, not codes
        self.reasons: dict[str, str] = {}  # field -> why it was not found
        self.chemo_groups: dict[str, bool] = {}  # chemotherapy drug group -> read from text only
        self.other_drugs: set[str] = set()

    # -- entry points ---------------------------------------------------------------------------
    def read(self, data: dict[str, Any], facts: dict[str, Any]) -> ClinicalRecord:
        rtype = data.get("resourceType")
        if rtype != "Bundle":
            shown = rtype if isinstance(rtype, str) and re.fullmatch(r"[A-Za-z]{1,40}", rtype) else "unknown"
            raise InputError(
                f"{self.name} is a FHIR {shown} resource, not a Bundle; upload a FHIR Bundle "
                "(type collection, document or searchset) holding the patient's resources."
            )
        resources = self._validated_entries(data)
        patients = [r for _, r in resources if r["resourceType"] == "Patient"]
        if len(patients) > 1:
            raise InputError(
                f"{self.name} holds {len(patients)} Patient resources; upload one patient's Bundle at a time."
            )
        patient = patients[0] if patients else None
        for full_url, res in resources:
            if full_url:
                self.index[full_url] = res
            if res.get("id"):
                self.index[f"{res['resourceType']}/{res['id']}"] = res
        self.patient_refs = self._patient_refs(patient, resources)
        conditions: list[dict[str, Any]] = []
        other_patient = 0
        for _, res in resources:
            self.deadline.tick()
            rtype = res["resourceType"]
            self._note_profiles(res)
            if rtype == "Patient":
                self._patient(res)
                continue
            if not self._same_patient(res):
                other_patient += 1
                continue
            handler = {
                "Observation": self._observation,
                "MedicationStatement": self._medication,
                "MedicationRequest": self._medication,
                "MedicationAdministration": self._medication,
                "Procedure": self._procedure,
            }.get(rtype)
            if rtype == "Condition":
                conditions.append(res)
            elif handler is not None:
                handler(res)
            elif rtype != "Medication":
                self.unknown[f"{rtype} resource (not used)"] += 1
        if other_patient:
            self.warnings.append(
                f"{other_patient} resource(s) refer to a different patient than the Bundle's Patient and were ignored."
            )
        self._conditions(conditions, patient)
        self._chemo_generation()
        values = self._resolve()
        self._report_notes()
        if not values:
            raise InputError(
                f"{self.name}: the Bundle holds no clinical data that can be mapped by code "
                f"({len(resources)} resource(s) read).",
                problems=tuple(self._unknown_list()[:20]) or (f"{self.name}: nothing could be mapped.",),
            )
        facts.update(
            format="fhir",
            fhir_release="R4 (validated with fhir.resources R4B models)",
            profiles=sorted(self.profiles),
            other_profiles=self.other_profiles,
            codes_mapped=sorted(self.mapped),
            resources=dict(Counter(r["resourceType"] for _, r in resources)),
        )
        if self.staging:
            facts["staging_sources"] = dict(sorted(self.staging.items()))
        if self.targeted:
            facts["anti_her2_therapy"] = sorted(self.targeted)
        if self.other_drugs:
            facts["other_cancer_drugs"] = sorted(self.other_drugs)
        fields = tuple(f for f in (*self.schema.clinical, *self.schema.treatments, *REVIEW_FIELDS)
                       if self.schema.known(f))
        facts["provenance"] = field_provenance(tuple(dict.fromkeys(fields)), values, self.chosen,
                                               self.text_sources, self.reasons)
        patient_ref = patient.get("id") if patient else None
        return ClinicalRecord(values, tuple(self._unknown_list()), tuple(self.warnings), facts, patient_ref)

    def _validated_entries(self, data: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
        from fhir.resources.R4B import get_fhir_model_class  # lazy: start-up cost (fhir.resources, pydantic models)
        from fhir.resources.R4B.bundle import Bundle  # lazy: start-up cost (fhir.resources, pydantic models)

        entries = data.get("entry")
        if entries is None:
            entries = []
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InputError(f"{self.name}: Bundle.entry must be a list of entries.")
        if not entries:
            raise InputError(f"{self.name} is a FHIR Bundle with no entries.")
        if len(entries) > MAX_FHIR_ENTRIES:
            raise InputError(
                f"{self.name} holds {len(entries)} entries; one patient's record is expected "
                f"(at most {MAX_FHIR_ENTRIES})."
            )
        shell = {k: v for k, v in data.items() if k != "entry"}
        if "type" not in shell:
            shell["type"] = "collection"
            self.warnings.append("The Bundle has no type; it was read as a collection.")
        shell["entry"] = [{k: v for k, v in e.items() if k != "resource"} for e in entries]
        try:
            Bundle.model_validate(shell)
        except (ValueError, TypeError, RecursionError) as exc:
            raise InputError(
                f"{self.name} is not a valid FHIR R4 Bundle.", problems=validation_problems(exc, "Bundle")
            ) from None
        if shell["type"] not in BUNDLE_TYPES:
            raise InputError(
                f"{self.name} is not a valid FHIR R4 Bundle: Bundle.type must be one of {', '.join(BUNDLE_TYPES)}."
            )
        out: list[tuple[str | None, dict[str, Any]]] = []
        invalid: list[str] = []
        for i, entry in enumerate(entries):
            self.deadline.check()
            raw = entry.get("resource")
            if not isinstance(raw, dict):
                invalid.append(f"entry {i + 1}: no resource")
                continue
            rtype = raw.get("resourceType")
            if not (isinstance(rtype, str) and re.fullmatch(r"[A-Z][A-Za-z]{0,39}", rtype)):
                invalid.append(f"entry {i + 1}: no valid resourceType")
                continue
            try:
                model = get_fhir_model_class(rtype).model_validate(raw)
                resource = model.model_dump(mode="json", by_alias=True, exclude_none=True)
            except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
                detail = "; ".join(validation_problems(exc, rtype)[:3])
                if rtype == "Patient":
                    raise InputError(f"{self.name}: the Patient resource is not valid FHIR R4 ({detail}); "
                                     "correct it and upload the Bundle again.") from None
                invalid.append(f"entry {i + 1} ({rtype}): {detail}")
                continue
            if resource.get("resourceType") != rtype:
                invalid.append(f"entry {i + 1} ({rtype}): not a FHIR R4 resource type")
                continue
            full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            out.append((full_url, resource))
        if invalid:
            self.warnings.append(
                f"{len(invalid)} Bundle entr{'y is' if len(invalid) == 1 else 'ies are'} not valid FHIR R4 "
                "and were skipped: " + " | ".join(invalid[:5]) + (" | …" if len(invalid) > 5 else "")
            )
        if not out:
            raise InputError(
                f"{self.name}: none of the {len(entries)} Bundle entries is a valid FHIR R4 resource.",
                problems=invalid[:20],
            )
        return out

    # -- helpers --------------------------------------------------------------------------------
    def _add(self, fname: str, value: Any, priority: int, source: str, *, text: bool = False) -> None:
        if text:
            self.text_sources.add(source)
        if not self.schema.known(fname):
            self.unknown[f"{source} → {fname} (not a field of this cohort)"] += 1
            return
        self.candidates.setdefault(fname, []).append((priority, value, source))
        self.mapped.add(f"{source} → {fname}")

    def _note_profiles(self, res: dict[str, Any]) -> None:
        for url in (res.get("meta") or {}).get("profile") or []:
            base = str(url).split("|", 1)[0]
            short = base[len(MCODE_PROFILE_PREFIX):] if base.startswith(MCODE_PROFILE_PREFIX) else ""
            if re.fullmatch(r"[a-z0-9\-]{1,80}", short):
                self.profiles.add(short)
            else:
                self.other_profiles += 1

    @staticmethod
    def _patient_refs(patient: dict[str, Any] | None, resources: list[tuple[str | None, dict[str, Any]]]) -> set[str]:
        if patient is None:
            return set()
        refs = set()
        if patient.get("id"):
            refs.add(f"Patient/{patient['id']}")
        for full_url, res in resources:
            if res is patient and full_url:
                refs.add(full_url)
        return refs

    def _same_patient(self, res: dict[str, Any]) -> bool:
        subject = res.get("subject") or res.get("patient")
        ref = subject.get("reference") if isinstance(subject, dict) else None
        if not ref or not self.patient_refs:
            return True
        return ref in self.patient_refs or any(
            ref.endswith("/" + r) for r in self.patient_refs if r.startswith("Patient/")
        )

    def _status_counts(self, res: dict[str, Any], kind: str) -> bool:
        status = res.get("status")
        if status in (None, *GIVEN_STATUSES):
            return True
        self.notes[f"{kind} with status '{status}' not counted as given"] += 1
        return False

    def _report_notes(self) -> None:
        for note, n in self.notes.items():
            self.warnings.append(f"{n} {note}." if n > 1 else f"{note[0].upper()}{note[1:]}.")

    def _unknown_list(self) -> list[str]:
        return [f"{k} ×{n}" if n > 1 else k for k, n in self.unknown.items()]

    # -- Patient --------------------------------------------------------------------------------
    def _patient(self, res: dict[str, Any]) -> None:
        self.birth = parse_fhir_date(res.get("birthDate"))
        if self.birth is None and res.get("birthDate") is not None:
            self.birth = "invalid"
        identifying = [k for k in ("name", "address", "identifier", "telecom", "photo", "contact") if res.get(k)]
        if identifying:
            self.unknown["Patient identifying details: " + ", ".join(identifying) + " (not used)"] += 1
        other = [k for k in ("gender", "maritalStatus", "communication", "deceasedBoolean", "deceasedDateTime",
                             "extension") if res.get(k) is not None]
        if other:
            self.unknown["Patient " + ", ".join(other) + " (not used)"] += 1

    # -- Observation ----------------------------------------------------------------------------
    def _observation(self, res: dict[str, Any]) -> None:
        if res.get("status") in ("entered-in-error", "cancelled"):
            self.notes[f"Observation with status '{res['status']}' ignored"] += 1
            return
        codes = codings(res.get("code"))
        hit = next(((sc, OBSERVATION_CODES[sc]) for sc in codes if sc in OBSERVATION_CODES), None)
        if hit is None:
            known = next((sc for sc in codes if sc in OBSERVATION_CODES_UNUSED), None)
            if known:
                self.unknown[f"Observation {code_label(*known)} ({OBSERVATION_CODES_UNUSED[known]}; not used)"] += 1
            elif codes:
                self.unknown[f"Observation {code_label(*codes[0])} (not used)"] += 1
            else:
                self.unknown["Observation without a coded code (display text is not mapped)"] += 1
            return
        (system, code), (kind, fname, priority, _note) = hit
        source = code_label(system, code)
        getattr(self, f"_obs_{kind}")(res, fname, priority, source)

    def _coded(self, concept: Any, table: dict, fname: str | None = None) -> tuple[Any, list[tuple[str, str]]]:
        codes = codings(concept)
        for system, code in codes:
            if fname is not None and (fname, system, code) in FIELD_RESULT_CODES:
                return FIELD_RESULT_CODES[(fname, system, code)], codes
            if (system, code) in table:
                return table[(system, code)], codes
        return None, codes

    def _no_value(self, res: dict[str, Any], source: str, what: str = "result") -> None:
        if res.get("valueString") is not None:
            self.unknown[f"Observation {source}: free-text {what} (not mapped; a code is required)"] += 1
        elif res.get("valueCodeableConcept") is not None:
            codes = codings(res["valueCodeableConcept"])
            shown = code_label(*codes[0]) if codes else "display text only"
            self.unknown[f"Observation {source}: {what} {shown} (not in the code table)"] += 1
        else:
            self.unknown[f"Observation {source}: no usable {what}"] += 1

    def _obs_receptor(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        result, _ = self._coded(res.get("valueCodeableConcept"), RESULT_CODES, fname)
        if result is None:
            for concept in res.get("interpretation") or []:
                result, _ = self._coded(concept, RESULT_CODES, fname)
                if result is not None:
                    break
        if result is None and fname == "her2_status":
            score = res.get("valueInteger", quantity_value(res.get("valueQuantity")))
            result = self._her2_score(score) if priority == 1 else None
        self._receptor_result(res, fname, priority, source, result)

    def _obs_her2_ihc(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        self._obs_receptor(res, fname, priority, source)

    @staticmethod
    def _her2_score(score: Any) -> str | None:
        if is_number(score) and float(score) in (0.0, 1.0, 2.0, 3.0):
            return ("Negative", "Negative", "Equivocal", "Positive")[int(score)]
        return None

    def _receptor_result(self, res: dict[str, Any], fname: str, priority: int, source: str, result: Any) -> None:
        if result is None:
            self._no_value(res, source)
        elif result in ("Equivocal", "Indeterminate"):
            self.candidates.setdefault(f"_{fname}_unresolved", []).append((priority, result.lower(), source))
            self.mapped.add(f"{source} → {fname} ({result.lower()})")
        else:
            self._add(fname, result, priority, source)

    def _obs_receptor_pct(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        q = res.get("valueQuantity")
        value = quantity_value(q)
        unit = ucum_unit(q) if isinstance(q, dict) else None
        if value is None or unit not in (None, "%") or not 0 <= value <= 100:
            self._no_value(res, source, "percentage")
            return
        # ASCO/CAP: ER and PR are positive when at least 1 % of tumour nuclei stain.
        self._add(fname, "Positive" if value >= 1 else "Negative", priority, source)

    def _obs_percent(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        q = res.get("valueQuantity")
        value = quantity_value(q)
        unit = ucum_unit(q) if isinstance(q, dict) else None
        if value is None and is_number(res.get("valueInteger")):
            value, unit = float(res["valueInteger"]), "%"
        if value is None or unit not in (None, "%"):
            self._no_value(res, source, "percentage")
            return
        self._add(fname, value, priority, source)

    def _obs_size(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        q = res.get("valueQuantity")
        if not isinstance(q, dict):
            for comp in res.get("component") or []:
                if (LOINC, "33728-7") in codings(comp.get("code")):
                    q = comp.get("valueQuantity")
                    break
        value = quantity_value(q)
        if value is None:
            self._no_value(res, source, "size")
            return
        unit = ucum_unit(q)  # type: ignore[arg-type]
        factor = UNIT_TO_MM.get(unit or "")
        if factor is None:
            self.warnings.append(f"Tumour size ({source}) has no recognised unit (mm or cm); it was not used.")
            return
        self._add(fname, round(value * factor, 3), priority, source)

    def _obs_count(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        value = res.get("valueInteger")
        if not is_number(value):
            value = quantity_value(res.get("valueQuantity"))
        if value is None:
            self._no_value(res, source, "count")
            return
        self._add(fname, float(value), priority, source)

    def _obs_grade(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        grade, _ = self._coded(res.get("valueCodeableConcept"), GRADE_CODES)
        if grade is None:
            raw = res.get("valueInteger", quantity_value(res.get("valueQuantity")))
            grade = float(raw) if is_number(raw) else None
        if grade is None:
            self._no_value(res, source, "grade")
            return
        self._add(fname, grade, priority, source)

    def _tnm_value(self, concept: Any, fname: str) -> str | None:
        for system, code in codings(concept):
            if system == AJCC and TNM_RE.match(code) and code.lstrip("ycrpa")[:1] == fname[-1].upper():
                return code
            if system == SNOMED and code in TNM_SNOMED[fname]:
                return TNM_SNOMED[fname][code]
        return None

    def _obs_tnm(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        value = self._tnm_value(res.get("valueCodeableConcept"), fname)
        if value is None:
            self._no_value(res, source, "category")
            return
        self._add(fname, value, priority, source)

    @staticmethod
    def _stage_value(concept: Any) -> float | None:
        for system, code in codings(concept):
            if system == SNOMED and code in STAGE_SNOMED:
                return STAGE_SNOMED[code]
            if system == AJCC:
                stage = parse_stage(code)
                if stage is not None and 0 <= stage <= 4:
                    return stage
        return None

    def _obs_stage(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        stage = self._stage_value(res.get("valueCodeableConcept"))
        if stage is None:
            self._no_value(res, source, "stage group")
            return
        self._add(fname, stage, priority, source)

    def _obs_menopause(self, res: dict[str, Any], fname: str, priority: int, source: str) -> None:
        state, _ = self._coded(res.get("valueCodeableConcept"), MENOPAUSE_CODES)
        if state is None:
            self._no_value(res, source, "status")
            return
        self._add(fname, state, priority, source)

    # -- Condition ------------------------------------------------------------------------------
    def _conditions(self, conditions: list[dict[str, Any]], patient: dict[str, Any] | None) -> None:
        primary = []
        for res in conditions:
            codes = codings(res.get("code"))
            how = breast_primary_coding(res)
            menopause = next((sc for sc in codes if sc in MENOPAUSE_CODES), None)
            if how is not None:
                primary.append(res)
                self.mapped.add(f"Condition {how} → breast cancer diagnosis")
                for stage in res.get("stage") or []:
                    value = self._stage_value(stage.get("summary"))
                    if value is not None:
                        self._add("tumor_stage", value, 0, "Condition.stage")
            elif menopause is not None:
                self._add("menopausal_state", MENOPAUSE_CODES[menopause], 1, code_label(*menopause))
            elif codes:
                self.unknown[f"Condition {code_label(*codes[0])} (not used)"] += 1
            else:
                self.unknown["Condition without a coded code (display text is not mapped)"] += 1
        if not primary:
            self.reasons["age_at_diagnosis"] = ("no Condition is coded as breast cancer (ICD-10 C50 of any national "
                                                "variant, ICD-O-3 topography C50, SNOMED)")
            return
        if len(primary) > 1:
            self.warnings.append(
                f"{len(primary)} primary cancer conditions found; the earliest diagnosis was used for age."
            )
        age = age_at_diagnosis(primary, self.birth)
        if age.value is None:
            self.reasons["age_at_diagnosis"] = age.note.removeprefix("Age at diagnosis not found: ").rstrip(".")
        else:
            self._add("age_at_diagnosis", age.value, age.priority, age.source)
        if age.note:
            self.warnings.append(age.note)

    # -- treatments -----------------------------------------------------------------------------
    def _drug(self, rtype: str, drug: Drug, source: str, *, text: bool) -> None:
        label = f"{source} ({drug.ingredient})"
        priority = 0 if text else 1
        if drug.drug_class in ("hormone_therapy", "chemotherapy"):
            self._add(drug.drug_class, 1, priority, label, text=text)
            if drug.drug_class == "chemotherapy":
                self.chemo_groups[drug.group] = self.chemo_groups.get(drug.group, True) and text
        elif drug.drug_class == "her2_targeted":
            self.targeted.add(drug.ingredient)
            self._add("trastuzumab", 1, priority, label, text=text)
        else:
            self.other_drugs.add(drug.ingredient)
            self.unknown[f"{rtype} {label}: {drug.group}, known but not a record field"] += 1

    def _text_drugs(self, rtype: str, concept: Any, *, given: bool) -> bool:
        """Drugs named in a concept's text (the last resort); False when it names none."""
        text = concept_text(concept)
        drugs = drugs_in_text(text) if text else []
        if drugs and given:
            for drug in drugs:
                self._drug(rtype, drug, f"{rtype} text", text=True)
        return bool(drugs)

    def _medication(self, res: dict[str, Any]) -> None:
        rtype = res["resourceType"]
        concept = res.get("medicationCodeableConcept")
        if concept is None and isinstance(res.get("medicationReference"), dict):
            target = self.index.get(str(res["medicationReference"].get("reference")))
            concept = target.get("code") if isinstance(target, dict) else None
        codes = codings(concept)
        hit = next(((sc, drug_of([sc])) for sc in codes if drug_of([sc]) is not None), None)
        if hit is None:
            if self._text_drugs(rtype, concept, given=self._status_counts(res, rtype)):
                return
            shown = code_label(*codes[0]) if codes else "without a coded medication or a known drug name"
            self.unknown[f"{rtype} {shown} (not used)"] += 1
            return
        (system, code), drug = hit
        if self._status_counts(res, rtype):
            self._drug(rtype, drug, code_label(system, code), text=False)  # type: ignore[arg-type]

    def _procedure(self, res: dict[str, Any]) -> None:
        codes = codings(res.get("code")) + codings(res.get("category"))
        hit = next(((sc, PROCEDURE_CODES[sc]) for sc in codes if sc in PROCEDURE_CODES), None)
        given = self._status_counts(res, "Procedure")
        if hit is not None and given:
            self._add(hit[1], 1, 1, code_label(*hit[0]))
        if hit is not None and hit[1] != "chemotherapy":
            return
        named = self._text_drugs("Procedure", res.get("code"), given=given)
        text = concept_text(res.get("code"))
        for fname, words in (("radio_therapy", RADIOTHERAPY_WORDS), ("breast_surgery", SURGERY_WORDS)):
            if hit is None and text and words_in_text(text, words):
                named = True
                if given:
                    self._add(fname, 1, 0, "Procedure text", text=True)
        if hit is None and not named:
            shown = code_label(*codes[0]) if codes else "without a coded code or a known treatment name"
            self.unknown[f"Procedure {shown} (not used)"] += 1

    def _chemo_generation(self) -> None:
        """PREDICT's chemotherapy generation from the chemotherapy drugs named (3 with a taxane, else 2)."""
        generation = chemo_generation(set(self.chemo_groups))
        if generation is not None:
            text = all(self.chemo_groups.values())
            self._add("chemo_generation", float(generation), 0 if text else 1,
                      "drug groups: " + ", ".join(sorted(self.chemo_groups)), text=text)

    # -- resolution -----------------------------------------------------------------------------
    def _resolve(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for fname, cands in self.candidates.items():
            if fname.startswith("_"):
                continue
            top = max(p for p, _, _ in cands)
            best = {v for p, v, _ in cands if p == top}
            if len(best) > 1:
                self.warnings.append(
                    f"{fname}: {sum(p == top for p, _, _ in cands)} equally specific records disagree; "
                    "the field was left empty. Check the record."
                )
                continue
            value = best.pop()
            values[fname] = value
            self.chosen[fname] = chosen = next(s for p, v, s in cands if p == top)
            if chosen in self.text_sources:
                self.warnings.append(f"{field_words(fname)} was read from text, not from a code ({chosen}): "
                                     "check it in the review step.")
            if fname.startswith("tnm_") or fname == "tumor_stage":
                # clinical and pathological staging may differ legitimately: the most specific is used
                self.staging[fname] = next(s for p, v, s in cands if p == top)
                continue
            lower = sorted({s for p, v, s in cands if p < top and v != value})
            if lower:
                chosen = next(s for p, v, s in cands if p == top)
                self.warnings.append(
                    f"{fname}: {', '.join(lower)} disagree(s) with {chosen}; the more specific {chosen} was used."
                )
        for fname in ("er_status", "pr_status", "her2_status"):
            unresolved = self.candidates.get(f"_{fname}_unresolved")
            if unresolved and fname not in values:
                kinds = sorted({v for _, v, _ in unresolved})
                extra = " and no in situ hybridisation result" if fname == "her2_status" else ""
                self.warnings.append(f"{fname}: the result is {' / '.join(kinds)}{extra}; the field was left empty.")
        return values
