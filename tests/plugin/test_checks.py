"""End to end: real checks in pytest subprocesses (they import torch), with the sample jobs."""

from __future__ import annotations

import re
import shlex
import time

import pytest

from resumecheck.engine.report import Kind
from resumecheck.pytest_plugin.checker import CRASH_HEADLINE, TIMEOUT_ADVICE
from resumecheck.pytest_plugin.plugin import SKIP_REASON

SUBPROCESS_TIMEOUT = 120

VERDICTS = """
import pytest
from sample_jobs import make_job

def test_correct(resumecheck):
    report = resumecheck.check(make_job())
    assert report.passed and report.plans

def test_truncated(resumecheck):
    resumecheck.check(make_job(truncate_from=4))

def test_rng(resumecheck):
    resumecheck.check(make_job(save_rng=False, dropout=0.5))

def test_not_restored(resumecheck):
    resumecheck.check(make_job(restore=False))

@pytest.mark.resumecheck(kills=25, max_kills=3)
def test_second_resume(resumecheck):
    resumecheck.check(make_job(forget_optimizer_on_second_resume=True))
"""


def test_off_skips_and_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys
        import pytest

        def test_fixture(resumecheck):
            raise AssertionError("must not run")

        @pytest.mark.resumecheck(kills=3)
        def test_marker():
            raise AssertionError("must not run")

        def test_zz_nothing_heavy_was_imported():
            assert "resumecheck.pytest_plugin.plugin" in sys.modules
            heavy = {"torch", "lightning", "pytorch_lightning", "hypothesis", "libcst"}
            assert not heavy & set(sys.modules)
        """
    )
    result = pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines([f"SKIPPED *{SKIP_REASON}"])
    assert "resumecheck:" not in result.stdout.str()


def test_verdicts_hints_and_the_reproduction_round_trip(rc_pytester: pytest.Pytester) -> None:
    rc_pytester.makepyfile(test_jobs=VERDICTS)
    result = rc_pytester.runpytest_subprocess(
        "--resumecheck", "--resumecheck-seed=1", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(passed=1, failed=4)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "resumecheck: --resumecheck-seed=1 --resumecheck-kills=5 *",
            # the shrunk plan: the first checkpoint that is cut short is step 4's
            "E *ResumeDivergence: resume diverged: killed after step 4, resumed from ckpt.pt "
            "(step 4)",
            "E *UNLOADABLE_CHECKPOINT*",
            f"E *hint: {Kind.UNLOADABLE_CHECKPOINT.hint[:50]}*",
            "E *reproduce: pytest 'test_jobs.py::test_truncated' --resumecheck "
            "--resumecheck-kill-steps=4",
            "*- resumecheck -*",
            "reproduce: pytest 'test_jobs.py::test_truncated' --resumecheck "
            "--resumecheck-kill-steps=4",
            "kill plans: drawn with --resumecheck-seed=1",
            "artifacts: *resumecheck-test_truncated*",
        ]
    )
    for kind in (Kind.RNG, Kind.NOT_RESTORED, Kind.OPTIMIZER):
        assert f"  {kind.name} at step " in out
        assert f"hint: {kind.hint}" in out
    # Only a second resume loses the optimizer: the plan shrinks to two kills, no fewer.
    assert "resume diverged: kill plan [1, 2]: killed after step 2" in out

    for test in ("test_truncated", "test_second_resume"):
        command = _reproduce_command(out, test)
        assert command[:3] == ["pytest", f"test_jobs.py::{test}", "--resumecheck"]
        again = rc_pytester.runpytest_subprocess(*command[1:], timeout=SUBPROCESS_TIMEOUT)
        again.assert_outcomes(failed=1)
        replayed = again.stdout.str()
        assert _headline(replayed) == _headline(out, test)
        assert (
            "kill plans: " + command[3].split("=")[1] + " (from --resumecheck-kill-steps)"
            in replayed
        )


def _reproduce_command(out: str, test: str) -> list[str]:
    match = re.search(rf"^reproduce: (pytest 'test_jobs.py::{test}' .*)$", out, re.M)
    assert match, f"no reproduce line for {test}"
    return shlex.split(match.group(1))


def _headline(out: str, test: str = "") -> str:
    section = out[out.index(f"_ {test}") :] if test else out
    match = re.search(r"ResumeDivergence: (resume diverged: .*)$", section, re.M)
    assert match
    return match.group(1)


def test_a_crashing_and_a_hanging_job_are_failed_tests(rc_pytester: pytest.Pytester) -> None:
    rc_pytester.makepyfile(
        test_broken_jobs="""
        import pytest
        from sample_jobs import make_job

        @pytest.mark.resumecheck(timeout=0)  # no limit: it pays for importing torch
        def test_a_correct_job_first(resumecheck):
            resumecheck.check(make_job(), kills=1)

        def test_crash(resumecheck):
            resumecheck.check(make_job(crash=True))

        def test_hang(resumecheck):
            resumecheck.check(make_job(hang=True))
        """
    )
    started = time.monotonic()
    result = rc_pytester.runpytest_subprocess(
        "--resumecheck", "--resumecheck-timeout=2", timeout=SUBPROCESS_TIMEOUT
    )
    assert time.monotonic() - started < 60
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(
        [
            f"E * {CRASH_HEADLINE}",
            "E * the uninterrupted run of sample failed before any kill*",
            "E *RuntimeError: CUDA out of memory (pretend)",
            "E *artifacts kept: *resumecheck-test_crash*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E * resumecheck: the check timed out after 2 s (--resumecheck-timeout)",
            f"E *stopped during the uninterrupted run; {TIMEOUT_ADVICE[:40]}*",
            "E *where it was:",
            "E *sample_jobs.py*, in train",
            "E *time.sleep(1000)",
        ]
    )
    assert "/resumecheck/engine/harness.py" not in result.stdout.str()  # no harness frames


@pytest.mark.slow
def test_under_xdist_each_worker_runs_its_checks(rc_pytester: pytest.Pytester) -> None:
    rc_pytester.makepyfile(test_jobs=VERDICTS)
    result = rc_pytester.runpytest_subprocess(
        "-p", "xdist", "-n", "2", "--resumecheck", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(passed=1, failed=4)
    result.stdout.fnmatch_lines(
        [
            "resumecheck: --resumecheck-seed=* --resumecheck-kills=5 *",
            "created: 2/2 workers",
            "*reproduce: pytest 'test_jobs.py::test_truncated' --resumecheck "
            "--resumecheck-kill-steps=4",
        ]
    )
    out = result.stdout.str()
    seed = re.search(r"^resumecheck: --resumecheck-seed=(\d+) ", out, re.M)
    assert seed
    # Every worker drew with the controller's seed, so the header line reproduces them all.
    assert out.count(f"kill plans: drawn with --resumecheck-seed={seed.group(1)}\n") == 4
    assert "resume diverged: kill plan [1, 2]: killed after step 2" in out


@pytest.mark.slow
def test_process_mode_reproduces_with_its_mode(rc_pytester: pytest.Pytester) -> None:
    rc_pytester.makepyfile(
        test_jobs="""
        from sample_jobs import make_job

        def test_correct(resumecheck):
            resumecheck.check(make_job(), kills=2)

        def test_truncated(resumecheck):
            resumecheck.check(make_job(truncate_from=4), kills=3, max_kills=1)
        """
    )
    result = rc_pytester.runpytest_subprocess(
        "--resumecheck", "--resumecheck-mode=sigkill", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "E *UNLOADABLE_CHECKPOINT*",
            "E *killed run: by signal SIGKILL",
            "reproduce: pytest 'test_jobs.py::test_truncated' --resumecheck "
            "--resumecheck-kill-steps=* --resumecheck-mode=sigkill",
        ]
    )


PROGRESS_JOBS = """
from sample_jobs import make_job

