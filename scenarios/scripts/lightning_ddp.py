"""A Lightning BoringModel-style training script, launched as users launch it:
``python lightning_ddp.py --ckpt_dir=DIR [--strategy=ddp|ddp_spawn] [--resume]``.

Two CPU ranks (gloo). ``ddp`` re-executes this script as rank 1; ``ddp_spawn`` starts both
ranks as workers. A ``ModelCheckpoint`` saves every epoch (``save_last=True``); ``--resume``
continues from ``last.ckpt`` with ``fit(ckpt_path=...)``.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


class BoringModel(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def data() -> DataLoader[Any]:
    g = torch.Generator().manual_seed(1)
    dataset = TensorDataset(torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g))
    return DataLoader(dataset, batch_size=8)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ckpt_dir", required=True)
    parser.add_argument("--strategy", default="ddp")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max_steps", type=int, default=-1)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args()
    pl.seed_everything(0)
    trainer = pl.Trainer(
        strategy=args.strategy,
        devices=2,
        accelerator="cpu",
        max_epochs=args.epochs,
        max_steps=args.max_steps,
        callbacks=[pl.callbacks.ModelCheckpoint(dirpath=args.ckpt_dir, save_last=True)],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    last = os.path.join(args.ckpt_dir, "last.ckpt")
    ckpt_path = last if args.resume and os.path.exists(last) else None
    trainer.fit(BoringModel(), data(), ckpt_path=ckpt_path)


if __name__ == "__main__":  # ddp_spawn workers import this file: train only in the main one
    main()
