"""Shared pieces of the script scenarios: where the scripts are, how they are run."""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def python(script: str, *args: str) -> list[str]:
    """``python scripts/<script> ARGS``: run in a fork-server child, as python would."""
    return [sys.executable, str(SCRIPTS / script), *args]
