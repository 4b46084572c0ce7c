"""Errors the API answers with a status code, and the JSON body every error answer has."""
from __future__ import annotations

from typing import Any

from config.errors import LeadpilotError


class ApiError(LeadpilotError):
    """An answer other than success, with the HTTP status and a message the caller can act on."""

    def __init__(self, status: int, message: str, *, problems: list[dict[str, str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.problems = problems or []
        self.headers = headers or {}


class ApiServerError(LeadpilotError):
    """The API cannot listen where the configuration says."""


def error_body(message: str, request_id: str, problems: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """{"error": ..., "request_id": ..., "problems": [{"field", "message"}]}: the shape of every error."""
    return {"error": message, "request_id": request_id, "problems": problems or []}
