"""The torch network of the ``torch`` model and its loss: :class:`CoxNet` (standardisation, shared trunk, risk
head, per-treatment effect heads) and :func:`cox_nll`, the negative Cox partial log-likelihood (Breslow ties).

Used by :class:`models.deepsurv.DeepSurvModel`, which trains, predicts, explains and saves it.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class CoxNet(nn.Module):
    """The network: standardisation (buffers), shared trunk, risk head and per-treatment effect heads.

    ``forward`` takes the raw feature matrix (all columns, in the training order) and returns the
    log-hazard, so gradients and attributions are with respect to the model's input columns.
    """

    def __init__(
        self,
        n_inputs: int,
        treatment_index: Sequence[int],
        hidden: Sequence[int],
        dropout: float,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        tidx = sorted(int(i) for i in treatment_index)
        pidx = [i for i in range(n_inputs) if i not in set(tidx)]
        self.register_buffer("treatment_idx", torch.tensor(tidx, dtype=torch.long), persistent=False)
        self.register_buffer("patient_idx", torch.tensor(pidx, dtype=torch.long), persistent=False)
        self.register_buffer("x_mean", torch.zeros(len(pidx)))
        self.register_buffer("x_sd", torch.ones(len(pidx)))
        layers: list[nn.Module] = []
        width = len(pidx)
        for h in hidden:
            layers.append(nn.Linear(width, int(h)))
            if activation == "selu":
                layers += [nn.SELU(), nn.AlphaDropout(dropout)] if dropout > 0 else [nn.SELU()]
            else:
                layers += [nn.ReLU(), nn.Dropout(dropout)] if dropout > 0 else [nn.ReLU()]
            width = int(h)
        self.trunk = nn.Sequential(*layers)
        self.risk = nn.Linear(width, 1)
        self.effects = nn.Linear(width, len(tidx)) if tidx else None
        if self.effects is not None:  # start from "no treatment effect"; the data move it
            nn.init.zeros_(self.effects.weight)
            nn.init.zeros_(self.effects.bias)

    def _hidden(self, x: torch.Tensor) -> torch.Tensor:
        z = (x.index_select(1, self.patient_idx) - self.x_mean) / self.x_sd
        return self.trunk(z)

    def treatment_effects(self, x: torch.Tensor) -> torch.Tensor:
        """n × K log hazard ratios h_k(x) of each treatment (n × 0 without treatment columns)."""
        if self.effects is None:
            return x.new_zeros((x.shape[0], 0))
        return self.effects(self._hidden(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hdn = self._hidden(x)
        lp = self.risk(hdn).squeeze(-1)
        if self.effects is not None:
            lp = lp + (x.index_select(1, self.treatment_idx) * self.effects(hdn)).sum(dim=1)
        return lp


def risk_sets(time: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(order ascending in time, position of the first row of each row's tie group in that order)."""
    order = torch.argsort(time, stable=True)
    t_sorted = time[order].contiguous()
    first = torch.searchsorted(t_sorted, t_sorted, right=False)
    return order, first


def cox_nll(lp: torch.Tensor, event: torch.Tensor, order: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """Negative Cox partial log-likelihood per event, Breslow ties; ``order``/``first`` from :func:`risk_sets`.

    log sum_{j: t_j >= t_i} exp(lp_j) is a reversed logcumsumexp over the rows sorted by time, read at the
    first row of each tie group (so tied rows share the full risk set).
    """
    lp_s, e_s = lp[order], event[order]
    n_events = e_s.sum()
    if float(n_events) == 0:
        return lp.sum() * 0.0
    log_risk = torch.logcumsumexp(lp_s.flip(0), dim=0).flip(0)[first]
    return -((lp_s - log_risk) * e_s).sum() / n_events
