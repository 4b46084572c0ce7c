"""The on-demand scoring API (the seed's Appendix A.3)."""
from __future__ import annotations

from pydantic import Field, SecretStr

from config.base import Section


class ApiConfig(Section):
    enabled: bool = False
    host: str = Field("127.0.0.1", description="bind address; anything else exposes the API to the network")
    port: int = Field(8080, ge=0, le=65535)
    tokens: list[SecretStr] = Field(default_factory=list, description="accepted bearer tokens; use ${ENV} or tokens_file")
    max_batch: int = Field(100, ge=1, le=10000)
    max_body_bytes: int = Field(1_000_000, ge=1024)
