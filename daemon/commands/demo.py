"""`leadpilot demo`: the main job on embedded defaults."""
from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Filled in by the store work (issue 2)."""
