"""pytest plugin: ``pytest --resumecheck``. Thin: imports no torch until a check runs."""

from __future__ import annotations

import pytest

ENABLE_HELP = "Run resume checks (tests marked resumecheck or using the resumecheck fixture)"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("resumecheck", "kill-and-resume checks for training jobs")
    group.addoption("--resumecheck", action="store_true", default=False, help=ENABLE_HELP)
