"""Process-mode kill sweep: ``resumecheck check`` vs a fresh interpreter per run.

Prints, in one run: the wall time of ``resumecheck check benchmarks/sweep.py::make_job
--mode sigkill`` with 10 kills on a 24-step tiny Lightning job (the command a user types:
a fresh interpreter, all imports included), the same check where every run is a fresh
interpreter and computed in full (multiprocessing "spawn": the naive way), their ratio, the
per-run overhead of the fork server above the steps' own time (the same runs in-process),
the floor that importing torch and Lightning once puts under any check of this job, and
the bound the check's own CPU time puts on its wall time on this machine's cores.
The fast way runs the reference, the control and one resumed run per kill: each killed run
is the control run's own state at its kill point (engine/prefix.py).

    python benchmarks/sweep.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

KILLS = [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
RUNS = 2 + 2 * len(KILLS)  # reference, control, then a killed and a resumed run per kill
COMPUTED = 2 + len(KILLS)  # the killed runs are the control run's own


def make_job():  # type: ignore[no-untyped-def]
    import lightning.pytorch as pl
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    import resumecheck as rc

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(8, 1)

        def training_step(self, batch, batch_idx):  # type: ignore[no-untyped-def]
            return torch.nn.functional.mse_loss(self.layer(batch[0]), batch[1])

        def configure_optimizers(self):  # type: ignore[no-untyped-def]
            return torch.optim.SGD(self.parameters(), lr=0.1)

    def data() -> DataLoader:  # type: ignore[type-arg]
        g = torch.Generator().manual_seed(0)
        return DataLoader(
            TensorDataset(torch.randn(64, 8, generator=g), torch.randn(64, 1, generator=g)),
            batch_size=8,
        )

    return rc.LightningJob(Tiny, data, {"max_epochs": 3}, name="tiny-24-steps")


def naive() -> dict[str, float]:
    """Run inside a fresh interpreter: the check with a fresh interpreter per run."""
    import tempfile

    from resumecheck.engine.harness import CheckSession
    from resumecheck.engine.process import ProcessRunner

    job = make_job()

    plans = [(k,) for k in KILLS]
    # Every run computed in full, each in a fresh interpreter.
    with tempfile.TemporaryDirectory() as tmp:
        runner = ProcessRunner("sigkill", start_method="spawn")
        session = CheckSession(job, runner, Path(tmp), reuse_prefixes=False)
        session.prepare(plans)
        report = session.report(plans, "sigkill", 0)
    return {"steps": session.steps, "passed": float(report.passed)}


def fast() -> dict[str, float]:
    """``resumecheck check`` in a fresh interpreter, timed from the outside."""
    kills = ",".join(map(str, KILLS))
    command = [sys.executable, "-m", "resumecheck", "check", f"{__file__}::make_job"]
    command += ["--mode", "sigkill", "--kills", kills, "--seed", "0", "--format", "json"]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    if done.returncode not in (0, 1):  # 1: the check found divergences
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    report = json.loads(done.stdout)
    if report["artifacts"]:  # kept because plans diverged: not this benchmark's to keep
        shutil.rmtree(report["artifacts"], ignore_errors=True)
    # Progress lines end with a run's wall time, from its start to its trajectory read back:
    # "resumecheck: plan [2]: resumed run from step 2, steps 3-24, 0.15 s".
    timed = [line for line in done.stderr.splitlines() if " run" in line and line.endswith(" s")]
    runs = sum(float(line.rsplit(", ", 1)[1].removesuffix(" s")) for line in timed)
    return {
        "wall": wall,
        "cpu": cpu,
        "runs": runs,
        "timed": len(timed),
        "steps": report["steps"],
        "passed": float(report["passed"]),
    }


def overhead() -> dict[str, float]:
    """The same sweep in-process and through a warm fork server, in one interpreter."""
    import tempfile

    import resumecheck as rc
    from resumecheck.engine.harness import CheckSession
    from resumecheck.engine.process import ProcessRunner

    job = make_job()
    # In-process: what the steps themselves (and Trainer setup, checkpoints) cost.
    with tempfile.TemporaryDirectory() as artifacts:  # mid-epoch kills fail: artifacts kept
        rc.check(job, kills=KILLS[:1], mode="exception", seed=0, artifacts_dir=artifacts)
        t0 = time.perf_counter()
        rc.check(job, kills=KILLS, mode="exception", seed=0, artifacts_dir=artifacts)
        in_process = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:  # start and warm the fork server
        CheckSession(job, ProcessRunner("sigkill"), Path(tmp)).prepare()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        warm = CheckSession(job, ProcessRunner("sigkill"), Path(tmp))
        warm.prepare([(k,) for k in KILLS])
        warm.report([(k,) for k in KILLS], "sigkill", 0)
    return {"in_process": in_process, "warm_process": time.perf_counter() - t0}


def measure(*args: str, script: str = __file__) -> dict[str, float]:
    """Run ``script ARGS`` in a fresh interpreter; its last line is a JSON result."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, script, *args], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    result["wall"] = time.perf_counter() - started
    return result


