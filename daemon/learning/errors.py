"""Errors of the learning loop; each message says what an admin can do about it."""
from __future__ import annotations

from config.errors import BadInputError, LeadpilotError


class LearningError(LeadpilotError):
    """A learning step could not run (exit code 1)."""


class LearningInputError(BadInputError):
    """The data or an option handed to a learning step cannot be used (exit code 2)."""
