"""The per-check timeout: a SIGALRM in the main thread, cleaned up after. No torch."""

from __future__ import annotations

import contextlib
import signal
import time

import pytest

from resumecheck.pytest_plugin.watchdog import CheckTimedOut, Watchdog

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="needs SIGALRM (POSIX)")


def test_interrupts_a_sleep_and_restores_the_handler() -> None:
    before = signal.getsignal(signal.SIGALRM)
    dog = Watchdog(0.2)
    started = time.monotonic()
    with pytest.raises(CheckTimedOut), dog:
        time.sleep(30)
    assert time.monotonic() - started < 5
    assert dog.fired
    assert "time.sleep(30)" in dog.stack
    assert (
        "resumecheck/pytest_plugin/watchdog.py" not in dog.stack
    )  # only the frames outside resumecheck
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_swallowed_alarm_is_raised_again_by_check() -> None:
    with Watchdog(0.1) as dog, contextlib.suppress(CheckTimedOut):  # a job that swallows it
        time.sleep(30)
    assert dog.fired
    with pytest.raises(CheckTimedOut):
        dog.check()


def test_a_check_in_time_leaves_no_alarm_behind() -> None:
    with Watchdog(5) as dog:
        time.sleep(0.01)
    dog.check()
    assert not dog.fired
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_zero_disables_it() -> None:
    with Watchdog(0):
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_an_outer_alarm_gets_back_what_is_left_of_it() -> None:
    # e.g. pytest-timeout's signal method, armed around the whole test
    outer: list[int] = []
    signal.signal(signal.SIGALRM, lambda signum, frame: outer.append(signum))
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    with Watchdog(10):
        time.sleep(0.2)
    left, _ = signal.getitimer(signal.ITIMER_REAL)
    signal.setitimer(signal.ITIMER_REAL, 0)
    assert 1.0 < left < 1.85
    assert not outer
