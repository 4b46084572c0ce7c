"""Exception types shared by every package; each message tells an admin what to do next."""
from __future__ import annotations

from dataclasses import dataclass


class LeadpilotError(Exception):
    """Base of leadpilot's own errors. `exit_code` follows the CLI contract (1 failure, 2 bad input)."""

    exit_code: int = 1


class BadInputError(LeadpilotError):
    """The user gave a file, flag or value that cannot be used; exit code 2."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a configuration file, located by its YAML path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConfigError(BadInputError):
    """A configuration file failed to load or validate; carries every problem found, not just the first."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"{source}: {len(problems)} problem(s)\n{lines}")
