"""Lead tokens with blanks filled in, and the officer model recovering known officer effects."""
from __future__ import annotations

import numpy as np
import pytest

from routing.leads import flag
from routing.officer_model import fit_officer_model
from routing.tokens import TOKENS, Imputer, encode, specialty_mask, token_matrix

JUMBO = 832_750


def _codes(loan: list, tier: list, ftb: list, amount: list):
    return encode({"score_band": [None] * len(loan), "loan_type": loan, "credit_tier": tier, "first_time_buyer": ftb},
                  np.array(amount, dtype=float), JUMBO)


def test_known_values_are_one_hot_and_a_big_loan_is_jumbo_whatever_its_type() -> None:
    x = token_matrix(_codes(["fha", "conventional", None], ["subprime", "prime", None], [True, False, None],
                            [200_000, 1_500_000, np.nan]))
    col = {t: i for i, t in enumerate(TOKENS)}
    assert x[0, [col["fha"], col["subprime"], col["first_time_buyer"]]].tolist() == [1, 1, 1]
    assert x[0].sum() == 3
    assert x[1, [col["conventional"], col["jumbo"], col["prime"]]].tolist() == [1, 1, 1]
    assert x[1, col["first_time_buyer"]] == 0
    assert not x[2].any()  # nothing known and no history to guess from


def test_blanks_take_the_odds_of_similar_past_leads() -> None:
    # past leads: subprime ones are FHA, prime ones conventional; 30% of FHA leads are first-time buyers
    n = 1000
    loan = ["fha"] * n + ["conventional"] * n
    tier = ["subprime"] * n + ["prime"] * n
    ftb = [i % 10 < 3 for i in range(n)] + [False] * n
    imputer = Imputer.fit(_codes(loan, tier, ftb, [300_000] * (2 * n)))
    x = token_matrix(_codes([None, None, "fha"], ["subprime", "prime", None], [None, False, None],
                            [300_000, 300_000, 300_000]), imputer)
    col = {t: i for i, t in enumerate(TOKENS)}
    assert x[0, col["fha"]] > 0.95 and x[1, col["conventional"]] > 0.95
    assert x[2, col["subprime"]] > 0.95 and x[2, col["fha"]] == 1.0
    # loan-type probabilities sum to one; the flag is the chance of "yes" given the lead's FHA/subprime
    loans = [col[t] for t in ("conventional", "fha", "va", "jumbo", "usda")]
    assert x[0, loans].sum() == pytest.approx(1.0)
    assert x[0, col["first_time_buyer"]] == pytest.approx(0.3, abs=0.03)


@pytest.mark.parametrize("value, expected", [(True, True), ("Yes", True), (" true ", True), (1, True), ("N", False),
                                             (False, False), ("0", False), (None, None), (float("nan"), None),
                                             ("maybe", None)])
def test_yes_no_values_are_read_like_a_crm_writes_them(value: object, expected: bool | None) -> None:
    assert flag(value) is expected


def test_the_officer_model_recovers_known_levels_and_the_specialist_boost() -> None:
    rng = np.random.default_rng(5)
    m, n = 20, 30_000
    tokens = ["fha", "va"]
    level = rng.normal(0, 0.3, m)
    specialist = np.zeros((m, 2))
    specialist[:6, 0] = 1  # six FHA specialists
    specialist[6:10, 1] = 1  # four VA specialists
    boost = 0.6
    officer = rng.integers(0, m, n)
    x = np.zeros((n, len(TOKENS)))
    kind = rng.choice(3, n, p=[0.3, 0.2, 0.5])  # FHA, VA, neither
    x[kind == 0, TOKENS.index("fha")] = 1
    x[kind == 1, TOKENS.index("va")] = 1
    offset = rng.normal(-1.8, 0.8, n)
    columns = np.array([TOKENS.index(t) for t in tokens])
    truth = offset + level[officer] + (x[:, columns] * specialist[officer] * boost).sum(axis=1)
    converted = (rng.random(n) < 1 / (1 + np.exp(-truth))).astype(float)
    model = fit_officer_model(officer=officer, converted=converted, probability=1 / (1 + np.exp(-offset)),
                              team_rate=float(converted.mean()), x=x, fallback_columns=np.zeros(len(TOKENS), bool),
                              officer_columns=columns,
                              specialist=specialty_mask([frozenset(t for t, s in zip(tokens, row) if s)
                                                         for row in specialist], tokens),
                              guess_sd_level=0.6, guess_sd_cell=0.2)
    assert np.corrcoef(model.level, level)[0, 1] > 0.85
    assert model.specialist_boost == pytest.approx(boost, abs=0.15)
    # what an officer adds on an FHA lead: the boost for the specialists, about nothing for the others
    fha = model.cells[:, 0]
    assert fha[:6].mean() - fha[6:].mean() == pytest.approx(boost, abs=0.15)
    assert np.abs(fha[6:]).max() < 0.2
    assert model.spreads["level"] == pytest.approx(0.3, abs=0.12)
