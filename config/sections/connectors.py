"""CRM connectors: a list, each naming its plugin (entry point in `leadpilot.connectors`)."""
from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from config.base import Section
from config.canonical import CANONICAL_FIELDS


class ConnectorConfig(Section):
    """One CRM connection. `settings` is validated by the plugin's own config model."""

    name: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
                      description="unique id used for watermarks, metrics and logs")
    plugin: str = Field(..., description="connector plugin: salesforce | hubspot | a third-party entry point")
    enabled: bool = True
    settings: dict[str, Any] = Field(default_factory=dict, description="plugin settings (auth, host, batch sizes)")
    field_mapping: dict[str, str] = Field(
        default_factory=dict, description="CRM field -> canonical lead field; overrides the plugin's defaults"
    )
    poll_batch_size: int = Field(2000, ge=1, le=10000, description="leads fetched per cycle at most")

    @field_validator("field_mapping")
    @classmethod
    def _canonical_targets(cls, mapping: dict[str, str]) -> dict[str, str]:
        unknown = sorted({v for v in mapping.values() if v not in CANONICAL_FIELDS})
        if unknown:
            raise ValueError(f"maps to unknown canonical field(s) {', '.join(unknown)}")
        return mapping
