"""What a check costs beside the training itself, on a model big enough for hashing to matter.

A Lightning MLP with Adam (3 epochs x 8 steps), checkpointed by the user's own epoch-end
``ModelCheckpoint``. The check: one ``exception``-mode kill at the end of epoch 1, no control
run. The baseline, measured in the same run: two plain ``trainer.fit`` runs of the same job
(same callbacks, same data). Without a control run the check computes what two fits compute
(24 reference steps, 8 killed, 16 resumed: the killed run is not taken from the reference,
since nothing has shown the job deterministic), so the ratio is what recording, killing,
loading and comparing add.

    python benchmarks/recording.py            # ~7M parameters
    python benchmarks/recording.py --big      # ~50M parameters as well
"""

from __future__ import annotations

import copy
import resource
import statistics
import sys
import tempfile
import time
from typing import Any

EPOCHS, BATCHES, BATCH = 3, 8, 64
# Steps a check computes: the reference run, the killed run and the resumed run after the kill
# at BATCHES: as many as two plain fits.
CHECK_STEPS = 2 * EPOCHS * BATCHES


def cpu() -> float:
    """CPU seconds of this process and of its finished children (a forked killed run)."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


SIZES = {"7M": (512, 2048), "50M": (1024, 6144)}


def make_job(size: str):  # type: ignore[no-untyped-def]
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint
    from torch.utils.data import DataLoader, TensorDataset

    import resumecheck as rc

    width, hidden = SIZES[size]

    class MLP(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(width, hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(hidden, hidden),
                torch.nn.ReLU(),
                torch.nn.Linear(hidden, width),
            )

        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.Adam(self.parameters(), lr=1e-4)

    def data() -> DataLoader:  # type: ignore[type-arg]
        g = torch.Generator().manual_seed(0)
        n = BATCHES * BATCH
        x, y = torch.randn(n, width, generator=g), torch.randn(n, width, generator=g)
        return DataLoader(TensorDataset(x, y), batch_size=BATCH)

    trainer = {
        "max_epochs": EPOCHS,
        "callbacks": [ModelCheckpoint()],  # saves at every epoch end
        "logger": False,
        "accelerator": "cpu",
    }
    return rc.LightningJob(MLP, data, trainer, name=f"mlp-{size}")


def plain_fits(job: Any, runs: int = 2) -> tuple[float, float]:
    import lightning.pytorch as pl

    started, cpu0 = time.perf_counter(), cpu()
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            kwargs = dict(job.trainer)
            callbacks = [copy.deepcopy(cb) for cb in kwargs.pop("callbacks")]
            for cb in callbacks:
                cb.dirpath = tmp
            trainer = pl.Trainer(
                **kwargs,
                callbacks=callbacks,
                default_root_dir=tmp,
                enable_progress_bar=False,
                enable_model_summary=False,
            )
            trainer.fit(job.model(), job.data())
    return time.perf_counter() - started, cpu() - cpu0


def one_check(job: Any) -> tuple[float, float, bool]:
    import resumecheck as rc

    started, cpu0 = time.perf_counter(), cpu()
    report = rc.check(job, kills=[BATCHES], mode="exception", seed=0, control=False)
    return time.perf_counter() - started, cpu() - cpu0, report.passed


def measure(size: str, repeats: int) -> None:
    import torch

    torch.manual_seed(0)
    job = make_job(size)
    params = sum(p.numel() for p in job.model().parameters())
    one_check(job)  # warm-up: first-use costs of both paths
    plain_fits(job, 1)
    checks: list[tuple[float, float]] = []
    fits: list[tuple[float, float]] = []
    passed = True
    for _ in range(repeats):
        wall, cpu, ok = one_check(job)
        checks.append((wall, cpu))
        passed = passed and ok
        fits.append(plain_fits(job))
    check_s, fit_s = (statistics.median(w for w, _ in runs) for runs in (checks, fits))
    check_cpu, fit_cpu = (statistics.median(c for _, c in runs) for runs in (checks, fits))
    print(
        f"{job.name}: {params / 1e6:.1f}M parameters + Adam, {EPOCHS * BATCHES} steps; "
        f"1 exception kill at step {BATCHES}, no control (median of {repeats})"
    )
    print("                    wall      CPU (all threads)")
    print(f"  check:          {check_s:6.2f} s  {check_cpu:6.2f} s  (passed={passed})")
    print(f"  two plain fits: {fit_s:6.2f} s  {fit_cpu:6.2f} s")
    print(
        f"  ratio:          {check_s / fit_s:6.2f}x  {check_cpu / fit_cpu:6.2f}x  (goal <= 1.10; "
        "CPU time is the steadier figure on a busy machine)"
    )
    # What the check adds beyond computing its steps: recording, kill, load, compare.
    share = CHECK_STEPS / (2 * EPOCHS * BATCHES)
    print(
        f"  beyond its {CHECK_STEPS} steps' compute: {check_cpu / (fit_cpu * share) - 1:+.1%} CPU "
        f"(two plain fits compute {2 * EPOCHS * BATCHES} steps)"
    )


def main() -> None:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    measure("7M", 3)
    if "--big" in sys.argv:
        measure("50M", 1)


if __name__ == "__main__":
    main()
