"""Compliance rules: TCPA consent, Do-Not-Call, licensing, data quality, retention, fairness."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from config.base import Section

Channel = Literal["call", "text", "email"]


class ConsentConfig(Section):
    max_age_days: int = Field(30, ge=1, le=3650, description="TCPA consent older than this no longer counts")
    require_ip: bool = True
    require_text_or_certificate: bool = Field(True, description="consent text or a TrustedForm/Jornaya id")
    future_tolerance_minutes: int = Field(5, ge=0, description="clock skew allowed before a timestamp is 'in the future'")


class DncConfig(Section):
    drop_dir: str = Field("dnc/drop", description="new federal area-code files are dropped here (full and change files)")
    registry_dir: str = Field("dnc/registry", description="validated, memory-mapped registry; relative to state_dir")
    state_lists: list[str] = Field(default_factory=list, description="files of state DNC numbers, one per line")
    internal_suppression_file: str | None = Field(None, description="extra numbers never to call")
    min_numbers: int = Field(0, ge=0, description="a new registry smaller than this is refused as truncated")
    max_shrink: float = Field(0.2, ge=0, le=1, description="a new federal list this much smaller (a share) than the live one is refused")
    max_age_days: int = Field(31, ge=0, description="federal data older than this blocks calls (FTC safe harbour: 31); 0 = no limit")
    require_coverage: bool = Field(True, description="a phone whose area code has no federal full file loaded cannot be called")
    keep_versions: int = Field(3, ge=1, le=100, description="registry versions kept on disk (the live one included)")


class DataQualityConfig(Section):
    contact: float = Field(1.0, ge=0, le=1, description="share of contact fields that must be present")
    financial: float = Field(0.8, ge=0, le=1)
    behaviour: float = Field(0.6, ge=0, le=1)
    property: float = Field(0.7, ge=0, le=1)


class RetentionConfig(Section):
    days: int = Field(730, ge=30, description="leads older than this are anonymised and raw payloads purged "
                      "(TCPA claims may be brought for 4 years: keep consent proof elsewhere if days < 1461)")
    id_salt: SecretStr | None = Field(None, description="secret key for hashing ids of anonymised leads; "
                                      "the retention job refuses to run without it. Or id_salt_file")
    zip_code: Literal["zip3", "drop"] = Field("zip3", description="anonymised zip code: its first 3 digits, or none")


class FairnessConfig(Section):
    max_demographic_parity_difference: float = Field(0.1, ge=0, le=1)
    max_equalized_odds_difference: float = Field(0.1, ge=0, le=1)
    max_calibration_gap: float = Field(0.05, ge=0, le=1)
    min_group_size: int = Field(
        30, ge=1, description="a rate is judged only for groups with this many rows behind it (positives for TPR, "
                              "negatives for FPR); smaller ones are reported, not judged")
    significance: float = Field(
        0.05, gt=0, lt=1, description="a gap over its limit blocks only when this unlikely by chance (two-proportion "
                                      "z-test; binomial for calibration); otherwise it is reported")
    calibration_bins: int = Field(10, ge=2, le=100, description="equal-width probability bins for per-group calibration error")
    proxy_max_auc: float = Field(0.7, ge=0.5, le=1, description="a feature predicting a protected attribute with this AUC or more is flagged as a proxy")


class ComplianceConfig(Section):
    """All checks a lead passes before any officer may call it."""

    rule_set_version: str = Field("2026.11", description="recorded with every decision for audits")
    consent: ConsentConfig = Field(default_factory=ConsentConfig)
    dnc: DncConfig = Field(default_factory=DncConfig)
    licenses_file: str | None = Field(None, description="agent licences (YAML or CSV: agent_id, state, license_id, expires)")
    data_quality: DataQualityConfig = Field(default_factory=DataQualityConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
