"""``python -m genomics``: the data-layer command line.

``validate FILE [--records FILE]``: exit 0 valid, 2 invalid (one line per problem), 1 internal error.
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
    return parser


def cmd_validate(args: argparse.Namespace) -> int:
    from genomics.validate import check_upload

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
    from genomics.cohorts import list_cohorts

    for spec in list_cohorts():
        endpoints = ", ".join(ep.name for ep in spec.endpoints)
        print(f"{spec.id}\t{spec.display_name}\t{spec.platform}\tendpoints: {endpoints}\t{spec.licence}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return {"validate": cmd_validate, "cohorts": cmd_cohorts}[args.command](args)
    except InputError as exc:
        for problem in exc.problems:
            print(f"ERROR: {problem}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # an internal error: one line, no traceback for the user, details in the log
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        print(f"INTERNAL ERROR: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
