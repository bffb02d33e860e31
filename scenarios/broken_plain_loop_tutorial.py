"""The plain loop many articles teach: save epoch, model, optimizer and loss every epoch.

What users do: ``torch.save({"epoch": ..., "model_state_dict": ..., "optimizer_state_dict":
..., "loss": ...}, path)`` at each epoch end and, on restart, load them and continue at
``epoch + 1``, with dropout in the model and ``DataLoader(shuffle=True)``.
Why it breaks: no RNG state is saved. ``shuffle=True`` draws each epoch's permutation from the
global torch RNG, so the resumed epoch sees the batches in another order (the first visible
difference: ``DATA_ORDER``), and dropout draws other masks (``RNG``).
Fix: checkpoint with ``resumecheck.fixkit.save_training_state`` (RNG included, atomic), and
feed data with ``ResumableDataLoader`` (``fixed_plain_loop_fixkit``).
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

import resumecheck as rc
from scenarios import _common, _plain

EXPECTED = rc.Kind.DATA_ORDER
KILLS = [8]  # the end of epoch 0, where the tutorial's first checkpoint is


def train(run: rc.Run) -> None:
    net, loader = _plain.model(), DataLoader(_common.dataset(), batch_size=8, shuffle=True)
    opt = _plain.optimizer(net)
    start_epoch = 0
    if run.resume_from is not None:
        checkpoint = torch.load(run.resume_from)
        net.load_state_dict(checkpoint["model_state_dict"])
        opt.load_state_dict(checkpoint["optimizer_state_dict"])
        start_epoch = checkpoint["epoch"] + 1
    step = start_epoch * len(loader)
    for epoch in range(start_epoch, _plain.EPOCHS):
        for i, batch in enumerate(loader):
            loss = _plain.train_step(net, opt, batch)
            step += 1
            if i == len(loader) - 1:  # the end of the epoch
                torch.save(
                    {
                        "epoch": epoch,
                        "model_state_dict": net.state_dict(),
                        "optimizer_state_dict": opt.state_dict(),
                        "loss": loss.detach(),
                    },
                    run.checkpoint_dir / "checkpoint.pt",
                )
            run.step(step, model=net, optimizer=opt, loss=loss, batch=batch, epoch=epoch)


def job() -> rc.TorchJob:
    return rc.TorchJob(train)