def _children_cpu() -> float:
    """CPU seconds used so far by this process's finished children and their descendants
    (the check's fork server and every run it forked)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_floor() -> float:
    """Wall time of a fresh interpreter importing what every check of this job imports (and
    leaving without the interpreter's teardown, as the command does); the faster of two, the
    first may read the files from disk."""
    code = "import os, torch, lightning.pytorch, resumecheck.engine.harness; os._exit(0)"
    times = []
    for _ in range(2):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    floor = import_floor()
    quick = fast()
    slow = measure("--naive")
    warm = measure("--overhead")
    per_run = (warm["warm_process"] - warm["in_process"]) / COMPUTED
    print(
        f"job: tiny Lightning, {int(quick['steps'])} steps; check: {len(KILLS)} sigkill kills, "
        f"{RUNS} runs (reference, control, killed + resumed per kill), {COMPUTED} computed"
    )
    print(f"resumecheck check (all imports):    {quick['wall']:7.2f} s")
    print(f"fresh interpreter per run:          {slow['wall']:7.2f} s  (all {RUNS} runs computed)")
    print(
        f"ratio:                              {slow['wall'] / quick['wall']:7.1f}x  (goal >= 20x)"
    )
    print(
        f"import floor: {floor:.2f} s to import torch + Lightning once, so no check of this job "
        f"can beat {slow['wall'] / floor:.1f}x here; the check spends "
        f"{quick['wall'] - floor:.2f} s beyond it"
    )
    print(
        f"the runs themselves: {quick['runs']:.2f} s for the {int(quick['timed'])} computed; one "
        f"run at a time, no check can beat {slow['wall'] / (floor + quick['runs']):.1f}x here "
        "(import floor + runs)"
    )
    cores = len(os.sched_getaffinity(0))
    print(
        f"CPU: the check used {quick['cpu']:.2f} s of CPU in all its processes (its own import "
        f"of torch + Lightning, the fork server's, the runs, the pictures); on {cores} cores no "
        f"schedule of that work ends in less than {quick['cpu'] / cores:.2f} s, so it cannot "
        f"beat {slow['wall'] * cores / quick['cpu']:.1f}x here"
    )
    print(
        f"per-run overhead above the steps' own time: {per_run:.3f} s  (goal <= 0.15 s; "
        f"warm sweep {warm['warm_process']:.2f} s vs in-process {warm['in_process']:.2f} s)"
    )
    print(
        f"verdicts agree: {quick['passed'] == slow['passed']} (passed={bool(quick['passed'])}; "
        "mid-epoch kills with a plain DataLoader give DATA_ORDER on Lightning 2.6)"
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--naive"]:
        print(json.dumps(naive()), flush=True)
        os._exit(0)  # no interpreter teardown: the command skips it too (cli.entry)
    elif sys.argv[1:] == ["--overhead"]:
        print(json.dumps(overhead()))
    else:
        main()
