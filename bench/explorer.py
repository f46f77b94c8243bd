"""Cohort explorer at scale: a 100,000-patient synthetic cohort, embedding and Kaplan-Meier figures.

    python bench/explorer.py                    # 100,000 patients x 500 genes (several minutes on 2 cores)
    python bench/explorer.py --patients 20000   # smaller
    python bench/explorer.py --no-umap          # PCA only (skips the slowest one-off step)

Prints absolute wall times of: building the cohort, the one-off embedding computation (PCA, neighbours,
UMAP, Leiden: cached under ONCOTX_HOME by the app, so paid once per cohort), and what the Cohort page does on
each view: the embedding figure (a uniform random sample of at most 20,000 patients, drawn with WebGL, the
caption saying so) and Kaplan-Meier by group with log-rank and Cox (curves thinned to at most 1,000 time
points each, the caption saying so), each to the JSON that Streamlit sends to the browser. Numbers come from
a shared machine: read them as orders of magnitude.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script: python bench/explorer.py

import pandas as pd  # noqa: E402

from bench.usage import peak_memory_mb  # noqa: E402
from dashboard.cohort import explore  # noqa: E402
from dashboard.cohort.charts import embedding_figure, km_groups_figure  # noqa: E402
from dashboard.plotly_style import chart_caption  # noqa: E402
from genomics.demo import make_demo_cohort  # noqa: E402
from genomics.preprocess import PipelineOptions, preprocess_cohort  # noqa: E402
from genomics.spec import spec_of  # noqa: E402


def timed(label: str, fn, *args, **kwargs):
    started = time.perf_counter()
    out = fn(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"{label:<58} {seconds:8.2f} s", flush=True)
    return out, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--genes", type=int, default=500)
    parser.add_argument("--no-umap", action="store_true", help="PCA embedding only")
    args = parser.parse_args(argv)
    n = args.patients
    print(f"Cohort explorer benchmark: {n:,} synthetic patients x {args.genes} genes")
    cohort, _ = timed("build the synthetic cohort", make_demo_cohort, n_patients=n, n_genes=args.genes, seed=0)
    spec = spec_of(cohort)
    options = PipelineOptions(umap=not args.no_umap)
    pre, t_pre = timed("embedding, one-off (PCA, neighbours, UMAP, Leiden; cached)", preprocess_cohort, cohort,
                       options=options)
    basis = "X_umap" if "X_umap" in pre.obsm else "X_pca"

    def draw_embedding(colour_key: str, kind: str):
        values = (pre.obs["leiden"].astype(str) if colour_key == "cluster"
                  else explore.variable_values(cohort, spec, colour_key))
        frame = pd.DataFrame({"x": pre.obsm[basis][:, 0], "y": pre.obsm[basis][:, 1],
                              "label": cohort.obs_names.to_numpy()}, index=cohort.obs_names)
        frame["value"] = (explore.as_text(values) if kind == "categorical"
                          else pd.to_numeric(values, errors="coerce")).to_numpy()
        shown = frame.iloc[explore.sample_rows(len(frame))]
        caption = chart_caption(spec.display_name, endpoint=None, n=len(frame),
                                extra=f"showing a random {len(shown):,} of {len(frame):,} patients")
        order = explore.category_order(values) if kind == "categorical" else None
        fig = embedding_figure(shown, kind=kind, colour_label=colour_key, title=basis, caption=caption, order=order)
        return fig.to_json()

    sizes = {}
    for key, kind in (("subtype", "categorical"), ("cluster", "categorical"), (f"gene:{cohort.var_names[0]}",
                                                                               "continuous")):
        payload, _ = timed(f"embedding figure coloured by {key} ({basis[2:]}, to JSON)", draw_embedding, key, kind)
        sizes[f"embedding {key}"] = len(payload)

    def draw_km(key: str, how: str):
        groups = explore.split_groups(explore.variable_values(cohort, spec, key), how)
        result = explore.compare_groups(cohort.obs["os_months"], cohort.obs["os_event"], groups)
        caption = chart_caption(spec.display_name, endpoint="OS", n=result.n, events=result.events)
        return result, km_groups_figure(result, title=f"OS by {key}", caption=caption).to_json()

    for key, how in (("subtype", "categorical"), ("age_at_diagnosis", "quartiles"), ("regimen", "categorical")):
        (result, payload), _ = timed(f"Kaplan-Meier by {key} ({how}): log-rank, Cox, figure", draw_km, key, how)
        sizes[f"KM {key}"] = len(payload)
        print(f"    {len(result.groups)} groups, n={result.n:,}, events={result.events:,}, "
              f"log-rank p={result.logrank_p:.3g}")

    mask, _ = timed("filter (ER positive, age 40-70)", explore.filter_mask,
                    cohort.obs[["er_status", "age_at_diagnosis"]],
                    [explore.Rule("er_status", values=("Positive",)), explore.Rule("age_at_diagnosis", lo=40, hi=70)])
    timed("treatment counts by subtype", explore.treatment_counts, cohort.obs[mask], spec,
          explore.split_groups(cohort.obs["subtype"])[mask], event=cohort.obs["os_event"][mask])
    print("JSON sent to the browser: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items()))
    print(f"(the one-off embedding took {t_pre:.0f} s; peak memory {peak_memory_mb():,.0f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
