"""The plain loop many tutorials teach, as a command-line script.

Saves epoch, model and optimizer at every epoch end; ``--resume`` loads them and goes on at
the next epoch. Dropout and ``DataLoader(shuffle=True)``, and no RNG state in the checkpoint.
``--fixed`` is the same script on resumecheck's fix kit (every state, atomically, every step).
"""

from __future__ import annotations

import argparse
import os

import torch
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True, help="checkpoint directory")
parser.add_argument("--resume", action="store_true")
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--fixed", action="store_true")
args = parser.parse_args()

torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
data = TensorDataset(torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g))
model = torch.nn.Sequential(
    torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(16, 1)
)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
path = os.path.join(args.out, "checkpoint.pt")

if args.fixed:
    from resumecheck.fixkit import ResumableDataLoader, load_training_state, save_training_state

    loader = ResumableDataLoader(data, batch_size=8, shuffle=True, seed=0)
    step = 0
    if args.resume and os.path.exists(path):
        step = load_training_state(path, model=model, optimizer=opt, loader=loader)
    total = args.epochs * len(loader)
    while step < total:
        for x, y in loader:
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            save_training_state(path, step=step, model=model, optimizer=opt, loader=loader)
            if step == total:
                break
else:
    loader = DataLoader(data, batch_size=8, shuffle=True)
    start_epoch = 0
    if args.resume and os.path.exists(path):
        checkpoint = torch.load(path)
        model.load_state_dict(checkpoint["model_state_dict"])
        opt.load_state_dict(checkpoint["optimizer_state_dict"])
        start_epoch = checkpoint["epoch"] + 1
    for epoch in range(start_epoch, args.epochs):
        for x, y in loader:
            loss = torch.nn.functional.mse_loss(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        torch.save(
            {
                "epoch": epoch,
                "model_state_dict": model.state_dict(),
                "optimizer_state_dict": opt.state_dict(),
                "loss": loss.item(),
            },
            path,
        )
        print(f"epoch {epoch}: loss {loss.item():.4f}")
