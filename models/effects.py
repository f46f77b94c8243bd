"""The treatment-effect model: competing-risks Cox models with treatment × modifier interactions.

Why not the survival models as they are: a tree S-learner rarely splits on the treatment flags (every
benefit shrinks to zero) and per-regimen T-learners overfit small arms. This model is built for
heterogeneous effects and follows PREDICT's competing-risks structure:

* **Cancer-specific hazard** (where the cohort records cause of death; otherwise the endpoint's hazard):
  ``log h_c(t | x, a) = log h0_c,s(t) + beta'z + sum_k a_k (theta_k'g + delta_k'z)``, where ``a`` are the
  treatment flags and ``z`` a small set of standardised **effect modifiers** derived linearly from the
  feature row: every clinical column, gene-module scores (proliferation, ER, HER2, basal, immune, stroma:
  the mean z-score of the module's genes) and the leading principal components of the expression block
  (effects driven by genes no module names), and ``g`` the ER-status indicators: ``theta_k`` is each
  subgroup's own effect, shrunk towards no effect (a sceptical prior that keeps a rarely treated subgroup
  from borrowing the others' effect). Ridge penalties: light on ``beta``, moderate on ``theta``, and on
  ``delta`` (the heterogeneity) a strength chosen by cross-validated partial likelihood. The baseline
  ``h0_c,s`` is **stratified by ER status** ``s`` (one per level, :data:`MIN_STRATUM_EVENTS`): ER- hazards peak
  early, ER+ ones persist, which no proportional term fits.
* **Other-cause hazard**: ``log h_o(t | x) = log h0_o(t) + eta'z`` with **no treatment terms**: treatments
  prevent deaths from the cancer, not deaths from other causes (mostly age).
* All-cause survival ``S(t) = exp(-H_c(t) - H_o(t))``: a 75-year-old's benefit is not inflated by deaths
  no treatment prevents.
* Uncertainty: ``n_bootstrap`` refits on multinomially reweighted patients (same penalties); a regimen's
  benefit is computed per replicate (paired), its interval is the percentile interval of those benefits.

Because ``z`` is linear in the features, every log hazard (and every log hazard ratio between regimens)
decomposes exactly into per-feature contributions (:meth:`TreatmentEffectModel.log_hazard_contributions`).
"""
from __future__ import annotations

import time as _time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from models.base import training_target
from models.cox import breslow, cv_penalty, fit_cox
from models.effects_store import load_effects, save_effects
from models.errors import ModelError
from models.gene_screen import SCREEN_FDR, screen_genes
from models.modifiers import N_PCS, Modifiers, modifier_field

