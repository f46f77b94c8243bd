"""``python -m models``: train and evaluate survival models (research use only).

``train --cohort ID|PATH --endpoint NAME --out DIR [--model xgb|torch|ensemble] [--device auto|cpu|cuda] [--seed N]``
``evaluate --model DIR --cohort ID|PATH [--out FILE.json]``
``recommend --model DIR (--expression FILE [--records FILE] | --cohort ID|PATH) --out FILE.csv
[--baseline none|current] [--reference-cohort ID|PATH]``: treatment options per patient (options, not directives)

``--dask [ADDRESS]`` (train, recommend): run on Dask, on a new LocalCluster (no ADDRESS, or ``local``) or on
the scheduler at ADDRESS (``tcp://host:8786``). ``train --dask`` fits the xgboost kinds (xgb, ensemble) with
xgboost.dask; the bundle is the same as a single-process one. ``recommend --dask --cohort PATH`` reads a large
cohort file (parquet, CSV, h5ad) in partitions and writes the results partition by partition (``--out`` .csv,
.parquet or a folder), with bounded memory. See :mod:`models.dask`.
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
    _dask_argument(train)
    ev = sub.add_parser("evaluate", help="evaluate a bundle on a cohort (JSON)")
    ev.add_argument("--model", required=True, type=Path)
    ev.add_argument("--cohort", required=True)
    ev.add_argument("--out", type=Path)
    rec = sub.add_parser("recommend", help="treatment options per patient (CSV; options, never directives)")
    rec.add_argument("--model", required=True, type=Path)
    source = rec.add_mutually_exclusive_group()
    source.add_argument("--expression", help="expression upload (one or more patients, clinical columns allowed)")
    source.add_argument("--cohort", help="cohort id or PATH: every patient of it")
    rec.add_argument("--records", help="clinical record of a single patient (with --expression, or alone: then the "
                                       "clinical-only model answers)")
    rec.add_argument("--out", required=True, type=Path)
    rec.add_argument("--baseline", default="none", choices=("none", "current"))
    rec.add_argument("--reference-cohort", dest="reference_cohort",
                     help="the model's training cohort, if it has moved (default: the cohort the model card names)")
    rec.add_argument("--variant", default="auto", choices=("auto", "full", "companion", "robust", "clinical"),
                     help="which model answers (auto: the full model, else a companion on the shared genes, else "
                          "clinical fields only; see models/variants.py)")
    _dask_argument(rec)
    rec.add_argument("--partition-size", dest="partition_size", default="64MiB", metavar="SIZE",
                     help="with --dask: input per partition (e.g. 64MiB; memory per worker grows with it)")
    ref = sub.add_parser("clinical-reference", help="PREDICT Breast v2.1 per patient (CSV; research use only)")
    ref_source = ref.add_mutually_exclusive_group(required=True)
    ref_source.add_argument("--cohort", help="cohort id or PATH: every patient, under the treatments recorded")
    ref_source.add_argument("--expression", help="one patient's expression upload (its record gives the clinical fields)")
    ref.add_argument("--records", help="clinical record for the --expression upload")
    ref.add_argument("--out", required=True, type=Path)
    return parser


def _dask_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help="run on Dask: a local cluster (no ADDRESS) or the scheduler at ADDRESS (tcp://host:8786)")


def _address(value: str) -> str | None:
    return None if value == "local" else value


def cmd_train(args: argparse.Namespace) -> int:
    from genomics.cohorts import load_cohort  # lazy: CLI start-up (per subcommand)
    from models.training import cohort_source, train_bundle  # lazy: CLI start-up (per subcommand)

    cohort = load_cohort(args.cohort)
    source = cohort_source(args.cohort)
    if args.dask is not None:
        from models.dask import DASK_KINDS, dask_client  # lazy: CLI start-up (per subcommand; xgboost)

        if args.model not in DASK_KINDS:
            raise InputError(f"--dask trains the xgboost models ({', '.join(DASK_KINDS)}); --model {args.model} "
                             "trains in one process (leave out --dask).")
        with dask_client(_address(args.dask)) as client:
            bundle = train_bundle(cohort, endpoint=args.endpoint, kind=args.model, out=args.out, device=args.device,
                                  seed=args.seed, progress=_progress, client=client, source=source)
    else:
        bundle = train_bundle(cohort, endpoint=args.endpoint, kind=args.model, out=args.out, device=args.device,
                              seed=args.seed, progress=_progress, source=source)
    c = bundle.card.metrics.get("harrell_c", {})
    print(f"{bundle.card.model_id}: {bundle.card.n_train} training patients, held-back Harrell C "
          f"{c.get('value', float('nan')):.3f} [{c.get('lo', float('nan')):.3f}, {c.get('hi', float('nan')):.3f}] "
          f"-> {args.out}")
    return EXIT_OK


def cmd_evaluate(args: argparse.Namespace) -> int:
    from genomics.cohorts import load_cohort  # lazy: CLI start-up (per subcommand)
    from models.registry import load_bundle  # lazy: CLI start-up (per subcommand)
    from models.training import evaluate_bundle  # lazy: CLI start-up (per subcommand)

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


def _patients(args: argparse.Namespace):
    """The patients of ``--expression [--records]``, ``--records`` alone (one patient) or ``--cohort``."""
    from genomics.cohorts import load_cohort  # lazy: CLI start-up (per subcommand)
    from genomics.validate import check_upload  # lazy: CLI start-up (per subcommand)

    if not (args.expression or args.cohort or args.records):
        raise InputError("Give --expression FILE (with or without --records FILE), --records FILE alone, or --cohort.")
    if args.records and args.cohort:
        raise InputError("--records goes with --expression or alone (one patient), not with --cohort.")
    if not (args.expression or args.records):
        return load_cohort(args.cohort)
    result = check_upload(args.expression, records=args.records)
    if not result.report.ok:
        raise InputError(" ".join(result.report.errors), problems=result.report.errors)
    return result.adata


def cmd_recommend(args: argparse.Namespace) -> int:
    from genomics.export import to_safe_csv  # lazy: CLI start-up (per subcommand)
    from genomics.spec import spec_of  # lazy: CLI start-up (per subcommand)
    from models.registry import load_bundle  # lazy: CLI start-up (per subcommand)
    from models.treatment import (  # lazy: CLI start-up (per subcommand)
        CAVEAT,
        flagged_patients,
        recommend_table,
        treatment_options,
    )
    from models.variants import answer, training_cohort  # lazy: CLI start-up (per subcommand)

    if args.dask is not None and not args.cohort:
        raise InputError("--dask scores a cohort (--cohort ID|PATH); an upload is scored in one process.")
    bundle = load_bundle(args.model)
    if args.dask is not None:
        return _recommend_dask(args, bundle)
    patients = _patients(args)
    reference = training_cohort(bundle, override=args.reference_cohort)
    _progress(f"judging evidence against the training cohort {bundle.card.cohort_name}")
    missing = [t for t in bundle.features.treatments_ if t not in patients.obs.columns]
    if missing and args.baseline == "current":
        _progress(f"no {', '.join(missing)} column(s) in the input: the current regimen counts them as not given")
    chosen = answer(bundle, patients, variant=args.variant, cohort=reference, progress=_progress)
    _progress(f"{chosen.summary()} Expression: {chosen.expression_note}.")
    for note in chosen.notes:
        _progress(note)
    options = treatment_options(chosen.bundle, chosen.patients, cohort=reference, baseline=args.baseline,
                                thresholds=dict(spec_of(reference).worthwhile_benefit))
    table = with_variant(recommend_table(options), chosen)
    args.out.write_bytes(to_safe_csv(table))
    _progress(CAVEAT)
    print(f"{len(table)} patient(s) × {options.table['regimen'].nunique()} regimens against baseline "
          f"{args.baseline}; {flagged_patients(table)} with an option read as 'worthwhile benefit' -> {args.out}")
    return EXIT_OK


def with_variant(table, chosen):
    """The recommend table with the answering variant's columns (which model, genes used and missing, C)."""
    for name, value in chosen.columns().items():
        table[name] = value
    return table


