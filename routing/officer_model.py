"""Each officer's effect on a lead's conversion, learned from past outcomes with a pooled logistic model.

    logit P(lead r converts | officer j) = lead part + officer part
    lead part    = c + (1 + g) * logit(scoring's probability) + sum_t x_rt nu_t     (team-wide calibration)
                   (a lead without a probability: c' + the team's logit + its score band's effect instead)
    officer part = a_j + sum_t x_rt * (s_jt * (delta + e_t) + d_jt)

x_rt are the lead's tokens (loan type, credit tier, first-time buyer, ...), s_jt = 1 where officer j declares
token t a specialty. An officer is their own level a_j, plus the boost declared specialists get (delta shared
by all specialties, e_t for one specialty), plus their own deviation d_jt in each kind of lead. a, e and d are
random effects shrunk towards 0; their spreads are estimated from the data (empirical Bayes: MacKay's
updates on the Laplace approximation), with the configuration's guess weighing as a few officers, so a
small team is not read as "no officer differs". A new officer is the team's level plus the boost of the
specialties they declare. Declared and undeclared cells get separate spreads: the data decide whether
officers differ outside their specialties.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_WEAK_SD = 1.0  # prior sd (logit) of the fixed effects: calibration, token main effects, delta
_PSEUDO_OFFICERS = 4.0  # how many officers' (or specialties') worth of weight the configured guess gets
_MIN_SD = 0.02
_P_CLIP = 1e-4  # probabilities of exactly 0 or 1 have no logit
_ROUNDS = 30


@dataclass(frozen=True)
class OfficerModel:
    """Fitted coefficients; rows of `level`/`cells` follow the officers given to the fit."""

    intercept: float
    no_probability: float  # added where a lead has no scoring probability (its offset is the team's logit)
    slope: float  # g: logit(probability) counts (1 + g) times
    offset_mean: float
    team_logit: float
    token_effect: np.ndarray  # (T,) nu, over all token columns
    fallback_columns: np.ndarray  # (T,) bool: columns whose nu counts only without a probability (score band)
    officer_columns: np.ndarray  # (Tp,) which token columns have officer-specific effects
    level: np.ndarray  # (m,) a
    cells: np.ndarray  # (m, Tp) s * (delta + e) + d: officer j's extra logit on a lead with token t
    specialist_boost: float  # delta
    spreads: dict[str, float]  # estimated sd of a (level), e (specialty), d (cell, specialist_cell)

    def lead_logit(self, probability: np.ndarray, x: np.ndarray) -> np.ndarray:
        """(n,) the lead part: a team-average officer's logit for each lead (probability NaN = none; x: all tokens)."""
        with_p, offset = _offsets(probability)
        main = x @ np.where(self.fallback_columns, 0.0, self.token_effect)
        fallback = x @ np.where(self.fallback_columns, self.token_effect, 0.0)
        return (self.intercept + main
                + np.where(with_p, offset + self.slope * (offset - self.offset_mean),
                           self.team_logit + self.no_probability + fallback))

    def officer_logit(self, x: np.ndarray) -> np.ndarray:
        """(n, m) the officer part for leads with tokens `x` (all token columns)."""
        return self.level[None, :] + x[:, self.officer_columns] @ self.cells.T


@dataclass
class _Problem:
    """The data in the two blocks the Newton step works on, rows sorted by officer (officer j: rows bounds[j]..)."""

    y: np.ndarray  # (n,)
    base: np.ndarray  # (n,) fixed offset
    g: np.ndarray  # (n, q) global columns: 1, no-probability, centred offset, tokens, delta, e_t
    u: np.ndarray  # (n, b) officer columns: 1 (level), tokens with officer effects (cells)
    officer: np.ndarray  # (n,) non-decreasing
    bounds: np.ndarray  # (m + 1,)


def _newton(pb: _Problem, prec_g: np.ndarray, prec_u: np.ndarray, beta_g: np.ndarray, beta_u: np.ndarray,
            max_steps: int = 25) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Penalised maximum likelihood by Newton steps solved block-wise (Schur complement on the global block).

    prec_u: (m, b) prior precisions per officer block. Returns beta_g, beta_u and the posterior variances.
    """
    m, b = beta_u.shape
    q = beta_g.size
    for _ in range(max(1, max_steps)):
        eta = pb.base + pb.g @ beta_g + np.einsum("nb,nb->n", pb.u, beta_u[pb.officer])
        p = 1.0 / (1.0 + np.exp(-eta))
        w, resid = p * (1.0 - p), pb.y - p
        grad_g = pb.g.T @ resid - prec_g * beta_g
        uw = pb.u * w[:, None]
        c = (pb.g * w[:, None]).T @ pb.g + np.diag(prec_g)
        a = np.empty((m, b, b))
        bj = np.empty((m, b, q))
        grad_u = np.empty((m, b))
        for j in range(m):
            rows = slice(pb.bounds[j], pb.bounds[j + 1])
            a[j] = uw[rows].T @ pb.u[rows]
            bj[j] = uw[rows].T @ pb.g[rows]
            grad_u[j] = pb.u[rows].T @ resid[rows]
        a[:, np.arange(b), np.arange(b)] += prec_u
        grad_u -= prec_u * beta_u
        a_inv = np.linalg.inv(a)
        ainv_b = np.einsum("jab,jbq->jaq", a_inv, bj)  # A_j^-1 B_j
        s_inv = np.linalg.inv(c - np.einsum("jbq,jbr->qr", bj, ainv_b))
        step_g = s_inv @ (grad_g - np.einsum("jbq,jb->q", ainv_b, grad_u))
        step_u = np.einsum("jab,jb->ja", a_inv, grad_u - np.einsum("jbq,q->jb", bj, step_g))
        beta_g, beta_u = beta_g + step_g, beta_u + step_u
        if max(np.abs(step_g).max(), np.abs(step_u).max()) < 1e-5:
            break
    # posterior variances: the diagonal of the inverse Hessian, block by block (at the last step's weights)
    var_g = np.diag(s_inv).copy()
    var_u = np.einsum("jaa->ja", a_inv) + np.einsum("jaq,qr,jar->ja", ainv_b, s_inv, ainv_b)
    return beta_g, beta_u, var_g, var_u


def _offsets(probability: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which leads have a usable probability, and its logit (0 where none)."""
    p = np.asarray(probability, dtype=float)
    with_p = np.isfinite(p)
    clipped = np.clip(np.where(with_p, p, 0.5), _P_CLIP, 1 - _P_CLIP)
    return with_p, np.log(clipped / (1 - clipped))


