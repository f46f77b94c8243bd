"""Cohort page: the cohort at a glance, and the explorer (survival by group, embedding, expression, treatments).

Thin: widgets here (the explorer's shared filters and grouping from dashboard.ui.explorer); numbers from
dashboard.cohort.explore, cached by dashboard.ui.research_cache; figures from dashboard.cohort.charts. Each tab
runs only when open (lazy tabs, bound to ``?view=`` so a view can be linked to); the patient filters and the
grouping are shared by the explorer tabs and kept while the user moves between them.
"""
from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.cohort import explore
from dashboard.cohort.charts import (
    bar_figure,
    box_by_group_figure,
    embedding_figure,
    heatmap_figure,
    km_figure,
    km_groups_figure,
    volcano_figure,
)
from dashboard.cohort.tables import CLUSTER, RISK
from dashboard.i18n import N_, regimen_label, tr
from dashboard.modelling import bundles
from dashboard.plotly_style import chart_caption
from dashboard.text import field_label, plain
from dashboard.ui import auth, loaders, model_cache, widgets
from dashboard.ui.explorer import (
    KEEP,
    Explorer,
    endpoint_name,
    endpoint_select,
    select_grouping,
    select_patients,
    values_of,
)
from dashboard.ui.research_cache import de_table, embedding_table, group_survival, pathway_scores
from dashboard.ui.shell import current_cohort
from dashboard.ui.widgets import show_model_card
from genomics.errors import InputError
from genomics.survival import kaplan_meier

VIEWS = [N_("Overview"), N_("Survival"), N_("Embedding"), N_("Expression"), N_("Treatments")]

auth.require("cohort")
spec = current_cohort()
summary = loaders.cohort_summary(spec.id)
adata = loaders.cohort(spec.id)
view = Explorer.of(spec, adata)
options, labels, kinds, genes = view.options, view.labels, view.kinds, view.genes
download = functools.partial(widgets.download_csv, cohort_id=spec.id)
chart = functools.partial(widgets.chart, cohort_id=spec.id)
st.title(tr("Cohort: {cohort}", cohort=spec.display_name))
st.caption(f"{plain(spec.platform)}. {plain(spec.notes)}")

tabs = dict(zip(VIEWS, st.tabs([tr(v) for v in VIEWS], key="view", bind="query-params"), strict=True))

