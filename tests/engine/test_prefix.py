"""Killed runs taken from the uninterrupted run (engine/prefix.py) give the very verdicts that
computing them in full gives: same kinds, steps, details and evidence, in every mode that
reuses them, including a job whose own exception handling writes the checkpoint."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint, OnExceptionCheckpoint

import resumecheck as rc
from resumecheck.engine.harness import CheckSession, make_runner
from resumecheck.engine.progress import Progress, RunInfo, RunResult
from scenarios import _scripts
from tests.engine import jobs

pytestmark = pytest.mark.slow

PLANS = [(3,), (8,), (2, 9)]


class Runs(Progress):
    def __init__(self) -> None:
        self.finished: list[tuple[RunInfo, RunResult]] = []

    def run_finished(self, run: RunInfo, result: RunResult) -> None:
        self.finished.append((run, result))


def verdicts(job: Any, mode: str, tmp_path: Path, reuse: bool) -> tuple[list[Any], Runs]:
    runs = Runs()
    session = CheckSession(
        job, make_runner(mode, job=job), tmp_path, progress=runs, reuse_prefixes=reuse
    )
    try:
        session.prepare(PLANS)
        report = session.report(PLANS, mode, 0)
    finally:
        session.close()
    shown = [
        (d.kind, d.step, d.plan, d.detail, [str(row) for row in d.evidence])
        for d in report.divergences
    ]
    return shown, runs


def offsets_script(*flags: str) -> rc.ScriptJob:
    """An unmodified ``python`` program: its killed runs come from the control run's forked
    process (the script runner) rather than a copy of an in-process state."""
    command = [
        sys.executable,
        str(_scripts.SCRIPTS / "random_offsets.py"),
        "--out_dir={checkpoint_dir}",
    ]
    return rc.ScriptJob([*command, *flags], resume="--init_from=resume", checkpoints="ckpt.pt")


def files(workdir: Path) -> list[str]:
    return sorted(str(p.relative_to(workdir)) for p in workdir.glob("plan-*/checkpoints/*"))


def on_exception_job() -> rc.LightningJob:
    """Saves at epoch ends and when the run dies: a kill mid-epoch resumes from what the
    kill's own side effect wrote."""
    callbacks = [ModelCheckpoint(), OnExceptionCheckpoint(dirpath=".")]
    return jobs.lightning_job(trainer={"callbacks": callbacks})


@pytest.mark.parametrize(
    ("make_job", "mode"),
    [
        (lambda: jobs.lightning_job(), "exception"),
        (lambda: jobs.lightning_job(lambda: jobs.Net(dropout=0.5)), "exception"),
        (on_exception_job, "exception"),
        (lambda: jobs.plain_job(), "exception"),
        (lambda: jobs.lightning_job(lambda: jobs.Net(dropout=0.5)), "sigkill"),
        (lambda: jobs.plain_job(), "sigkill"),
        (lambda: offsets_script("--save_rng"), "sigkill"),
        (lambda: offsets_script(), "sigkill"),
    ],
    ids=[
        "lightning",
        "lightning-rng",
        "on-exception-checkpoint",
        "plain",
        "rng-sigkill",
        "plain-sigkill",
        "script-sigkill",
        "script-data-restart-sigkill",
    ],
)
def test_reused_prefixes_give_the_verdicts_of_computed_ones(
    make_job: Any, mode: str, tmp_path: Path
) -> None:
    computed, full_runs = verdicts(make_job(), mode, tmp_path / "computed", reuse=False)
    reused, runs = verdicts(make_job(), mode, tmp_path / "reused", reuse=True)
    assert reused == computed
    # The same files too: what the kill itself wrote (OnExceptionCheckpoint) included.
    assert files(tmp_path / "reused") == files(tmp_path / "computed")
    taken = [run.plan for run, result in runs.finished if result.taken_from]
    assert taken == PLANS  # every plan's killed run came from the control run
    assert not [run for run, result in full_runs.finished if result.taken_from]


def test_a_forked_killed_run_that_trains_on_is_computed_in_full(tmp_path: Path) -> None:
    """A job that catches the kill and goes on training leaves no prefix: its killed run is
    run for real (the forked child computes single-threaded, never compared)."""

    def train(run: rc.Run) -> None:
        data, target = jobs.tensors(40)
        model = torch.nn.Linear(4, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        for i in range(10):
            try:
                opt.zero_grad()
                torch.nn.functional.mse_loss(model(data[i * 4 : i * 4 + 4]), target[:4]).backward()
                opt.step()
            except BaseException:  # swallows the harness's kill: never do this
                continue

    runs = Runs()
    job = rc.TorchJob(train)
    session = CheckSession(job, make_runner("exception"), tmp_path, progress=runs)
    try:
        session.prepare([(4,)])
    finally:
        session.close()
    assert not (tmp_path / "plan-4" / "killed.pkl").exists()
    assert (tmp_path / "control" / "checkpoints").is_dir()
