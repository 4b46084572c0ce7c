"""Where the daemon keeps its state: SQLite by default, PostgreSQL for several instances."""
from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from config.base import Section


class DatabaseConfig(Section):
    """The store. `url` wins over `path`; a relative `path` lives under the root `state_dir`."""

    url: str | None = Field(
        None, description="SQLAlchemy URL, e.g. postgresql+psycopg://leadpilot@127.0.0.1:5432/leadpilot"
    )
    password: SecretStr | None = Field(
        None, description="PostgreSQL password, kept out of the URL; password_file reads it from a credential file")
    path: str = Field("leadpilot.db", description="SQLite file, relative to state_dir unless absolute")
    busy_timeout_ms: int = Field(5000, ge=0, description="SQLite: wait this long for a lock before failing")
    pool_size: int = Field(5, ge=1, le=100, description="PostgreSQL connection pool size")
    connect_timeout_s: int = Field(
        10, ge=1, le=300, description="PostgreSQL: give up connecting after this many seconds"
    )
    echo: bool = Field(False, description="log every SQL statement (debugging only)")

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value
