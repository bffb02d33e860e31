"""The checker behind the ``resumecheck`` fixture: one check, run the pytest way.

It prepares the job once (reference and control runs), lets Hypothesis draw kill plans and
shrink a failing one (or replays ``--resumecheck-kill-steps``), and turns the outcome into a
pytest failure: verdict first, evidence, hint, and a command that reproduces it. A job that
crashes or hangs is a failed test too, never a crashed pytest run.

Importing this module is cheap; the harness (torch) and Hypothesis load when a check runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from resumecheck.engine.progress import Progress, RunInfo, RunResult, format_plan
from resumecheck.errors import ConfigError, JobError, JobHung, ResumeDivergence
from resumecheck.pytest_plugin.settings import (
    CALL_SOURCE,
    DEFAULT_MODE,
    Settings,
    format_kill_steps,
    merge,
)
from resumecheck.pytest_plugin.watchdog import CheckTimedOut, Watchdog

if TYPE_CHECKING:
    from resumecheck.engine.harness import CheckSession
    from resumecheck.engine.report import Report
    from resumecheck.engine.runner import Runner
    from resumecheck.jobs import Job

Plan = tuple[int, ...]

CRASH_HEADLINE = "resumecheck: the job failed before any kill"
TIMEOUT_HEADLINE = "resumecheck: the check timed out after {seconds:g} s ({source})"
TIMEOUT_ADVICE = (
    "a job that hangs cannot be checked; find the blocking call below, or raise the limit "
    "with --resumecheck-timeout=SECONDS, resumecheck_timeout in the ini file or "
    "@pytest.mark.resumecheck(timeout=...) (0 disables it)"
)
NOT_A_JOB = (
    "resumecheck.check(job): expected a resumecheck.LightningJob, TorchJob or ScriptJob, "
    "got {got}; build one with resumecheck.LightningJob(model=MyModule, data=MyDataModule) "
    "or resumecheck.pytest_plugin.helpers.lightning_job(...)"
)
OUTPUT_TAIL_LINES = 20
_FRAME = re.compile(r'^(\s*)File "([^"]+)", line \d+')
_OWN = str(Path(__file__).resolve().parents[1]) + os.sep


def reproduce_command(nodeid: str, plans: Sequence[Plan], mode: str) -> str:
    """The pytest command line that replays ``plans`` for one test.

    >>> reproduce_command("tests/test_x.py::test_y", [(5,)], "exception")
    "pytest 'tests/test_x.py::test_y' --resumecheck --resumecheck-kill-steps=5"
    """
    quoted = "'" + nodeid.replace("'", "'\"'\"'") + "'"
    parts = ["pytest", quoted, "--resumecheck"]
    if plans:
        parts.append(f"--resumecheck-kill-steps={format_kill_steps(plans)}")
    if mode != DEFAULT_MODE:
        parts.append(f"--resumecheck-mode={mode}")
    return " ".join(parts)


class PlanLog(Progress):
    """Keeps the verdict of every plan a check judged, and hands each on as a line."""

    def __init__(
        self, on_line: Callable[[str], None] | None = None, forward: Progress | None = None
    ) -> None:
        self.judged: list[tuple[Plan, str | None]] = []
        self._on_line = on_line
        self._forward = forward if forward is not None else Progress()

    def plans_chosen(self, plans: Sequence[Plan], steps: int) -> None:
        self._forward.plans_chosen(plans, steps)

    def run_started(self, run: RunInfo) -> None:
        self._forward.run_started(run)

    def run_finished(self, run: RunInfo, result: RunResult) -> None:
        self._forward.run_finished(run, result)

    def plan_judged(self, plan: Plan, kind: str | None) -> None:
        self.judged.append((plan, kind))
        if self._on_line is not None:
            self._on_line(f"kill plan {format_plan(plan)}: {kind or 'exact'}")
        self._forward.plan_judged(plan, kind)

    def summary(self) -> str:
        """``"1 of 6 kill plans tried diverged (RNG)"``."""
        kinds = sorted({k for _, k in self.judged if k})
        diverged = sum(1 for _, k in self.judged if k)
        tail = f" ({', '.join(kinds)})" if kinds else ""
        plural = "plan" if len(self.judged) == 1 else "plans"
        return f"{diverged} of {len(self.judged)} kill {plural} tried diverged{tail}"


def _without_own_frames(lines: list[str]) -> list[str]:
    """Drop resumecheck's own frames (and their source lines) from a formatted traceback."""
    kept: list[str] = []
    skipping_indent: int | None = None
    for line in lines:
        indent = len(line) - len(line.lstrip())
        if skipping_indent is not None and indent > skipping_indent:
            continue
        skipping_indent = None
        frame = _FRAME.match(line)
        if frame and frame.group(2).startswith(_OWN):
            skipping_indent = indent
            continue
        kept.append(line)
    return kept


