"""Cost of a distributed check: a 2-rank ``torchrun`` job checked with one kill, against the
same plan run by hand with plain ``torchrun`` commands.

The job is ``scenarios/scripts/ddp_loop.py --dcp`` (2 ranks, gloo, CPU, 12 optimizer steps, a
DCP checkpoint every step). By hand, one kill plan is three commands: the uninterrupted run,
a run stopped after step 6 (``--stop_after 6``: what the kill leaves) and the run resumed from
``step-6/``. resumecheck runs the same three (observed in every rank, killed for real), plus the
control run that rules out nondeterminism unless ``control=False``.

Prints, in one run: the wall time of the runs by hand, of the check without and with the
control run, and their ratios.

    python benchmarks/distributed.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # scenarios/, when run from anywhere

from scenarios import _scripts  # noqa: E402

KILL = 6
ARGS = ["--dcp", "--steps=12"]


def by_hand() -> float:
    """Reference, killed and resumed runs as plain ``torchrun`` commands."""
    with tempfile.TemporaryDirectory() as tmp:
        reference, chain = Path(tmp, "reference"), Path(tmp, "chain")
        commands = [
            _scripts.torchrun("ddp_loop.py", f"--out={reference}", *ARGS),
            _scripts.torchrun("ddp_loop.py", f"--out={chain}", *ARGS, f"--stop_after={KILL}"),
            _scripts.torchrun(
                "ddp_loop.py", f"--out={chain}", *ARGS, f"--resume={chain}/step-{KILL}"
            ),
        ]
        started = time.perf_counter()
        for command in commands:
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
        return time.perf_counter() - started


def checked(control: bool) -> float:
    import resumecheck as rc

    job = rc.ScriptJob(
        _scripts.torchrun("ddp_loop.py", "--out={checkpoint_dir}", *ARGS),
        resume="--resume={resume_from}",
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        report = rc.check(
            job, kills=[KILL], mode="sigkill", seed=0, control=control, artifacts_dir=tmp
        )
    seconds = time.perf_counter() - started
    assert report.passed, str(report)
    return seconds


def main() -> None:
    hand = by_hand()
    bare = checked(control=False)
    full = checked(control=True)
    print(
        f"job: ddp_loop.py --dcp under torchrun, 2 ranks (gloo, CPU), 12 optimizer steps, a DCP "
        f"checkpoint every step; plan: one sigkill after step {KILL}"
    )
    print(f"by hand (reference + stopped + resumed torchrun): {hand:7.2f} s")
    print(f"resumecheck, no control run (the same 3 runs):    {bare:7.2f} s  ({bare / hand:.2f}x)")
    print(f"resumecheck, with the control run (4 runs):       {full:7.2f} s  ({full / hand:.2f}x)")


if __name__ == "__main__":
    main()
