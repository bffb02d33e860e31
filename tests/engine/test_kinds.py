"""Every verdict kind, produced by a real job that truly has the bug, with its evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import resumecheck as rc
from resumecheck import Kind
from tests.engine import jobs


def check(job: Any, kills: Any, tmp_path: Path, **kw: Any) -> rc.Report:
    return rc.check(job, kills=kills, seed=0, artifacts_dir=tmp_path, **kw)


def only_kind(report: rc.Report) -> rc.Divergence:
    assert not report.passed, str(report)
    kinds = set(report.kinds)
    assert len(kinds) == 1, str(report)
    return report.divergences[0]


# -- correct jobs pass ----------------------------------------------------------------------
def test_plain_loop_that_saves_everything_passes(tmp_path: Path) -> None:
    report = check(jobs.plain_job(dropout=0.3, batchnorm=True), [2, 5, 9, [3, 7]], tmp_path)
    assert report.passed, str(report)
    assert report.warnings == ()
    assert list(tmp_path.iterdir()) == []  # artifacts removed after a pass


def test_lightning_job_killed_at_epoch_ends_without_randomness_passes(tmp_path: Path) -> None:
    report = check(jobs.lightning_job(), jobs.EPOCH_END, tmp_path)
    assert report.passed, str(report)
    # The DataLoader iterator draws its seed from the global RNG, which Lightning does not
    # checkpoint: harmless here, but named.
    assert any("RNG state differs" in w for w in report.warnings)


def test_lightning_second_resume_from_an_epoch_end_repeats_an_epoch(tmp_path: Path) -> None:
    """Found by a two-kill plan (Lightning 2.6): after resuming from the checkpoint written at
    the last batch of epoch 0, the next epoch-end checkpoint records one epoch too few
    (epoch_progress.ready), so a second resume replays epoch 1."""
    div = only_kind(check(jobs.lightning_job(), [jobs.EPOCH_END], tmp_path))
    assert div.kind is Kind.PROGRESS
    assert div.plan == (8, 16)
    assert div.kill_step == 16
    assert div.step == 17
    assert any("epoch 1 after resume, reference 2" in str(e) for e in div.evidence)


def test_pytorch_lightning_package_name_works(tmp_path: Path) -> None:
    import pytorch_lightning

    class OldStyle(pytorch_lightning.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = jobs.torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            return jobs.torch.nn.functional.mse_loss(self.net(batch[0]), batch[1])

        def configure_optimizers(self) -> Any:
            return jobs.torch.optim.SGD(self.parameters(), lr=0.1)

    report = check(rc.LightningJob(OldStyle, jobs.loader, {"max_epochs": 2}), [8], tmp_path)
    assert report.passed, str(report)


# -- one test per kind -----------------------------------------------------------------------
def test_no_checkpoint_manual_optimization_outside_training_step(tmp_path: Path) -> None:
    div = only_kind(check(jobs.lightning_job(jobs.ManualStepInBatchEnd), [5], tmp_path))
    assert div.kind is Kind.NO_CHECKPOINT
    assert div.kill_step == 5
    assert any("global_step stayed 0" in str(e) for e in div.evidence)


def test_no_checkpoint_plain_loop_that_never_saves(tmp_path: Path) -> None:
    div = only_kind(check(jobs.plain_job(checkpoint="none"), [4], tmp_path))
    assert div.kind is Kind.NO_CHECKPOINT
    assert "checkpoint files seen: none" in map(str, div.evidence)


def test_unloadable_numpy_state_under_weights_only(tmp_path: Path) -> None:
    job = jobs.lightning_job(trainer={"callbacks": [jobs.NumpyStateCallback()]})
    div = only_kind(check(job, [8], tmp_path))
    assert div.kind is Kind.UNLOADABLE_CHECKPOINT
    assert "weights" in div.detail.lower() or "unpickl" in div.detail.lower()


def test_unloadable_truncated_plain_checkpoint(tmp_path: Path) -> None:
    div = only_kind(check(jobs.plain_job(checkpoint="truncated"), [6], tmp_path))
    assert div.kind is Kind.UNLOADABLE_CHECKPOINT
    assert div.checkpoint == "ckpt.pt"


def test_resume_crash_removed_trainer_argument(tmp_path: Path) -> None:
    job = jobs.lightning_job(resume=jobs.resume_with_removed_argument)
    div = only_kind(check(job, [8], tmp_path))
    assert div.kind is Kind.RESUME_CRASH
    assert "resume_from_checkpoint" in div.detail
    assert "ckpt_path" in Kind.RESUME_CRASH.hint


def test_not_restored_silent_noop_restore(tmp_path: Path) -> None:
    job = jobs.lightning_job(resume=jobs.resume_with_silent_noop_restore)
    div = only_kind(check(job, [8], tmp_path))
    assert div.kind is Kind.NOT_RESTORED
    assert div.checkpoint_step == 8
    assert div.step == 9


def test_not_restored_plain_loop_ignoring_resume_from(tmp_path: Path) -> None:
    # Its trajectory from step 0 equals the reference; it must still never pass.
    div = only_kind(check(jobs.plain_job(restore=False), [5], tmp_path))
    assert div.kind is Kind.NOT_RESTORED


def test_progress_load_from_checkpoint_then_fit(tmp_path: Path) -> None:
    job = jobs.lightning_job(resume=jobs.resume_with_load_from_checkpoint)
    div = only_kind(check(job, [8], tmp_path))
    assert div.kind is Kind.PROGRESS
    assert any("epoch 0 after resume, reference 1" in str(e) for e in div.evidence)


def test_progress_plain_loop_restarting_its_step_counter(tmp_path: Path) -> None:
    div = only_kind(check(jobs.plain_job(restore_step=False), [5], tmp_path))
    assert div.kind is Kind.PROGRESS
    assert any(
        "step passed to run.step 1 after resume, reference 6" in str(e) for e in div.evidence
    )


def test_weights_buffers_not_saved(tmp_path: Path) -> None:
    div = only_kind(check(jobs.plain_job(batchnorm=True, save_buffers=False), [4], tmp_path))
    assert div.kind is Kind.WEIGHTS
    rows = "\n".join(map(str, div.evidence))
    assert "buffer.1.running_mean" in rows
    assert "max|Δ|" in rows


def test_optimizer_state_not_saved(tmp_path: Path) -> None:
    div = only_kind(check(jobs.plain_job(save_optimizer=False), [2], tmp_path))
    assert div.kind is Kind.OPTIMIZER
    assert any(str(e).startswith("optim.0.state.0.momentum_buffer") for e in div.evidence)


def test_scheduler_not_returned_to_lightning(tmp_path: Path) -> None:
    job = jobs.lightning_job(lambda: jobs.Net(scheduler="by_hand"))
    div = only_kind(check(job, [8], tmp_path))
    assert div.kind is Kind.SCHEDULER
    assert any(
        "lr.0.0" in str(e) and "resumed 0.01, reference 0.005" in str(e) for e in div.evidence
    )


def test_scheduler_only_lr_differs_is_scheduler_not_optimizer(tmp_path: Path) -> None:
    div = only_kind(check(jobs.plain_job(save_scheduler=False), [4], tmp_path))
    assert div.kind is Kind.SCHEDULER


def test_rng_dropout_without_rng_state(tmp_path: Path) -> None:
    div = only_kind(check(jobs.lightning_job(lambda: jobs.Net(dropout=0.5)), [8], tmp_path))
    assert div.kind is Kind.RNG
    assert any(str(e).startswith("rng.torch") for e in div.evidence)


def test_rng_plain_loop(tmp_path: Path) -> None:
    div = only_kind(check(jobs.plain_job(dropout=0.5, save_rng=False), [3], tmp_path))
    assert div.kind is Kind.RNG
    assert any(str(e).startswith("loss: resumed") for e in div.evidence)


def test_data_order_mid_epoch_with_plain_dataloader(tmp_path: Path) -> None:
    div = only_kind(check(jobs.lightning_job(), [3], tmp_path))
    assert div.kind is Kind.DATA_ORDER
    assert div.step == 4
    assert any(str(e).startswith("batch fed (epoch 0, batch 3)") for e in div.evidence)


def test_metrics_lost_running_count(tmp_path: Path) -> None:
    div = only_kind(check(jobs.lightning_job(jobs.CountingNet), [8], tmp_path))
    assert div.kind is Kind.METRICS
    assert Kind.WEIGHTS not in div.others
    assert any(
        "samples_seen" in str(e) and "resumed 8, reference 72" in str(e) for e in div.evidence
    )


def test_nondeterministic_job(tmp_path: Path) -> None:
    report = check(jobs.plain_job(unseeded_noise=True), [4], tmp_path)
    div = only_kind(report)
    assert div.kind is Kind.NONDETERMINISTIC
    assert div.step == 1
    assert "two uninterrupted runs differ" in str(report)


def test_nondeterminism_caught_without_control_by_the_killed_run(tmp_path: Path) -> None:
    div = only_kind(check(jobs.plain_job(unseeded_noise=True), [4], tmp_path, control=False))
    assert div.kind is Kind.NONDETERMINISTIC
    assert "before any kill" in div.detail


def test_second_resume_bug_found_by_multi_kill_plan(tmp_path: Path) -> None:
    report = check(jobs.plain_job(), [[3, 7]], tmp_path)
    assert report.passed, str(report)
    assert report.plans == ((3, 7),)
