"""The kinds of lead officers differ on (loan type, credit tier, first-time buyer, score band) as a token matrix.

A lead's tokens are 0/1 columns; where a CRM left a value blank, the column holds the probability of each
value given what the lead does show (naive Bayes on the history's leads), so a lead without a loan type
still counts as most likely conventional rather than as "none of them".
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from routing.agents_file import SPECIALTIES

# group -> its tokens (column names); first_time_buyer is a yes/no flag with one column (yes)
GROUPS: dict[str, tuple[str, ...]] = {
    "score_band": ("high", "medium", "low"),
    "loan_type": ("conventional", "fha", "va", "jumbo", "usda"),
    "credit_tier": ("subprime", "near_prime", "prime"),
    "first_time_buyer": ("first_time_buyer",),
}
FLAG_GROUPS: frozenset[str] = frozenset({"first_time_buyer"})
TOKENS: tuple[str, ...] = tuple(t for tokens in GROUPS.values() for t in tokens)
TOKEN_GROUP: dict[str, str] = {t: g for g, tokens in GROUPS.items() for t in tokens}
# groups filled in from the others when blank (a missing score is not guessed: scoring failed)
IMPUTED: tuple[str, ...] = ("loan_type", "credit_tier", "first_time_buyer")
_JUMBO = TOKENS.index("jumbo")


@dataclass(frozen=True)
class TokenCodes:
    """Per lead and group: the index of its value in GROUPS[group] (flags: 1 yes, 0 no), -1 when unknown."""

    codes: Mapping[str, np.ndarray]  # group -> (n,) int
    big_loan: np.ndarray  # (n,) int: 1 loan amount above the jumbo limit, 0 below, -1 unknown

    def __len__(self) -> int:
        return int(self.big_loan.size)


def _code(values: Sequence[object], group: str) -> np.ndarray:
    if group in FLAG_GROUPS:
        return np.array([-1 if v is None else int(bool(v)) for v in values], dtype=int)
    index = {t: i for i, t in enumerate(GROUPS[group])}
    return np.array([index.get(v, -1) if isinstance(v, str) else -1 for v in values], dtype=int)


def encode(values: Mapping[str, Sequence[object]], loan_amount: np.ndarray, jumbo_amount: float) -> TokenCodes:
    """Codes from per-group values (score band, loan type, credit tier: names or None; the flag: bool or None)."""
    n = len(loan_amount)
    codes = {g: _code(values[g], g) if g in values else np.full(n, -1, dtype=int) for g in GROUPS}
    amount = np.asarray(loan_amount, dtype=float)
    big = np.where(np.isfinite(amount), (amount > jumbo_amount).astype(int), -1)
    return TokenCodes(codes, big)


def _sizes(group: str) -> int:
    return 2 if group in FLAG_GROUPS else len(GROUPS[group])


@dataclass(frozen=True)
class Imputer:
    """Naive Bayes tables learned from history leads: P(group value) and P(evidence value | group value)."""

    log_prior: Mapping[str, np.ndarray]  # group -> (k,)
    log_likelihood: Mapping[str, Mapping[str, np.ndarray]]  # group -> evidence -> (k, k_evidence)

    @classmethod
    def fit(cls, codes: TokenCodes) -> "Imputer":
        """Counts with one pseudo-count per cell (Laplace), so an unseen combination is unlikely, not impossible."""
        prior: dict[str, np.ndarray] = {}
        likelihood: dict[str, dict[str, np.ndarray]] = {}
        evidence = _evidence(codes)
        for g in IMPUTED:
            target = codes.codes[g]
            known = target >= 0
            if not known.any():
                continue
            k = _sizes(g)
            prior[g] = np.log((np.bincount(target[known], minlength=k) + 1.0) / (known.sum() + k))
            likelihood[g] = {}
            for name, (values, width) in evidence.items():
                if name == g:
                    continue
                both = known & (values >= 0)
                table = np.ones((k, width))
                np.add.at(table, (target[both], values[both]), 1.0)
                likelihood[g][name] = np.log(table / table.sum(axis=1, keepdims=True))
        return cls(prior, likelihood)

    def posterior(self, group: str, codes: TokenCodes, rows: np.ndarray) -> np.ndarray | None:
        """(len(rows), k) probabilities of each value of `group` for the given rows; None if never seen."""
        if group not in self.log_prior:
            return None
        log_p = np.tile(self.log_prior[group], (rows.size, 1))
        for name, (values, _) in _evidence(codes).items():
            table = self.log_likelihood[group].get(name)
            if table is None:
                continue
            v = values[rows]
            seen = v >= 0
            log_p[seen] += table[:, v[seen]].T
        log_p -= log_p.max(axis=1, keepdims=True)
        p = np.exp(log_p)
        return p / p.sum(axis=1, keepdims=True)


def _evidence(codes: TokenCodes) -> dict[str, tuple[np.ndarray, int]]:
    out = {g: (codes.codes[g], _sizes(g)) for g in IMPUTED}
    out["big_loan"] = (codes.big_loan, 2)
    return out


def token_matrix(codes: TokenCodes, imputer: Imputer | None = None) -> np.ndarray:
    """(n, len(TOKENS)) token values: 1/0 where known, the imputed probability where blank (0 without history)."""
    n = len(codes)
    x = np.zeros((n, len(TOKENS)))
    start = 0
    for g, tokens in GROUPS.items():
        code = codes.codes[g]
        known = np.flatnonzero(code >= 0)
        if g in FLAG_GROUPS:
            x[known, start] = code[known]
        else:
            x[known, start + code[known]] = 1.0
        missing = np.flatnonzero(code < 0)
        post = imputer.posterior(g, codes, missing) if imputer is not None and g in IMPUTED and missing.size else None
        if post is not None:
            x[missing, start:start + len(tokens)] = post[:, 1:] if g in FLAG_GROUPS else post
        start += len(tokens)
    # a loan above the conforming limit is jumbo whatever type the CRM gave it
    x[codes.big_loan == 1, _JUMBO] = 1.0
    return x


def specialty_mask(specialties: Sequence[frozenset[str]], tokens: Sequence[str]) -> np.ndarray:
    """(m, len(tokens)) 1 where an officer declares the token a specialty."""
    return np.array([[t in s and t in SPECIALTIES for t in tokens] for s in specialties], dtype=float).reshape(
        len(specialties), len(tokens))
