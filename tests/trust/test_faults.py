"""Faults of the check are never verdicts: interrupts, hangs, crashes, bad options, leftovers
(issue 11, items 4, 5, 6 and 8). Real processes, real signals."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

import resumecheck as rc
from tests.trust import cli_jobs as cj

ROOT = Path(__file__).resolve().parents[2]
JOBS = "tests/trust/cli_jobs.py"


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **extra)
    env.pop("PYTEST_ADDOPTS", None)
    return env


def _cli(*args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "resumecheck", "check", *args],
        cwd=ROOT,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _interrupt_once_started(cmd: list[str], started: Path, **env: str) -> tuple[int, str, str]:
    """Start ``cmd``, wait until its job trains, send SIGINT (as Ctrl-C does), collect."""
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=_env(RESUMECHECK_TEST_STARTED=str(started), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As a terminal's Ctrl-C finds it, even if this test runs with SIGINT ignored.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert started.exists(), proc.communicate()
        time.sleep(0.5)  # well inside trainer.fit
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    return proc.returncode, out, err


# -- Ctrl-C ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_ctrl_c_in_an_exception_mode_lightning_check_exits_130(tmp_path: Path) -> None:
    # Before: Lightning turned it into SystemExit(1): "the job failed before any kill", exit 2.
    artifacts = tmp_path / "artifacts"
    cmd = [sys.executable, "-m", "resumecheck", "check", f"{JOBS}::slow", "--kills", "3"]
    code, out, err = _interrupt_once_started(
        [*cmd, "--artifacts-dir", str(artifacts)], tmp_path / "started"
    )
    assert code == 130, err
    assert err.strip().splitlines()[-1] == "resumecheck check: interrupted"
    assert "Traceback" not in err
    assert out == ""
    assert list(artifacts.iterdir()) == []  # nothing left behind


@pytest.mark.slow
def test_ctrl_c_stops_pytest_during_an_exception_mode_check(tmp_path: Path) -> None:
    # Before: reported as a failed test, and pytest went on to the next one.
    later = tmp_path / "later_test_ran"
    test_file = tmp_path / "test_interrupted.py"
    test_file.write_text(
        textwrap.dedent(
            f"""
            from pathlib import Path
            from tests.trust import cli_jobs

            def test_slow(resumecheck):
                resumecheck.check(cli_jobs.slow(), kill_steps=[[3]])

            def test_later():
                Path({str(later)!r}).touch()
            """
        )
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        str(test_file),
        "--resumecheck",
        "-p",
        "no:cacheprovider",
    ]
    code, out, err = _interrupt_once_started([*cmd, f"--rootdir={tmp_path}"], tmp_path / "started")
    assert code == pytest.ExitCode.INTERRUPTED, out + err
    assert "KeyboardInterrupt" in out
    assert not later.exists()


# -- hangs ---------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["exception", "sigkill"])
def test_cli_timeout_fires_in_every_mode_naming_the_step_and_the_stack(mode: str) -> None:
    # Before: in exception mode --timeout was ignored and the CLI hung forever.
    started = time.monotonic()
    result = _cli(f"{JOBS}::hang", "--timeout", "4", "--kills", "[3]", "--mode", mode,
                  "--no-control")  # fmt: skip
    assert time.monotonic() - started < 90
    assert result.returncode == 2, result.stderr
    err = result.stderr
    assert "the job hung" in err
    assert "timeout=4 s" in err
    assert "it was in step 7 (step 6 done)" in err  # resumed from 3, stuck at batch index 6
    assert "training_step" in err
    assert "artifacts kept:" in err


@pytest.mark.slow
def test_api_timeout_fires_in_exception_mode(tmp_path: Path) -> None:
    with pytest.raises(rc.JobHung, match=r"timeout=2 s") as info:
        rc.check(cj.hang(), kills=[3], timeout=2, control=False, artifacts_dir=tmp_path)
    assert "time.sleep" in str(info.value)


@pytest.mark.parametrize("value", [0, -1, math.nan, True, "5"])
@pytest.mark.parametrize("name", ["timeout", "grace"])
def test_bad_timeout_or_grace_is_a_config_error(name: str, value: object) -> None:
    with pytest.raises(rc.ConfigError, match=rf"^{name}=.*: expected a number of seconds > 0"):
        rc.check(cj.partial_job(), kills=[2], **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kills", "[null]"], "--kills '[null]': bad kill plan None"),
        (["--kills", "[1.5]"], "--kills '[1.5]': bad kill plan 1.5"),
        (["--timeout", "0"], "--timeout 0: expected a number of seconds > 0"),
        (["--timeout", "-3"], "--timeout -3: expected a number of seconds > 0"),
        (["--timeout", "nan"], "--timeout nan: expected a number of seconds > 0"),
        (["--grace", "0"], "--grace 0: expected a number of seconds > 0"),
        (["--artifacts-dir", "pyproject.toml"], "--artifacts-dir 'pyproject.toml' is a file"),
    ],
)
def test_cli_usage_errors_exit_2_with_one_line(args: list[str], message: str) -> None:
    # Before: '[null]', '[1.5]' and a file as --artifacts-dir ended in a traceback, exit 1.
    result = _cli(f"{JOBS}::partial_job", *args, timeout=60)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"resumecheck check: error: {message}")
    assert result.stdout == ""


# -- jobs that misbehave ---------------------------------------------------------------------
@pytest.mark.slow
def test_functools_partial_job_runs_in_a_child(tmp_path: Path) -> None:
    # Before: the child could not import the CLI-loaded module of the partial's function.
    result = _cli(f"{JOBS}::partial_job", "--mode", "sigkill", "--kills", "2,4")
    assert result.returncode == 0, result.stderr
    assert "resume ok" in result.stdout


@pytest.mark.slow
def test_job_ignoring_sigterm_is_not_nondeterministic(tmp_path: Path) -> None:
    # Before: NONDETERMINISTIC, though its two uninterrupted runs agree.
    report = rc.check(
        cj.ignores_sigterm(), kills=[2, 4], mode="sigterm", grace=1, artifacts_dir=tmp_path
    )
    assert report.passed, str(report)
    assert any("ignored SIGTERM after step 2" in w and "SIGKILLed" in w for w in report.warnings)


def test_torch_threads_changed_by_the_job_are_given_back(tmp_path: Path) -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rc.check(cj.sets_threads(), kills=[2], artifacts_dir=tmp_path)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_job_that_never_steps_an_optimizer_is_a_job_error(tmp_path: Path) -> None:
    with pytest.raises(rc.JobError, match="_never_steps never stepped an optimizer"):
        rc.check(cj.never_steps(), kills=[2], artifacts_dir=tmp_path)


@pytest.mark.slow
def test_output_is_capped_in_bytes(tmp_path: Path) -> None:
    # A child printing 100 MB without a newline: the message stays small.
    with pytest.raises(rc.JobError) as info:
        rc.check(cj.chatty(), kills=[2], mode="sigkill", artifacts_dir=tmp_path)
    message = str(info.value)
    assert "chatty job failed" in message
    assert len(message) < 20_000


def test_early_failure_says_where_its_artifacts_are(tmp_path: Path) -> None:
    with pytest.raises(rc.JobError) as info:
        rc.check(cj.never_steps(), kills=[2], artifacts_dir=tmp_path)
    (kept,) = tmp_path.iterdir()
    assert f"artifacts kept: {kept}" in str(info.value)


def test_config_error_after_the_reference_leaves_no_dir(tmp_path: Path) -> None:
    with pytest.raises(rc.ConfigError, match="out of range"):
        rc.check(cj.partial_job(), kills=[40], artifacts_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def _children() -> set[int]:
    pids: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        pids.update(int(p) for p in (task / "children").read_text().split())
    return pids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="Linux /proc")
def test_helper_processes_of_exception_mode_runs_do_not_outlive_them(tmp_path: Path) -> None:
    # Before: each run left its helper running (6 processes after one check).
    before = _children()
    report = rc.check(cj.leaves_a_helper(), kills=[3, 5], artifacts_dir=tmp_path)
    assert report.passed
    assert _children() - before == set()


@pytest.mark.slow
def test_os_exit_in_exception_mode_is_reported_not_a_silent_exit() -> None:
    # Before: the CLI (and pytest) ended silently with the job's exit code 0.
    result = _cli(f"{JOBS}::exits", "--kills", "[3]", RESUMECHECK_TEST_EXIT="0")
    assert result.returncode == 2
    assert "os._exit(0)" in result.stderr


@pytest.mark.slow
def test_segfault_in_exception_mode_leaves_a_traceback() -> None:
    result = _cli(f"{JOBS}::segfault", "--kills", "[3]")
    assert result.returncode == -signal.SIGSEGV
    assert "Segmentation fault" in result.stderr
    assert "training_step" in result.stderr
