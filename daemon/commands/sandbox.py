"""`leadpilot sandbox serve`: the local sandbox CRMs."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds this module's subcommands."""
