"""The store's error type: the database cannot be reached, opened or upgraded."""
from __future__ import annotations

from config.errors import LeadpilotError


class StoreError(LeadpilotError):
    """The database is unreachable, locked, or at a schema this version cannot use; exit code 1.

    The message names the database (password masked) and what the admin should do next.
    """
