"""Synthetic leads, loan officers and outcomes with a known, documented ground truth.

    from daemon.synthetic import generate
    data = generate(n_leads=10_000, n_agents=20, seed=7, now=datetime(2026, 11, 1, tzinfo=UTC))
    data.truth.conversion_probability(data.leads, ["LO-001", "LO-002"])   # (n_leads, 2)
    data.write("out/")
"""
from daemon.synthetic.dataset import SyntheticData
from daemon.synthetic.generator import DEFAULT_NOW, auc, generate
from daemon.synthetic.records import SyntheticAgent, SyntheticLicense
from daemon.synthetic.truth import TERMS, TRUTH_INPUTS, GroundTruth

__all__ = ["DEFAULT_NOW", "TERMS", "TRUTH_INPUTS", "GroundTruth", "SyntheticAgent", "SyntheticData",
           "SyntheticLicense", "auc", "generate"]
