"""A distributed training loop on CPU/gloo, launched by ``torchrun``, that resumes mid-epoch.

Every rank trains a DDP model with Adam on its share of a ``DistributedSampler`` and calls
``set_epoch`` each epoch; a resumed run takes the sampler's epoch and position from the step it
restored. The global batch is fixed (each rank takes its share), so the job resumes with any
world size that divides it.

``--fsdp`` shards the model with FSDP2 (``fully_shard``) instead of DDP: each rank holds a
shard of every parameter and optimizer state (use it with ``--dcp``).

Checkpoints, every ``--save_every`` steps:
- default: rank 0 saves ``{out}/ckpt.pt`` (model, optimizer, step; temp file + ``os.replace``)
  and every rank loads it back;
- ``--dcp``: every rank saves one ``torch.distributed.checkpoint`` (DCP) checkpoint,
  ``{out}/step-N/`` (a shard per rank, complete once ``.metadata`` is written), from
  ``get_state_dict``, and loads it back with ``dcp.load`` + ``set_state_dict`` (DCP reshards it
  for another world size).

``--resume PATH`` resumes from a checkpoint; ``--resume latest`` from the newest ``step-N/``
there is (complete or not). ``--forget_optimizer`` saves and loads only the model: Adam's
moments restart from zero. ``--restart_epoch`` resumes at the start of the checkpoint's epoch,
feeding its first batches again (the step count stays right). ``--stop_after N`` stops after
step N (what a kill leaves, for running plans by hand).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--out", required=True, help="checkpoint directory")
parser.add_argument("--resume", default=None, help="a checkpoint to resume from")
parser.add_argument("--dcp", action="store_true", help="sharded checkpoints (DCP)")
parser.add_argument("--steps", type=int, default=12)
parser.add_argument("--global_batch", type=int, default=16)
parser.add_argument("--save_every", type=int, default=1)
parser.add_argument("--stop_after", type=int, default=None)
parser.add_argument("--forget_optimizer", action="store_true")
parser.add_argument("--restart_epoch", action="store_true")
parser.add_argument("--fsdp", action="store_true", help="shard the model with FSDP2 (with --dcp)")
args = parser.parse_args()

dist.init_process_group(backend="gloo")
rank, world = dist.get_rank(), dist.get_world_size()
torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
dataset = TensorDataset(torch.randn(64, 4, generator=g), torch.randn(64, 1, generator=g))
sampler = DistributedSampler(dataset, seed=0)
loader = DataLoader(dataset, batch_size=args.global_batch // world, sampler=sampler)
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
if args.fsdp:
    from torch.distributed.fsdp import fully_shard

    model: torch.nn.Module = fully_shard(net)  # each rank holds a dim-0 shard of every tensor
else:
    model = DDP(net)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
step = 0


def dcp_state() -> dict[str, Any]:
    from torch.distributed.checkpoint.state_dict import get_state_dict

    model_state, optim_state = get_state_dict(model, optimizer)
    state = {"model": model_state, "optim": optim_state, "step": step}
    if args.forget_optimizer:
        del state["optim"]
    return state


def save() -> None:
    if args.dcp:
        import torch.distributed.checkpoint as dcp

        dcp.save(dcp_state(), checkpoint_id=f"{args.out}/step-{step}")
    elif rank == 0:
        state = {"model": net.state_dict(), "step": step}
        if not args.forget_optimizer:
            state["optim"] = optimizer.state_dict()
        torch.save(state, f"{args.out}/ckpt.pt.tmp")
        os.replace(f"{args.out}/ckpt.pt.tmp", f"{args.out}/ckpt.pt")


def load(path: str) -> int:
    if args.dcp:
        import torch.distributed.checkpoint as dcp
        from torch.distributed.checkpoint.state_dict import set_model_state_dict, set_state_dict

        state = dcp_state()
        dcp.load(state, checkpoint_id=path)
        if args.forget_optimizer:
            set_model_state_dict(model, state["model"])
        else:
            set_state_dict(
                model, optimizer, model_state_dict=state["model"], optim_state_dict=state["optim"]
            )
        return int(state["step"])
    state = torch.load(path)
    net.load_state_dict(state["model"])
    if "optim" in state:
        optimizer.load_state_dict(state["optim"])
    return int(state["step"])


if args.resume == "latest":
    found = [d for d in os.listdir(args.out) if d.startswith("step-")]
    if found:
        step = load(os.path.join(args.out, max(found, key=lambda d: int(d[5:]))))
elif args.resume:
    step = load(args.resume)
steps_per_epoch = len(loader)
last = args.steps if args.stop_after is None else min(args.steps, args.stop_after)
while step < last:
    epoch, done = divmod(step, steps_per_epoch)
    sampler.set_epoch(epoch)
    for i, (x, y) in enumerate(loader):
        if i < done and not args.restart_epoch:
            continue  # fed before the checkpoint
        loss = torch.nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        if step % args.save_every == 0:
            save()
        if step == last:
            break
dist.destroy_process_group()
