"""How a check's cost grows with the job's length and the number of kills.

A tiny Lightning job that resumes exactly at any step (``ResumableDataLoader`` and
``RngStateCallback``), 8 steps per epoch, checked in ``exception`` mode with its control run
(which leaves the killed runs: engine/prefix.py).
For each length (24, 96, 384 steps) and number of kills (1, 10, 40; at most one per step), in
one run, it prints the check's time next to its limit: the reference and control runs plus the
resumed tails, from plain ``trainer.fit`` runs of the same job timed here (a run of n steps costs
``setup + n * step``, as its user runs it: default logger, epoch-end checkpoints). The
"recomputed" column estimates the same check computing every killed run's k steps as well,
at the check's own cost per run and per step.

    python benchmarks/scaling.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STEPS = (24, 96, 384)
KILLS = (1, 10, 40)
PER_EPOCH = 8


def make_job(steps: int) -> Any:
    from resumecheck.fixkit import RngStateCallback
    from scenarios import _common

    return _common.lightning_job(
        data=_common.resumable_loader,
        callbacks=[RngStateCallback()],
        max_epochs=steps // PER_EPOCH,
    )


def plain_fit(job: Any) -> float:
    """The job as its user runs it: the Trainer's default logger and epoch-end checkpoint."""
    import lightning.pytorch as pl

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        kwargs = dict(job.trainer)
        trainer = pl.Trainer(
            **kwargs,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=tmp,
        )
        trainer.fit(job.model(), job.data())
    return time.perf_counter() - started


def kill_steps(steps: int, kills: int) -> list[int]:
    """``kills`` distinct steps spread evenly over the run (at most ``steps - 1``)."""
    n = min(kills, steps - 1)
    return sorted({1 + (i * (steps - 1)) // n for i in range(n)})[:n]


def main() -> None:
    import logging
    import warnings

    import resumecheck as rc

    warnings.simplefilter("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    plain_fit(make_job(24))  # warm-up
    # A plain run of n steps: setup + n * per-step, fitted from 24 and 384 steps.
    short = statistics.median(plain_fit(make_job(24)) for _ in range(3))
    long = statistics.median(plain_fit(make_job(384)) for _ in range(3))
    per_step = (long - short) / (384 - 24)
    setup = short - 24 * per_step
    print(f"plain trainer.fit: {setup:.3f} s setup + {per_step * 1000:.2f} ms per step")
    print(f"{'steps':>6} {'kills':>6} {'check':>8} {'limit':>8} {'ratio':>6} {'recomputed':>11}")
    for steps in STEPS:
        job = make_job(steps)
        for kills in KILLS:
            plans = kill_steps(steps, kills)
            started = time.perf_counter()
            report = rc.check(job, kills=plans, mode="exception", seed=0)
            seconds = time.perf_counter() - started
            tails = sum(steps - k for k in plans)
            # Reference and control runs, then one resumed run (setup + its tail) per kill.
            limit = 2 * (setup + steps * per_step) + len(plans) * setup + tails * per_step
            # Recomputing prefixes: a killed run of k steps per kill as well, each step and run
            # costing what they cost this check.
            scale = seconds / limit
            naive = seconds + scale * sum(setup + k * per_step for k in plans)
            ok = "" if report.passed else "  (diverged!)"
            print(
                f"{steps:>6} {len(plans):>6} {seconds:>7.2f}s {limit:>7.2f}s "
                f"{seconds / limit:>5.2f}x {naive:>10.2f}s{ok}"
            )


if __name__ == "__main__":
    main()
