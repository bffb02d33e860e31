"""Exception-mode check speed: 5 kills on a 24-step tiny Lightning job, after imports.

Prints the check's wall time (goal: under 3 s), the time of the same number of plain
``trainer.fit`` runs without resumecheck (same job, same every-step checkpointing), and the
ratio between them: what recording, fingerprinting, killing and comparing add.

    python benchmarks/check.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from sweep import make_job

KILLS = [3, 8, 11, 16, 21]
RUNS = 2 + 2 * len(KILLS)


def plain_fits(job, runs: int) -> float:  # type: ignore[no-untyped-def]
    import lightning.pytorch as pl
    from lightning.pytorch.callbacks import ModelCheckpoint

    started = time.perf_counter()
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = ModelCheckpoint(dirpath=tmp, every_n_train_steps=1, save_last="link")
            trainer = pl.Trainer(
                max_epochs=3,
                logger=False,
                enable_progress_bar=False,
                enable_model_summary=False,
                callbacks=[checkpoint],
                default_root_dir=tmp,
            )
            trainer.fit(job.model(), job.data())
    return time.perf_counter() - started


def main() -> None:
    import logging
    import warnings

    import resumecheck as rc

    warnings.simplefilter("ignore")
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    job = make_job()
    with tempfile.TemporaryDirectory() as artifacts:  # kept artifacts of failing kills go here
        rc.check(job, kills=[3], seed=0, artifacts_dir=artifacts)  # warm-up: first-use costs
        checks, fits = [], []
        for _ in range(3):
            t0 = time.perf_counter()
            report = rc.check(job, kills=KILLS, seed=0, artifacts_dir=artifacts)
            checks.append(time.perf_counter() - t0)
            fits.append(plain_fits(job, RUNS))
    check_s, fit_s = statistics.median(checks), statistics.median(fits)
    print(
        f"job: tiny Lightning, {report.steps} steps; check: {len(KILLS)} exception-mode kills "
        f"= {RUNS} runs (median of 3)"
    )
    print(f"resumecheck check:          {check_s:6.2f} s  (goal < 3 s after imports)")
    print(f"{RUNS} plain trainer.fit runs: {fit_s:6.2f} s")
    print(f"ratio check / plain runs:   {check_s / fit_s:6.2f}x")


if __name__ == "__main__":
    main()
