"""A Lightning Fabric training loop that checkpoints with ``fabric.save``/``fabric.load``.

Every step it saves the model, optimizer, step and the global RNG state, so a resume is exact
(the data order comes from the step number; dropout draws from the restored RNG).
``--no-rng`` leaves the RNG out of the checkpoint: dropout then draws other masks (``RNG``).
"""

from __future__ import annotations

import argparse
import os

import lightning as L
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--ckpt_dir", required=True)
parser.add_argument("--resume", default=None, help="checkpoint to resume from")
parser.add_argument("--steps", type=int, default=12)
parser.add_argument("--no-rng", dest="rng", action="store_false")
args = parser.parse_args()

fabric = L.Fabric(accelerator="cpu", devices=1)
fabric.seed_everything(7, verbose=False)
g = torch.Generator().manual_seed(3)
xs, ys = torch.randn(96, 4, generator=g), torch.randn(96, 1, generator=g)
model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Dropout(0.2), torch.nn.Linear(16, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
model, optimizer = fabric.setup(model, optimizer)
state = {"model": model, "optimizer": optimizer, "step": 0}
if args.resume:
    rest = fabric.load(args.resume, state)
    if "rng" in rest:
        torch.set_rng_state(rest["rng"])
while state["step"] < args.steps:
    i = state["step"] % 12
    x, y = xs[i * 8 : (i + 1) * 8], ys[i * 8 : (i + 1) * 8]
    loss = torch.nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    fabric.backward(loss)
    optimizer.step()
    state["step"] += 1
    extra = {"rng": torch.get_rng_state()} if args.rng else {}
    fabric.save(os.path.join(args.ckpt_dir, "last.ckpt"), {**state, **extra})
