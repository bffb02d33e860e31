"""Process kill modes: each run is a child forked from a preloaded server, killed for real.

``sigkill``   the child is hard-killed right after step k: no hooks, no flush.
``sigterm``   the child gets SIGTERM right after step k; after a grace period, SIGKILL.
``midwrite``  the child is SIGKILLed in the middle of the first file it writes during step k
              (a checkpoint, normally), after a random number of bytes: a kill at the worst
              wall-clock moment, made repeatable.

Children fork from multiprocessing's forkserver, preloaded with torch, Lightning and
resumecheck, so a run costs about what its steps cost; the server never runs a torch op, so
forking it is safe whatever the parent's thread pools are doing. Jobs travel with cloudpickle,
so lambdas and classes defined inside a test work.
"""

from __future__ import annotations

import builtins
import contextlib
import faulthandler
import functools
import gc
import io
import multiprocessing
import os
import pickle
import random
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from resumecheck.engine.forkserver import (
    context,
    forkserver_running,
    start_server,
    stop_server,
)
from resumecheck.engine.recorder import Recorder
from resumecheck.engine.runner import RunSpec, execute
from resumecheck.engine.safeload import load_records
from resumecheck.engine.trajectory import RunError, Trajectory
from resumecheck.errors import JobHung
from resumecheck.jobs import Job

_TRAJECTORY = "trajectory.pkl"
_OUTPUT = "output.log"
_TAIL_LINES = 20
_TAIL_BYTES = 8192
_LINE_CHARS = 400
_STACK_FRAMES = 8


@dataclass(frozen=True)
class ChildOptions:
    """Conditions every child of one check runs under, so only the resume differs."""

    mode: str
    env: dict[str, str]
    threads: int
    deterministic: bool
    path: list[str] = field(default_factory=list)
    start_method: str | None = None  # the parent's multiprocessing default, for the job's own


class ProcessRunner:
    """Runs each run in a child process and kills it for real."""

    def __init__(
        self,
        mode: str,
        timeout: float = 300.0,
        grace: float = 5.0,
        start_method: str = "forkserver",
    ) -> None:
        """``start_method="spawn"`` gives a fresh interpreter per run: the naive baseline."""
        import torch

        self.mode = mode
        # A hard kill has no side effects: killed runs are copies of the uninterrupted run's
        # state at their kill point (engine/prefix.py); other modes run them.
        self.stash_by = "copy" if mode == "sigkill" else None
        self.timeout = timeout
        self.grace = grace
        self.options = ChildOptions(
            mode=mode,
            env=dict(os.environ),
            threads=torch.get_num_threads(),
            deterministic=torch.are_deterministic_algorithms_enabled(),
            path=list(sys.path),
            start_method=multiprocessing.get_start_method(allow_none=True),
        )
        self._ctx = context(start_method)
        self._owns_server = False
        # The job pickled once: cloudpickle scans every loaded module for each function it
        # pickles by value (about 10 ms a run for a tiny job); runs differ only in their spec.
        self._shipped: tuple[Job, bytes] | None = None
        if start_method == "forkserver" and not forkserver_running():
            start_server()
            self._owns_server = True

    def close(self) -> None:
        """Stop the fork server if this runner started it."""
        if self._owns_server:
            stop_server()
            self._owns_server = False

    def run(self, job: Job, spec: RunSpec) -> Trajectory:
        spec.run_dir.mkdir(parents=True, exist_ok=True)
        if self._shipped is None or self._shipped[0] is not job:
            self._shipped = (job, _ship(job))
        payload = (pickle.dumps(self.options), self._shipped[1], pickle.dumps(spec))
        receiver, sender = self._ctx.Pipe(duplex=False)
        # Not a daemon: a job's DataLoader workers must be allowed to start.
        child = self._ctx.Process(target=_child_main, args=(*payload, sender))
        try:
            with _without_main_module():
                child.start()
            sender.close()
            exit_info, events = self._supervise(child, receiver)
        except BaseException:
            # Ctrl-C (or anything else) in the parent: no child outlives it.
            if child.pid is not None:
                child.kill()
                child.join()
            else:  # interrupted while the server was forking: its child's pid is unknown
                stop_server()
            raise
        finally:
            receiver.close()
            if child.pid is not None:
                _kill_group(child.pid)
        if "hung" in events:
            raise JobHung(_hung_message(spec, events, self.timeout))
        return _collect(spec, child.exitcode, exit_info, events)

    def _supervise(self, child: Any, receiver: Connection) -> tuple[str, list[str]]:
        """Wait for the child; enforce the grace period after SIGTERM and the hang timeout."""
        deadline = time.monotonic() + self.timeout
        events: list[str] = []
        term_at: float | None = None
        while child.is_alive():
            now = time.monotonic()
            limit = deadline if term_at is None else min(deadline, term_at + self.grace)
            if now >= limit:
                hung = not (term_at is not None and limit < deadline)
                if hung:
                    _dump_stack(child)  # where it was stuck, into its output
                child.kill()
                child.join()
                events += _drain(receiver)
                if not hung:
                    events.append("grace-expired")
                    return (f"still running {self.grace:g} s after SIGTERM; SIGKILLed", events)
                events.append("hung")
                return (f"hung: no exit after {self.timeout:g} s; SIGKILLed", events)
            if receiver.poll(min(0.05, limit - now)):
                try:
                    event = receiver.recv()
                except EOFError:
                    child.join(min(1.0, max(0.0, limit - time.monotonic())))
                    continue
                events.append(event)
                if event == "sigterm":
                    term_at = time.monotonic()
        child.join()
        events += _drain(receiver)
        if term_at is not None:
            return (
                f"exited {_describe_exit(child.exitcode)} "
                f"{time.monotonic() - term_at:.2f} s after SIGTERM",
                events,
            )
        return (_describe_exit(child.exitcode), events)


