"""Commands that need more than configuration (demo, view) register here, so cli.py stays small."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the demo and view commands when they are available."""