def test_correct(resumecheck):
    resumecheck.check(make_job())

def test_rng(resumecheck):
    resumecheck.check(make_job(save_rng=False, dropout=0.5))
"""


def test_verbose_shows_runs_and_plans_and_the_failure_carries_the_summary(
    rc_pytester: pytest.Pytester,
) -> None:
    rc_pytester.makepyfile(test_jobs=PROGRESS_JOBS)
    result = rc_pytester.runpytest_subprocess(
        "-v", "--resumecheck", "--resumecheck-kill-steps=3,2+5", timeout=SUBPROCESS_TIMEOUT
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "test_jobs.py::test_correct ",
            "    resumecheck: reference run, steps 1-12, * s",
            "    resumecheck: control run, steps 1-12, * s",
            # The uninterrupted run left the explicit plans' killed runs (engine/prefix.py).
            "    resumecheck: plan [[]3[]]: killed run, steps 1-3: the control run's own, not *",
            "    resumecheck: plan [[]3[]]: resumed run from step 3, steps 4-12, * s",
            "    resumecheck: plan [[]3[]] exact [[]1 judged, 0 diverged[]]",
            "    resumecheck: plan [[]2, 5[]]: resumed run from step 2, killed again after 5, *",
            "    resumecheck: plan [[]2, 5[]] exact [[]2 judged, 0 diverged[]]",
            "*test_correct PASSED*",
            "*- resumecheck -*",
            "summary: 2 of 2 kill plans tried diverged (RNG)",
        ]
    )


def test_drawn_plans_take_their_killed_runs_from_the_control_run(
    rc_pytester: pytest.Pytester,
) -> None:
    """Hypothesis's plans are known before anything runs (a dry search): no prefix is
    computed again while no plan diverges."""
    rc_pytester.makepyfile(test_jobs=PROGRESS_JOBS)
    result = rc_pytester.runpytest_subprocess(
        "-v",
        "--resumecheck",
        "--resumecheck-kills=4",
        "-k",
        "test_correct",
        timeout=SUBPROCESS_TIMEOUT,
    )
    result.assert_outcomes(passed=1, deselected=1)
    lines = [line for line in result.stdout.lines if ": killed run, steps 1-" in line]
    assert len(lines) == 4, result.stdout.str()
    assert all(line.endswith("the control run's own, not run again") for line in lines), lines


@pytest.mark.slow
def test_verbose_under_xdist_shows_one_line_per_plan(rc_pytester: pytest.Pytester) -> None:
    rc_pytester.makepyfile(test_jobs=PROGRESS_JOBS)
    result = rc_pytester.runpytest_subprocess(
        "-v",
        "-p",
        "xdist",
        "-n",
        "2",
        "--resumecheck",
        "--resumecheck-kill-steps=3,2+5",
        timeout=SUBPROCESS_TIMEOUT,
    )
    result.assert_outcomes(passed=1, failed=1)
    out = result.stdout.str()
    assert out.count("    resumecheck: kill plan [3]: ") == 2
    assert "    resumecheck: kill plan [2, 5]: exact" in out
    assert "    resumecheck: kill plan [2, 5]: RNG" in out
    assert "summary: 2 of 2 kill plans tried diverged (RNG)" in out


SERVER_AT_COLLECTION = """
from resumecheck.engine.forkserver import forkserver_running

RUNNING = forkserver_running()  # at collection, before any check

def test_server_state():
    print(f"server running at collection: {RUNNING}")
"""


@pytest.mark.parametrize(
    ("flags", "running"),
    [
        (["--resumecheck", "--resumecheck-mode=sigkill"], True),
        (["--resumecheck"], False),  # exception mode runs jobs in this process
        (["--resumecheck-mode=sigkill"], False),  # checks off
    ],
    ids=["sigkill", "exception", "off"],
)
def test_process_modes_start_the_fork_server_before_collection(
    rc_pytester: pytest.Pytester, flags: list[str], running: bool
) -> None:
    """Its import of torch and Lightning then overlaps collection's, not the first check."""
    rc_pytester.makepyfile(test_server=SERVER_AT_COLLECTION)
    result = rc_pytester.runpytest_subprocess("-s", *flags, timeout=SUBPROCESS_TIMEOUT)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*server running at collection: {running}"])
