"""Script kill sweep: an unmodified script forked from the preloaded server vs a fresh
interpreter per run.

Prints, in one run: the wall time of a 10-kill ``sigkill`` check of an unmodified tiny
training script (``scenarios/scripts/random_offsets.py``, 24 optimizer steps, a checkpoint every
step), all imports included, as ``resumecheck run -- python script.py ...`` runs it; the same
check where every run is a fresh interpreter (the command behind ``/usr/bin/env``, observed by
the bootstrap, which is what any other command costs, every run computed); and their ratio.
The fork-server check takes each killed run from the control run (engine/prefix.py).

    python benchmarks/script_sweep.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from sweep import measure  # benchmarks/ is this script's folder: one way to time a fresh run

SCRIPT = Path(__file__).resolve().parents[1] / "scenarios" / "scripts" / "random_offsets.py"
KILLS = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
RUNS = 2 + 2 * len(KILLS)  # reference, control, then a killed and a resumed run per kill
ARGS = ["--out_dir={checkpoint_dir}", "--max_iters=24", "--save_every=1", "--save_rng"]


def one(method: str) -> dict[str, float]:
    """Run inside a fresh interpreter: the whole check, imports included."""
    started = time.perf_counter()
    from resumecheck.engine.forkserver import start_server, stop_server

    if method == "forkserver":
        start_server()  # as `resumecheck run` does: its imports overlap with ours
    import tempfile

    import resumecheck as rc

    prefix = [] if method == "forkserver" else ["/usr/bin/env"]
    job = rc.ScriptJob(
        [*prefix, sys.executable, str(SCRIPT), *ARGS],
        resume="--init_from=resume",
        checkpoints="ckpt.pt",
    )
    assert job.runs_in_fork_server == (method == "forkserver")
    with tempfile.TemporaryDirectory() as tmp:
        report = rc.check(job, kills=KILLS, mode="sigkill", seed=0, artifacts_dir=tmp)
    stop_server()
    return {"total": time.perf_counter() - started, "passed": float(report.passed)}


def main() -> None:
    fast = measure("--one", "forkserver", script=__file__)
    naive = measure("--one", "fresh", script=__file__)
    print(
        f"job: {SCRIPT.name}, unmodified, 24 optimizer steps; check: {len(KILLS)} sigkill "
        f"kills, {RUNS} runs (reference, control, killed + resumed per kill)"
    )
    print(f"fork server (imports included): {fast['wall']:7.2f} s")
    print(f"fresh interpreter per run:      {naive['wall']:7.2f} s")
    print(f"ratio:                          {naive['wall'] / fast['wall']:7.1f}x  (goal >= 10x)")
    print(f"verdicts agree: {fast['passed'] == naive['passed']} (passed={bool(fast['passed'])})")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2])))
    else:
        main()
