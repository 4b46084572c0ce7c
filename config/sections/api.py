"""The on-demand scoring API (the seed's Appendix A.3), served by the daemon under /api/v1."""
from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from config.base import Section

MIN_TOKEN_LENGTH = 16


class ApiConfig(Section):
    enabled: bool = Field(False, description="serve the API from `leadpilot run`")
    host: str = Field("127.0.0.1", description="bind address; anything else exposes the API to the network")
    port: int = Field(8080, ge=0, le=65535, description="0 picks a free port")
    tokens: list[SecretStr] = Field(default_factory=list,
                                    description="accepted bearer tokens; use ${ENV} or tokens_file (one per line)")
    max_batch: int = Field(100, ge=1, le=10000, description="leads per /score/batch call")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="larger request bodies get 413")
    batch_window_ms: float = Field(
        0.0, ge=0, le=1000,
        description="how long the scorer waits for more concurrent requests to decide them as one batch; "
                    "0 takes only those already waiting (they still batch under load)")
    max_pending_leads: int = Field(5000, ge=1, description="leads waiting to be scored before new calls get 503")
    request_timeout_s: float = Field(30.0, gt=0, le=600,
                                     description="a call still waiting for its decision after this gets 503")
    switch_interval_ms: float = Field(
        1.0, gt=0, le=100,
        description="how often Python's threads take turns (sys.setswitchinterval) while the API serves; "
                    "Python's default of 5 ms added up to 5 ms at every hand-over between the HTTP thread "
                    "and the deciding thread under load")

    @model_validator(mode="after")
    def _tokens_when_enabled(self) -> "ApiConfig":
        if not self.enabled:
            return self
        if not self.tokens:
            raise ValueError("enabled is true but no token is set: every call would get 401. Set "
                             "tokens (e.g. [\"${LEADPILOT_API_TOKEN}\"]) or tokens_file")
        short = sum(1 for t in self.tokens if len(t.get_secret_value()) < MIN_TOKEN_LENGTH)
        if short:
            raise ValueError(f"{short} token(s) shorter than {MIN_TOKEN_LENGTH} characters; "
                             "make them long and random, e.g. `openssl rand -hex 32`")
        return self