def _dump_stack(child: Any) -> None:
    """Ask a hung child for its Python stack (faulthandler, armed on SIGUSR1 in the child)."""
    with contextlib.suppress(ProcessLookupError, PermissionError, TypeError):
        os.kill(child.pid, signal.SIGUSR1)
        child.join(0.5)


def _hung_message(spec: RunSpec, events: list[str], timeout: float) -> str:
    steps = [int(e.split()[1]) for e in events if isinstance(e, str) and e.startswith("step ")]
    done = steps[-1] if steps else spec.offset
    if spec.resume_from is not None:
        what = f"the run resumed from {spec.resume_from.name} (step {spec.offset})"
    elif spec.kill_at is not None:
        what = f"the run to be killed after step {spec.kill_at}"
    else:
        what = f"the uninterrupted run ({spec.run_dir.name})"
    lines = [
        f"the job hung: {what} did not finish within timeout={timeout:g} s and was killed; "
        f"it was in step {done + 1} (step {done} done); raise timeout= if it is only slow"
    ]
    output = output_tail(spec.run_dir / _OUTPUT, 200, 1 << 16)
    _, found, stack = output.rpartition("(most recent call first):")
    if found:  # faulthandler's dump: innermost frames first
        frames = [ln.strip() for ln in stack.splitlines() if ln.strip().startswith("File ")]
        lines += ["  where it was (innermost first):"]
        lines += ["    " + ln for ln in frames[:_STACK_FRAMES]]
    elif output:
        lines += ["  its output, last lines:"]
        lines += ["    " + ln for ln in output.splitlines()[-_TAIL_LINES:]]
    return "\n".join(lines)


