"""``python -m dashboard``: the Patient page's analysis and its exports from the command line (research use only).

``report --expression FILE [--records FILE] [--cohort ID] --format pdf|csv|json|fhir --out FILE``: one patient's
profile and record, validated and analysed as the Patient page does (the cohort's treatment-effect model under
ONCOTX_HOME, trained on first use), written as the PDF report, the options CSV, the analysis JSON or a FHIR R4 Bundle
(RiskAssessment per regimen, PAM50 / RS Observations, a DocumentReference to the PDF named beside it). Exit 0 written,
2 refused (one line per problem on stderr), 1 internal error.

Each command imports its modules when it runs (``# lazy: CLI start-up``).
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from genomics.errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID = 0, 1, 2
FORMATS = ("pdf", "csv", "json", "fhir")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m dashboard",
                                     description="OncoTx patient reports (research use only: options, not directives).")
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="analyse one patient and write the report (PDF, CSV, JSON or FHIR R4)")
    rep.add_argument("--expression", required=True, help="expression file: CSV/TSV/TXT(.gz), XLSX or .h5ad")
    rep.add_argument("--records", help="clinical record: CSV, JSON or FHIR R4 Bundle")
    rep.add_argument("--cohort", default=None, help="reference cohort id (default: METABRIC with a data folder, "
                                                    "else the synthetic demo cohort)")
    rep.add_argument("--format", choices=FORMATS, default="pdf")
    rep.add_argument("--out", required=True, help="output file")
    rep.add_argument("--baseline", choices=("none", "current"), default="none",
                     help="compare the options against no treatment or against the recorded regimen")
    rep.add_argument("--language", choices=("en", "zh_CN"), default="en", help="language of the PDF report")
    rep.add_argument("--confirm-low-coverage", action="store_true",
                     help="analyse a profile below the coverage floor (the page asks for the same confirmation)")
    return parser


def _cohort_id(requested: str | None) -> str:
    from genomics.cohorts import list_cohorts  # lazy: CLI start-up

    if requested:
        return requested
    return "metabric" if "metabric" in {spec.id for spec in list_cohorts()} else "demo"


def _analysis(args: argparse.Namespace):
    from dashboard.modelling import bundles  # lazy: CLI start-up
    from dashboard.patient import service  # lazy: CLI start-up
    from genomics.cohorts import load_cohort  # lazy: CLI start-up
    from genomics.spec import spec_of  # lazy: CLI start-up
    from genomics.validate import check_upload  # lazy: CLI start-up
    from models.registry import load_bundle  # lazy: CLI start-up

    cohort_id = _cohort_id(args.cohort)
    cohort = load_cohort(cohort_id)
    spec = spec_of(cohort)
    expression = Path(args.expression)
    records = Path(args.records) if args.records else None
    upload = check_upload(expression.read_bytes(), name=expression.name,
                          records=records.read_bytes() if records else None,
                          records_name=records.name if records else None,
                          spec=spec, reference_genes=list(cohort.var_names))
    if not upload.report.ok:
        raise InputError(" ".join(upload.report.errors) or "The upload did not pass validation.")
    if upload.needs_confirmation and not args.confirm_low_coverage:
        raise InputError(f"{upload.report.confirmation} Pass --confirm-low-coverage to analyse it anyway.")
    for line in upload.report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    folder = bundles.treatment_path(spec)
    if not (folder / "manifest.json").is_file():
        print(f"training the treatment-effect model of {cohort_id} (first use; under ONCOTX_HOME)", file=sys.stderr)
        bundles.train_treatment(cohort, spec, folder)
    bundle = load_bundle(folder)
    context = service.make_context(spec, cohort, bundle, with_map=False)
    obs = upload.adata.obs.iloc[0]
    clinical = {f.name: (obs[f.name] if f.name in obs.index else None) for f in spec.clinical}
    regimen = {t: int(obs[t]) if t in obs.index and obs[t] == obs[t] else 0 for t in bundle.features.treatments_}
    return service.analyse(upload, context=context, clinical=clinical, regimen=regimen, baseline=args.baseline,
                           user="cli")


def cmd_report(args: argparse.Namespace) -> int:
    from dashboard.patient.report import exports  # lazy: CLI start-up
    from dashboard.patient.report.pdf import pdf_in  # lazy: CLI start-up

    analysis = _analysis(args)
    out = Path(args.out)
    if args.format == "pdf":
        data = pdf_in(args.language)(analysis)
    elif args.format == "csv":
        data = exports.report_csv(analysis)
    elif args.format == "json":
        data = exports.report_json(analysis)
    else:
        from dashboard.patient.report.fhir_bundle import report_fhir  # lazy: CLI start-up

        data = report_fhir(analysis, pdf_name=out.with_suffix(".pdf").name)
    out.write_bytes(data)
    print(f"{out}: {args.format.upper()} report of {analysis.patient_id} on {analysis.cohort_name} "
          f"({len(analysis.options)} options; research use only)")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return {"report": cmd_report}[args.command](args)
    except FileNotFoundError as exc:
        print(f"error: no such file: {exc.filename}", file=sys.stderr)
        return EXIT_INVALID
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except OSError as exc:
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_INVALID