if tabs["Overview"].open:
    with tabs["Overview"]:
        cols = st.columns(2 + len(summary.endpoints))
        cols[0].metric(tr("Patients"), f"{summary.n_patients:,}")
        cols[1].metric(tr("Genes"), f"{summary.n_genes:,}")
        for col, ep in zip(cols[2:], summary.endpoints, strict=True):
            col.metric(tr("{endpoint} events", endpoint=ep.name), f"{ep.events:,}")

        st.subheader(tr("Endpoints"))
        st.dataframe(
            [
                {tr("endpoint"): ep.name, tr("description"): ep.description, tr("patients"): ep.n,
                 tr("events"): ep.events, tr("median follow-up (years)"): f"{ep.median_follow_up_months / 12:.1f}",
                 tr("5-year survival"): f"{ep.survival_5y:.1%}", tr("10-year survival"): f"{ep.survival_10y:.1%}"}
                for ep in summary.endpoints
            ],
            hide_index=True,
        )
        chosen = st.selectbox(tr("Kaplan-Meier endpoint"), [ep.name for ep in spec.endpoints], key="cohort_km_endpoint")
        ep = spec.endpoint(chosen)
        km = kaplan_meier(adata.obs[ep.time_col], adata.obs[ep.event_col])
        ep_summary = next(e for e in summary.endpoints if e.name == chosen)
        caption = f"{spec.display_name} · {ep.name} · n={ep_summary.n} · events={ep_summary.events}"
        chart(km_figure(km, title=tr("Overall {endpoint}", endpoint=ep.name), caption=caption), f"km-{ep.name}")
        download(tr("Kaplan-Meier (CSV)"), km, f"km-{ep.name}", key="dl_overview_km")
        st.caption(tr("The Survival tab compares groups (log-rank, hazard ratios, numbers at risk, landmark); the "
                      "other tabs show the embedding, expression by group and treatment counts by subgroup."))

        st.subheader(tr("Model · {endpoint}", endpoint=ep.name))
        bundle = model_cache.existing_bundle(spec, ep.name)
        patient_model = bundles.page_bundle_path(spec, ep.name) or (
            bundles.treatment_path(spec) if bundles.treatment_endpoint(spec) == ep.name else None)
        if bundle is None and patient_model is not None and (patient_model / "manifest.json").is_file():
            st.caption(tr("The model the Patient page answers with for this endpoint:"))
            bundle = model_cache.load_bundle_at(patient_model)
        if bundle is None:
            st.write(tr("No model has been trained for {endpoint} on this server yet. Training takes about a minute "
                        "and is kept for later visits.", endpoint=plain(ep.name)))
            if st.button(tr("Train the default model for {endpoint}", endpoint=ep.name), key="train_default"):
                bundle = model_cache.train_default(spec, ep.name)
        if bundle is not None:
            show_model_card(bundle.card)

        if spec.treatments:
            st.subheader(tr("Treatments"))
            left, right = st.columns(2)
            with left:
                chart(bar_figure(
                    summary.treatments.assign(treatment=summary.treatments["treatment"].map(regimen_label)),
                    x="treatment", y="patients", title=tr("Patients per treatment"),
                    caption=chart_caption(spec.display_name, endpoint=None, n=summary.n_patients)), "treatments")
                download(tr("Treatments (CSV)"), summary.treatments, "treatments", key="dl_overview_treatments")
            regimens = summary.regimens.assign(regimen=summary.regimens["regimen"].map(regimen_label))
            right.dataframe(regimens, hide_index=True)
            if "confounded" not in spec.notes:
                st.caption(tr("Treatment in observational cohorts is confounded by indication."))

        st.subheader(tr("Clinical fields"))
        st.dataframe(summary.clinical.assign(field=summary.clinical["field"].map(lambda f: tr(field_label(f)))),
                     hide_index=True,
                     width="stretch")

