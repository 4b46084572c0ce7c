"""The root of leadpilot's YAML configuration."""
from __future__ import annotations

import os

from pydantic import Field, PrivateAttr, model_validator

from config.base import Section
from config.sections.api import ApiConfig
from config.sections.compliance import ComplianceConfig
from config.sections.connectors import ConnectorConfig
from config.sections.database import DatabaseConfig
from config.sections.learning import LearningConfig
from config.sections.observability import ObservabilityConfig
from config.sections.routing import RoutingConfig
from config.sections.schedules import SchedulesConfig
from config.sections.scoring import ScoringConfig


def _default_state_dir() -> str:
    # systemd's StateDirectory= sets STATE_DIRECTORY; a checkout keeps its state in ./var.
    return os.environ.get("STATE_DIRECTORY", "var")


class LeadpilotConfig(Section):
    """Everything an admin configures; every key is documented in config/leadpilot.example.yaml."""

    _base_dir: str = PrivateAttr(default_factory=os.getcwd)

    state_dir: str = Field(default_factory=_default_state_dir, description="models, DNC data and SQLite live here")
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    connectors: list[ConnectorConfig] = Field(default_factory=list)
    compliance: ComplianceConfig = Field(default_factory=ComplianceConfig)
    scoring: ScoringConfig = Field(default_factory=ScoringConfig)
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    schedules: SchedulesConfig = Field(default_factory=SchedulesConfig)
    learning: LearningConfig = Field(default_factory=LearningConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)

    @model_validator(mode="after")
    def _unique_connector_names(self) -> "LeadpilotConfig":
        names = [c.name for c in self.connectors]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"connectors: duplicate name(s) {', '.join(dupes)}")
        return self

    def state_path(self, path: str) -> str:
        """A path for state the daemon writes (store, models, DNC registry), under state_dir (relative to the working directory)."""
        return path if os.path.isabs(path) else os.path.join(os.path.abspath(self.state_dir), path)

    def input_path(self, path: str) -> str:
        """A path the admin gives (agents file, licences), relative to the config file's folder."""
        return path if os.path.isabs(path) else os.path.normpath(os.path.join(self._base_dir, path))
