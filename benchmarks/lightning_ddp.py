"""Lightning DDP on 2 CPU ranks: a 1-kill check against running the same fits by hand.

Prints, in one run: the wall time of the four fits a person would run by hand to check one
resume of ``scenarios/scripts/lightning_ddp.py`` (``strategy="ddp"``, 2 ranks, 12 steps:
an uninterrupted fit, a second one to rule out nondeterminism, a fit stopped after step 8
(``--max_steps=8``) and a fit resumed from its ``last.ckpt``), each ``python train.py`` as a
fresh process tree; then the same check by resumecheck, as a :class:`~resumecheck.LightningJob`
of the same module and data (``rc.check(job, kills=[8], mode="sigkill")``) and as
``resumecheck run -- python train.py`` (a ``ScriptJob``), each with its ratio to the fits by
hand.

    python benchmarks/lightning_ddp.py
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parents[1] / "scenarios" / "scripts" / "lightning_ddp.py"
KILL = 8  # the end of the second epoch (4 steps per epoch on each rank); a last.ckpt every epoch


def by_hand(tmp: Path) -> float:
    """The four fits, one ``python train.py`` each (Lightning starts rank 1 itself)."""
    runs = [
        [f"--ckpt_dir={tmp / 'reference'}"],
        [f"--ckpt_dir={tmp / 'control'}"],
        [f"--ckpt_dir={tmp / 'killed'}", f"--max_steps={KILL}"],
        [f"--ckpt_dir={tmp / 'killed'}", "--resume"],
    ]
    started = time.perf_counter()
    for args in runs:
        subprocess.run(
            [sys.executable, str(SCRIPT), *args], check=True, capture_output=True, cwd=tmp
        )
    return time.perf_counter() - started


def lightning_job() -> Any:
    import resumecheck as rc

    spec = importlib.util.spec_from_file_location("lightning_ddp_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return rc.LightningJob(
        module.BoringModel,
        module.data,
        {
            "strategy": "ddp",
            "devices": 2,
            "accelerator": "cpu",
            "max_epochs": 3,
            "logger": False,
            "callbacks": [module.pl.callbacks.ModelCheckpoint(save_last=True)],
        },
    )


def checked(job: Any, tmp: Path) -> float:
    import resumecheck as rc

    started = time.perf_counter()
    report = rc.check(job, kills=[KILL], mode="sigkill", seed=0, artifacts_dir=tmp)
    assert report.passed, str(report)
    return time.perf_counter() - started


def main() -> None:
    import resumecheck as rc

    with tempfile.TemporaryDirectory() as tmp:
        hand = by_hand(Path(tmp))
    with tempfile.TemporaryDirectory() as tmp:
        as_job = checked(lightning_job(), Path(tmp))
    script = rc.ScriptJob(
        [sys.executable, str(SCRIPT), "--ckpt_dir={checkpoint_dir}"], resume="--resume"
    )
    with tempfile.TemporaryDirectory() as tmp:
        as_script = checked(script, Path(tmp))
    print(
        f"job: {SCRIPT.name}, Lightning strategy='ddp', 2 CPU ranks (gloo), 12 steps; "
        f"1 sigkill kill after step {KILL}: 4 fits"
    )
    print(f"the 4 fits by hand (python train.py each):   {hand:7.2f} s")
    print(f"rc.check(LightningJob):                      {as_job:7.2f} s  ({as_job / hand:.2f}x)")
    print(
        f"resumecheck run -- python train.py:          {as_script:7.2f} s  "
        f"({as_script / hand:.2f}x)"
    )


if __name__ == "__main__":
    main()
