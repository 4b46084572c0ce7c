"""Errors of the scoring package; each message names what to fix."""
from __future__ import annotations

from config.errors import BadInputError, LeadpilotError


class ScoringInputError(BadInputError):
    """Training or evaluation data that cannot be used (missing column, one class, too few rows, ...)."""


class ModelIntegrityError(LeadpilotError):
    """A model artifact whose sha256 does not match the registry: it is not loaded (models are code)."""


class RegistryError(LeadpilotError):
    """The model registry cannot do what was asked (unknown version, nothing to roll back to, ...)."""


class UnknownModelError(RegistryError, BadInputError):
    """A model version that the registry does not hold; exit code 2."""

    exit_code = 2
