"""What one run records: a step-by-step trajectory of fingerprints. Plain data, picklable."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from resumecheck.engine.snapshot import Entry, Snapshot


@dataclass(slots=True)
class StepRecord:
    """One harness step: the batches it fed, its loss, and the state before and after it.

    ``start`` is taken at the start of the step (Lightning: the first batch's
    ``on_train_batch_start``; plain loops and scripts: the first optimizer pre-step hook),
    ``end`` once the step and everything it triggers (callbacks, checkpoints) is done: when
    the next step starts, or the run ends.
    """

    index: int  # 1-based, local to the run (the harness adds the resume offset)
    epoch: int | None = None
    batch_idx: int | None = None
    global_step: int | None = None
    reported_step: int | None = None  # what the user's loop passed to run.step
    optimizer_steps: int = 0  # real optimizer.step() calls so far in this run
    batches: list[str] = field(default_factory=list)
    loss: Entry | None = None
    grads: list[str] = field(default_factory=list)  # one digest per optimizer step (plain loops)
    samples: list[str] = field(default_factory=list)  # one digest per input row (elastic checks)
    metrics: dict[str, Entry] = field(default_factory=dict)
    start: Snapshot | None = None
    end: Snapshot | None = None


@dataclass(frozen=True, slots=True)
class CheckpointFile:
    """A checkpoint file the run left, and the harness step after which it appeared."""

    path: Path
    step: int
    seen: int  # order in which the harness saw this version of the file
    mtime_ns: int


@dataclass(slots=True)
class RunError:
    """An exception that ended a run, other than the harness's own kill."""

    type: str
    message: str
    traceback: str
    while_loading: bool  # raised from inside torch.load / checkpoint loading


@dataclass(slots=True)
class Trajectory:
    """Everything a run recorded."""

    steps: list[StepRecord] = field(default_factory=list)
    killed_at: int | None = None  # global step after which the harness killed the run
    error: RunError | None = None
    checkpoints: list[CheckpointFile] = field(default_factory=list)
    final: Snapshot | None = None
    final_metrics: dict[str, Entry] = field(default_factory=dict)
    claimed_checkpoint_step: int | None = None  # resumecheck's own step count found in the ckpt
    output_tail: str = ""
    exit_info: str = ""
    written: list[str] = field(default_factory=list)  # files a script wrote (ScriptJob)
    rank: int | None = None  # the distributed rank that recorded this, when launched as one
    ranks: list[Trajectory] = field(default_factory=list)  # the other ranks' trajectories
    facts: dict[str, object] = field(default_factory=dict)  # for hints (engine/hints.py)

    @property
    def restored(self) -> Snapshot | None:
        """The state right after restore: the start of the first step of a resumed run."""
        return self.steps[0].start if self.steps else None
