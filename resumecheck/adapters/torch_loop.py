"""Runs a :class:`~resumecheck.TorchJob`: the user's loop drives, ``Run.step`` records."""

from __future__ import annotations

from typing import TYPE_CHECKING

from resumecheck.run import Run

if TYPE_CHECKING:
    from resumecheck.jobs import TorchJob
    from resumecheck.recorder import Recorder
    from resumecheck.runner import RunSpec


def run_torch_job(job: TorchJob, spec: RunSpec, recorder: Recorder) -> None:
    run = Run(spec.checkpoint_dir, spec.resume_from, recorder)
    recorder.on_pre_step = run._pre_step
    job.train(run)
