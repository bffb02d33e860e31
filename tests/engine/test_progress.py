"""Progress: the events a check sends, and how the stderr renderer shows them."""

from __future__ import annotations

import io
from pathlib import Path

import resumecheck as rc
from resumecheck.engine.progress import Progress, RunInfo, RunResult, StreamProgress
from tests.engine import jobs


class Recorder(Progress):
    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def plans_chosen(self, plans: object, steps: int) -> None:
        self.events.append(("plans", plans, steps))

    def run_started(self, run: RunInfo) -> None:
        self.events.append(("start", run.kind, run.plan))

    def run_finished(self, run: RunInfo, result: RunResult) -> None:
        self.events.append(("end", run.kind, run.plan, result.first_step, result.last_step))

    def plan_judged(self, plan: object, kind: str | None) -> None:
        self.events.append(("judged", plan, kind))


def test_the_harness_reports_every_run_in_order(tmp_path: Path) -> None:
    seen = Recorder()
    job = jobs.plain_job(dropout=0.5, save_rng=False)
    rc.check(job, kills=[[2, 6]], seed=0, artifacts_dir=tmp_path, progress=seen)
    assert seen.events == [
        ("start", "reference", None),
        ("end", "reference", None, 1, 12),
        ("start", "control", None),
        ("end", "control", None, 1, 12),
        ("plans", [(2, 6)], 12),
        ("start", "killed", (2, 6)),
        ("end", "killed", (2, 6), 1, 2),
        ("start", "resumed", (2, 6)),
        ("end", "resumed", (2, 6), 3, 6),
        ("start", "resumed", (2, 6)),
        ("end", "resumed", (2, 6), 7, 12),
        ("judged", (2, 6), "RNG"),
    ]


def test_off_a_terminal_each_finished_run_is_a_line() -> None:
    out = io.StringIO()
    progress = StreamProgress(out)
    assert not progress.live
    run = RunInfo("resumed", (8, 16), kill_at=16, resume_step=8)
    progress.run_started(run)
    progress.run_finished(run, RunResult(9, 16, 0.5))
    progress.plan_judged((8, 16), "PROGRESS")
    assert out.getvalue().splitlines() == [
        "resumecheck: plan [8, 16]: resumed run from step 8, killed again after 16, "
        "steps 9-16, 0.50 s",
        "resumecheck: plan [8, 16] diverged (PROGRESS) [1 judged, 1 diverged]",
    ]


def test_on_a_terminal_one_line_is_rewritten_in_place() -> None:
    out = io.StringIO()
    progress = StreamProgress(out, live=True)
    run = RunInfo("reference")
    progress.run_started(run)
    progress.run_finished(run, RunResult(1, 24, 1.25))
    text = out.getvalue()
    assert "\n" not in text
    assert text.count("\r") == 2
    assert "reference run ..." in text
    assert text.split("\r")[-1].startswith("resumecheck: reference run, steps 1-24, 1.25 s")
    progress.say("done")
    assert out.getvalue().endswith("\rresumecheck: done\n")  # the live line is cleared first