if tabs["Survival"].open:
    with tabs["Survival"]:
        mask, filters = select_patients(view)
        ep = spec.endpoint(endpoint_select(view, st))
        key, groups, group_label = select_grouping(view, spec.subtype_col or "er_status")
        kept = groups[mask]
        names = [str(g) for g in kept.cat.categories if (kept == g).any()]
        if not names:
            st.warning(tr("No selected patient has a value for this grouping."))
            st.stop()
        sizes = kept.value_counts()
        a, b, c = st.columns([1.4, 1, 1])
        if st.session_state.get("ex_reference") not in names:
            st.session_state["ex_reference"] = str(sizes.idxmax())
        reference = a.selectbox(tr("Hazard ratios against"), names, key="ex_reference")
        landmark_years = b.number_input(tr("Landmark (years; 0 = none)"), min_value=0.0, max_value=50.0, value=0.0,
                                        step=0.5, format="%.1f", key="ex_landmark")
        landmark_at = 12.0 * float(landmark_years)  # months, as the cohort stores times
        show_ci = c.toggle(tr("95% confidence bands"), value=True, key="ex_ci")
        obs = adata.obs[mask]
        try:
            result = group_survival(obs[ep.time_col].to_numpy(dtype=float), obs[ep.event_col].to_numpy(dtype=float),
                                    kept.reset_index(drop=True), reference, float(landmark_at))
        except InputError as exc:
            st.error(plain(exc))
            st.stop()
        extra = "; ".join(filter(None, [tr("grouped by {group}", group=group_label), filters,
                                        tr("{count} left out (no group or follow-up)", count=f"{result.excluded:,}")
                                        if result.excluded else "",
                                        tr("landmark {years} years", years=f"{result.landmark / 12:g}")
                                        if result.landmark else ""]))
        caption = chart_caption(spec.display_name, endpoint=ep.name, n=result.n, events=result.events, extra=extra)
        p_shown = f"{result.logrank_p:.3g}" if result.logrank_p > 0 else "< 1e-300"
        st.markdown(tr("**Log-rank p = {p}** ({df} df, {groups} groups)", p=plain(p_shown), df=result.logrank_df,
                       groups=len(result.groups)) if len(result.groups) > 1 else tr("**One group: no log-rank test.**"))
        chart(km_groups_figure(result, title=tr("{endpoint} by {group}", endpoint=ep.name, group=group_label), caption=caption, show_ci=show_ci),
              f"km-{ep.name}-by-{key}")
        for note in result.notes:
            st.caption(plain(note))
        table = explore.survival_table(result)
        table = table.assign(median=table["median"] / 12).rename(
            columns={c: f"at risk @{float(c.removeprefix('at risk @')) / 12:g} y" for c in table.columns
                     if str(c).startswith("at risk @")})
        st.dataframe(table, hide_index=True, width="stretch", column_config={
            "median": st.column_config.NumberColumn(tr("median (years)"), format="%.1f"),
            "hr": st.column_config.NumberColumn("HR", format="%.2f"),
            "hr_lo": st.column_config.NumberColumn(tr("HR 95% low"), format="%.2f"),
            "hr_hi": st.column_config.NumberColumn(tr("HR 95% high"), format="%.2f"),
            "hr_p": st.column_config.NumberColumn("Wald p", format="%.2e")})
        st.caption(tr("{caption}. Hazard ratios from one Cox model (lifelines, Efron ties) against {reference}; "
                      "log-rank test over all groups. Observational data: associations, not effects of the grouping.",
                      caption=plain(caption), reference=plain(result.reference)))
        if kinds.get(key, "continuous") == "continuous" and result.n <= explore.LIFELINES_COX_MAX:
            per_sd = explore.hazard_ratio_per_sd(obs[ep.time_col], obs[ep.event_col], values_of(view, key)[mask])
            st.caption(tr("Unsplit, as a continuous variable: HR per SD {hr} (95% CI {lo}–{hi}), Wald p {p}, n={n}.",
                          hr=f"{per_sd['hr']:.2f}", lo=f"{per_sd['hr_lo']:.2f}", hi=f"{per_sd['hr_hi']:.2f}",
                          p=f"{per_sd['p']:.2g}", n=f"{per_sd['n']:,}"))
        elif kinds.get(key, "continuous") == "continuous":
            st.caption(tr("The hazard ratio per SD of the unsplit variable is computed up to {count} patients (filter "
                          "to fewer to see it).", count=f"{explore.LIFELINES_COX_MAX:,}"))
        left, right = st.columns(2)
        with left:
            download(tr("Table (CSV)"), table, f"survival-{ep.name}-by-{key}", key="dl_km_table")
        with right:
            download(tr("Curves (CSV)"), result.curves, f"km-curves-{ep.name}-by-{key}", key="dl_km_curves")

