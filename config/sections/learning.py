"""The learning loop: outcome maturity, retraining triggers, champion/challenger and ROI assumptions."""
from __future__ import annotations

from pydantic import Field, model_validator

from config.base import Section


class RetrainConfig(Section):
    auc_ratio: float = Field(0.95, gt=0, le=1, description="retrain when live AUC < this x validation AUC")
    psi_threshold: float = Field(0.1, gt=0, description="retrain when a feature's or the score's PSI passes this")
    min_new_labels: int = Field(1000, ge=1, description="retrain when this many new matured labels exist")
    min_auc_leads: int = Field(
        200, ge=2, description="the AUC rule is checked only on at least this many settled leads the model scored")


class ABTestConfig(Section):
    name: str = Field("routing-2026", description="part of the stable hash; changing it reshuffles arms")
    enabled: bool = Field(False, description="record an arm per lead and route the control arm round robin")
    split: dict[str, float] = Field(
        default_factory=lambda: {"champion": 0.9, "control": 0.1},
        description="arm -> share of traffic; 'control' is routed round robin without AI",
    )
    min_sample_per_arm: int = Field(400, ge=1, description="no verdict before each arm has this many matured leads")

    @model_validator(mode="after")
    def _split_sums_to_one(self) -> "ABTestConfig":
        if any(v < 0 for v in self.split.values()) or abs(sum(self.split.values()) - 1) > 1e-6:
            raise ValueError("split: shares must be non-negative and sum to 1")
        return self


class RoiConfig(Section):
    """The seed's example (7.1 and 7.2) as defaults."""

    leads_per_month: int = Field(2000, ge=0, description="leads bought per month")
    baseline_conversion: float = Field(0.12, ge=0, le=1, description="conversion rate without leadpilot")
    improved_conversion: float = Field(0.15, ge=0, le=1, description="conversion rate with leadpilot")
    revenue_per_conversion: float = Field(3500.0, ge=0, description="revenue of one closed loan, in dollars")
    cost_per_lead: float = Field(85.0, ge=0, description="price paid per lead, in dollars")
    cost_per_lead_reduction: float = Field(
        0.20, ge=0, le=1, description="share of lead spend saved (fewer poor leads bought)")
    productivity_savings_per_month: float = Field(18000.0, ge=0, description="officer time saved, in dollars a month")
    initial_cost: float = Field(195000.0, ge=0, description="one-off cost to build and deploy, in dollars")
    annual_running_cost: float = Field(138000.0, ge=0, description="cost to run per year, in dollars")
    months: int = Field(24, ge=1, description="horizon of the ROI")


class LearningConfig(Section):
    conversion_window_days: int = Field(90, ge=1, description="a lead's label is final after this many days")
    drift_window_days: int = Field(
        30, ge=1, description="leads of this many recent days are compared with the model's training leads (PSI)")
    retrain: RetrainConfig = Field(default_factory=RetrainConfig)
    ab_test: ABTestConfig = Field(default_factory=ABTestConfig)
    roi: RoiConfig = Field(default_factory=RoiConfig)
