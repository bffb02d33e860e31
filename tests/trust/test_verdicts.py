"""Verdicts on real Lightning jobs: METRICS means a logged value differs, and jobs that need
a logger run (issue 11, items 1 and 2)."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch as pl
import pytest

import resumecheck as rc
from tests.trust import trust_jobs as tj

pytestmark = pytest.mark.slow

KILLS = [3, tj.EPOCH_END, tj.MID_EPOCH, 2 * tj.EPOCH_END]


def test_correct_job_logging_val_and_train_loss_passes_mid_epoch_and_epoch_end(
    tmp_path: Path,
) -> None:
    # Before: "METRICS at step 9: metric 'val_loss': resumed absent" (callback_metrics).
    report = rc.check(tj.logging_job(), kills=KILLS, seed=0, artifacts_dir=tmp_path)
    assert report.passed, str(report)


def test_logged_value_that_really_differs_is_still_metrics(tmp_path: Path) -> None:
    report = rc.check(tj.logging_job(tj.DriftingLogNet), kills=KILLS, artifacts_dir=tmp_path)
    assert report.kinds == [rc.Kind.METRICS] * len(KILLS)
    first = report.divergences[0]
    assert first.step == 4
    assert "'seen': resumed 1, reference 4" in first.detail


def test_learning_rate_monitor_gets_a_logger_inside_the_run_dir(tmp_path: Path) -> None:
    # Before: MisconfigurationException "LearningRateMonitor ... has no logger" at start.
    job = tj.logging_job(
        callbacks=[pl.callbacks.LearningRateMonitor("step")], logger=True, log_every_n_steps=1
    )
    report = rc.check(job, kills=[5, 8], artifacts_dir=tmp_path, keep_artifacts=True)
    assert report.passed, str(report)
    assert report.artifacts is not None
    logs = sorted(Path(report.artifacts).rglob("metrics.csv"))
    assert logs, "each run writes its own CSV log in its run directory"
    assert all(Path(report.artifacts) in p.parents for p in logs)
    assert "lr-SGD" in logs[0].read_text()


def test_learning_rate_difference_seen_by_the_logger_is_recorded(tmp_path: Path) -> None:
    # LR values reach the step record through the harness's logger, not callback_metrics.
    from resumecheck.engine.harness import CheckSession
    from resumecheck.engine.runner import InProcessRunner

    job = tj.logging_job(callbacks=[pl.callbacks.LearningRateMonitor("step")], log_every_n_steps=1)
    session = CheckSession(job, InProcessRunner(), tmp_path, control=False)
    session.prepare()
    step = session.reference.steps[9]
    assert "lr-SGD (logger)" in step.metrics
    assert "train_loss" in step.metrics
    assert "train_loss (logger)" in step.metrics
    assert "val_loss" not in step.metrics  # validation ran at the end of step 8, not 10
    assert "val_loss" in session.reference.steps[7].metrics