@contextmanager
def _without_main_module() -> Iterator[None]:
    """Keep the child from re-importing the parent's ``__main__``.

    multiprocessing re-runs the main script in every non-fork child; for a script without an
    ``if __name__ == "__main__"`` guard (or ``python -m resumecheck``) that would start the
    check again inside the child. The child needs nothing from ``__main__``: the job travels
    with cloudpickle.
    """
    from multiprocessing import spawn

    real = spawn.get_preparation_data

    def without_main(name: str) -> dict[str, Any]:
        data: dict[str, Any] = real(name)
        data.pop("init_main_from_name", None)
        data.pop("init_main_from_path", None)
        return data

    spawn.get_preparation_data = without_main  # type: ignore[assignment]
    try:
        yield
    finally:
        spawn.get_preparation_data = real  # type: ignore[assignment]


def _kill_group(pgid: int) -> None:
    """SIGKILL whatever the run left in its process group (e.g. DataLoader workers), but give
    multiprocessing's resource trackers a moment to unlink what it left (a script's
    ``mp.spawn`` queues: named semaphores in /dev/shm). The group's leader, the run's child,
    is reaped by now: its children are no longer its descendants, only the group holds them."""
    from resumecheck.engine.command import await_trackers, kill_tree

    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:  # most runs: the (reaped) child left nothing in its group
        return
    except PermissionError:
        pass
    await_trackers(kill_tree(pgid))


def _drain(receiver: Connection) -> list[str]:
    """Events the child sent just before it died."""
    events = []
    try:
        while receiver.poll():
            events.append(receiver.recv())
    except (EOFError, OSError):
        pass
    return events


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        return f"by signal {signal.Signals(-code).name}"
    return f"with code {code}"


def _ship(job: Job) -> bytes:
    """Pickle the job with cloudpickle (lambdas, local classes, a script's own module)."""
    import cloudpickle

    for module_name in _job_modules(job):
        module = sys.modules.get(module_name)
        if module is not None and not _importable(module_name):
            cloudpickle.register_pickle_by_value(module)
    return bytes(cloudpickle.dumps(job))


def _job_modules(job: Job) -> set[str]:
    names = set()
    pending = list(vars(job).values())
    while pending:
        value = pending.pop()
        if isinstance(value, functools.partial):  # partial objects have no __module__
            pending += [value.func, *value.args, *value.keywords.values()]
            continue
        module = getattr(value, "__module__", None)
        if isinstance(module, str):
            names.add(module)
    return names


def _importable(name: str) -> bool:
    """Whether a child could import ``name`` by itself (not __main__, not a loaded file)."""
    if name == "__main__" or name.startswith("_resumecheck_job_"):
        return False
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return spec is not None and getattr(spec, "origin", None) is not None


def _collect(spec: RunSpec, exitcode: int | None, exit_info: str, events: list[str]) -> Trajectory:
    """Read what the child left: its trajectory, the files it wrote while dying, its output."""
    saved = _load(spec.run_dir / _TRAJECTORY)
    if saved is None:
        trajectory, files, completed = Trajectory(), None, spec.offset
    else:
        trajectory, files, completed = saved
    trajectory.exit_info = exit_info
    trajectory.output_tail = output_tail(spec.run_dir / _OUTPUT)
    planned = "killpoint" in events
    if not planned and "done" not in events and trajectory.error is None:
        what = "hung" if "hung" in events else f"died {_describe_exit(exitcode)}"
        message = f"the run {what} before step {spec.kill_at or 'end'}"
        trajectory.error = RunError("ChildDied", message, trajectory.output_tail, False)
    scanner = Recorder(spec.checkpoint_dir, baseline=files)
    scanner.trajectory = trajectory
    scanner.scan_checkpoints(completed)
    return trajectory


def _load(path: Path) -> Any:
    # The child ran the user's code: what it wrote is read without running any (safeload).
    return load_records(path)


