"""Real jobs for the trust tests: correct ones that must pass, broken ones that must not,
and hostile ones (hangs, crashes, SIGTERM ignored, malicious checkpoints)."""

from __future__ import annotations

import os
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

import resumecheck as rc

EPOCH_END = 8  # 8 batches per epoch, 3 epochs: 24 optimizer steps
MID_EPOCH = 11


def data(n: int = 64) -> DataLoader[Any]:
    g = torch.Generator().manual_seed(1)
    return DataLoader(
        TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g)), batch_size=8
    )


class Data(pl.LightningDataModule):
    """Training data in the fix kit's ResumableDataLoader: exact order across mid-epoch resumes."""

    def train_dataloader(self) -> DataLoader[Any]:
        from resumecheck.fixkit import ResumableDataLoader

        return ResumableDataLoader(data().dataset, batch_size=8, shuffle=True)

    def val_dataloader(self) -> DataLoader[Any]:
        return data(16)


class LoggingNet(pl.LightningModule):
    """Logs train_loss every step and val_loss every epoch: correct, resumes exactly."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)
        )

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self) -> Any:
        opt = torch.optim.SGD(self.parameters(), lr=0.05)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)]


class DriftingLogNet(LoggingNet):
    """Logs a counter kept in a plain attribute: the logged value really differs after resume."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        self.seen += 1
        self.log("seen", float(self.seen))
        return super().training_step(batch, batch_idx)


def trainer(**extra: Any) -> dict[str, Any]:
    return {
        "max_epochs": 3,
        "accelerator": "cpu",
        "enable_checkpointing": True,
        "num_sanity_val_steps": 0,
        **extra,
    }


def logging_job(model: Any = LoggingNet, **extra: Any) -> rc.LightningJob:
    from resumecheck.fixkit import RngStateCallback

    callbacks = [RngStateCallback(), *extra.pop("callbacks", [])]
    return rc.LightningJob(
        model=model,
        data=Data,
        trainer=trainer(callbacks=callbacks, **extra),
    )


MARKER_ENV = "RESUMECHECK_TEST_MARKER"


def touch_marker(path: str) -> None:
    """What a hostile checkpoint runs when unpickled: record which process did it."""
    with open(path, "a") as fh:
        fh.write(f"{os.getpid()}\n")


class Hostile:
    """An object whose unpickling runs code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (touch_marker, (self.marker,))


class HostileCheckpointNet(LoggingNet):
    """Puts a code-running object into every checkpoint it saves."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["hostile"] = Hostile(os.environ[MARKER_ENV])


class WarmupCallback(pl.Callback):
    """Sets the learning rate itself each epoch from a counter it never checkpoints."""

    def __init__(self) -> None:
        self.epochs = 0

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.epochs += 1
        for group in trainer.optimizers[0].param_groups:
            group["lr"] = 0.01 * self.epochs


class NoSchedulerNet(LoggingNet):
    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.05)


def stateful_loader_job() -> rc.LightningJob:
    """torchdata's StatefulDataLoader: Lightning resumes it wrongly at an epoch's last batch."""
    from torchdata.stateful_dataloader import StatefulDataLoader

    job = logging_job()
    return rc.LightningJob(
        model=job.model,
        data=lambda: StatefulDataLoader(data().dataset, batch_size=8, shuffle=True),
        trainer=job.trainer,
    )
