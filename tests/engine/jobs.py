"""Tiny real training jobs, correct and broken, shared by the engine tests.

Every Lightning job trains 3 epochs of 8 batches (24 optimizer steps); every plain loop
12 steps. Kills at 8 and 16 are at Lightning epoch ends.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

import resumecheck as rc

EPOCH_END = [8, 16]
MID_EPOCH = [3, 11]


def tensors(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g)


def loader(shuffle: bool = False) -> DataLoader[Any]:
    return DataLoader(TensorDataset(*tensors()), batch_size=8, shuffle=shuffle)


class Net(pl.LightningModule):
    """A two-layer regressor; options switch on the classic resume mistakes."""

    def __init__(self, dropout: float = 0.0, scheduler: str = "returned") -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Dropout(dropout), torch.nn.Linear(8, 1)
        )
        self.scheduler_mode = scheduler
        self.samples_seen = 0  # plain attribute: not in the checkpoint

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        opt = torch.optim.Adam(self.parameters(), lr=0.01)
        sched = torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
        if self.scheduler_mode == "returned":
            return [opt], [sched]
        self.hand_scheduler = sched  # stepped by hand, invisible to Lightning's checkpoint
        return opt

    def on_train_epoch_end(self) -> None:
        if self.scheduler_mode == "by_hand":
            self.hand_scheduler.step()


class CountingNet(Net):
    """Logs a running count kept in a plain attribute: lost on resume."""

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        self.samples_seen += len(batch[0])
        self.log("samples_seen", float(self.samples_seen))
        return super().training_step(batch, batch_idx)


class ManualStepInBatchEnd(Net):
    """Manual optimization stepping in on_train_batch_end: global_step never advances."""

    def __init__(self) -> None:
        super().__init__()
        self.automatic_optimization = False

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.manual_backward(loss)
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.05)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        opt = self.optimizers()
        opt.step()
        opt.zero_grad()


class NumpyStateCallback(pl.Callback):
    """Puts numpy objects into checkpoint state: refused by weights_only=True loads."""

    def state_dict(self) -> dict[str, Any]:
        return {"numpy_rng": np.random.get_state()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        np.random.set_state(state_dict["numpy_rng"])


def lightning_job(model: Any = Net, shuffle: bool = False, **kwargs: Any) -> rc.LightningJob:
    return rc.LightningJob(
        model=model,
        data=lambda: loader(shuffle),
        trainer={"max_epochs": 3, **kwargs.pop("trainer", {})},
        **kwargs,
    )


def resume_with_removed_argument(trainer: Any, model: Any, data: Any, ckpt_path: str) -> None:
    pl.Trainer(max_epochs=3, resume_from_checkpoint=ckpt_path).fit(model, data)  # type: ignore[call-arg]


def resume_with_load_from_checkpoint(trainer: Any, model: Any, data: Any, ckpt_path: str) -> None:
    trainer.fit(Net.load_from_checkpoint(ckpt_path), data)


def resume_with_silent_noop_restore(trainer: Any, model: Any, data: Any, ckpt_path: str) -> None:
    # As in the Lightning 2.0.6 report: the loaded state lands nowhere, nothing fails.
    trainer._checkpoint_connector.restore_model = lambda: None
    trainer.fit(model, data, ckpt_path=ckpt_path)


# -- plain PyTorch loops ------------------------------------------------------------------
def plain_job(
    *,
    save_rng: bool = True,
    restore: bool = True,
    save_optimizer: bool = True,
    save_scheduler: bool = True,
    restore_step: bool = True,
    dropout: float = 0.0,
    batchnorm: bool = False,
    save_buffers: bool = True,
    checkpoint: str = "atomic",
    numpy_state: bool = False,
    unseeded_noise: bool = False,
    steps: int = 12,
) -> rc.TorchJob:
    """A plain loop; by default it checkpoints everything, atomically, every step."""

    def train(run: rc.Run) -> None:
        data, target = tensors(40)
        norm: torch.nn.Module = torch.nn.BatchNorm1d(8) if batchnorm else torch.nn.Identity()
        model = torch.nn.Sequential(
            torch.nn.Linear(4, 8), norm, torch.nn.Dropout(dropout), torch.nn.Linear(8, 1)
        )
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = torch.optim.lr_scheduler.StepLR(opt, 3, 0.5)
        start = 0
        if run.resume_from is not None and restore:
            ck = torch.load(run.resume_from)  # torch >= 2.6: weights_only=True by default
            model.load_state_dict(ck["model"], strict=save_buffers)
            if save_optimizer:
                opt.load_state_dict(ck["optimizer"])
            if save_scheduler:
                sched.load_state_dict(ck["scheduler"])
            start = ck["step"] if restore_step else 0
            if save_rng:
                torch.set_rng_state(ck["rng"])
        for step in range(start, steps):
            i = step % 5  # data order from the step number, not the global RNG
            x, y = data[i * 8 : (i + 1) * 8], target[i * 8 : (i + 1) * 8]
            if unseeded_noise:
                x = x + torch.from_numpy(np.random.default_rng().normal(size=x.shape)).float()
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            state = model.state_dict()
            if not save_buffers:
                state = dict(model.named_parameters())
            ck = {
                "model": state,
                "optimizer": opt.state_dict(),
                "step": step + 1,
                "rng": torch.get_rng_state(),
            }
            if save_scheduler:
                ck["scheduler"] = sched.state_dict()
            if numpy_state:
                ck["numpy_rng"] = np.random.get_state()
            _save(ck, run.checkpoint_dir / "ckpt.pt", checkpoint, step + 1)
            run.step(step + 1, model=model, optimizer=opt, scheduler=sched, loss=loss, batch=(x, y))

    return rc.TorchJob(train)


def _save(ck: dict[str, Any], path: Path, how: str, step: int) -> None:
    if how == "none":
        return
    if how == "direct":
        torch.save(ck, path)  # not atomic: a kill mid-write leaves a truncated file
        return
    if how == "truncated" and step >= 4:
        # A write cut short, as a kill mid-write leaves it.
        torch.save(ck, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return
    tmp = path.with_suffix(".tmp")
    torch.save(ck, tmp)
    os.replace(tmp, path)
