"""Cohort page: the cohort at a glance, and the explorer (survival by group, embedding, expression, treatments).

Thin: widgets here; numbers from dashboard.explore, genomics and models; figures from dashboard.charts. Each
tab runs only when open (lazy tabs, bound to ``?view=`` so a view can be linked to); the patient filters and
the grouping are shared by the explorer tabs and kept while the user moves between them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import auth, explore, jobs, loaders, model_cache
from dashboard.charts import (
    bar_figure,
    box_by_group_figure,
    chart_caption,
    embedding_figure,
    heatmap_figure,
    km_figure,
    km_groups_figure,
    volcano_figure,
)
from dashboard.shell import current_cohort
from dashboard.text import field_label, plain, regimen_label
from dashboard.views import show_model_card
from genomics.errors import InputError
from genomics.export import to_safe_csv
from genomics.survival import kaplan_meier
from models.errors import ModelError

VIEWS = ["Overview", "Survival", "Embedding", "Expression", "Treatments"]
CLUSTER, RISK = "cluster", "risk"
KEEP = "page"  # explorer widgets keep their values while the user moves between tabs


# --- cached per-cohort objects (read-only, shared across sessions) -------------------------------------------


@st.cache_data(show_spinner="Computing PCA, UMAP and clusters (first time only; about a minute)…", max_entries=8)
def embedding_table(cohort_id: str) -> pd.DataFrame:
    """UMAP and PCA coordinates and the Leiden cluster per patient (cached on disk under ONCOTX_HOME too)."""
    from genomics.preprocess import preprocessed_cohort

    pre = preprocessed_cohort(cohort_id)
    table = pd.DataFrame(index=pre.obs_names.astype(str))
    if "X_umap" in pre.obsm:
        table["UMAP 1"], table["UMAP 2"] = pre.obsm["X_umap"][:, 0], pre.obsm["X_umap"][:, 1]
    ratio = pre.uns.get("pca", {}).get("variance_ratio", [np.nan, np.nan])
    table[f"PC1 ({ratio[0]:.0%})"], table[f"PC2 ({ratio[1]:.0%})"] = pre.obsm["X_pca"][:, 0], pre.obsm["X_pca"][:, 1]
    table[CLUSTER] = pre.obs["leiden"].astype(str).to_numpy()
    return table


@st.cache_data(show_spinner="Scoring pathways…", max_entries=8)
def pathway_scores(cohort_id: str) -> tuple[pd.DataFrame, list[str]]:
    """Module scores and Hallmark scores per patient (whichever can be computed), with notes."""
    from genomics.signatures import hallmark_scores, module_scores

    adata, notes, parts = loaders.cohort(cohort_id), [], []
    try:
        mods = module_scores(adata)
        parts.append(mods[[c for c in mods.columns if c.startswith("module_") and not c.endswith(("_genes", "notes"))]]
                     .dropna(axis=1, how="all"))
    except InputError as exc:
        notes.append(f"Module scores: {exc}")
    try:
        hall = hallmark_scores(adata)
        parts.append(hall)
        if hall.attrs.get("skipped"):
            notes.append(f"{len(hall.attrs['skipped'])} Hallmark sets skipped (fewer than 5 of their genes measured).")
    except InputError as exc:
        notes.append(f"Hallmark scores: {exc}")
    table = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=adata.obs_names)
    return table, notes


@st.cache_data(show_spinner="Scoring patients with the model…", max_entries=8)
def model_risk(cohort_id: str, bundle_path: str, manifest_mtime: float) -> pd.Series:
    from models.registry import load_bundle

    bundle = load_bundle(bundle_path)
    adata = loaders.cohort(cohort_id)
    risk = bundle.model.predict_risk(bundle.features.transform(adata).X)
    return pd.Series(np.asarray(risk, dtype=float), index=adata.obs_names.astype(str), name=bundle.card.model_id)


@st.cache_data(max_entries=32, show_spinner="Kaplan-Meier, log-rank and Cox…")
def group_survival(time: np.ndarray, event: np.ndarray, groups: pd.Series, reference: str | None,
                   landmark_at: float) -> explore.GroupSurvival:
    return explore.compare_groups(time, event, groups, reference=reference, landmark_at=landmark_at)


@st.cache_data(max_entries=16, show_spinner="Differential expression…")
def de_table(cohort_id: str, mask_a: np.ndarray, mask_b: np.ndarray, method: str, labels: tuple[str, str]):
    from genomics.de import differential_expression_masks

    return differential_expression_masks(loaders.cohort(cohort_id), mask_a=mask_a, mask_b=mask_b, method=method,
                                         labels=labels)


# --- page helpers ---------------------------------------------------------------------------------------------


def model_for(endpoint: str):
    """The bundle the Patient page uses for this endpoint (chosen in the Model lab, else the default), or None."""
    path = jobs.preferred_bundle(spec.id, endpoint) or model_cache.bundle_path(spec, endpoint)
    manifest = path / "manifest.json"
    return (path, manifest.stat().st_mtime) if manifest.is_file() else None


def values_of(key: str) -> pd.Series:
    """A variable's values for every patient (cluster and model risk computed on first use); stops the tab
    with a plain message when they cannot be had (no model trained yet, cohort too small to embed)."""
    try:
        return _values(key)
    except (InputError, ModelError) as exc:
        st.warning(plain(exc))
        st.stop()


def _values(key: str) -> pd.Series:
    if key == CLUSTER:
        return embedding_table(spec.id)[CLUSTER].reindex(adata.obs_names.astype(str)).set_axis(adata.obs_names)
    if key == RISK:
        found = model_for(endpoint_name())
        if found is None:
            raise InputError(f"No model is trained for {endpoint_name()} yet: train one in the Model lab.")
        return model_risk(spec.id, str(found[0]), found[1]).reindex(adata.obs_names.astype(str)).set_axis(
            adata.obs_names)
    return explore.variable_values(adata, spec, key)


def endpoint_name() -> str:
    return st.session_state.get("ex_endpoint") or spec.endpoints[0].name


def endpoint_select(where) -> str:
    return where.selectbox("Endpoint", [ep.name for ep in spec.endpoints], key="ex_endpoint", persist_state=KEEP,
                           format_func=lambda n: f"{n}: {spec.endpoint(n).description}")


def select_patients() -> tuple[np.ndarray, str]:
    """The patient filters (shared by the explorer tabs): the mask of selected patients and a one-line summary."""
    n_all = adata.n_obs
    with st.expander(f"Patients: filters (all {n_all:,} selected unless filtered)", icon=":material/filter_alt:"):
        fields = st.multiselect("Filter by", options, key="ex_filter_fields", persist_state=KEEP,
                                format_func=labels.get, placeholder="clinical field, subtype, treatment, cluster…")
        rules, parts = [], []
        for key in fields:
            values = values_of(key)
            if kinds[key] == "continuous":
                numeric = pd.to_numeric(values, errors="coerce")
                lo, hi = float(numeric.min()), float(numeric.max())
                if not np.isfinite(lo) or lo == hi:
                    st.caption(f"{plain(labels[key])}: a single value, nothing to filter.")
                    continue
                chosen = st.slider(labels[key], lo, hi, (lo, hi), key=f"ex_filter_range_{key}", persist_state=KEEP)
                rules.append(explore.Rule(key, lo=chosen[0], hi=chosen[1]))
                parts.append(f"{labels[key]} {chosen[0]:.3g}–{chosen[1]:.3g}")
            else:
                levels = explore.category_order(values)
                chosen = st.multiselect(labels[key], levels, default=levels, key=f"ex_filter_values_{key}",
                                        persist_state=KEEP)
                rules.append(explore.Rule(key, values=tuple(chosen)))
                parts.append(f"{labels[key]} ∈ {{{', '.join(chosen)}}}")
        frame = pd.DataFrame({r.key: values_of(r.key).to_numpy() for r in rules}, index=adata.obs_names)
        mask = explore.filter_mask(frame, rules) if rules else np.ones(n_all, dtype=bool)
    summary = "; ".join(parts)
    st.caption(f"{int(mask.sum()):,} of {n_all:,} patients selected" + (f" ({plain(summary)})" if summary else "."))
    return mask, (f"filtered: {summary}" if summary else "")


def select_grouping(default: str | None) -> tuple[str, pd.Series, str]:
    """The grouping (shared by the explorer tabs): variable, then a split for continuous ones."""
    left, mid, right = st.columns([2, 1.4, 1.4])
    group_options = options + genes
    index = group_options.index(default) if default in group_options else 0
    key = left.selectbox("Group patients by", group_options, index=index, key="ex_group", persist_state=KEEP,
                         format_func=lambda k: labels.get(k) or explore.gene_variable(k[5:]).label)
    values = values_of(key)
    kind = kinds.get(key, "continuous")
    label = labels.get(key) or explore.gene_variable(key[5:]).label
    if kind == "categorical":
        return key, explore.split_groups(values), label
    how = mid.radio("Split at", explore.SPLITS, key="ex_split", persist_state=KEEP, horizontal=True)
    cuts: list[float] = []
    if how == "cut":
        median = float(pd.to_numeric(values, errors="coerce").median())
        text = right.text_input("Cut points (comma-separated)", value=f"{median:.3g}", key="ex_cuts",
                                persist_state=KEEP)
        try:
            cuts = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
        except ValueError:
            st.error("Cut points must be numbers separated by commas.")
            st.stop()
    return key, explore.split_groups(values, how, cuts=cuts), f"{label} ({how})"


def download(label: str, frame: pd.DataFrame, name: str, *, key: str, index: bool = False) -> None:
    st.download_button(label, to_safe_csv(frame, index=index), file_name=f"{spec.id}-{name}.csv", mime="text/csv",
                       key=key, icon=":material/download:")


def chart(fig, name: str) -> None:
    """A plotly chart whose toolbar camera button saves a PNG named after the cohort and chart."""
    st.plotly_chart(fig, width="stretch", config={"toImageButtonOptions": {"format": "png", "scale": 2,
                                                                            "filename": f"{spec.id}-{name}"}})


# --- the page -------------------------------------------------------------------------------------------------

auth.require("cohort")
spec = current_cohort()
summary = loaders.cohort_summary(spec.id)
adata = loaders.cohort(spec.id)
st.title(f"Cohort: {spec.display_name}")
st.caption(f"{plain(spec.platform)}. {plain(spec.notes)}")

variables = explore.cohort_variables(adata, spec, extra={
    CLUSTER: ("Expression cluster (Leiden; computed on first use)", "categorical"),
    RISK: ("Model risk (the Patient page's model for the endpoint)", "continuous"),
})
options = [v.key for v in variables]
labels = {v.key: v.label for v in variables}
kinds = {v.key: v.kind for v in variables}
genes = [explore.gene_variable(g).key for g in adata.var_names.astype(str)]
tabs = dict(zip(VIEWS, st.tabs(VIEWS, key="view", bind="query-params"), strict=True))

if tabs["Overview"].open:
    with tabs["Overview"]:
        cols = st.columns(2 + len(summary.endpoints))
        cols[0].metric("Patients", f"{summary.n_patients:,}")
        cols[1].metric("Genes", f"{summary.n_genes:,}")
        for col, ep in zip(cols[2:], summary.endpoints, strict=True):
            col.metric(f"{ep.name} events", f"{ep.events:,}")

        st.subheader("Endpoints")
        st.dataframe(
            [
                {"endpoint": ep.name, "description": ep.description, "patients": ep.n, "events": ep.events,
                 "median follow-up (months)": f"{ep.median_follow_up_months:.1f}",
                 "5-year survival": f"{ep.survival_5y:.1%}", "10-year survival": f"{ep.survival_10y:.1%}"}
                for ep in summary.endpoints
            ],
            hide_index=True,
        )
        chosen = st.selectbox("Kaplan-Meier endpoint", [ep.name for ep in spec.endpoints], key="cohort_km_endpoint")
        ep = spec.endpoint(chosen)
        km = kaplan_meier(adata.obs[ep.time_col], adata.obs[ep.event_col])
        ep_summary = next(e for e in summary.endpoints if e.name == chosen)
        caption = f"{spec.display_name} · {ep.name} · n={ep_summary.n} · events={ep_summary.events}"
        chart(km_figure(km, title=f"Overall {ep.name}", caption=caption), f"km-{ep.name}")
        download("Kaplan-Meier (CSV)", km, f"km-{ep.name}", key="dl_overview_km")
        st.caption("The Survival tab compares groups (log-rank, hazard ratios, numbers at risk, landmark); the "
                   "other tabs show the embedding, expression by group and treatment counts by subgroup.")

        st.subheader(f"Default model · {ep.name}")
        bundle = model_cache.existing_bundle(spec, ep.name)
        if bundle is None:
            st.write("No model is trained for this endpoint yet. Training runs once and is kept under ONCOTX_HOME.")
            if st.button(f"Train the default model for {ep.name}", key="train_default"):
                bundle = model_cache.train_default(spec, ep.name)
        if bundle is not None:
            show_model_card(bundle.card)

        if spec.treatments:
            st.subheader("Treatments")
            left, right = st.columns(2)
            with left:
                chart(bar_figure(
                    summary.treatments.assign(treatment=summary.treatments["treatment"].map(regimen_label)),
                    x="treatment", y="patients", title="Patients per treatment",
                    caption=chart_caption(spec.display_name, endpoint=None, n=summary.n_patients)), "treatments")
                download("Treatments (CSV)", summary.treatments, "treatments", key="dl_overview_treatments")
            regimens = summary.regimens.assign(regimen=summary.regimens["regimen"].map(regimen_label))
            right.dataframe(regimens, hide_index=True)
            if "confounded" not in spec.notes:
                st.caption("Treatment in observational cohorts is confounded by indication.")

        st.subheader("Clinical fields")
        st.dataframe(summary.clinical.assign(field=summary.clinical["field"].map(field_label)), hide_index=True,
                     width="stretch")

if tabs["Survival"].open:
    with tabs["Survival"]:
        mask, filters = select_patients()
        ep = spec.endpoint(endpoint_select(st))
        key, groups, group_label = select_grouping(spec.subtype_col or "er_status")
        kept = groups[mask]
        names = [str(g) for g in kept.cat.categories if (kept == g).any()]
        if not names:
            st.warning("No selected patient has a value for this grouping.")
            st.stop()
        sizes = kept.value_counts()
        a, b, c = st.columns([1.4, 1, 1])
        if st.session_state.get("ex_reference") not in names:
            st.session_state["ex_reference"] = str(sizes.idxmax())
        reference = a.selectbox("Hazard ratios against", names, key="ex_reference")
        landmark_at = b.number_input("Landmark (months; 0 = none)", min_value=0.0, max_value=600.0, value=0.0,
                                     step=6.0, format="%.0f", key="ex_landmark")
        show_ci = c.toggle("95% confidence bands", value=True, key="ex_ci")
        obs = adata.obs[mask]
        try:
            result = group_survival(obs[ep.time_col].to_numpy(dtype=float), obs[ep.event_col].to_numpy(dtype=float),
                                    kept.reset_index(drop=True), reference, float(landmark_at))
        except InputError as exc:
            st.error(plain(exc))
            st.stop()
        extra = "; ".join(filter(None, [f"grouped by {group_label}", filters,
                                        f"{result.excluded:,} left out (no group or follow-up)" if result.excluded else "",
                                        f"landmark {result.landmark:g} months" if result.landmark else ""]))
        caption = chart_caption(spec.display_name, endpoint=ep.name, n=result.n, events=result.events, extra=extra)
        p_shown = f"{result.logrank_p:.3g}" if result.logrank_p > 0 else "< 1e-300"
        st.markdown(f"**Log-rank p = {plain(p_shown)}** ({result.logrank_df} df, "
                    f"{len(result.groups)} groups)" if len(result.groups) > 1 else "**One group: no log-rank test.**")
        chart(km_groups_figure(result, title=f"{ep.name} by {group_label}", caption=caption, show_ci=show_ci),
              f"km-{ep.name}-by-{key}")
        for note in result.notes:
            st.caption(plain(note))
        table = explore.survival_table(result)
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "median": st.column_config.NumberColumn("median (months)", format="%.1f"),
            "hr": st.column_config.NumberColumn("HR", format="%.2f"),
            "hr_lo": st.column_config.NumberColumn("HR 95% low", format="%.2f"),
            "hr_hi": st.column_config.NumberColumn("HR 95% high", format="%.2f"),
            "hr_p": st.column_config.NumberColumn("Wald p", format="%.2e")})
        st.caption(f"{plain(caption)}. Hazard ratios from one Cox model (lifelines, Efron ties) against "
                   f"{plain(result.reference)}; log-rank test over all groups. Observational data: associations, "
                   "not effects of the grouping.")
        if kinds.get(key, "continuous") == "continuous" and result.n <= explore.LIFELINES_COX_MAX:
            per_sd = explore.hazard_ratio_per_sd(obs[ep.time_col], obs[ep.event_col], values_of(key)[mask])
            st.caption(f"Unsplit, as a continuous variable: HR per SD {per_sd['hr']:.2f} "
                       f"(95% CI {per_sd['hr_lo']:.2f}–{per_sd['hr_hi']:.2f}), Wald p {per_sd['p']:.2g}, "
                       f"n={per_sd['n']:,}.")
        elif kinds.get(key, "continuous") == "continuous":
            st.caption(f"The hazard ratio per SD of the unsplit variable is computed up to "
                       f"{explore.LIFELINES_COX_MAX:,} patients (filter to fewer to see it).")
        left, right = st.columns(2)
        with left:
            download("Table (CSV)", table, f"survival-{ep.name}-by-{key}", key="dl_km_table")
        with right:
            download("Curves (CSV)", result.curves, f"km-curves-{ep.name}-by-{key}", key="dl_km_curves")

if tabs["Embedding"].open:
    with tabs["Embedding"]:
        mask, filters = select_patients()
        left, right = st.columns([1, 2])
        try:
            coords = embedding_table(spec.id)
        except InputError as exc:
            st.error(plain(exc))
            st.stop()
        bases = [b for b in ("UMAP", "PCA") if any(c.startswith(b[:2]) for c in coords.columns)]
        basis = left.radio("Embedding", bases, horizontal=True, key="ex_basis", persist_state=KEEP)
        axes = [c for c in coords.columns if c.startswith("UMAP" if basis == "UMAP" else "PC")][:2]
        colour_options = options + genes
        default = spec.subtype_col if spec.subtype_col in colour_options else CLUSTER
        colour = right.selectbox("Colour by", colour_options, index=colour_options.index(default), key="ex_colour",
                                 persist_state=KEEP,
                                 format_func=lambda k: labels.get(k) or explore.gene_variable(k[5:]).label)
        values = values_of(colour)
        ids = adata.obs_names.astype(str)[mask]
        frame = pd.DataFrame({"x": coords.loc[ids, axes[0]].to_numpy(), "y": coords.loc[ids, axes[1]].to_numpy(),
                              "label": ids}, index=ids)
        kind = kinds.get(colour, "continuous")
        frame["value"] = (explore.as_text(values[mask]) if kind == "categorical" else
                          pd.to_numeric(values[mask], errors="coerce")).to_numpy()
        rows = explore.sample_rows(len(frame))
        shown = frame.iloc[rows]
        colour_label = labels.get(colour) or explore.gene_variable(colour[5:]).label
        sampled = f"showing a random {len(shown):,} of {len(frame):,} patients" if len(shown) < len(frame) else ""
        endpoint_note = f"risk for {endpoint_name()}" if colour == RISK else None
        caption = chart_caption(spec.display_name, endpoint=endpoint_note, n=len(frame),
                                extra="; ".join(filter(None, [f"colour: {colour_label}", sampled, filters])))
        order = explore.category_order(values[mask]) if kind == "categorical" else None
        chart(embedding_figure(shown, kind=kind, colour_label=colour_label, title=f"{basis} of expression",
                               caption=caption, axis_labels=tuple(axes), order=order), f"{basis.lower()}-{colour}")
        st.caption(f"{plain(caption)}. Computed once per cohort (scanpy: PCA, neighbours, UMAP, Leiden) and cached "
                   "under ONCOTX_HOME." + (" Large cohorts are drawn as a uniform random sample (WebGL)." if sampled
                                           else ""))
        download("Coordinates and colour (CSV)", frame.rename(columns={"x": axes[0], "y": axes[1],
                                                                        "value": colour_label, "label": "patient_id"}),
                 f"{basis.lower()}-{colour}", key="dl_embedding")

if tabs["Expression"].open:
    with tabs["Expression"]:
        mask, filters = select_patients()
        key, groups, group_label = select_grouping(spec.subtype_col or "er_status")
        kept = groups.where(mask)
        names = [str(g) for g in groups.cat.categories if (kept == g).any()]
        n_sel = int(kept.notna().sum())
        st.subheader("Differential expression")
        if len(names) < 2:
            st.info("Differential expression needs at least two groups among the selected patients.")
        else:
            a, b, c = st.columns([1.3, 1.3, 1])
            group = a.selectbox("Group", names, key="ex_de_group")
            reference = b.selectbox("Against", ["rest", *[n for n in names if n != group]], key="ex_de_reference",
                                    format_func=lambda r: "all other groups" if r == "rest" else r)
            method = c.radio("Test", ["wilcoxon", "t-test"], horizontal=True, key="ex_de_method")
            mask_a, mask_b = explore.two_groups(kept, group, reference)
            try:
                de = de_table(spec.id, mask_a, mask_b, method, (group, reference))
            except InputError as exc:
                st.warning(plain(exc))
            else:
                effect = de.attrs.get("effect", "log2 fold change")
                caption = chart_caption(spec.display_name, endpoint=None, n=int(mask_a.sum() + mask_b.sum()),
                                        extra=f"{group} (n={int(mask_a.sum()):,}) vs {reference} "
                                              f"(n={int(mask_b.sum()):,}); {method}; BH-adjusted"
                                              + (f"; {filters}" if filters else ""))
                chart(volcano_figure(de, effect_label=effect, title=f"{group_label}: {group} vs {reference}",
                                     caption=caption), f"volcano-{key}")
                st.dataframe(de, hide_index=True, width="stretch", height=320, column_config={
                    "p_value": st.column_config.NumberColumn(format="%.2e"),
                    "p_adj": st.column_config.NumberColumn(format="%.2e")})
                st.caption(f"{plain(caption)}. Effect: {plain(effect)}. Click a column header to sort.")
                download("Differential expression (CSV)", de, f"de-{key}", key="dl_de")

        st.subheader("Top genes by group")
        if len(names) < 2:
            st.info("A heatmap by group needs at least two groups among the selected patients.")
        else:
            n_top = st.slider("Genes", 5, 60, 25, step=5, key="ex_heatmap_genes")
            matrix, f_stat = explore.top_genes_by_group(np.asarray(adata.X)[mask], adata.var_names.astype(str), kept[mask],
                                                        n_top=n_top)
            sizes = kept.value_counts()
            shown = matrix.rename(columns=lambda g: f"{g} ({int(sizes.get(g, 0)):,})")
            caption = chart_caption(spec.display_name, endpoint=None, n=n_sel,
                                    extra="; ".join(filter(None, [f"grouped by {group_label}", filters])))
            chart(heatmap_figure(shown, title=f"Top {len(matrix)} genes by {group_label} (ANOVA F)",
                                 caption=caption, colorbar="mean z"), f"heatmap-{key}")
            st.caption(f"{plain(caption)}. Mean of per-gene standardised expression in each group; genes ranked by "
                       "the one-way ANOVA F statistic over the groups.")
            download("Heatmap values (CSV)", matrix.assign(F=f_stat), f"heatmap-{key}", key="dl_heatmap", index=True)

        st.subheader("Pathway scores by group")
        scores, notes = pathway_scores(spec.id)
        for note in notes:
            st.caption(plain(note))
        if scores.empty or len(names) < 2:
            st.info("No pathway scores can be computed for this cohort, or fewer than two groups are selected.")
        else:
            by_group = explore.scores_by_group(scores[mask], kept[mask])
            columns = [c for c in by_group.columns if c != "n"]
            centred = by_group[columns].sub(scores[mask][columns].mean()).div(scores[mask][columns].std())
            caption = chart_caption(spec.display_name, endpoint=None, n=n_sel,
                                    extra="; ".join(filter(None, [f"grouped by {group_label}", filters])))
            chart(heatmap_figure(centred.T.rename(columns=lambda g: f"{g} ({int(by_group.loc[g, 'n']):,})"),
                                 title=f"Pathway scores by {group_label}", caption=caption,
                                 colorbar="mean (SD units)"), f"pathways-{key}")
            score = st.selectbox("Score", columns, key="ex_pathway")
            chart(box_by_group_figure(scores.loc[mask, score], kept[mask], order=names, title=f"{score} by group",
                                      caption=caption, y_label=score), f"pathway-box-{key}")
            st.caption(f"{plain(caption)}. Module scores: mean standardised expression of each module's genes; "
                       "Hallmark scores: scanpy score_genes (MSigDB Hallmark v7.5.1, CC BY 4.0, Liberzon 2015).")
            left, right = st.columns(2)
            with left:
                download("Pathway means by group (CSV)", by_group, f"pathways-{key}", key="dl_pathways", index=True)
            with right:
                download("Scores per patient (CSV)", scores[mask].assign(group=kept[mask].astype(object)),
                         f"pathway-scores-{key}", key="dl_pathway_scores", index=True)

if tabs["Treatments"].open:
    with tabs["Treatments"]:
        if not spec.treatments:
            st.info("This cohort records no treatments.")
            st.stop()
        mask, filters = select_patients()
        ep = spec.endpoint(endpoint_select(st))
        key, groups, group_label = select_grouping(spec.subtype_col or "er_status")
        obs = adata.obs[mask]
        table = explore.treatment_counts(obs, spec, groups[mask], event=obs[ep.event_col])
        if table.empty:
            st.warning("No selected patient has a value for this grouping.")
            st.stop()
        table["regimen"] = table["regimen"].map(regimen_label)
        rows, columns = list(table["group"].unique()), list(table["regimen"].unique())

        def grid(values: str) -> pd.DataFrame:
            return table.pivot(index="group", columns="regimen", values=values).reindex(index=rows, columns=columns)

        counts = grid("patients")
        cells = counts.astype(int).astype(str) + " (" + grid("events").astype(int).astype(str) + ")" + \
            grid("thin").map(lambda t: " ⚠" if t else "")
        n_events = int(pd.to_numeric(obs[ep.event_col], errors="coerce").where(groups[mask].notna()).sum())
        caption = chart_caption(spec.display_name, endpoint=ep.name, n=int(groups[mask].notna().sum()),
                                events=n_events, extra="; ".join(filter(None, [f"grouped by {group_label}", filters])))
        chart(heatmap_figure(counts, title=f"Patients (events) per regimen by {group_label}", caption=caption,
                             colorbar="patients", zmid=None, text=cells, colorscale="Blues"), f"treatments-{key}")
        st.caption(f"{plain(caption)}. ⚠ = fewer than {explore.THIN_EVIDENCE} patients: evidence for that regimen "
                   "in that subgroup is thin. Treatment was not randomised: counts show where data exist, not what "
                   "works.")
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"share": st.column_config.NumberColumn("share of group", format="percent")})
        download("Counts (CSV)", table, f"treatments-{key}", key="dl_treatments")
