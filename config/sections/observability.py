"""Logs, metrics and error reporting."""
from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from config.base import Section

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

_LOGGER_NAME = re.compile(r"^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$")


class LoggingConfig(Section):
    level: LogLevel = Field("INFO", description="the least severe level written")
    format: Literal["json", "text"] = Field("json", description="json lines for journald; text for a terminal")
    levels: dict[str, LogLevel] = Field(
        default_factory=dict,
        description="per-logger levels, e.g. {connectors.salesforce: DEBUG}; urllib3, apscheduler and "
                    "other chatty libraries default to WARNING unless level is DEBUG",
    )

    @field_validator("levels")
    @classmethod
    def _logger_names(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name in value if not _LOGGER_NAME.match(name)]
        if bad:
            raise ValueError(f"not a logger name: {', '.join(map(repr, bad))} (dotted names like connectors.hubspot)")
        return value


class MetricsConfig(Section):
    enabled: bool = True
    host: str = Field("127.0.0.1", description="bind address of /healthz, /readyz and /metrics")
    port: int = Field(9464, ge=0, le=65535, description="0 picks a free port")


class SentryConfig(Section):
    dsn: SecretStr | None = Field(None, description="no DSN, no Sentry; dsn_file reads it from a file")
    environment: str = Field("production", description="Sentry's environment tag")
    sample_rate: float = Field(1.0, ge=0, le=1, description="share of error events sent")
    traces_sample_rate: float = Field(0.0, ge=0, le=1, description="share of transactions traced; 0 sends none")
    include_local_variables: bool = Field(
        False, description="send stack-frame variables with errors; they may hold lead data (masked, but "
                           "names in free text cannot be recognised), so off by default",
    )

    @field_validator("dsn")
    @classmethod
    def _dsn_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # `dsn: ${SENTRY_DSN:-}` with the variable unset, or an empty credential file
        text = value.get_secret_value().strip()
        parts = urlsplit(text)
        # the message never repeats the DSN: it is a secret
        if parts.scheme not in {"http", "https"} or not parts.username or not parts.hostname \
                or not parts.path.rstrip("/").rpartition("/")[2].isdigit():
            raise ValueError("not a Sentry DSN; copy it from Sentry's project settings "
                             "(https://<public key>@<host>/<project id>)")
        return SecretStr(text)

    def enabled(self) -> bool:
        """True when a DSN is configured."""
        return self.dsn is not None and bool(self.dsn.get_secret_value())


class ObservabilityConfig(Section):
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    sentry: SentryConfig = Field(default_factory=SentryConfig)
