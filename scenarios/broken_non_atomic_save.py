"""A plain ``torch.save(state, path)`` over the previous checkpoint, killed mid-write.

What users do: write the checkpoint straight to its final name every N steps.
Why it breaks: a kill (OOM killer, preemption without grace, node loss) during the write
leaves a truncated file under the final name, and the previous good checkpoint is already
gone; the resume cannot load it.
Fix: write to a temporary file in the same directory, ``fsync``, then ``os.replace``:
``resumecheck.fixkit.save_training_state`` does this (``fixed_atomic_save``).
Kill mode ``midwrite``: the child is SIGKILLed after a random number of bytes of the first
file it writes during the kill step.
"""

from __future__ import annotations

import torch

import resumecheck as rc
from resumecheck.fixkit import capture_rng_state, restore_rng_state
from scenarios import _common, _plain

EXPECTED = rc.Kind.UNLOADABLE_CHECKPOINT
KILLS = [5]
MODE = "midwrite"


def train(run: rc.Run) -> None:
    net, loader = _plain.model(), _common.resumable_loader()
    opt = _plain.optimizer(net)
    path = run.checkpoint_dir / "checkpoint.pt"
    step = 0
    if run.resume_from is not None:
        state = torch.load(run.resume_from, weights_only=True)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        loader.load_state_dict(state["loader"])
        restore_rng_state(state["rng"])
        step = state["step"]
    while step < _plain.STEPS:
        for batch in loader:
            loss = _plain.train_step(net, opt, batch)
            step += 1
            state = {
                "model": net.state_dict(),
                "optimizer": opt.state_dict(),
                "loader": loader.state_dict(),
                "rng": capture_rng_state(),
                "step": step,
            }
            torch.save(state, path)  # not atomic: a kill here leaves half a file
            run.step(step, model=net, optimizer=opt, loss=loss, batch=batch)
            if step == _plain.STEPS:
                break


def job() -> rc.TorchJob:
    return rc.TorchJob(train)
