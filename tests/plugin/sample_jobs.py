"""Tiny plain-PyTorch jobs for the plugin tests, copied into pytester directories.

Every job trains 12 steps and checkpoints after each one. Only torch is imported, so a pytest
subprocess that uses them starts in a couple of seconds.
"""

from __future__ import annotations

import time
from typing import Any

import torch

import resumecheck as rc

STEPS = 12


def make_job(
    *,
    save_rng: bool = True,
    restore: bool = True,
    truncate_from: int | None = None,
    dropout: float = 0.0,
    forget_optimizer_on_second_resume: bool = False,
    crash: bool = False,
    hang: bool = False,
) -> rc.TorchJob:
    """A correct job by default; each option plants one classic resume bug."""

    def train(run: rc.Run) -> None:
        if crash:
            raise RuntimeError("CUDA out of memory (pretend)")
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(40, 4, generator=g), torch.randn(40, 1, generator=g)
        model = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Dropout(dropout), torch.nn.Linear(8, 1)
        )
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        start, resumes = 0, 0
        if run.resume_from is not None and restore:
            ck: dict[str, Any] = torch.load(run.resume_from)
            model.load_state_dict(ck["model"])
            resumes = ck["resumes"] + 1
            if not (forget_optimizer_on_second_resume and resumes >= 2):
                opt.load_state_dict(ck["opt"])
            start = ck["step"]
            if save_rng:
                torch.set_rng_state(ck["rng"])
        for step in range(start, STEPS):
            while hang:
                time.sleep(1000)
            i = step % 5
            loss = torch.nn.functional.mse_loss(model(x[i * 8 : i * 8 + 8]), y[i * 8 : i * 8 + 8])
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            ck = {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "step": step + 1,
                "resumes": resumes,
                "rng": torch.get_rng_state(),
            }
            path = run.checkpoint_dir / "ckpt.pt"
            torch.save(ck, path)
            if truncate_from is not None and step + 1 >= truncate_from:
                # As a kill in the middle of a write leaves it.
                path.write_bytes(path.read_bytes()[:100])
            run.step(step + 1, model=model, optimizer=opt, loss=loss)

    return rc.TorchJob(train, name="sample")