def _tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    kept = _without_own_frames(text.rstrip().splitlines())
    cut = len(kept) - lines
    shown = ([f"... ({cut} lines above)"] if cut > 0 else []) + kept[-lines:]
    return "\n".join("  " + line for line in shown)


class Checker:
    """Runs resume checks with this test's settings: ``resumecheck.check(job, **overrides)``."""

    def __init__(
        self,
        nodeid: str,
        settings: Callable[[], Settings],
        workdir: Callable[[], Path],
        add_section: Callable[[str], None],
        on_plan: Callable[[str], None] | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.nodeid = nodeid
        self._settings = settings
        self._workdir = workdir
        self._add_section = add_section
        self._on_plan = on_plan
        self._progress = progress
        self.calls = 0
        self.log = PlanLog(on_plan, progress)

    def settings(self, **overrides: object) -> Settings:
        """The settings a ``check(**overrides)`` would run with."""
        return merge(self._settings(), overrides, CALL_SOURCE)

    def check(self, job: Job, **overrides: Any) -> Report:
        """Kill ``job``, resume it, compare; fail the test with the report if it diverges.

        Keyword arguments override the session's and the marker's options for this call:
        ``kills``, ``max_kills``, ``mode``, ``seed``, ``kill_steps``, ``keep_artifacts``,
        ``timeout``, ``control``. Returns the :class:`~resumecheck.Report` when every kill
        plan resumed bit for bit.
        """
        __tracebackhide__ = True
        settings = self._settings_or_fail(overrides)
        self.calls += 1
        self.log = PlanLog(self._on_plan, self._progress)
        workdir = self._workdir()
        outcome = self._outcome(job, settings, workdir)
        if isinstance(outcome, str):
            self._fail(outcome, workdir, settings.mode)
        return self._finish(outcome, settings, workdir)

    def _settings_or_fail(self, overrides: dict[str, Any]) -> Settings:
        __tracebackhide__ = True
        try:
            return self.settings(**overrides)
        except ConfigError as exc:
            error = str(exc)
        pytest.fail(error, pytrace=False)  # outside the except clause: no chained traceback

    def _outcome(self, job: Job, settings: Settings, workdir: Path) -> Report | str:
        """The report, or why there is none (a crash, a hang, a bad value) as a message."""
        # In process modes the runner times out each child; the parent never blocks for long.
        dog = Watchdog(settings.timeout if settings.mode == "exception" else 0)
        try:
            return self._run(job, settings, workdir, dog)
        except CheckTimedOut:
            dog.disarm()  # the alarm may have gone off inside the watchdog's own exit
            return self._timeout_message(settings, dog)
        except JobHung as exc:  # a process-mode run killed after the timeout
            headline = TIMEOUT_HEADLINE.format(
                seconds=settings.timeout, source=settings.source("timeout")
            )
            return f"{headline}\n{_tail(str(exc), OUTPUT_TAIL_LINES + 1)}"
        except JobError as exc:
            return f"{CRASH_HEADLINE}\n{_tail(str(exc), OUTPUT_TAIL_LINES + 1)}"
        except ConfigError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            return str(exc)

    def _run(self, job: Job, settings: Settings, workdir: Path, dog: Watchdog) -> Report:
        __tracebackhide__ = True
        # Import before the watchdog is armed: the first check pays for torch and Hypothesis,
        # and an import cut short by the alarm would leave half-initialised modules behind.
        import resumecheck.pytest_plugin.hypothesis_plans  # noqa: F401
        from resumecheck.engine.harness import CheckSession
        from resumecheck.jobs import JOB_TYPES

        if not isinstance(job, JOB_TYPES):
            raise ConfigError(NOT_A_JOB.format(got=type(job).__name__))
        session = CheckSession(
            job, self._runner(settings, job), workdir, settings.control, self.log
        )
        started = time.perf_counter()
        try:
            with dog:
                dog.phase = "the uninterrupted run"
                # The killed runs of the plans to be tried are left by the uninterrupted run.
                session.prepare(settings.kill_steps or self._drawn(settings, job))
                dog.check()
                plans = self._plans(session, settings, dog)
                report = session.report(plans, settings.mode, settings.seed)
        except BaseException:
            if dog.fired:
                raise CheckTimedOut from None
            raise
        finally:
            session.close()
        return dataclasses.replace(report, seconds=time.perf_counter() - started)

    def _runner(self, settings: Settings, job: Job) -> Runner:
        from resumecheck.engine.harness import make_runner
        from resumecheck.jobs import ScriptJob

        try:
            if settings.mode == "exception" and not isinstance(job, ScriptJob):
                # The check-wide watchdog (not one per run) enforces the timeout here.
                return make_runner(settings.mode, timeout=None, job=job)
            from resumecheck.engine.forkserver import PROCESS_MODES, start_server

            if settings.mode in PROCESS_MODES or isinstance(job, ScriptJob):
                start_server()  # shared by every check of the session; stopped at unconfigure
            # A child that hangs is killed by the runner, which reports its exit and output.
            timeout = settings.timeout or float("inf")
            return make_runner(settings.mode, timeout=timeout, job=job)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (mode from {settings.source('mode')})") from None

    def _plans(self, session: CheckSession, settings: Settings, dog: Watchdog) -> list[Plan]:
        """The plans the report covers: the explicit ones, or the shrunk failing one."""
        __tracebackhide__ = True
        if session.nondeterministic is not None:
            return []

        def diverges(plan: Plan) -> bool:
            dog.phase = f"kill plan {list(plan)}"
            verdict = session.try_plan(plan)
            dog.check()
            return verdict.divergence is not None

        if settings.kill_steps is not None:
            self._check_range(settings, session.steps, session.job.label)
            for plan in settings.kill_steps:
                diverges(plan)
            return list(settings.kill_steps)
        from resumecheck.pytest_plugin.hypothesis_plans import search

        key, seed = self._search_key(settings, session.job)
        found = search(
            diverges,
            session.steps,
            max_kills=settings.max_kills,
            examples=settings.kills,
            seed_value=seed,
            key=key,
        )
        return [found.failing] if found.failing is not None else found.tried

    def _search_key(self, settings: Settings, job: Job) -> tuple[bytes, int]:
        """What tells this check's Hypothesis search from others: the key its stored plans
        are filed under, and the seed it draws from."""
        key = f"{self.nodeid}|{self.calls}|{job.label}|{settings.max_kills}".encode()
        return key, _mix(settings.seed, key)

    def _drawn(self, settings: Settings, job: Job) -> Callable[[int], list[Plan]]:
        """The plans the search will draw, as a function of the step count."""
        from resumecheck.pytest_plugin.hypothesis_plans import planned

        _, seed = self._search_key(settings, job)

        def draw(n_steps: int) -> list[Plan]:
            kills, examples = settings.max_kills, settings.kills
            return planned(n_steps, max_kills=kills, examples=examples, seed_value=seed)

        return draw

    def _check_range(self, settings: Settings, steps: int, label: str) -> None:
        last = max(p[-1] for p in settings.kill_steps or ())
        if last >= steps:
            raise ConfigError(
                f"resumecheck: kill step {last} from {settings.source('kill_steps')} is out of "
                f"range: {label} makes {steps} optimizer steps, so kill steps must be between "
                f"1 and {steps - 1}"
            )

    def _finish(self, report: Report, settings: Settings, workdir: Path) -> Report:
        __tracebackhide__ = True
        keep = settings.keep_artifacts or not report.passed
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        report = dataclasses.replace(report, artifacts=str(workdir) if keep else None)
        first = report.divergences[0] if report.divergences else None
        command = reproduce_command(self.nodeid, report.plans_for(first), report.mode)
        self._add_section(self._section(report, command, settings))
        if report.passed:
            return report
        text = report.format(
            reproduce=lambda plans: reproduce_command(self.nodeid, plans, report.mode)
        )
        error = ResumeDivergence(report)
        error.args = (text,)
        raise error

    def _section(self, report: Report, command: str, settings: Settings) -> str:
        lines = [f"summary: {self.log.summary()}"]
        if not report.passed and settings.kill_steps is None and report.divergences[0].plan:
            lines[0] += f"; shrunk to {format_plan(report.divergences[0].plan)}"
        lines += [f"reproduce: {command}"] if not report.passed else [report.format()]
        lines.append(
            f"kill plans: drawn with --resumecheck-seed={settings.seed}"
            if settings.kill_steps is None
            else f"kill plans: {format_kill_steps(settings.kill_steps)} "
            f"(from {settings.source('kill_steps')})"
        )
        if report.artifacts:
            lines.append(f"artifacts: {report.artifacts}")
        return "\n".join(lines)

    def _timeout_message(self, settings: Settings, dog: Watchdog) -> str:
        headline = TIMEOUT_HEADLINE.format(
            seconds=settings.timeout, source=settings.source("timeout")
        )
        lines = [headline, f"  stopped during {dog.phase}; {TIMEOUT_ADVICE}"]
        if dog.stack:
            lines += ["  where it was:", _tail(dog.stack)]
        return "\n".join(lines)

    def _fail(self, message: str, workdir: Path, mode: str) -> NoReturn:
        __tracebackhide__ = True
        if not workdir.exists():
            pytest.fail(message)
        command = reproduce_command(self.nodeid, [], mode)
        self._add_section(f"reproduce: {command}\nartifacts: {workdir}")
        pytest.fail(f"{message}\n  artifacts kept: {workdir}")


def _mix(seed: int, key: bytes) -> int:
    """A per-check Hypothesis seed: the session seed and the check's identity, hashed.

    The same on every xdist worker and in a single process, so ``--resumecheck-seed``
    replays the same draws however the suite is split.
    """
    digest = hashlib.sha256(str(seed).encode() + b"|" + key).digest()
    return int.from_bytes(digest[:8], "little")
