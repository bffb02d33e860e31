"""Job factories for ``resumecheck check FILE::FACTORY`` and pytest runs in a subprocess.

Each job writes ``$RESUMECHECK_TEST_STARTED`` (if set) once it trains, so a test can send its
signal while the job is really running.
"""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch

import resumecheck as rc
from tests.trust import trust_jobs as tj


def _started() -> None:
    path = os.environ.get("RESUMECHECK_TEST_STARTED")
    if path:
        Path(path).touch()


class SlowNet(tj.LoggingNet):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        _started()
        time.sleep(0.2)
        return super().training_step(batch, batch_idx)


def slow() -> rc.LightningJob:
    return tj.logging_job(SlowNet)


class HangNet(tj.LoggingNet):
    """Hangs forever in its 3rd step of a resumed run (after a kill, never in the reference)."""

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        _started()
        if self.trainer.ckpt_path is not None and batch_idx == 6:
            while True:
                time.sleep(0.05)
        return super().training_step(batch, batch_idx)


def hang() -> rc.LightningJob:
    return tj.logging_job(HangNet)


class ExitNet(tj.LoggingNet):
    """Ends the interpreter without a trace at its 5th batch."""

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if batch_idx == 4:
            sys.stdout.flush()
            os._exit(int(os.environ.get("RESUMECHECK_TEST_EXIT", "0")))
        return super().training_step(batch, batch_idx)


def exits() -> rc.LightningJob:
    return tj.logging_job(ExitNet)


class SegfaultNet(tj.LoggingNet):
    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if batch_idx == 4:
            ctypes.string_at(0)
        return super().training_step(batch, batch_idx)


def segfault() -> rc.LightningJob:
    return tj.logging_job(SegfaultNet)


def _train_plain(run: rc.Run, steps: int = 6, pause: float = 0.0) -> None:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    start = 0
    if run.resume_from is not None:
        ck = torch.load(run.resume_from, weights_only=True)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        start = ck["step"]
    for step in range(start + 1, steps + 1):
        x = torch.full((2, 3), float(step))
        loss = model(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        path = run.checkpoint_dir / "ckpt.pt"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step}, path)
        run.step(step, model=model, optimizer=opt, loss=loss, batch=x)
        time.sleep(pause)


def plain_with_steps(run: rc.Run, steps: int) -> None:
    _train_plain(run, steps)


def partial_job() -> rc.TorchJob:
    return rc.TorchJob(functools.partial(plain_with_steps, steps=6))


def _chatty(run: rc.Run) -> None:
    sys.stdout.write("x" * (100 << 20))  # 100 MB, no newline
    sys.stdout.flush()
    raise RuntimeError("chatty job failed")


def chatty() -> rc.TorchJob:
    return rc.TorchJob(_chatty)


def _ignores_sigterm(run: rc.Run) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _train_plain(run, steps=8, pause=0.4)


def ignores_sigterm() -> rc.TorchJob:
    return rc.TorchJob(_ignores_sigterm)


def _never_steps(run: rc.Run) -> None:
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for step in range(1, 7):
        loss = model(torch.ones(2, 3)).pow(2).mean()
        loss.backward()  # but no opt.step(): nothing is trained
        torch.save(model.state_dict(), run.checkpoint_dir / "ckpt.pt")
        run.step(step, model=model, optimizer=opt, loss=loss)


def never_steps() -> rc.TorchJob:
    return rc.TorchJob(_never_steps)


def _sets_threads(run: rc.Run) -> None:
    torch.set_num_threads(1)
    _train_plain(run)


def sets_threads() -> rc.TorchJob:
    return rc.TorchJob(_sets_threads)


class WorkerData(tj.Data):
    """Training data read by two persistent DataLoader worker processes."""

    def train_dataloader(self) -> Any:
        from torch.utils.data import DataLoader

        return DataLoader(tj.data().dataset, batch_size=8, num_workers=2, persistent_workers=True)


def with_workers() -> rc.LightningJob:
    job = tj.logging_job()
    return rc.LightningJob(model=job.model, data=WorkerData, trainer=job.trainer)


def _leaves_a_helper(run: rc.Run) -> None:
    import subprocess

    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    _train_plain(run)


def leaves_a_helper() -> rc.TorchJob:
    return rc.TorchJob(_leaves_a_helper)