#: Clinical fields whose modification of treatment effects is established (EBCTCG overviews: endocrine therapy
#: works only in ER-positive disease; HER2 status and nodal burden modify chemotherapy's absolute benefit).
#: Their interactions are left unpenalised; every other modifier is shrunk towards a common effect.
KNOWN_EFFECT_MODIFIERS = ("er_status", "her2_status", "lymph_nodes_positive")
#: Ridge on the anchors per event: a sceptical prior (SD about 1/sqrt(0.02 x events) on the log HR).
ANCHOR_PENALTY = 0.02
#: Interactions with the known modifiers are shrunk ten times less than the rest.
KNOWN_PENALTY_FACTOR = 0.1
#: Gene modules are biology with a record as effect modifiers (proliferation and immune infiltration predict
#: chemotherapy response; ER-related expression endocrine response): shrunk far less than anonymous components.
#: The cross-validated strength is set by the many weak terms (clinical splines, components); at 0.3 of it a
#: module's or a screened gene's real modification was held at about half its size, and the intervals, centred
#: on the shrunken value, missed the patients at the extremes (bench.treatment, 2 seeds x 8 scenarios: 90%
#: coverage 0.81 -> 0.84 on strong single-gene modifiers, 0.86 -> 0.88 gene-driven, 0.88 -> 0.90 weak single
#: genes, no scenario's regret worse by more than 0.0005; intervals 5-10% wider).
MODULE_PENALTY_FACTOR = 0.05
#: Single genes that passed the interaction screen (models.gene_screen) are shrunk like modules.
GENE_PENALTY_FACTOR = 0.05
#: At most this many single genes (the full-data hits first, then by bootstrap selection frequency) in the design.
MAX_SCREEN_GENES = 30
#: The screen's false-discovery rate in the bootstrap replicates: the same as the full-data screen's (the whole
#: pipeline, selection included, is bootstrapped). On the benchmark's single-gene family this raised the 90%
#: coverage from 0.70 (genes selected once, on the full data) to 0.83; a more liberal 0.2 gave 0.84 but widened
#: every scenario's intervals by another 10-15% (guideline scenario: width 0.24 without the screen, 0.29 at 0.05,
#: 0.32 at 0.2).
REPLICATE_FDR = SCREEN_FDR
#: The cancer hazard is stratified by the anchor field (ER status): one baseline hazard per level, because ER+ and
#: ER- disease differ in the shape of their hazard over time, not only in its level (ER- recurrences come early,
#: ER+ ones go on for decades), which one proportional ER term cannot carry. A level with fewer cancer events than
#: this shares the largest level's baseline.
MIN_STRATUM_EVENTS = 20
#: The ridge that holds a gene a replicate did not select at zero.
EXCLUDED_PENALTY = 1e10
HAZARD_GRID = np.arange(0.0, 361.0, 1.0)  # months; the baseline hazards are stored on this grid
RISK_HORIZON = 120.0
#: Interaction penalty per event (grid searched by cross-validation); main effects get a fixed light ridge.
PENALTY_GRID = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
MAIN_PENALTY = 0.01
Progress = Callable[[str], None]


def _design(mods: Modifiers, rest: np.ndarray, a: np.ndarray) -> np.ndarray:
    """[z, a_1 g, ..., a_K g, a_1 z~, ..., a_K z~]: main effects, anchored effects, within-subgroup interactions."""
    z, g, zw = mods.transform(rest), mods.anchors(rest), mods.within(rest)
    k = a.shape[1]
    return np.hstack([z, *(a[:, [i]] * g for i in range(k)), *(a[:, [i]] * zw for i in range(k))])


