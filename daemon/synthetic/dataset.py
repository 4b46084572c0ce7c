"""`SyntheticData`: the leads, officers, outcomes and ground truth of one generated data set."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from daemon.synthetic.messiness import MessReport
from daemon.synthetic.records import SyntheticAgent
from daemon.synthetic.truth import GroundTruth

GENERATOR_VERSION = "1"


@dataclass
class SyntheticData:
    """One generated data set; `write(out_dir)` saves it as files."""

    leads: pd.DataFrame          # canonical columns (messy) + segment, true_probability, race, sex, age
    agents: list[SyntheticAgent]
    outcomes: pd.DataFrame       # lead_id, agent_id, assigned_at, status, converted, converted_at, ...
    truth: GroundTruth
    seed: int
    now: datetime
    messy: bool = True
    mess: MessReport = field(default_factory=MessReport)
    summary: dict[str, float | int | None] = field(default_factory=dict)

    @property
    def clean_leads(self) -> pd.DataFrame:
        """The leads before messiness (typed values, real state codes) plus `lead_age_days`."""
        return self.truth.clean_leads

    def ground_truth_document(self) -> dict[str, object]:
        """Everything ground_truth.json holds: arguments, formula, officer parameters, summary, mess."""
        return {
            "generator": f"leadpilot.synthetic v{GENERATOR_VERSION}",
            "seed": self.seed,
            "now": self.now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "messy": self.messy,
            "model": self.truth.describe(),
            "summary": self.summary,
            "messiness": {"missing_rate": self.mess.missing_rate, "counts": self.mess.counts},
        }

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write leads.csv, agents.yaml, outcomes.csv, ground_truth.json and README.md into out_dir."""
        from daemon.synthetic.writer import write_all

        return write_all(self, Path(out_dir))
