"""nanoGPT's pattern in a few lines: batches at random offsets into a token stream.

The script seeds torch once at start, draws each batch's offsets with ``torch.randint``, and
every ``--save-every`` steps writes a checkpoint at the top of the next iteration (as
nanoGPT does after its evaluation), with the model, optimizer and iteration but no RNG state.
A resumed run seeds again and draws the very first batches again.
"""

from __future__ import annotations

import argparse
import os

import torch

parser = argparse.ArgumentParser()
parser.add_argument("--out_dir", required=True)
parser.add_argument("--init_from", default="scratch", choices=("scratch", "resume"))
parser.add_argument("--max_iters", type=int, default=16)
parser.add_argument("--save_every", type=int, default=4)
parser.add_argument("--save_rng", action="store_true", help="the fix: checkpoint the RNG")
args = parser.parse_args()

torch.manual_seed(1337)
stream = torch.randint(0, 32, (2048,), generator=torch.Generator().manual_seed(0))
block, batch = 8, 4


def get_batch() -> tuple[torch.Tensor, torch.Tensor]:
    ix = torch.randint(len(stream) - block - 1, (batch,))
    x = torch.stack([stream[i : i + block] for i in ix])
    y = torch.stack([stream[i + 1 : i + 1 + block] for i in ix])
    return x, y


class TinyLM(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(32, 16)
        self.head = torch.nn.Linear(16, 32)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = self.head(torch.relu(self.emb(x)))
        return torch.nn.functional.cross_entropy(logits.view(-1, 32), y.view(-1))


model = TinyLM()
opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
iter_num = 0
ckpt_path = os.path.join(args.out_dir, "ckpt.pt")
if args.init_from == "resume":
    checkpoint = torch.load(ckpt_path)
    model.load_state_dict(checkpoint["model"])
    opt.load_state_dict(checkpoint["optimizer"])
    iter_num = checkpoint["iter_num"]
    if "rng" in checkpoint:
        torch.set_rng_state(checkpoint["rng"])
if args.init_from == "resume" and "batch" in checkpoint:
    X, Y = checkpoint["batch"]  # the batch already drawn for the next iteration
else:
    X, Y = get_batch()
while True:
    if iter_num % args.save_every == 0 and iter_num > 0:
        checkpoint = {"model": model.state_dict(), "optimizer": opt.state_dict()}
        checkpoint["iter_num"] = iter_num
        if args.save_rng:
            checkpoint["rng"] = torch.get_rng_state()
            checkpoint["batch"] = (X, Y)
        torch.save(checkpoint, ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)
    if iter_num >= args.max_iters:
        break
    loss = model(X, Y)
    X, Y = get_batch()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    iter_num += 1
