"""Validation of the options every entry point shares (API, CLI, pytest), so a bad value
means the same everywhere: a :class:`~resumecheck.errors.ConfigError` naming the input and the
fix, never a traceback or a silently different behaviour."""

from __future__ import annotations

import math
import os
from pathlib import Path

from resumecheck.errors import ConfigError

# How a run can be killed (DESIGN.md, kill modes). Here, torch-free, so every entry point
# validates a mode before anything heavy is imported or started.
MODES = ("exception", "sigkill", "sigterm", "midwrite")


def seconds(value: object, name: str, none_means: str = "no limit") -> float | None:
    """A duration in seconds: a number > 0 (``inf`` allowed), or ``None`` for ``none_means``.

    ``0``, negative numbers, NaN, booleans and non-numbers are refused: they meant different
    things in different places (off, now, forever).
    """
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    if number is None or math.isnan(number) or number <= 0:
        raise ConfigError(
            f"{name}={value!r}: expected a number of seconds > 0 "
            f"(e.g. {name}=60; None or inf for {none_means})"
        )
    return number


def artifacts_root(value: str | os.PathLike[str] | None, name: str) -> Path | None:
    """The directory to keep artifacts under: created if missing; an error if it is a file
    or cannot be created."""
    if value is None:
        return None
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{name}={str(path)!r} is a file; give a directory (it may not exist)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"{name}={str(path)!r}: cannot create it ({exc.strerror}); give a writable directory"
        ) from None
    return path