def output_tail(path: Path, max_lines: int = _TAIL_LINES, max_bytes: int = _TAIL_BYTES) -> str:
    """The last lines of a run's output, capped in bytes too (a child may print 100 MB
    without a newline), each line cut to a screen's width or so."""
    try:
        with path.open("rb") as fh:
            size = fh.seek(0, os.SEEK_END)
            fh.seek(max(0, size - max_bytes))
            text = fh.read().decode(errors="replace")
    except OSError:
        return ""
    lines = text.splitlines()[-max_lines:]
    if size > max_bytes and lines:
        lines[0] = f"[{size - max_bytes} bytes of earlier output not shown] ..." + lines[0]
    return "\n".join(ln if len(ln) <= _LINE_CHARS else ln[:_LINE_CHARS] + " ..." for ln in lines)


# -- the child ----------------------------------------------------------------------------
def _child_main(
    options_payload: bytes, job_payload: bytes, spec_payload: bytes, events: Connection
) -> None:
    import cloudpickle
    import torch

    # What the server preloaded (torch, Lightning: millions of objects) never becomes garbage
    # in a run; left in the collected generations, every full collection would walk it (a few
    # tenths of a second per run, e.g. while pickling the trajectory).
    gc.freeze()
    _die_with_parent()
    # Its own process group: the parent kills the group, so the job's DataLoader workers and
    # other helpers cannot outlive the run (nor get the terminal's Ctrl-C directly).
    os.setpgid(0, 0)
    options: ChildOptions = pickle.loads(options_payload)
    sys.path[:] = options.path  # the parent's path now, not when the server started
    # A forkserver child defaults to "forkserver" for its own children; the job's DataLoader
    # workers must start the way they would in the parent (fork, on Linux).
    multiprocessing.set_start_method(options.start_method, force=True)
    job = cloudpickle.loads(job_payload)
    spec: RunSpec = pickle.loads(spec_payload)
    os.environ.clear()
    os.environ.update(options.env)
    os.environ["TMPDIR"] = str(run_tmp(spec))
    tempfile.tempdir = None
    torch.set_num_threads(options.threads)
    torch.use_deterministic_algorithms(options.deterministic)
    _redirect_output(spec.run_dir / _OUTPUT)
    # A hung run is asked for its stack before it is killed (see _dump_stack).
    faulthandler.register(signal.SIGUSR1, all_threads=False)
    recorders: list[Recorder] = []

    def configure(recorder: Recorder) -> None:
        recorders.append(recorder)
        _arm(recorder, spec, options.mode, events)
        _report_steps(recorder, events)

    trajectory = execute(job, spec, configure)
    _save(spec, recorders[0], trajectory)
    events.send("done")
    # Everything the parent needs is written; interpreter teardown with torch loaded (atexit,
    # thread pools, module finalizers) would cost a few tenths of a second per run. The parent
    # kills the run's process group (DataLoader workers and the like) right after.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _report_steps(recorder: Recorder, events: Connection) -> None:
    """Tell the parent each step as it closes, so a hang can name the step it was in."""
    after = recorder.on_close

    def on_close(step: int) -> None:
        with contextlib.suppress(OSError):
            events.send(f"step {step}")
        if after is not None:
            after(step)

    recorder.on_close = on_close


