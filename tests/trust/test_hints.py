"""Hints point the right way on real Lightning jobs (issue 11, item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

import resumecheck as rc
from tests.trust import trust_jobs as tj

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("model", [tj.LoggingNet, tj.NoSchedulerNet])
def test_learning_rate_set_by_a_callback_names_the_callback(model: type, tmp_path: Path) -> None:
    # Before: "return the LR scheduler from configure_optimizers" (wrong: a callback sets it).
    job = tj.logging_job(model, callbacks=[tj.WarmupCallback()])
    report = rc.check(job, kills=[tj.EPOCH_END], artifacts_dir=tmp_path)
    assert report.kinds == [rc.Kind.SCHEDULER]
    hint = report.divergences[0].advice
    assert "WarmupCallback" in hint
    assert "state_dict" in hint
    assert "return the LR scheduler from configure_optimizers" not in hint
    assert report.to_dict()["divergences"][0]["hint"] == hint
    assert f"hint: {hint}" in str(report)


def test_job_already_using_stateful_dataloader_is_pointed_at_the_fix_kit(tmp_path: Path) -> None:
    # Before: "(or torchdata's StatefulDataLoader)" to a job that uses it.
    report = rc.check(tj.stateful_loader_job(), kills=[tj.EPOCH_END], artifacts_dir=tmp_path)
    assert not report.passed
    hint = report.divergences[0].advice
    assert "already uses torchdata's StatefulDataLoader" in hint
    assert "resumecheck.fixkit.torchdata.StatefulDataLoader" in hint
