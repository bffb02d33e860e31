"""Shared pieces of the scenarios: a tiny data set, a tiny LightningModule, loaders, jobs.

Every Lightning scenario trains 3 epochs of 8 batches (24 optimizer steps) on CPU, so kills
at 8 and 16 fall on the last batch of an epoch and 9 on the first batch of the next.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

import resumecheck as rc
from resumecheck.fixkit import ResumableDataLoader

BATCHES_PER_EPOCH = 8
EPOCHS = 3
LAST_BATCH_OF_EPOCH = 8
FIRST_BATCH_OF_EPOCH = 9
MID_EPOCH = 3


def dataset(n: int = 64) -> TensorDataset:
    g = torch.Generator().manual_seed(1)
    return TensorDataset(torch.randn(n, 4, generator=g), torch.randn(n, 1, generator=g))


def plain_loader(shuffle: bool = False) -> DataLoader[Any]:
    return DataLoader(dataset(), batch_size=8, shuffle=shuffle)


def resumable_loader(shuffle: bool = True) -> ResumableDataLoader:
    return ResumableDataLoader(dataset(), batch_size=8, shuffle=shuffle, seed=0)


class Net(pl.LightningModule):
    """A two-layer regressor with optional dropout and an LR schedule returned to Lightning."""

    def __init__(self, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Dropout(dropout), torch.nn.Linear(8, 1)
        )

    def loss(self, batch: Any) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        loss = self.loss(batch)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        opt = torch.optim.Adam(self.parameters(), lr=0.01)
        return [opt], [torch.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)]


def lightning_job(
    model: Any = Net,
    data: Any = plain_loader,
    callbacks: list[Any] | None = None,
    **trainer: Any,
) -> rc.LightningJob:
    """A job of ``EPOCHS`` epochs; ``callbacks`` are copied fresh for every run by the harness."""
    return rc.LightningJob(
        model=model,
        data=data,
        trainer={"max_epochs": EPOCHS, "callbacks": callbacks or [], **trainer},
    )
