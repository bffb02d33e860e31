"""What a check is doing while it runs: events from the harness, and a stderr renderer.

Torch-free, so the CLI, the pytest plugin and any other front end can use it. The harness
calls a :class:`Progress` as it goes: once when the kill plans are chosen, before and after
every run (reference, control, killed, resumed), and after each plan is judged. Subclass it
and override what you need, or use :class:`StreamProgress` (a live line on a terminal, one
line per finished run otherwise).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TextIO

from resumecheck.engine.report import Report

Plan = tuple[int, ...]
RunKind = Literal["reference", "control", "killed", "resumed"]


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One run of a check, as the harness starts it.

    ``plan`` is ``None`` for the reference and control runs; ``kill_at`` the step after which
    a killed run dies; ``resume_step`` the step a resumed run starts after.
    """

    kind: RunKind
    plan: Plan | None = None
    kill_at: int | None = None
    resume_step: int = 0


@dataclass(frozen=True, slots=True)
class RunResult:
    """How one run ended: the optimizer steps it made (global numbers) and its wall time."""

    first_step: int
    last_step: int
    seconds: float
    error: str | None = None
    taken_from: str | None = None  # the uninterrupted run a killed run was taken from

    @property
    def steps(self) -> int:
        return max(0, self.last_step - self.first_step + 1)


def format_plan(plan: Sequence[int]) -> str:
    """``[8]``, ``[8, 16]``: a plan as the kill steps of its chain."""
    return "[" + ", ".join(map(str, plan)) + "]"


class Progress:
    """Receives a check's events; every method does nothing unless overridden."""

    def plans_chosen(self, plans: Sequence[Plan], steps: int) -> None:
        """The kill plans this check will run, once the reference run has counted ``steps``."""

    def run_started(self, run: RunInfo) -> None:
        """A run is about to start."""

    def run_finished(self, run: RunInfo, result: RunResult) -> None:
        """A run ended (killed as planned, finished, or failed)."""

    def plan_judged(self, plan: Plan, kind: str | None) -> None:
        """A plan was judged: ``kind`` is the divergence's kind name, ``None`` when exact."""


def describe_run(run: RunInfo, result: RunResult | None = None) -> str:
    """One line for a run: its kind, plan, steps and time.

    >>> describe_run(RunInfo("killed", (8, 16), kill_at=8), RunResult(1, 8, 0.25))
    'plan [8, 16]: killed run, steps 1-8, 0.25 s'
    >>> describe_run(RunInfo("reference"))
    'reference run'
    """
    head = f"plan {format_plan(run.plan)}: {run.kind} run" if run.plan else f"{run.kind} run"
    if run.kind == "resumed":
        head += f" from step {run.resume_step}"
        if run.kill_at is not None:
            head += f", killed again after {run.kill_at}"
    if result is None:
        return head
    steps = f"steps {result.first_step}-{result.last_step}" if result.steps else "no step"
    if result.taken_from:
        return f"{head}, {steps}: the {result.taken_from} run's own, not run again"
    line = f"{head}, {steps}, {result.seconds:.2f} s"
    return f"{line}, failed: {result.error}" if result.error else line


class StreamProgress(Progress):
    """Writes progress to a stream (stderr by default).

    On a terminal one line is rewritten in place (``\\r``) as runs start and end; otherwise
    each finished run and each judged plan gets a line of its own, so CI logs show it too.
    """

    def __init__(
        self, stream: TextIO | None = None, live: bool | None = None, prefix: str = "resumecheck"
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = _isatty(self.stream) if live is None else live
        self.prefix = prefix
        self.plans: list[Plan] = []
        self.judged = 0
        self.diverged = 0
        self._width = 0
        self._started = time.perf_counter()

    def say(self, text: str) -> None:
        """A line of its own (ends any live line first)."""
        self._clear()
        self.stream.write(f"{self.prefix}: {text}\n")
        self.stream.flush()

    def plans_chosen(self, plans: Sequence[Plan], steps: int) -> None:
        self.plans = list(plans)
        shown = ", ".join(format_plan(p) for p in plans)
        self.say(f"{len(plans)} kill plan(s) over {steps} steps: {shown}")

    def run_started(self, run: RunInfo) -> None:
        if self.live:
            self._status(describe_run(run) + " ...")

    def run_finished(self, run: RunInfo, result: RunResult) -> None:
        line = describe_run(run, result)
        if self.live:
            self._status(line)
        else:
            self.say(line)

    def plan_judged(self, plan: Plan, kind: str | None) -> None:
        self.judged += 1
        self.diverged += kind is not None
        verdict = f"diverged ({kind})" if kind else "exact"
        of = f"{self.judged}/{len(self.plans)}" if self.plans else f"{self.judged}"
        self.say(f"plan {format_plan(plan)} {verdict} [{of} judged, {self.diverged} diverged]")

    def close(self) -> None:
        """End the live line, if any."""
        self._clear()

    def _status(self, text: str) -> None:
        text = f"{self.prefix}: {text} ({time.perf_counter() - self._started:.0f} s)"
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def _clear(self) -> None:
        if self.live and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def summary(report: Report) -> str:
    """``"2 of 5 plans diverged (RNG, PROGRESS)"``: the line above the reports."""
    return report.summary()