if tabs["Embedding"].open:
    with tabs["Embedding"]:
        mask, filters = select_patients(view)
        left, right = st.columns([1, 2])
        try:
            coords = embedding_table(spec.id)
        except InputError as exc:
            st.error(plain(exc))
            st.stop()
        bases = [b for b in ("UMAP", "PCA") if any(c.startswith(b[:2]) for c in coords.columns)]
        basis = left.radio(tr("Embedding"), bases, horizontal=True, key="ex_basis", persist_state=KEEP)
        axes = [c for c in coords.columns if c.startswith("UMAP" if basis == "UMAP" else "PC")][:2]
        colour_options = options + genes
        default = spec.subtype_col if spec.subtype_col in colour_options else CLUSTER
        colour = right.selectbox(tr("Colour by"), colour_options, index=colour_options.index(default), key="ex_colour",
                                 persist_state=KEEP,
                                 format_func=view.label)
        values = values_of(view, colour)
        ids = adata.obs_names.astype(str)[mask]
        frame = pd.DataFrame({"x": coords.loc[ids, axes[0]].to_numpy(), "y": coords.loc[ids, axes[1]].to_numpy(),
                              "label": ids}, index=ids)
        kind = kinds.get(colour, "continuous")
        frame["value"] = (explore.as_text(values[mask]) if kind == "categorical" else
                          pd.to_numeric(values[mask], errors="coerce")).to_numpy()
        rows = explore.sample_rows(len(frame))
        shown = frame.iloc[rows]
        colour_label = view.label(colour)
        sampled = (tr("showing a random {shown} of {total} patients", shown=f"{len(shown):,}", total=f"{len(frame):,}")
                   if len(shown) < len(frame) else "")
        endpoint_note = tr("risk for {endpoint}", endpoint=endpoint_name(view)) if colour == RISK else None
        caption = chart_caption(spec.display_name, endpoint=endpoint_note, n=len(frame),
                                extra="; ".join(filter(None, [tr("colour: {colour}", colour=colour_label), sampled,
                                                              filters])))
        order = explore.category_order(values[mask]) if kind == "categorical" else None
        chart(embedding_figure(shown, kind=kind, colour_label=colour_label, title=tr("{basis} of expression", basis=basis),
                               caption=caption, axis_labels=tuple(axes), order=order), f"{basis.lower()}-{colour}")
        st.caption(tr("{caption}. Computed once per cohort (scanpy: PCA, neighbours, UMAP, Leiden) and cached under "
                      "ONCOTX_HOME.", caption=plain(caption))
                   + (tr(" Large cohorts are drawn as a uniform random sample (WebGL).") if sampled else ""))
        download(tr("Coordinates and colour (CSV)"), frame.rename(columns={"x": axes[0], "y": axes[1],
                                                                        "value": colour_label, "label": "patient_id"}),
                 f"{basis.lower()}-{colour}", key="dl_embedding")

