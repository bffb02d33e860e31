"""Runs a :class:`~resumecheck.ScriptJob` whose command is not ``python script.py`` (``torchrun``,
a wrapper script, another interpreter) as a fresh process tree, observed by the bootstrap.

The command starts in a session of its own, so a kill reaches every process it started: the
bootstrap in the process that reaches the kill point SIGKILLs (or SIGTERMs) the whole group,
and the runner SIGKILLs whatever is left once the run is over, after the grace period, or
after the timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import resumecheck
from resumecheck.engine import sharded
from resumecheck.engine.process import output_tail, run_tmp
from resumecheck.engine.recorder import Recorder
from resumecheck.engine.runner import RunSpec
from resumecheck.engine.safeload import load_records
from resumecheck.engine.trajectory import RunError, Trajectory
from resumecheck.jobs import Job, ScriptJob

BOOTSTRAP_DIR = Path(__file__).resolve().parents[1] / "adapters" / "_bootstrap"
_OUTPUT = "output.log"


class CommandRunner:
    """Runs each run of a script job as a fresh process tree and kills it for real."""

    def __init__(self, mode: str, timeout: float = 300.0, grace: float = 5.0) -> None:
        self.mode, self.timeout, self.grace = mode, timeout, grace

    def run(self, job: Job, spec: RunSpec) -> Trajectory:
        assert isinstance(job, ScriptJob)
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        spec.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        baseline = Recorder(spec.checkpoint_dir).files
        argv = job.command_for(spec.checkpoint_dir, spec.resume_from)
        with (spec.run_dir / _OUTPUT).open("wb") as out:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=job.cwd,
                    env=self._environment(job, spec),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                return _failed(f"cannot start {argv[0]!r}: {exc.strerror or exc}")
            try:
                exit_info = self._supervise(proc, spec)
            finally:
                trackers = kill_tree(proc.pid)
                proc.wait()
                await_trackers(trackers)
        return _collect(spec, proc.returncode, exit_info, baseline)

    def close(self) -> None:
        """Nothing to release: every run's processes are gone when it returns."""

    def _environment(self, job: ScriptJob, spec: RunSpec) -> dict[str, str]:
        config = spec.run_dir / "observe.json"
        config.write_text(
            json.dumps(
                {
                    "run_dir": str(spec.run_dir),
                    "checkpoint_dir": str(spec.checkpoint_dir),
                    "kill_at": spec.kill_at,
                    "offset": spec.offset,
                    "mode": self.mode,
                    "seed": spec.seed,
                    # An elastic check compares the samples fed, not per-rank batches.
                    "samples": job.resume_nproc is not None,
                }
            )
        )
        env = bootstrap_env({**os.environ, **(job.env or {})}, config)
        env["TMPDIR"] = str(run_tmp(spec))
        return env

    def _supervise(self, proc: subprocess.Popen[bytes], spec: RunSpec) -> str:
        """Wait for the run; enforce the grace period after SIGTERM and the hang timeout."""
        deadline = time.monotonic() + self.timeout
        marker = spec.run_dir / "killpoint"
        term_at: float | None = None
        while proc.poll() is None:
            now = time.monotonic()
            if term_at is None and marker.exists():
                if self.mode == "sigterm":
                    term_at = now
                    # The launcher and every other process; the ranks signalled themselves.
                    _signal_tree(proc.pid, signal.SIGTERM, skip=_self_signalled(spec.run_dir))
                elif self.mode != "exception":
                    kill_tree(proc.pid)  # a lost node: the launcher and every rank at once
            limit = deadline if term_at is None else min(deadline, term_at + self.grace)
            if now >= limit:
                kill_tree(proc.pid)
                proc.wait()
                if term_at is not None and limit < deadline:
                    return f"still running {self.grace:g} s after SIGTERM; SIGKILLed"
                return f"hung: no exit after {self.timeout:g} s; SIGKILLed"
            time.sleep(0.02)
        code = proc.returncode
        how = f"by signal {signal.Signals(-code).name}" if code < 0 else f"with code {code}"
        if term_at is not None:
            return f"exited {how} {time.monotonic() - term_at:.2f} s after SIGTERM"
        return f"exited {how}"


def bootstrap_env(env: dict[str, str], config: Path) -> dict[str, str]:
    """``env`` for a command whose Python processes are observed as ``config`` says."""
    package_root = str(Path(resumecheck.__file__).resolve().parents[1])
    paths = [str(BOOTSTRAP_DIR), package_root, env.get("PYTHONPATH", "")]
    return {
        **env,
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "RESUMECHECK_OBSERVE": str(config),
    }


class ScriptRunner:
    """``python script.py``: forked from the preloaded server, unless the script trains in
    processes it starts itself (Lightning's ``ddp`` re-executes the script as the other ranks,
    ``ddp_spawn`` and ``mp.spawn`` start workers): those runs are stopped as soon as such a
    process steps an optimizer, and the job runs as a fresh process tree from then on, every
    process observed, like a ``torchrun`` command."""

    def __init__(self, mode: str, timeout: float = 300.0, grace: float = 5.0) -> None:
        from resumecheck.engine.process import ProcessRunner

        self.mode, self.timeout, self.grace = mode, timeout, grace
        self._forked = ProcessRunner(mode, timeout=timeout, grace=grace)
        self._fresh: CommandRunner | None = None

    @property
    def stash_by(self) -> str | None:
        """How the control run leaves killed runs (engine/prefix.py): as the forked runner
        does, until runs are fresh process trees (a command's ranks are not forked)."""
        return self._forked.stash_by if self._fresh is None else None

    def run(self, job: Job, spec: RunSpec) -> Trajectory:
        if self._fresh is None:
            trajectory = self._forked.run(job, spec)
            if not trained_elsewhere(spec.run_dir):
                return trajectory
            self._fresh = CommandRunner(self.mode, timeout=self.timeout, grace=self.grace)
            # The run starts over: nothing it wrote may be found by the new one.
            shutil.rmtree(spec.run_dir, ignore_errors=True)
            if spec.resume_from is None:
                shutil.rmtree(spec.checkpoint_dir, ignore_errors=True)
        return self._fresh.run(job, spec)

    def close(self) -> None:
        self._forked.close()


