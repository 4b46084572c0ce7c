"""Scoring fixtures: small generated leads, small models (fast), one shared trained model."""
from __future__ import annotations

import pandas as pd
import pytest

from scoring.train import TrainingResult, train
from scoring_synth import make_leads, small_settings


@pytest.fixture(scope="session")
def leads() -> pd.DataFrame:
    """2,500 messy canonical leads over 18 months with known true probabilities (and a race column)."""
    return make_leads(2500, seed=11)


@pytest.fixture(scope="session")
def trained(leads: pd.DataFrame) -> TrainingResult:
    """One model trained on `leads` with the default feature set and small members."""
    return train(leads, small_settings())


@pytest.fixture(scope="session")
def fresh_leads() -> pd.DataFrame:
    """Leads drawn the same way but never seen in training (another seed), labels dropped."""
    return make_leads(3000, seed=99).drop(columns=["converted"])