if tabs["Expression"].open:
    with tabs["Expression"]:
        mask, filters = select_patients(view)
        key, groups, group_label = select_grouping(view, spec.subtype_col or "er_status")
        kept = groups.where(mask)
        names = [str(g) for g in groups.cat.categories if (kept == g).any()]
        n_sel = int(kept.notna().sum())
        st.subheader(tr("Differential expression"))
        if len(names) < 2:
            st.info(tr("Differential expression needs at least two groups among the selected patients."))
        else:
            a, b, c = st.columns([1.3, 1.3, 1])
            group = a.selectbox(tr("Group"), names, key="ex_de_group")
            reference = b.selectbox(tr("Against"), ["rest", *[n for n in names if n != group]], key="ex_de_reference",
                                    format_func=lambda r: tr("all other groups") if r == "rest" else r)
            method = c.radio(tr("Test"), ["wilcoxon", "t-test"], horizontal=True, key="ex_de_method")
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
                st.caption(tr("{caption}. Effect: {effect}. Click a column header to sort.", caption=plain(caption),
                              effect=plain(effect)))
                download(tr("Differential expression (CSV)"), de, f"de-{key}", key="dl_de")

        st.subheader(tr("Top genes by group"))
        if len(names) < 2:
            st.info(tr("A heatmap by group needs at least two groups among the selected patients."))
        else:
            n_top = st.slider(tr("Genes"), 5, 60, 25, step=5, key="ex_heatmap_genes")
            matrix, f_stat = explore.top_genes_by_group(np.asarray(adata.X)[mask], adata.var_names.astype(str), kept[mask],
                                                        n_top=n_top)
            sizes = kept.value_counts()
            shown = matrix.rename(columns=lambda g: f"{g} ({int(sizes.get(g, 0)):,})")
            caption = chart_caption(spec.display_name, endpoint=None, n=n_sel,
                                    extra="; ".join(filter(None, [tr("grouped by {group}", group=group_label), filters])))
            chart(heatmap_figure(shown, title=tr("Top {count} genes by {group} (ANOVA F)", count=len(matrix),
                                                 group=group_label),
                                 caption=caption, colorbar=tr("mean z")), f"heatmap-{key}")
            st.caption(tr("{caption}. Mean of per-gene standardised expression in each group; genes ranked by the "
                          "one-way ANOVA F statistic over the groups.", caption=plain(caption)))
            download(tr("Heatmap values (CSV)"), matrix.assign(F=f_stat), f"heatmap-{key}", key="dl_heatmap", index=True)

        st.subheader(tr("Pathway scores by group"))
        scores, notes = pathway_scores(spec.id)
        for note in notes:
            st.caption(plain(note))
        if scores.empty or len(names) < 2:
            st.info(tr("No pathway scores can be computed for this cohort, or fewer than two groups are selected."))
        else:
            by_group = explore.scores_by_group(scores[mask], kept[mask])
            columns = [c for c in by_group.columns if c != "n"]
            centred = by_group[columns].sub(scores[mask][columns].mean()).div(scores[mask][columns].std())
            caption = chart_caption(spec.display_name, endpoint=None, n=n_sel,
                                    extra="; ".join(filter(None, [tr("grouped by {group}", group=group_label), filters])))
            chart(heatmap_figure(centred.T.rename(columns=lambda g: f"{g} ({int(by_group.loc[g, 'n']):,})"),
                                 title=tr("Pathway scores by {group}", group=group_label), caption=caption,
                                 colorbar=tr("mean (SD units)")), f"pathways-{key}")
            score = st.selectbox(tr("Score"), columns, key="ex_pathway")
            chart(box_by_group_figure(scores.loc[mask, score], kept[mask], order=names,
                                      title=tr("{score} by group", score=score),
                                      caption=caption, y_label=score), f"pathway-box-{key}")
            st.caption(tr("{caption}. Module scores: mean standardised expression of each module's genes; Hallmark "
                          "scores: scanpy score_genes (MSigDB Hallmark v7.5.1, CC BY 4.0, Liberzon 2015).",
                          caption=plain(caption)))
            left, right = st.columns(2)
            with left:
                download(tr("Pathway means by group (CSV)"), by_group, f"pathways-{key}", key="dl_pathways", index=True)
            with right:
                download(tr("Scores per patient (CSV)"), scores[mask].assign(group=kept[mask].astype(object)),
                         f"pathway-scores-{key}", key="dl_pathway_scores", index=True)

if tabs["Treatments"].open:
    with tabs["Treatments"]:
        if not spec.treatments:
            st.info(tr("This cohort records no treatments."))
            st.stop()
        mask, filters = select_patients(view)
        ep = spec.endpoint(endpoint_select(view, st))
        key, groups, group_label = select_grouping(view, spec.subtype_col or "er_status")
        obs = adata.obs[mask]
        table = explore.treatment_counts(obs, spec, groups[mask], event=obs[ep.event_col])
        if table.empty:
            st.warning(tr("No selected patient has a value for this grouping."))
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
                                events=n_events, extra="; ".join(filter(None, [tr("grouped by {group}", group=group_label),
                                                                               filters])))
        chart(heatmap_figure(counts, title=tr("Patients (events) per regimen by {group}", group=group_label),
                             caption=caption, colorbar=tr("patients"), zmid=None, text=cells, colorscale="Blues"), f"treatments-{key}")
        st.caption(tr("{caption}. ⚠ = fewer than {count} patients: evidence for that regimen in that subgroup is "
                      "thin. Treatment was not randomised: counts show where data exist, not what works.",
                      caption=plain(caption), count=explore.THIN_EVIDENCE))
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"share": st.column_config.NumberColumn(tr("share of group"), format="percent")})
        download(tr("Counts (CSV)"), table, f"treatments-{key}", key="dl_treatments")
