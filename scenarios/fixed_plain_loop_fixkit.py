"""The twin of ``broken_plain_loop_tutorial``: a complete plain loop on the fix kit.

``save_training_state`` writes model, optimizer, scheduler, the loader's position and every
RNG state, atomically, every step; ``load_training_state`` restores them and returns the step.
``ResumableDataLoader`` shuffles per epoch without the global RNG and resumes mid-epoch.
"""

from __future__ import annotations

import torch

import resumecheck as rc
from resumecheck.fixkit import load_training_state, save_training_state
from scenarios import _common, _plain

EXPECTED = None
KILLS = [3, 8, 9, [5, 13]]


def train(run: rc.Run) -> None:
    net, loader = _plain.model(), _common.resumable_loader()
    opt = _plain.optimizer(net)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=8, gamma=0.5)
    path = run.checkpoint_dir / "state.pt"
    step = 0
    if run.resume_from is not None:
        step = load_training_state(
            run.resume_from, model=net, optimizer=opt, scheduler=sched, loader=loader
        )
    while step < _plain.STEPS:
        for batch in loader:
            loss = _plain.train_step(net, opt, batch)
            sched.step()
            step += 1
            save_training_state(
                path, step=step, model=net, optimizer=opt, scheduler=sched, loader=loader
            )
            run.step(step, model=net, optimizer=opt, scheduler=sched, loss=loss, batch=batch)
            if step == _plain.STEPS:
                break


def job() -> rc.TorchJob:
    return rc.TorchJob(train)
