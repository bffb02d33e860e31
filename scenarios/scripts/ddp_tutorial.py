"""The PyTorch DDP tutorial's training script (``multigpu_torchrun.py`` of pytorch/examples'
``ddp-tutorial-series``), on CPU with gloo: launched by ``torchrun``, one process per rank.

As in the tutorial, rank 0 saves a snapshot ``{"MODEL_STATE", "EPOCHS_RUN": epoch}`` at the end
of each epoch, and a restarted job loads it and continues ``for epoch in range(epochs_run,
...)``. The epoch stored is the one just finished, so a resumed run trains it again.
``--fixed`` stores ``epoch + 1``: the resume is exact.
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--snapshot", required=True, help="snapshot path")
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--fixed", action="store_true")
args = parser.parse_args()

dist.init_process_group(backend="gloo")
rank = dist.get_rank()
torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
dataset = TensorDataset(torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g))
loader = DataLoader(dataset, batch_size=8, sampler=DistributedSampler(dataset, seed=0))
model = torch.nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)  # the tutorial: plain SGD
epochs_run = 0
if os.path.exists(args.snapshot):
    snapshot = torch.load(args.snapshot)
    model.load_state_dict(snapshot["MODEL_STATE"])
    epochs_run = snapshot["EPOCHS_RUN"]
ddp = DDP(model)
for epoch in range(epochs_run, args.epochs):
    loader.sampler.set_epoch(epoch)
    for source, targets in loader:
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(ddp(source), targets)
        loss.backward()
        optimizer.step()
    if rank == 0:
        snapshot = {"MODEL_STATE": ddp.module.state_dict(), "EPOCHS_RUN": epoch}
        if args.fixed:
            snapshot["EPOCHS_RUN"] = epoch + 1
        torch.save(snapshot, args.snapshot + ".tmp")
        os.replace(args.snapshot + ".tmp", args.snapshot)
dist.destroy_process_group()
