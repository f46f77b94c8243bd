"""The example input files shipped in genomics/demo/examples: synthetic, reproducible, and each one analysable.

Golden: the shipped files equal a fresh generation (``python -m genomics.demo.examples``). Each example passes
``check_upload`` and yields an analysis through the clinical page's service (:func:`dashboard.patient.service.analyse`)
on the demo cohort without the data folder (the array file's probe ids need the array annotation: refused there
with a plain reason) and, with the data folder, on the demo cohort and on METABRIC.
"""
from __future__ import annotations

import numpy as np
import pytest

from genomics.demo import examples

KINDS = ("rnaseq", "array")


def test_shipped_files_equal_a_fresh_generation():
    fresh = examples.generate()
    assert sorted(fresh) == sorted(examples.FILES.values())
    for name, data in fresh.items():
        shipped = (examples.EXAMPLES_DIR / name).read_bytes()
        assert shipped == data, f"{name} differs from a fresh generation: run python -m genomics.demo.examples"
        assert len(data) < 200_000
    readme = (examples.EXAMPLES_DIR / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme and "Licence" in readme and "python -m genomics.demo.examples" in readme
    assert examples.example_path("rnaseq").is_file()  # found from the installed package's path


def _upload(kind: str, cohort):
    from genomics.spec import spec_of
    from genomics.validate import check_upload

    profile, record = examples.example_path(kind), examples.example_path(f"{kind.split('_')[0]}_record")
    return check_upload(profile.read_bytes(), name=profile.name, records=record.read_bytes(), records_name=record.name,
                        spec=spec_of(cohort), reference_genes=list(cohort.var_names))


def _analyse(upload, cohort, folder):
    from dashboard.modelling.bundles import train_treatment
    from dashboard.patient import service
    from genomics.spec import spec_of

    spec = spec_of(cohort)
    bundle = train_treatment(cohort, spec, folder)
    context = service.make_context(spec, cohort, bundle, with_map=False)
    obs = upload.adata.obs.iloc[0]
    clinical = {f.name: (obs[f.name] if f.name in obs.index else None) for f in spec.clinical}
    regimen = {t: int(obs[t]) if t in obs.index else 0 for t in bundle.features.treatments_}
    return service.analyse(upload, context=context, clinical=clinical, regimen=regimen)


@pytest.fixture()
def no_data(monkeypatch):
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.setenv("ONCOTX_CONFIG", "/nonexistent.toml")


@pytest.mark.slow
def test_examples_on_the_demo_cohort_without_the_data_folder(no_data, tmp_path):
    from genomics.cohorts import load_cohort

    demo = load_cohort("demo")
    rnaseq = _upload("rnaseq", demo)
    assert rnaseq.report.ok and not rnaseq.needs_confirmation, rnaseq.report.errors
    assert rnaseq.record is not None and rnaseq.record.values["er_status"] == "Positive"
    analysis = _analyse(rnaseq, demo, tmp_path / "demo-treatment")
    assert analysis.options and analysis.variant["variant"] == "full"
    assert analysis.molecular["pam50"]["subtype"] and analysis.molecular["rs"]["score"] >= 0  # shipped centroids
    ensembl = _upload("rnaseq_ensembl", demo)  # Ensembl ids through the shipped gene id map
    assert ensembl.report.ok and not ensembl.needs_confirmation, ensembl.report.errors
    assert set(ensembl.adata.var_names) == set(rnaseq.adata.var_names)
    np.testing.assert_allclose(ensembl.adata.to_df()[rnaseq.adata.var_names].to_numpy(), rnaseq.adata.to_df().to_numpy())
    array = _upload("array", demo)  # probe ids need the array annotation of the reference data
    assert not array.report.ok
    reason = " ".join(array.report.errors)
    assert "probe identifiers cannot be read on this server" in reason and "ONCOTX" not in reason


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("cohort_id", ["demo", "metabric"])
def test_examples_with_the_data_folder(cohort_id, data_dir, tmp_path):
    from genomics.cohorts import load_cohort

    cohort = load_cohort(cohort_id)
    for kind in KINDS:
        upload = _upload(kind, cohort)
        assert upload.report.ok, (kind, upload.report.errors)
        analysis = _analyse(upload, cohort, tmp_path / f"{cohort_id}-treatment")
        assert analysis.options, kind
        if cohort_id == "demo" and kind == "array":  # 158 of 1,000 genes: below the floor, a companion answers
            assert upload.needs_confirmation and analysis.variant["variant"] == "companion"