def fit_officer_model(*, officer: np.ndarray, converted: np.ndarray, probability: np.ndarray, team_rate: float,
                      x: np.ndarray, fallback_columns: np.ndarray, officer_columns: np.ndarray,
                      specialist: np.ndarray, guess_sd_level: float, guess_sd_cell: float) -> OfficerModel:
    """Fit on past leads with known outcomes.

    officer: (n,) row of the officer who worked each lead, in 0..m-1 (m = specialist.shape[0]); converted:
    (n,) 0/1; probability: (n,) scoring's calibrated probability, NaN where none; x: (n, T) token columns;
    fallback_columns: (T,) bool, the columns that stand in for a missing probability (score band);
    officer_columns: (Tp,) the columns with officer effects; specialist: (m, Tp) declared specialties over
    those columns; guess_sd_*: the configuration's guess of the spreads (logit).
    """
    m, tp = specialist.shape
    n, t = x.shape
    xp = x[:, officer_columns]
    rate = min(max(team_rate, _P_CLIP), 1 - _P_CLIP)
    team_logit = float(np.log(rate / (1 - rate)))
    with_p, offset = _offsets(probability)
    offset_mean = float(offset[with_p].mean()) if with_p.any() else 0.0
    fallback = np.asarray(fallback_columns, dtype=bool)
    x_main = np.where(fallback[None, :] & with_p[:, None], 0.0, x)  # a score band says nothing next to a probability
    spec_rows = specialist[officer] * xp  # (n, Tp): token present and declared by the lead's officer
    order = np.argsort(officer, kind="stable")
    pb = _Problem(
        y=np.asarray(converted, dtype=float)[order],
        base=np.where(with_p, offset, team_logit)[order],
        g=np.column_stack([np.ones(n), (~with_p).astype(float), np.where(with_p, offset - offset_mean, 0.0), x_main,
                           spec_rows.sum(axis=1), spec_rows])[order],
        u=np.column_stack([np.ones(n), xp])[order],
        officer=officer[order],
        bounds=np.searchsorted(officer[order], np.arange(m + 1)),
    )
    q, b = pb.g.shape[1], pb.u.shape[1]
    special = slice(q - tp, q)
    declared = specialist > 0
    has_specialists = declared.any(axis=0)
    guess = {"level": guess_sd_level, "specialty": guess_sd_cell, "cell": guess_sd_cell,
             "specialist_cell": guess_sd_cell}
    sds = dict(guess)
    beta_g, beta_u = np.zeros(q), np.zeros((m, b))
    for _ in range(_ROUNDS):
        prec_g = np.full(q, 1.0 / _WEAK_SD ** 2)
        prec_g[special] = 1.0 / sds["specialty"] ** 2
        prec_u = np.empty((m, b))
        prec_u[:, 0] = 1.0 / sds["level"] ** 2
        prec_u[:, 1:] = np.where(declared, 1.0 / sds["specialist_cell"] ** 2, 1.0 / sds["cell"] ** 2)
        beta_g, beta_u, var_g, var_u = _newton(pb, prec_g, prec_u, beta_g, beta_u)
        groups = {"level": (beta_u[:, 0], var_u[:, 0]),
                  "specialty": (beta_g[special][has_specialists], var_g[special][has_specialists]),
                  "cell": (beta_u[:, 1:][~declared], var_u[:, 1:][~declared]),
                  "specialist_cell": (beta_u[:, 1:][declared], var_u[:, 1:][declared])}
        new = {}
        for name, (coef, var) in groups.items():
            # MacKay: each coefficient counts as far as the data (not the prior) determine it
            determined = np.clip(1.0 - var / sds[name] ** 2, 0.0, 1.0).sum() if coef.size else 0.0
            new[name] = max(_MIN_SD, float(np.sqrt((np.sum(coef ** 2) + _PSEUDO_OFFICERS * guess[name] ** 2)
                                                   / (determined + _PSEUDO_OFFICERS))))
        done = all(abs(new[k] - sds[k]) < 2e-3 for k in sds)
        sds = new
        if done:
            break
    delta = float(beta_g[q - tp - 1])
    cells = specialist * (delta + beta_g[special])[None, :] + beta_u[:, 1:]
    return OfficerModel(
        intercept=float(beta_g[0]), no_probability=float(beta_g[1]), slope=float(beta_g[2]),
        offset_mean=offset_mean, team_logit=team_logit, token_effect=beta_g[3:3 + t].copy(),
        fallback_columns=fallback, officer_columns=np.asarray(officer_columns, dtype=int), level=beta_u[:, 0].copy(), cells=cells,
        specialist_boost=delta, spreads=sds)
