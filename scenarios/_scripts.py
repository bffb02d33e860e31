"""Shared pieces of the script scenarios: where the scripts are, how they are run."""

from __future__ import annotations

import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def python(script: str, *args: str) -> list[str]:
    """``python scripts/<script> ARGS``: run in a fork-server child, as python would."""
    return [sys.executable, str(SCRIPTS / script), *args]


def torchrun(script: str, *args: str, ranks: int = 2) -> list[str]:
    """``torchrun --standalone --nproc_per_node=N scripts/<script> ARGS``: every rank observed."""
    launcher = Path(sys.executable).with_name("torchrun")
    return [
        str(launcher),
        "--standalone",
        f"--nproc_per_node={ranks}",
        str(SCRIPTS / script),
        *args,
    ]