class TreatmentEffectModel:
    """Competing-risks treatment-effect model (see the module docstring). Follows models.base.SurvivalModel."""

    name: ClassVar[str] = "effects"

    def __init__(self, *, n_bootstrap: int = 50, n_pcs: int = N_PCS, penalty_grid: Sequence[float] = PENALTY_GRID,
                 cv_folds: int = 5, seed: int = 0, device: str = "cpu", progress: Progress | None = None,
                 penalty_path: bool = True, gene_screen: bool = True, screen_fdr: float = SCREEN_FDR,
                 replicate_fdr: float = REPLICATE_FDR, stratify: bool = True) -> None:
        self.n_bootstrap = int(n_bootstrap)
        self.n_pcs = int(n_pcs)
        self.penalty_grid = tuple(float(p) for p in penalty_grid)
        self.cv_folds = int(cv_folds)
        self.seed = int(seed)
        self.device = device  # numpy only: the fits take seconds on a CPU
        self.progress = progress
        self.penalty_path = bool(penalty_path)
        self.gene_screen = bool(gene_screen)
        self.screen_fdr = float(screen_fdr)
        self.replicate_fdr = float(replicate_fdr)
        self.stratify = bool(stratify)
        self.coef_c_: np.ndarray | None = None

    # ------------------------------------------------------------------------------------------ fitting
    def _say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def _penalties(self, q: int, k: int, events: float, lam: float, *, treatments: bool) -> np.ndarray:
        main = np.full(q, (MAIN_PENALTY if treatments else lam) * events)
        if not treatments:
            return main
        factor = np.array([KNOWN_PENALTY_FACTOR if modifier_field(name) in KNOWN_EFFECT_MODIFIERS
                           else MODULE_PENALTY_FACTOR if group == "module"
                           else GENE_PENALTY_FACTOR if group == "gene" else 1.0
                           for name, group in zip(self.modifiers_.names, self.modifiers_.groups, strict=True)])
        interaction = factor * lam * events
        n_anchor = max(len(self.modifiers_.anchor_cols), 1)
        return np.concatenate([main, np.full(k * n_anchor, ANCHOR_PENALTY * events), np.tile(interaction, k)])

    def fit(
        self,
        X: np.ndarray,
        time: np.ndarray,
        event: np.ndarray,
        *,
        feature_names: Sequence[str],
        treatment_index: Sequence[int] = (),
        cause: np.ndarray | None = None,
    ) -> TreatmentEffectModel:
        """Fit on features (treatments first), follow-up time and event; ``cause`` (0/1 per patient, 1 = death
        from the cancer) splits the events into cancer-specific and other-cause deaths (competing risks)."""
        # Hundreds of small (n × 100) products: threaded BLAS only adds contention (10-25x slower on 2 cores).
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(X, time, event, feature_names=feature_names, treatment_index=treatment_index,
                             cause=cause)

    def _fit(self, X, time, event, *, feature_names, treatment_index, cause) -> TreatmentEffectModel:
        started = _time.perf_counter()
        X = np.asarray(X, dtype=np.float64)
        time, flags = training_target(time, event, len(X))
        event = flags.astype(np.float64)
        self.feature_names_ = list(feature_names)
        self.treatment_index_ = [int(i) for i in treatment_index]
        k = len(self.treatment_index_)
        if k == 0 or self.treatment_index_ != list(range(k)):
            raise ModelError("The treatment-effect model needs the treatment columns first in the features.")
        self.treatments_ = [self.feature_names_[i] for i in self.treatment_index_]
        a, rest = X[:, :k], X[:, k:]
        self.modifiers_ = Modifiers.fit(rest, self.feature_names_[k:], n_pcs=self.n_pcs)
        z = self.modifiers_.transform(rest)
        q = z.shape[1]
        self.competing_risks_ = cause is not None
        if cause is not None:
            cause = np.asarray(cause, dtype=np.float64)
            e_c = event * (cause > 0)
            e_o = event * (cause <= 0)
        else:
            e_c, e_o = event, None
        if e_c.sum() < 10:
            raise ModelError(f"Too few events ({int(e_c.sum())}) to model treatment effects.")
        strata = self._fit_strata(rest, e_c)
        D = _design(self.modifiers_, rest, a)
        n_ev = float(e_c.sum())
        grid_c = [self._penalties(q, k, n_ev, lam, treatments=True) for lam in self.penalty_grid]
        self._say(f"choosing the interaction penalty by {self.cv_folds}-fold cross-validation "
                  f"({len(grid_c)} values, {D.shape[1]} coefficients)")
        best, scores = cv_penalty(D, time, e_c, penalties=grid_c, folds=self.cv_folds, seed=self.seed, strata=strata)
        self.penalty_ = self.penalty_grid[best]
        self.cv_scores_ = [float(s) for s in scores]
        rng = np.random.default_rng(self.seed)
        n = len(time)
        B = self.n_bootstrap
        weights = [np.ones(n)] + [rng.multinomial(n, np.full(n, 1.0 / n)).astype(np.float64) for _ in range(B)]
        selected = self._screen_replicates(D, time, e_c, a, rest, grid_c[best], weights, strata)
        if self.screen_genes_:  # the genes found join the modifiers (main effect + interactions); same penalty strength
            self.modifiers_ = Modifiers.fit(rest, self.feature_names_[k:], n_pcs=self.n_pcs,
                                            single_genes=self.screen_genes_)
            z = self.modifiers_.transform(rest)
            q = z.shape[1]
            D = _design(self.modifiers_, rest, a)
            self._say(f"{len(self.screen_)} treatment x gene interaction(s) pass the screen (FDR "
                      f"{self.screen_fdr:g}); {len(self.screen_genes_)} gene(s) across the bootstrap replicates")
        grid_c = [self._penalties(q, k, n_ev, lam, treatments=True) for lam in self.penalty_grid]
        pen_c = grid_c[best]
        # Bootstrap replicates cycle through the penalties from the chosen one down to the lightest: the
        # interval then carries the uncertainty of the penalty choice and of the shrinkage it imposes.
        path_c = grid_c[: best + 1][::-1]
        pen_o = None
        # Other-cause deaths depend on the clinical fields only (age above all), as in PREDICT: a tumour's
        # expression has no known route to death from other causes, and hundreds of gene terms there only
        # add noise that travels badly to other cohorts. Their coefficients are held at zero.
        other = np.array([g == "clinical" for g in self.modifiers_.groups])
        if not other.any():
            other[:] = True
        z_o = z[:, other]
        if e_o is not None and e_o.sum() >= 10:
            n_o = float(e_o.sum())
            grid_o = [self._penalties(q, k, n_o, lam, treatments=False)[other] for lam in self.penalty_grid]
            best_o, _ = cv_penalty(z_o, time, e_o, penalties=grid_o, folds=self.cv_folds, seed=self.seed)
            pen_o = grid_o[best_o]
            self.penalty_other_ = self.penalty_grid[best_o]
        elif e_o is not None:
            self.competing_risks_ = False  # too few other-cause deaths: one hazard for all deaths
            e_c = event
        coef_c = np.zeros((B + 1, D.shape[1]))
        H_c = np.zeros((B + 1, len(self.stratum_shares_), len(HAZARD_GRID)))
        coef_o = np.zeros((B + 1, q)) if pen_o is not None else None
        H_o = np.zeros((B + 1, len(HAZARD_GRID))) if pen_o is not None else None
        self._say(f"fitting the full model and {B} bootstrap refits")
        for b in range(B + 1):
            w = weights[b]
            pen_b = pen_c if b == 0 or not self.penalty_path else path_c[(b - 1) % len(path_c)]
            pen_b = self._exclude_unselected(pen_b, selected[b], q, k)
            coef_c[b] = fit_cox(D, time, e_c, penalty=pen_b, weight=w, strata=strata, start=coef_c[0] if b else None)
            H_c[b] = breslow(D, time, e_c, coef_c[b], HAZARD_GRID, weight=w, strata=strata, n_strata=H_c.shape[1])
            if pen_o is not None:
                coef_o[b, other] = fit_cox(z_o, time, e_o, penalty=pen_o, weight=w,
                                           start=coef_o[0, other] if b else None)
                H_o[b] = breslow(z_o, time, e_o, coef_o[b, other], HAZARD_GRID, weight=w)[0]
        self.coef_c_, self.H_c_, self.coef_o_, self.H_o_ = coef_c, H_c, coef_o, H_o
        self.max_event_time_ = float(time[event > 0].max())
        self.n_train_ = n
        self.events_ = {"cancer": int(e_c.sum()), "other": int(e_o.sum()) if e_o is not None and pen_o is not None else 0}
        self.fit_seconds_ = _time.perf_counter() - started
        return self

    def _fit_strata(self, rest: np.ndarray, events: np.ndarray) -> np.ndarray:
        """The cancer hazard's stratum of each training patient (see MIN_STRATUM_EVENTS); sets
        ``stratum_of_level_`` (anchor level -> stratum; stratum 0 has the most events) and ``stratum_shares_``
        (training share per stratum: the mixture for a patient whose level is unknown)."""
        levels = self.modifiers_.anchor_level(rest)
        n_levels = len(self.modifiers_.anchor_names)
        counts = [float(events[levels == lv].sum()) for lv in range(n_levels)]
        own = sorted((lv for lv in range(n_levels) if counts[lv] >= MIN_STRATUM_EVENTS), key=lambda lv: -counts[lv])
        if not self.stratify or len(own) < 2:
            own = []
        self.stratum_of_level_ = [own.index(lv) if lv in own else 0 for lv in range(n_levels)]
        strata = np.clip(self._strata_of(levels), 0, None)  # an unknown level trains with the largest stratum
        self.stratum_shares_ = [float(np.mean(strata == s)) for s in range(max(len(own), 1))]
        return strata

    def _strata_of(self, levels: np.ndarray) -> np.ndarray:
        """Stratum per row from its anchor level; -1 where the level is unknown."""
        table = np.asarray(self.stratum_of_level_ + [-1], dtype=np.int64)  # level -1 reads the last entry
        return table[levels]

    def _cancer_baseline(self, rest: np.ndarray, times: np.ndarray, members: slice) -> np.ndarray:
        """Cumulative baseline cancer hazard of each row's stratum (fits x rows x times); a row whose stratum is
        unknown gets the strata's mixture, weighted by their training shares."""
        H = self._on_grid(self.H_c_[members], times)  # fits x strata x times
        strata = self._strata_of(self.modifiers_.anchor_level(rest))
        out = H[:, np.clip(strata, 0, None), :]
        if (strata < 0).any():
            out[:, strata < 0, :] = np.einsum("s,fst->ft", np.asarray(self.stratum_shares_), H)[:, None, :]
        return out

    def _screen_replicates(self, D, time, e_c, a, rest, penalty, weights, strata) -> list[set[str]]:
        """The screen (models.gene_screen) on the full data and on every bootstrap replicate, against the fitted
        model without single genes. Sets ``screen_`` (the full-data hits), ``screen_genes_`` (every gene any
        replicate selected: the design's gene columns) and ``selection_frequency_`` (share of replicates that
        selected each gene: its bootstrap stability); returns each replicate's selected genes (replicate 0: the
        full data). A replicate's interval then carries the uncertainty of which genes were selected."""
        self.screen_, self.screen_genes_, self.selection_frequency_ = [], [], {}
        names = self.feature_names_[len(self.treatments_):]
        cols = [j for j, c in enumerate(names) if c.startswith("gene:")]
        if not (self.gene_screen and cols):
            return [set() for _ in weights]
        self._say(f"screening {len(cols)} genes x {len(self.treatments_)} treatments for single-gene modifiers")
        eta = D @ fit_cox(D, time, e_c, penalty=penalty, strata=strata)
        genes = [names[j] for j in cols]
        G = rest[:, cols]
        runs = [screen_genes(eta, time, e_c, a, G, treatments=self.treatments_, genes=genes,
                             fdr=self.screen_fdr if b == 0 else self.replicate_fdr, weight=None if b == 0 else w,
                             strata=strata)
                for b, w in enumerate(weights)]
        self.screen_ = [h.as_dict() for h in runs[0]]
        selected = [{h.gene for h in run} for run in runs]
        counts: dict[str, int] = {}
        for chosen in selected[1:]:
            for gene in chosen:
                counts[gene] = counts.get(gene, 0) + 1
        self.screen_genes_ = sorted(selected[0] | set(counts), key=lambda g: (g not in selected[0], -counts.get(g, 0), g))
        self.screen_genes_ = self.screen_genes_[:MAX_SCREEN_GENES]
        replicates = max(len(weights) - 1, 1)
        self.selection_frequency_ = {g: counts.get(g, 0) / replicates for g in self.screen_genes_}
        for hit in self.screen_:
            hit["stability"] = self.selection_frequency_.get(hit["gene"], 0.0)
        return selected

    def _exclude_unselected(self, penalty: np.ndarray, chosen: set[str], q: int, k: int) -> np.ndarray:
        """The penalty vector with the gene modifiers a replicate did not select held at zero (main effect and
        every treatment interaction)."""
        names = self.modifiers_.names
        out = [j for j, (name, group) in enumerate(zip(names, self.modifiers_.groups, strict=True))
               if group == "gene" and name not in chosen]
        if not out:
            return penalty
        L = max(len(self.modifiers_.anchor_cols), 1)
        penalty = np.array(penalty, dtype=np.float64)
        for j in out:
            penalty[[j, *(q + k * L + i * q + j for i in range(k))]] = EXCLUDED_PENALTY
        return penalty

    # --------------------------------------------------------------------------------------- prediction
    def _check(self, X: np.ndarray) -> np.ndarray:
        if self.coef_c_ is None:
            raise ModelError("The treatment-effect model is not fitted.")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names_):
            raise ModelError(f"Expected {len(self.feature_names_)} feature columns, got {X.shape}.")
        return X

    def held_modifiers(self, X: np.ndarray) -> list[list[str]]:
        """Per row, the modifiers held at the edge of their training range (models.modifiers.Modifiers.transform)."""
        X = self._check(X)
        return self.modifiers_.outside_range(X[:, len(self.treatments_):])

    def _parts(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = len(self.treatments_)
        return X[:, :k], self.modifiers_.transform(X[:, k:])

    @staticmethod
    def _on_grid(H: np.ndarray, times: np.ndarray) -> np.ndarray:
        idx = np.clip(np.searchsorted(HAZARD_GRID, np.asarray(times, dtype=np.float64), side="right") - 1,
                      0, len(HAZARD_GRID) - 1)
        return H[..., idx]

    def _hazards(self, X: np.ndarray, times: np.ndarray, members: slice) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative cancer and other-cause hazards, each (replicates, samples, times)."""
        X = self._check(X)
        a, z = self._parts(X)
        rest = X[:, len(self.treatments_):]
        D = _design(self.modifiers_, rest, a)
        eta_c = D @ self.coef_c_[members].T  # samples × reps
        Hc = np.exp(eta_c).T[:, :, None] * self._cancer_baseline(rest, times, members)
        if self.coef_o_ is None:
            return Hc, np.zeros_like(Hc)
        eta_o = z @ self.coef_o_[members].T
        Ho = np.exp(eta_o).T[:, :, None] * self._on_grid(self.H_o_[members], times)[:, None, :]
        return Hc, Ho

    def regimen_survival(self, X: np.ndarray, flags: np.ndarray, times: np.ndarray) -> dict[str, np.ndarray]:
        """All-cause and cancer-specific S(t) of every row under every regimen in one pass, equal to
        :meth:`predict_survival` / :meth:`member_predictions` / :meth:`predict_cause_specific` on the rows with
        their treatment columns set to each regimen's ``flags`` (regimens x treatments), but without building a
        design per regimen: the cancer log hazard is ``beta'z + sum_k a_k (theta_k'g + delta_k'z~)``, so the
        per-treatment terms are computed once and each regimen adds its flags' share.

        Returns ``all`` and ``cancer`` (regimens x rows x times: the full-data fit) and ``all_members`` and
        ``cancer_members`` (replicates x regimens x rows x times)."""
        X = self._check(X)
        k = len(self.treatments_)
        mods = self.modifiers_
        rest = X[:, k:]
        z = mods.transform(rest)
        g = mods.anchors(rest)
        zw = z - g @ mods.anchor_means
        q, L = z.shape[1], g.shape[1]
        coef = self.coef_c_  # (1 + replicates) x coefficients
        base = z @ coef[:, :q].T  # rows x fits
        theta = coef[:, q: q + k * L].reshape(len(coef), k, L)
        delta = coef[:, q + k * L:].reshape(len(coef), k, q)
        per_treatment = np.einsum("nl,rkl->knr", g, theta) + np.einsum("nq,rkq->knr", zw, delta)  # k x rows x fits
        flags = np.asarray(flags, dtype=np.float64)
        eta = base[None] + np.einsum("mk,knr->mnr", flags, per_treatment)  # regimens x rows x fits
        base = np.moveaxis(self._cancer_baseline(rest, times, slice(None)), 0, 1)  # n x fits x t
        Hc = np.exp(eta)[..., None] * base[None]  # m x n x fits x t
        if self.coef_o_ is None:
            Ho = np.zeros((1, 1, 1, 1))
        else:
            Ho = (np.exp(z @ self.coef_o_.T)[None, :, :, None]
                  * self._on_grid(self.H_o_, times)[None, None, :, :])
        S_all, S_cancer = np.exp(-(Hc + Ho)), np.exp(-Hc)
        return {"all": S_all[:, :, 0], "cancer": S_cancer[:, :, 0],
                "all_members": np.moveaxis(S_all[:, :, 1:], 2, 0), "cancer_members": np.moveaxis(S_cancer[:, :, 1:], 2, 0)}

    def predict_survival(self, X: np.ndarray, times: np.ndarray) -> np.ndarray:
        """All-cause S(t) of the full-data fit (samples × times)."""
        Hc, Ho = self._hazards(X, times, slice(0, 1))
        return np.exp(-(Hc + Ho))[0]

    def member_predictions(self, X: np.ndarray, times: np.ndarray) -> np.ndarray:
        """All-cause S(t) per bootstrap replicate (replicates × samples × times)."""
        Hc, Ho = self._hazards(X, times, slice(1, None))
        return np.exp(-(Hc + Ho))

    def predict_cause_specific(self, X: np.ndarray, times: np.ndarray, *, members: bool = False) -> np.ndarray:
        """Cancer-specific (net) survival exp(-H_c): full fit (samples × times) or per replicate."""
        Hc, _ = self._hazards(X, times, slice(1, None) if members else slice(0, 1))
        return np.exp(-Hc) if members else np.exp(-Hc)[0]

    def predict_risk(self, X: np.ndarray) -> np.ndarray:
        """log of the all-cause cumulative hazard at 10 years (higher = worse)."""
        Hc, Ho = self._hazards(X, np.array([RISK_HORIZON]), slice(0, 1))
        return np.log(Hc[0, :, 0] + Ho[0, :, 0] + 1e-300)

    def log_hazard_ratios(self, X: np.ndarray, *, members: bool = False) -> np.ndarray:
        """Per-treatment log hazard ratio of cancer death, gamma_k + delta_k'z (samples × treatments [× reps])."""
        X = self._check(X)
        k = len(self.treatments_)
        z = self.modifiers_.within(X[:, k:])
        q = z.shape[1]
        g = self.modifiers_.anchors(X[:, k:])
        L = g.shape[1]
        rows = slice(1, None) if members else slice(0, 1)
        coef = self.coef_c_[rows]
        theta = coef[:, q: q + k * L].reshape(len(coef), k, L)  # reps × k × anchors
        delta = coef[:, q + k * L:].reshape(len(coef), k, q)  # reps × k × q
        out = np.einsum("nl,rkl->rnk", g, theta) + np.einsum("nq,rkq->rnk", z, delta)  # reps × samples × k
        return np.moveaxis(out, 0, -1) if members else out[0]

    def log_hazard_contributions(self, x: np.ndarray, *, regimen: np.ndarray,
                                 baseline: np.ndarray | None = None) -> tuple[float, np.ndarray]:
        """Exact decomposition of one patient's cancer log hazard (or log hazard ratio against ``baseline``).

        With ``baseline=None``: ``log h_c(x, regimen) - log h0_c = base + sum(contributions)`` over the
        non-treatment feature columns, where ``base`` is the value at the training mean and ``h0_c`` the strata's
        share-weighted baseline: the patient's own stratum (ER status) adds the log ratio of its baseline to that
        one at :data:`RISK_HORIZON`, credited to the anchor field's column. With a baseline
        regimen: the log hazard ratio regimen vs baseline decomposed the same way. Returns (base, per-column
        contributions aligned with ``feature_names_[n_treatments:]``).
        """
        x = self._check(np.atleast_2d(x))[0]
        k = len(self.treatments_)
        q = len(self.modifiers_.names)
        mods = self.modifiers_
        L = max(len(mods.anchor_cols), 1)
        coef = self.coef_c_[0]
        beta, theta, delta = coef[:q], coef[q: q + k * L].reshape(k, L), coef[q + k * L:].reshape(k, q)
        r = np.asarray(regimen, dtype=np.float64)
        if baseline is None:
            w, u = beta + r @ delta, r @ theta
        else:
            diff = r - np.asarray(baseline, dtype=np.float64)
            w, u = diff @ delta, diff @ theta
        # main effects act on z, interactions on z~ = z - g'A (A: anchor means); both linear in the columns
        w_int = w - (0.0 if baseline is not None else beta)
        u = u - mods.anchor_means @ w_int  # g'(-A w_int): the within-centring moves weight onto the anchors
        z_mean = (mods.x_mean @ mods.M - mods.centre) / mods.scale
        # a modifier held at the edge of its training range (Modifiers.transform) contributes its held value:
        # its columns' shares are scaled by (held - mean) / (value - mean), so the sum stays the model's output
        gap = mods.unclamped(x[None, k:])[0] - z_mean
        held = np.divide(mods.transform(x[None, k:])[0] - z_mean, gap, out=np.ones_like(gap), where=np.abs(gap) > 1e-12)
        weights = mods.feature_weights(w * held)
        if mods.anchor_cols:  # the anchor term u'g(x) is linear in the anchor field's one-hot columns
            weights[mods.anchor_cols] += u
            base = float(w @ z_mean + u @ mods.x_mean[mods.anchor_cols])
        else:
            base = float(w @ z_mean + u[0])
        contributions = mods.fold(weights * (mods.expand(x[None, k:])[0] - mods.x_mean))
        level = int(mods.anchor_level(x[None, k:])[0])
        if baseline is None and self.H_c_.shape[1] > 1 and level >= 0:
            H = self._on_grid(self.H_c_[0], np.array([RISK_HORIZON]))[:, 0]  # per stratum
            contributions[mods.anchor_cols[level]] += float(
                np.log(H[self.stratum_of_level_[level]] / np.dot(self.stratum_shares_, H)))
        return base, contributions

    def modifier_table(self) -> list[dict[str, Any]]:
        """The fitted interaction coefficients (per standardised modifier) for each treatment."""
        k, q = len(self.treatments_), len(self.modifiers_.names)
        L = max(len(self.modifiers_.anchor_cols), 1)
        coef = self.coef_c_
        rows = []
        for i, t in enumerate(self.treatments_):
            for j, name in enumerate(self.modifiers_.names):
                col = q + k * L + i * q + j
                reps = coef[1:, col]
                rows.append({"treatment": t, "modifier": name, "group": self.modifiers_.groups[j],
                             "delta": float(coef[0, col]),
                             "lo": float(np.percentile(reps, 5)) if len(reps) else float("nan"),
                             "hi": float(np.percentile(reps, 95)) if len(reps) else float("nan")})
        return rows

    # -------------------------------------------------------------------------------------- persistence
    def save(self, folder: Path) -> list[str]:
        """Weights (safetensors) and a JSON card in ``folder`` (see models.effects_store)."""
        if self.coef_c_ is None:
            raise ModelError("The treatment-effect model is not fitted.")
        return save_effects(self, Path(folder), hazard_grid=HAZARD_GRID)

    @classmethod
    def load(cls, folder: Path) -> TreatmentEffectModel:
        return load_effects(cls, Path(folder))
