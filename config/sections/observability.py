"""Logs, metrics and error reporting."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from config.base import Section


class LoggingConfig(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["json", "text"] = Field("json", description="json lines for journald; text for a terminal")


class MetricsConfig(Section):
    enabled: bool = True
    host: str = Field("127.0.0.1", description="bind address of /healthz, /readyz and /metrics")
    port: int = Field(9464, ge=0, le=65535, description="0 picks a free port")


class SentryConfig(Section):
    dsn: SecretStr | None = Field(None, description="no DSN, no Sentry; dsn_file reads it from a file")
    environment: str = "production"
    traces_sample_rate: float = Field(0.0, ge=0, le=1)


class ObservabilityConfig(Section):
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    sentry: SentryConfig = Field(default_factory=SentryConfig)