def _die_with_parent() -> None:
    """Linux: SIGKILL this child if the fork server (and so the check) goes away."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def run_tmp(spec: RunSpec) -> Path:
    # Temp files a dying child leaves (e.g. a half-written fsspec transaction) stay in the
    # run's artifacts, never in the system temp dir.
    path = spec.run_dir / "tmp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _redirect_output(path: Path) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _save(spec: RunSpec, recorder: Recorder, trajectory: Trajectory) -> None:
    """Write what the run recorded so far, atomically: the parent reads it after the death."""
    target = spec.run_dir / _TRAJECTORY
    tmp = target.with_suffix(".part")
    with tmp.open("wb") as fh:
        pickle.dump((trajectory, recorder.files, recorder.completed_steps()), fh)
    os.replace(tmp, target)


def _arm(recorder: Recorder, spec: RunSpec, mode: str, events: Connection) -> None:
    if mode == "exception":
        return  # a script job: the recorder's own exception ends the run inside the child

    def die(step: int) -> None:
        _save(spec, recorder, recorder.trajectory)
        events.send("killpoint")
        if mode == "sigterm":
            events.send("sigterm")
            os.kill(os.getpid(), signal.SIGTERM)  # the job's handler (if any) takes over
            # Still alive: the job ignores SIGTERM (or winds down). Keep recording how far it
            # gets, so the parent places the checkpoints it writes before the SIGKILL.
            recorder.kill = lambda step: None
            recorder.on_close = outlived
            # A step ends when the next begins; what it saves after its optimizer step must
            # already count as that step's if the SIGKILL comes first.
            recorder.on_post_step = lambda: _save(spec, recorder, recorder.trajectory)
            return
        os.kill(os.getpid(), signal.SIGKILL)

    def outlived(step: int) -> None:
        recorder.trajectory.killed_at = step
        _save(spec, recorder, recorder.trajectory)
        with contextlib.suppress(OSError):
            events.send(f"step {step}")

    recorder.kill = die
    if mode == "midwrite":
        arm_midwrite(recorder, die, spec.seed, spec.kill_at, spec.offset)


def arm_midwrite(recorder: Recorder, die: Any, seed: int, kill_at: int | None, offset: int) -> None:
    """Kill part-way through the first file written in step ``kill_at``."""
    if kill_at is None:
        return
    rng = random.Random(f"{seed}:{kill_at}:{offset}")
    if kill_at == offset + 1:
        _kill_mid_next_write(recorder, die, rng)
    recorder.on_close = lambda step: (
        _kill_mid_next_write(recorder, die, rng) if step + 1 == kill_at else None
    )


def _kill_mid_next_write(recorder: Recorder, die: Any, rng: random.Random) -> None:
    """From now on, the first file opened for binary writing dies part-way through."""
    import torch

    real_open = builtins.open
    real_save = torch.save
    sizes = [p.stat().st_size for p in recorder.checkpoint_dir.rglob("*") if p.is_file()]
    budget = rng.randint(1, max(2, max(sizes, default=4096) - 1))

    class DyingFile(io.RawIOBase):
        def __init__(self, raw: Any) -> None:
            self.raw, self.written = raw, 0

        def writable(self) -> bool:
            return True

        def tell(self) -> int:  # DCP's shard writer records offsets
            return int(self.raw.tell())

        def fileno(self) -> int:  # and fsyncs
            return int(self.raw.fileno())

        def write(self, data: Any) -> int:
            chunk = bytes(data)[: budget - self.written]
            self.raw.write(chunk)
            self.written += len(chunk)
            if self.written >= budget:
                self.raw.flush()
                die_now()
            return len(data)

        def close(self) -> None:
            self.raw.close()
            super().close()

    def die_now() -> None:
        recorder.kill = lambda step: None
        recorder.trajectory.killed_at = recorder.completed_steps()
        die(recorder.completed_steps())

    def dying_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        raw = real_open(file, mode, *args, **kwargs)
        if "b" in mode and any(c in mode for c in "wax"):
            builtins.open = io.open = real_open
            return io.BufferedWriter(DyingFile(raw))
        return raw

    def dying_io_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        # pathlib (and so DCP's shard writer) opens through io.open: a checkpoint's files only.
        if isinstance(file, str | os.PathLike) and checkpoint_dir in Path(file).resolve().parents:
            return dying_open(file, mode, *args, **kwargs)
        return real_open(file, mode, *args, **kwargs)

    def dying_save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(f, str | os.PathLike):
            with dying_open(f, "wb") as fh:
                real_save(obj, fh, *args, **kwargs)
            return
        real_save(obj, f, *args, **kwargs)

    checkpoint_dir = recorder.checkpoint_dir.resolve()
    builtins.open = dying_open
    io.open = dying_io_open
    torch.save = dying_save
