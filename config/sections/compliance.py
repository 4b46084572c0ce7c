"""Compliance rules: TCPA consent, Do-Not-Call, licensing, data quality, retention, fairness."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

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


class DataQualityConfig(Section):
    contact: float = Field(1.0, ge=0, le=1, description="share of contact fields that must be present")
    financial: float = Field(0.8, ge=0, le=1)
    behaviour: float = Field(0.6, ge=0, le=1)
    property: float = Field(0.7, ge=0, le=1)


class RetentionConfig(Section):
    days: int = Field(730, ge=30, description="leads older than this are anonymised and raw payloads purged")


class FairnessConfig(Section):
    max_demographic_parity_difference: float = Field(0.1, ge=0, le=1)
    max_equalized_odds_difference: float = Field(0.1, ge=0, le=1)
    max_calibration_gap: float = Field(0.05, ge=0, le=1)
    min_group_size: int = Field(30, ge=1, description="groups smaller than this are reported, not judged")


class ComplianceConfig(Section):
    """All checks a lead passes before any officer may call it."""

    rule_set_version: str = Field("2026.11", description="recorded with every decision for audits")
    consent: ConsentConfig = Field(default_factory=ConsentConfig)
    dnc: DncConfig = Field(default_factory=DncConfig)
    licenses_file: str | None = Field(None, description="agent licences (YAML or CSV: agent_id, state, license_id, expires)")
    data_quality: DataQualityConfig = Field(default_factory=DataQualityConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
