"""Records a run's trajectory and kills it right after the planned optimizer step.

Framework-neutral: the Lightning callback and :class:`~resumecheck.adapters.torch_loop.Run`
feed it. Steps are counted from real ``optimizer.step()`` calls (global torch hooks), never from
``trainer.global_step``, which manual optimization outside ``training_step`` leaves at 0.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

from resumecheck.engine.sharded import dcp_internal_step
from resumecheck.engine.snapshot import Entry, Snapshot, object_entry, tensor_entry
from resumecheck.engine.trajectory import CheckpointFile, StepRecord, Trajectory

# Names a checkpoint writer uses for files that are not finished yet.
_PARTIAL_SUFFIXES = (".tmp", ".temp", ".part", ".partial", "~", ".lock")
_TAIL_BYTES = 4096


class SimulatedCrash(BaseException):
    """Raised by the harness right after the planned step. A BaseException, so a job's
    ``except Exception`` cannot swallow it; not KeyboardInterrupt, which Lightning turns into
    ``sys.exit(1)``."""

    def __init__(self, step: int) -> None:
        super().__init__(f"resumecheck killed the run after step {step}")
        self.step = step


FileKey = tuple[int, int, int, str]


def _raise_crash(step: int) -> None:
    raise SimulatedCrash(step)


class Recorder:
    """Collects :class:`StepRecord` s and checkpoint files for one run."""

    def __init__(
        self,
        checkpoint_dir: Path,
        kill_at: int | None = None,
        offset: int = 0,
        on_pre_step: Callable[[torch.optim.Optimizer], None] | None = None,
        baseline: dict[Path, FileKey] | None = None,
    ) -> None:
        self.checkpoint_dir = checkpoint_dir
        self.kill_at = kill_at
        self.offset = offset
        self.trajectory = Trajectory()
        self.optimizer_steps = 0
        self._open: StepRecord | None = None
        self._steps_at_open = 0
        self.on_pre_step = on_pre_step
        self._files: dict[Path, FileKey] = {}
        self._files = dict(self.scan_keys()) if baseline is None else dict(baseline)
        self._seen = 0
        # How the run dies at the planned step; process modes replace the exception.
        self.kill: Callable[[int], None] = _raise_crash
        # Called after each step closes (process modes arm mid-write kills here).
        self.on_close: Callable[[int], None] | None = None
        # Step boundaries from the optimizer (plain loops, scripts): a step ends when the next
        # one starts, at its first training forward or optimizer pre-step hook, whichever is
        # first, so that whatever the step wrote afterwards (checkpoints) belongs to it.
        # Lightning drives boundaries from its callback instead.
        self.auto_steps = False
        # Called after every optimizer step (a run that outlives its SIGTERM saves here).
        self.on_post_step: Callable[[], None] | None = None
        # Whether the optimizer step under way takes a closure (Lightning, LBFGS): its
        # gradients exist only once the closure ran, so they are read after the step.
        self.closure_step = False
        self.after_step: Callable[[torch.optim.Optimizer], None] | None = None
        self.end_snapshot: Callable[[bool], Snapshot | None] | None = None
        # The next state taken must be full: a run's first, and the one after a checkpoint.
        self.full_next = True
        self.on_forward: Callable[[torch.nn.Module, Any], None] | None = None
        self.rename: Callable[[Snapshot], None] | None = None
        # Called with the trajectory when the run is over (a forked killed run reports here).
        self.on_run_end: Callable[[Trajectory], None] | None = None
        self._depth = 0

    # -- step bookkeeping ------------------------------------------------------------------
    @property
    def open_step(self) -> StepRecord | None:
        return self._open

    @property
    def stepped_since_open(self) -> bool:
        return self.optimizer_steps > self._steps_at_open

    def completed_steps(self) -> int:
        """Global count of harness steps whose optimizer step has happened."""
        opened = 1 if self._open is not None and self.stepped_since_open else 0
        return self.offset + len(self.trajectory.steps) + opened

    def open(self, start: Snapshot | None, epoch: int | None, batch_idx: int | None) -> StepRecord:
        record = StepRecord(len(self.trajectory.steps) + 1, epoch=epoch, batch_idx=batch_idx)
        record.start = start
        self._open = record
        self._steps_at_open = self.optimizer_steps
        return record

    def ensure_open(self) -> StepRecord:
        return self._open if self._open is not None else self.open(None, None, None)

    def close(
        self, end: Snapshot | Callable[[bool], Snapshot | None] | None, **counters: Any
    ) -> StepRecord:
        """Finish the open step; scan for checkpoints; kill if this was the planned step.

        ``end`` may be a function of ``full``: the state is then taken after the scan, in
        full only where the step wrote a checkpoint and the run goes on (see
        :class:`Snapshot`).
        """
        record = self.ensure_open()
        step = self.offset + len(self.trajectory.steps) + 1
        wrote = self.scan_checkpoints(step)
        killed = self.kill_at is not None and step == self.kill_at
        if callable(end):
            end = end(wrote and not killed)
        record.end = end
        self.full_next = wrote
        if self.rename is not None:
            for snapshot in (record.start, end):
                if snapshot is not None:
                    self.rename(snapshot)
        record.optimizer_steps = self.optimizer_steps
        for name, value in counters.items():
            setattr(record, name, value)
        self.trajectory.steps.append(record)
        self._open = None
        if self.on_close is not None:
            self.on_close(step)
        if killed:
            self.trajectory.killed_at = step
            self.kill(step)
        return record

    @property
    def files(self) -> dict[Path, FileKey]:
        return self._files

    def add_batch(self, batch: Any) -> None:
        self.ensure_open().batches.append(batch_digest(batch))

    def set_loss(self, loss: Entry | None) -> None:
        if loss is not None:
            self.ensure_open().loss = loss

    # -- optimizer hooks -------------------------------------------------------------------
    def step_boundary(self) -> None:
        """A new step starts: close the open one if its optimizer has stepped (may kill)."""
        if self._open is not None and self.stepped_since_open:
            self.close(self.end_snapshot)

    def finish(self) -> None:
        """The run ended by itself: the last step's saves count (auto boundaries only)."""
        if self.auto_steps:
            self.step_boundary()

    @contextmanager
    def installed(self) -> Iterator[Recorder]:
        def post(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            if dcp_internal_step():
                return
            if self.auto_steps:
                # Files written before this step completed belong to the step before it.
                self.scan_checkpoints(self.completed_steps())
                if self.after_step is not None:
                    self.after_step(opt)
            self.optimizer_steps += 1
            if self.on_post_step is not None:
                self.on_post_step()

        def pre(opt: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
            if not self.auto_steps or dcp_internal_step():
                return
            self.step_boundary()
            # Saved after this step's forward but before its update: the state of the step
            # before, which is taken in full now.
            if self.scan_checkpoints(self.completed_steps()):
                self.full_next = True
            closure = kwargs.get("closure", args[0] if args else None)
            self.closure_step = callable(closure)
            if self.on_pre_step is not None:
                self.on_pre_step(opt)

        handles: list[Any] = [
            register_optimizer_step_post_hook(post),
            register_optimizer_step_pre_hook(pre),
            *self._forward_hooks(),
        ]
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def _forward_hooks(self) -> list[Any]:
        """Watch the outermost module calls: a training forward after a completed optimizer
        step starts the next step, and its input is the step's batch."""
        from torch.nn.modules.module import (
            register_module_forward_hook,
            register_module_forward_pre_hook,
        )

        def pre(module: torch.nn.Module, args: Any) -> None:
            self._depth += 1
            if self._depth != 1 or not self.auto_steps or not torch.is_grad_enabled():
                return
            self.step_boundary()
            if self.on_forward is not None:
                self.on_forward(module, args)

        def post(module: torch.nn.Module, args: Any, output: Any) -> None:
            self._depth = max(0, self._depth - 1)

        return [
            register_module_forward_pre_hook(pre),
            register_module_forward_hook(post, always_call=True),
        ]

    # -- checkpoint files ------------------------------------------------------------------
    def scan_keys(self) -> Iterator[tuple[Path, FileKey]]:
        if not self.checkpoint_dir.is_dir():
            return
        for root, _dirs, files in os.walk(self.checkpoint_dir):
            for name in files:
                if name.startswith(".") or name.endswith(_PARTIAL_SUFFIXES):
                    continue
                path = Path(root, name)
                try:
                    st = path.stat()
                    known = self._files.get(path)
                    if known is not None and known[:3] == (st.st_ino, st.st_size, st.st_mtime_ns):
                        # Unchanged since the last scan (a scan runs every step): not re-read.
                        yield path, known
                        continue
                    with path.open("rb") as fh:
                        fh.seek(max(0, st.st_size - _TAIL_BYTES))
                        tail = hashlib.blake2b(fh.read(), digest_size=8).hexdigest()
                except OSError:
                    continue
                yield path, (st.st_ino, st.st_size, st.st_mtime_ns, tail)

    def scan_checkpoints(self, step: int) -> bool:
        """Note every checkpoint file that appeared or changed since the last scan; say
        whether there was one."""
        found = False
        for path, key in self.scan_keys():
            if self._files.get(path) != key:
                self._files[path] = key
                self._seen += 1
                self.trajectory.checkpoints.append(CheckpointFile(path, step, self._seen, key[2]))
                found = True
        return found


def batch_digest(batch: Any) -> str:
    """An exact hash of a batch: every tensor's bytes, plus the structure holding them."""
    h = hashlib.blake2b(digest_size=16)

    def visit(obj: Any) -> None:
        if isinstance(obj, torch.Tensor):
            e = tensor_entry(obj, False)
            h.update(f"T{e.dtype}{e.shape}{e.digest}".encode())
        elif isinstance(obj, dict):
            for k in sorted(obj, key=repr):
                h.update(f"K{k!r}".encode())
                visit(obj[k])
        elif isinstance(obj, list | tuple):
            h.update(f"L{len(obj)}".encode())
            for item in obj:
                visit(item)
        elif hasattr(obj, "__array__"):
            visit(torch.as_tensor(obj))
        else:
            h.update(object_entry(obj).digest.encode())

    visit(batch)
    return h.hexdigest()


def newest_checkpoint(files: dict[Path, CheckpointFile]) -> CheckpointFile | None:
    """The checkpoint to resume from: the latest one written, preferring a step-named file
    over ``last*`` when both were written at the same step."""
    alive = [f for f in files.values() if f.path.exists()]
    if not alive:
        return None
    return max(alive, key=lambda f: (f.step, not f.path.name.startswith("last"), f.seen))