def _recommend_dask(args: argparse.Namespace, bundle) -> int:
    from genomics.cohorts import BUILTIN_FILES, load_cohort  # lazy: CLI start-up (per subcommand)
    from models.dask import dask_client, score_partitions  # lazy: CLI start-up (per subcommand; xgboost)
    from models.treatment import CAVEAT  # lazy: CLI start-up (per subcommand)

    reference_id = args.reference_cohort or bundle.card.cohort_id
    _progress(f"judging evidence against cohort {reference_id}")
    reference = load_cohort(reference_id)
    path = Path(args.cohort)
    lazy = path.is_file() and path.name.lower().endswith((".parquet", ".csv", ".csv.gz", ".tsv", ".h5ad")) \
        or (path.is_dir() and any(path.glob("*.parquet")))
    source = path if lazy else load_cohort(args.cohort)  # ids and study folders are loaded, then partitioned
    if not lazy and args.cohort not in ("demo", *BUILTIN_FILES):
        _progress(f"{path.name}: not a parquet/CSV/h5ad file, loaded whole and then partitioned")
    with dask_client(_address(args.dask)) as client:
        result = score_partitions(bundle, source, args.out, client=client, reference=reference,
                                  baseline=args.baseline, partition_bytes=args.partition_size, progress=_progress)
    _progress(CAVEAT)
    print(f"{result.n_patients} patient(s) × {result.n_regimens} regimens against baseline {args.baseline}; "
          f"{result.flagged} with an option read as 'worthwhile benefit' -> {args.out}")
    return EXIT_OK


def cmd_clinical_reference(args: argparse.Namespace) -> int:
    """PREDICT v2.1 OS/BCSS at 5, 10 and 15 years per patient (models/predict_breast/, docs/predict.md)."""
    from genomics.export import to_safe_csv  # lazy: CLI start-up (per subcommand)
    from models.predict_breast import (  # lazy: CLI start-up (per subcommand)
        CAVEAT,
        clinical_reference_table,
        not_computed_reasons,
    )

    table = clinical_reference_table(_patients(args))
    computed = int(table["os_10y"].notna().sum())
    if computed == 0:
        reasons = ", ".join(not_computed_reasons(table)) or "no patient has the fields it needs"
        raise InputError(f"PREDICT v2.1 cannot be computed: {reasons} (it needs age, tumour size, positive nodes "
                         "and ER status).")
    args.out.write_bytes(to_safe_csv(table))
    _progress(CAVEAT)
    print(f"PREDICT v2.1 for {computed} of {len(table)} patient(s) (OS/BCSS at 5, 10, 15 years; reasons in the note "
          f"column) -> {args.out}. Research use only.")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return {"train": cmd_train, "evaluate": cmd_evaluate, "recommend": cmd_recommend,
                "clinical-reference": cmd_clinical_reference}[args.command](args)
    except InputError as exc:
        for problem in exc.problems:
            print(f"ERROR: {problem}", file=sys.stderr)
        if getattr(exc, "detail", ""):
            print(f"  to fix: {exc.detail}", file=sys.stderr)  # the technical fix: the command line only
        return EXIT_INVALID
    except ModelError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # internal error: one line for the user, the traceback in the log
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        print(f"INTERNAL ERROR: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_INTERNAL
