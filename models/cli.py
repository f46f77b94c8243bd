"""``python -m models``: train and evaluate survival models (research use only).

``train --cohort ID|PATH --endpoint NAME --out DIR [--model xgb|torch|ensemble] [--device auto|cpu|cuda] [--seed N]``
``evaluate --model DIR --cohort ID|PATH [--out FILE.json]``
``recommend --model DIR (--expression FILE [--records FILE] | --cohort ID|PATH) --out FILE.csv
[--baseline none|current] [--reference-cohort ID|PATH]``: treatment options per patient (options, not directives)
Progress goes to stderr, a one-line summary to stdout. Exit 0 ok, 2 bad input, 1 internal error.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from genomics.errors import InputError
from models.errors import ModelError

EXIT_OK, EXIT_INTERNAL, EXIT_INVALID = 0, 1, 2


def _progress(message: str) -> None:
    print(f"[oncotx] {message}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m models", description="OncoTx models (research use only).")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train a model bundle")
    train.add_argument("--cohort", required=True)
    train.add_argument("--endpoint", required=True)
    train.add_argument("--out", required=True, type=Path)
    train.add_argument("--model", default="ensemble", choices=("xgb", "torch", "ensemble", "effects"),
                       help="ensemble (default): 10 bootstrap xgboost models, so predictions carry intervals")
    train.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    train.add_argument("--seed", type=int, default=0)
    ev = sub.add_parser("evaluate", help="evaluate a bundle on a cohort (JSON)")
    ev.add_argument("--model", required=True, type=Path)
    ev.add_argument("--cohort", required=True)
    ev.add_argument("--out", type=Path)
    rec = sub.add_parser("recommend", help="treatment options per patient (CSV; options, never directives)")
    rec.add_argument("--model", required=True, type=Path)
    source = rec.add_mutually_exclusive_group(required=True)
    source.add_argument("--expression", help="expression upload (one or more patients, clinical columns allowed)")
    source.add_argument("--cohort", help="cohort id or PATH: every patient of it")
    rec.add_argument("--records", help="clinical record for a single-patient --expression upload")
    rec.add_argument("--out", required=True, type=Path)
    rec.add_argument("--baseline", default="none", choices=("none", "current"))
    rec.add_argument("--reference-cohort", dest="reference_cohort",
                     help="cohort the evidence is judged against (default: the model's training cohort)")
    return parser


def cmd_train(args: argparse.Namespace) -> int:
    from genomics.cohorts import load_cohort
    from models.training import train_bundle

    bundle = train_bundle(load_cohort(args.cohort), endpoint=args.endpoint, kind=args.model, out=args.out,
                          device=args.device, seed=args.seed, progress=_progress)
    c = bundle.card.metrics.get("harrell_c", {})
    print(f"{bundle.card.model_id}: {bundle.card.n_train} training patients, held-back Harrell C "
          f"{c.get('value', float('nan')):.3f} [{c.get('lo', float('nan')):.3f}, {c.get('hi', float('nan')):.3f}] "
          f"-> {args.out}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from genomics.cohorts import load_cohort
    from models.registry import load_bundle
    from models.training import evaluate_bundle

    bundle = load_bundle(args.model)
    result = evaluate_bundle(bundle, load_cohort(args.cohort), progress=_progress)
    text = json.dumps(result, indent=2, default=float)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        print(text)
    c = result["metrics"].get("harrell_c", {})
    _progress(f"{bundle.card.model_id} on {result['cohort']}: n={result['n']}, Harrell C {c.get('value', float('nan')):.3f}")
    return EXIT_OK


def cmd_recommend(args: argparse.Namespace) -> int:
    from genomics.cohorts import load_cohort
    from genomics.export import to_safe_csv
    from genomics.validate import check_upload
    from models.registry import load_bundle
    from models.treatment import CAVEAT, recommend_table, treatment_options

    if args.records and not args.expression:
        raise InputError("--records goes with --expression (a clinical record for an uploaded profile).")
    bundle = load_bundle(args.model)
    if args.expression:
        result = check_upload(args.expression, records=args.records)
        if not result.report.ok:
            for problem in result.report.errors:
                print(f"ERROR: {problem}", file=sys.stderr)
            return EXIT_INVALID
        patients = result.adata
    else:
        patients = load_cohort(args.cohort)
    reference_id = args.reference_cohort or bundle.card.cohort_id
    _progress(f"judging evidence against cohort {reference_id}")
    reference = load_cohort(reference_id)
    missing = [t for t in bundle.features.treatments_ if t not in patients.obs.columns]
    if missing and args.baseline == "current":
        _progress(f"no {', '.join(missing)} column(s) in the input: the current regimen counts them as not given")
    options = treatment_options(bundle, patients, cohort=reference, baseline=args.baseline)
    table = recommend_table(options)
    args.out.write_bytes(to_safe_csv(table))
    _progress(CAVEAT)
    flagged = int(table.filter(like="reading").eq("likely benefit").any(axis=1).sum())
    print(f"{len(table)} patient(s) × {options.table['regimen'].nunique()} regimens against baseline "
          f"{args.baseline}; {flagged} with an option read as 'likely benefit' -> {args.out}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return {"train": cmd_train, "evaluate": cmd_evaluate, "recommend": cmd_recommend}[args.command](args)
    except (InputError, ModelError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # internal error: one line for the user, the traceback in the log
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        print(f"INTERNAL ERROR: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
