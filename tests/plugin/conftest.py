"""Fixtures for the plugin tests.

Hygiene (autouse): every test gets back the signal handlers, alarm timer, environment and
torch determinism flag it started with, so a timeout test cannot leak an alarm into the next.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import hypothesis.internal.observability  # noqa: F401  (see below)
import pytest

# Hypothesis's own pytest plugin imports Hypothesis at every session's end. pytester's
# in-process runs drop modules imported during a run, so without this import each run would
# import (and assertion-rewrite) Hypothesis afresh: seconds per run.

SAMPLE_JOBS = Path(__file__).with_name("sample_jobs.py").read_text()
# pytester runs read their own ini file, not the project's: keep warnings errors there too.
PYTESTER_INI = """
[pytest]
addopts = -p no:cacheprovider
filterwarnings =
    error
    ignore::DeprecationWarning:torch.*
"""
_SIGNALS = [
    getattr(signal, name) for name in ("SIGALRM", "SIGTERM", "SIGINT") if hasattr(signal, name)
]


@pytest.fixture(autouse=True)
def _restore_signals() -> Iterator[None]:
    handlers = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    timer = signal.getitimer(signal.ITIMER_REAL) if hasattr(signal, "ITIMER_REAL") else None
    yield
    if timer is not None:
        signal.setitimer(signal.ITIMER_REAL, *timer)
    for sig, handler in handlers.items():
        signal.signal(sig, handler)


@pytest.fixture(autouse=True)
def _restore_environ() -> Iterator[None]:
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(autouse=True)
def _restore_torch_determinism() -> Iterator[None]:
    torch = sys.modules.get("torch")  # never import it here: most tests must not pay for it
    enabled = torch.are_deterministic_algorithms_enabled() if torch is not None else None
    yield
    if torch is not None and enabled is not None:
        torch.use_deterministic_algorithms(enabled)


@pytest.fixture
def rc_pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with the sample jobs module and a strict ini file."""
    pytester.makeini(PYTESTER_INI)
    pytester.makepyfile(sample_jobs=SAMPLE_JOBS)
    return pytester