SUBPROCESS_MARKER = "trained-in-subprocess-"


def trained_elsewhere(run_dir: Path) -> bool:
    """Whether a process started by a forked script run stepped an optimizer."""
    return any(run_dir.glob(SUBPROCESS_MARKER + "*"))


def kill_tree(root: int) -> set[int]:
    """SIGKILL the command, everything it started, and its session's process group, but for
    multiprocessing's resource trackers: once every process they serve is gone, they unlink
    what those left (named semaphores of ``ddp_spawn``'s queues, shared memory) and exit.
    Returns their pids (see :func:`await_trackers`)."""
    table = _processes()
    trackers = {pid for pid, (_, _, tracker) in table.items() if tracker}
    _signal_tree(root, signal.SIGKILL, skip=trackers, table=table)
    for _ in range(2):  # a second pass for what forked while the first one ran
        for pid, (_, group, tracker) in _processes().items():
            if group == root and not tracker:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
    tree = set(_tree(root, table))
    return {pid for pid in trackers if pid in tree or table[pid][1] == root}


def await_trackers(trackers: set[int], patience: float = 3.0) -> None:
    """Give the run's resource trackers a moment to clean up after it, then SIGKILL them."""
    deadline = time.monotonic() + patience
    while trackers and time.monotonic() < deadline:
        trackers = {pid for pid in trackers if _alive(pid)}
        time.sleep(0.02)
    for pid in trackers:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _processes() -> dict[int, tuple[int, int, bool]]:
    """Every process: pid -> (parent pid, process group, whether it is a resource tracker)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        table[int(entry)] = (int(fields[1]), int(fields[2]), _TRACKER in cmdline)
    return table


_TRACKER = b"multiprocessing.resource_tracker"


def _tree(root: int, table: dict[int, tuple[int, int, bool]]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    todo, tree = [root], []
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += children.get(pid, [])
    return tree


def _self_signalled(run_dir: Path) -> set[int]:
    """The ranks that sent themselves their kill signal (their pid is in their marker)."""
    pids = set()
    for marker in run_dir.glob("killpoint-rank*"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            pids.add(int(marker.read_text().split()[1]))
    return pids


def _signal_tree(
    root: int,
    sig: signal.Signals,
    skip: set[int] | frozenset[int] = frozenset(),
    table: dict[int, tuple[int, int, bool]] | None = None,
) -> None:
    """Signal ``root`` and its descendants (launchers put ranks in sessions of their own)."""
    for pid in _tree(root, _processes() if table is None else table):
        if pid in skip:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _failed(message: str) -> Trajectory:
    trajectory = Trajectory()
    trajectory.error = RunError("CommandFailed", message, "", False)
    return trajectory


def _collect(spec: RunSpec, code: int | None, exit_info: str, baseline: Any) -> Trajectory:
    """The trajectory of the process that stepped the optimizer (rank 0 if several did)."""
    # What the processes wrote is read without running any code from it (safeload).
    loaded = [load_records(p) for p in sorted(spec.run_dir.glob("observed-*.pkl"))]
    observed = [o for o in loaded if o is not None]
    stepped = [o for o in observed if o[0].steps or o[0].killed_at is not None]
    tail = output_tail(spec.run_dir / _OUTPUT)
    killed = (spec.run_dir / "killpoint").exists()
    if not stepped:
        trajectory, completed = Trajectory(), spec.offset
        # A rank that raised before its first step (e.g. while loading its checkpoint) says
        # more than the launcher's exit status.
        failed = sorted((o[0] for o in observed if o[0].error is not None), key=_rank_of)
        if failed:
            trajectory = failed[0]
        elif not observed and not killed:
            why = "never imported torch" if code == 0 else f"exited {exit_info} before torch"
            trajectory.error = RunError("NotObserved", f"the command {why}", tail, False)
    else:
        # Rank 0 (or the only process that trained) speaks for the run; the other ranks ride
        # along and are compared rank by rank.
        stepped.sort(key=lambda o: (o[0].rank or 0, -len(o[0].steps)))
        trajectory, baseline, completed = stepped[0]
        trajectory.ranks = [o[0] for o in stepped[1:] if o[0].rank is not None]
    trajectory.exit_info = exit_info
    trajectory.output_tail = tail
    if trajectory.error is None and not killed and code != 0:
        # The traceback's frames may lie above the shown tail: look further back for them.
        loading = _loading(output_tail(spec.run_dir / _OUTPUT, 200, 1 << 16))
        trajectory.error = RunError("ScriptExit", f"the command {exit_info}", tail, loading)
    scanner = Recorder(spec.checkpoint_dir, baseline=baseline)
    scanner.trajectory = trajectory
    scanner.scan_checkpoints(completed)
    return trajectory


def _rank_of(trajectory: Trajectory) -> tuple[bool, int]:
    """Ranks in order, then the launcher (which only reports that a rank failed)."""
    return (trajectory.rank is None, trajectory.rank or 0)


def _loading(output: str) -> bool:
    """Whether a traceback in the output was raised while reading a checkpoint."""
    frames = ("torch/serialization.py", "_weights_only_unpickler", sharded.LOADING_FRAMES)
    return any(frame in output for frame in frames)
