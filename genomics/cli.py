"""``python -m genomics``: the data-layer command line.

``validate FILE [--records FILE]``: exit 0 valid, 2 invalid (one line per problem), 1 internal error.
``signatures FILE [--cohort ID|PATH] [--out FILE.csv]``: PAM50, recurrence score and modules per sample; a few samples
are compared with a reference cohort: ``--cohort``, else the synthetic demo cohort when no data folder is set
(:func:`signature_reference`), else their platform reference. It prints which reference was used.

Each command imports its modules when it runs (``# lazy: CLI start-up``): ``signatures`` and ``preprocess`` load
scanpy, which ``validate`` and ``cohorts`` do not need.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys

from genomics.errors import InputError

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m genomics", description="OncoTx data tools (research use only).")
    sub = parser.add_subparsers(dest="command", required=True)
    val = sub.add_parser("validate", help="validate an expression file (and a clinical record)")
    val.add_argument("file", help="expression file: CSV/TSV/TXT(.gz), XLSX or .h5ad")
    val.add_argument("--records", help="clinical record: CSV, JSON or FHIR R4 Bundle")
    val.add_argument(
        "--orientation", choices=("auto", "genes_as_rows", "genes_as_columns"), default="auto",
        help="where the genes are (default: detect)",
    )
    val.add_argument("--json", action="store_true", help="print the report as JSON")
    sub.add_parser("cohorts", help="list the cohorts available with the current settings")
    pre = sub.add_parser("preprocess", help="run the cohort pipeline (PCA, UMAP, Leiden) and write .h5ad")
    pre.add_argument("--cohort", required=True, help="cohort id or PATH (.h5ad, table + .spec.json, cBioPortal folder)")
    pre.add_argument("--out", required=True, help="output .h5ad")
    pre.add_argument("--batch-correct", action="store_true", help="ComBat on the cohort's declared batch column")
    pre.add_argument("--n-top-genes", type=int, default=2000)
    pre.add_argument("--n-pcs", type=int, default=30)
    pre.add_argument("--resolution", type=float, default=1.0, help="Leiden resolution")
    pre.add_argument("--seed", type=int, default=0)
    sig = sub.add_parser("signatures", help="PAM50, recurrence-score approximation and module scores per sample")
    sig.add_argument("file", nargs="?", help="expression file (as for validate); or --expression FILE")
    sig.add_argument("--expression", help="expression file (the same as FILE)")
    sig.add_argument("--cohort", default=None,
                     help="reference cohort id or PATH on the same platform (without it, an upload of 20+ samples "
                          "is its own reference, and a smaller one is compared with its platform reference: "
                          "SCAN-B for RNA-seq, VDX for Affymetrix; with no data folder set, the synthetic demo "
                          "cohort)")
    sig.add_argument("--out", help="output CSV (default: the table on standard output)")
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    from genomics.validate import check_upload  # lazy: CLI start-up

    result = check_upload(args.file, records=args.records, orientation=args.orientation)
    report = result.report
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        for line in report.lines():
            print(line)
        print("VALID" if report.ok else f"INVALID: {len(report.errors)} problem(s)")
    return EXIT_OK if report.ok else EXIT_INVALID


def cmd_cohorts(_: argparse.Namespace) -> int:
    from genomics.cohorts import list_cohorts  # lazy: CLI start-up

    for spec in list_cohorts():
        endpoints = ", ".join(ep.name for ep in spec.endpoints)
        print(f"{spec.id}\t{spec.display_name}\t{spec.platform}\tendpoints: {endpoints}\t{spec.licence}")
    return EXIT_OK


def cmd_preprocess(args: argparse.Namespace) -> int:
    from genomics.cohorts import load_cohort  # lazy: CLI start-up
    from genomics.preprocess import PipelineOptions, preprocess_cohort  # lazy: CLI start-up

    options = PipelineOptions(n_top_genes=args.n_top_genes, n_pcs=args.n_pcs, leiden_resolution=args.resolution,
                              batch_correct=args.batch_correct, seed=args.seed)
    result = preprocess_cohort(load_cohort(args.cohort), options=options)
    result.write_h5ad(args.out)
    pipeline = result.uns["oncotx"]["pipeline"]
    print(f"{result.n_obs} patients × {result.n_vars} genes; {result.obs['leiden'].nunique()} Leiden clusters; "
          f"{pipeline['seconds']} s; steps: {', '.join(pipeline['steps'])}")
    return EXIT_OK


#: What ``signatures`` says when it compares a few samples with the demo cohort because no data folder is set.
DEMO_REFERENCE_NOTE = ("reference: the SYNTHETIC demo cohort (no data folder is set, so no real reference cohort; "
                       "set ONCOTX_DATA or pass --cohort for one)")


def signature_reference(cohort: str | None, n_samples: int):
    """The reference cohort ``signatures`` compares ``n_samples`` with, and a line saying why (or None).

    ``--cohort`` when given. Else, with no data folder (no real reference cohort can be had) and too few samples to
    be their own reference, the synthetic demo cohort, which is always there, so one sample still gets its PAM50
    call. Else None: the samples' own or their platform reference (:func:`genomics.signatures.signature_table`).
    """
    from genomics.cohorts import load_cohort  # lazy: CLI start-up
    from genomics.settings import get_settings  # lazy: CLI start-up
    from genomics.signatures.resolve import MIN_SELF_REFERENCE  # lazy: CLI start-up

    if cohort:
        return load_cohort(cohort), None
    if get_settings().data_dir is None and n_samples < MIN_SELF_REFERENCE:
        return load_cohort("demo"), DEMO_REFERENCE_NOTE
    return None, None


def cmd_signatures(args: argparse.Namespace) -> int:
    from genomics.export import to_safe_csv  # lazy: CLI start-up
    from genomics.signatures import signature_table  # lazy: CLI start-up
    from genomics.validate import check_upload  # lazy: CLI start-up

    path = args.expression or args.file
    if not path or (args.expression and args.file):
        print("ERROR: give one expression file: FILE or --expression FILE", file=sys.stderr)
        return EXIT_INVALID
    info = sys.stdout if args.out else sys.stderr  # the table itself goes to standard output without --out
    result = check_upload(path)
    if not result.report.ok:
        for problem in result.report.errors:
            print(f"ERROR: {problem}", file=info)
        return EXIT_INVALID
    reference, why = signature_reference(args.cohort, result.adata.n_obs)
    if why:
        logging.getLogger(__name__).info("signatures: %s", why)
        print(why, file=info)
    table = signature_table(result.adata, reference=reference)
    if args.out:
        with open(args.out, "wb") as fh:
            fh.write(to_safe_csv(table))
        print(f"{len(table)} sample(s) written to {args.out}", file=info)
    else:
        sys.stdout.buffer.write(to_safe_csv(table))
        sys.stdout.flush()
    for column, what in (("pam50_reference", "PAM50"), ("rs_reference", "recurrence score")):
        used = sorted({str(v) for v in table[column] if isinstance(v, str) and v})
        if used:
            print(f"{what} reference: {'; '.join(used)}", file=info)
    notes = sorted({str(n) for n in table["notes"] if isinstance(n, str) and n})
    for note in notes[:5]:
        print(f"note: {note}", file=info)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        commands = {"validate": cmd_validate, "cohorts": cmd_cohorts, "preprocess": cmd_preprocess,
                    "signatures": cmd_signatures}
        return commands[args.command](args)
    except InputError as exc:
        for problem in exc.problems:
            print(f"ERROR: {problem}", file=sys.stderr)
        if exc.detail:
            print(f"  to fix: {exc.detail}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # an internal error: one line, no traceback for the user, details in the log
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        print(f"INTERNAL ERROR: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
