"""Compares trajectories and names the first divergence and its cause.

Judging order (DESIGN.md): failures to checkpoint, load or resume; then the state right after
restore (NOT_RESTORED, PROGRESS, WEIGHTS, OPTIMIZER, SCHEDULER, RNG); then the trajectory,
step by step, inputs (the batch) before outputs (the state after the step); then the final
state. A restored RNG difference is a cause only once something observable differs.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from resumecheck.engine import sharded
from resumecheck.engine.evidence import Evidence, Row
from resumecheck.engine.report import Divergence, Kind
from resumecheck.engine.snapshot import Entry, Snapshot, category_of, comparable, scalar
from resumecheck.engine.trajectory import StepRecord, Trajectory

KIND_OF_CATEGORY = {
    "weights": Kind.WEIGHTS,
    "optimizer": Kind.OPTIMIZER,
    "scheduler": Kind.SCHEDULER,
    "rng": Kind.RNG,
    "other": Kind.WEIGHTS,
}
ORDER = list(Kind)


@dataclass(frozen=True)
class Mismatch:
    key: str
    kind: Kind
    row: Evidence


@dataclass(frozen=True)
class Segment:
    """One run of a kill plan and how it was started."""

    trajectory: Trajectory
    kill_at: int | None
    resume_from: Path | None = None
    checkpoint_step: int = 0


@dataclass
class StepDiff:
    """Everything that differs at one step."""

    step: int
    counters: list[Evidence] = field(default_factory=list)
    batch: Evidence | None = None
    state: list[Mismatch] = field(default_factory=list)
    loss: Evidence | None = None
    grads: Evidence | None = None
    metrics: list[Mismatch] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.counters or self.batch or self.state or self.loss or self.grads or self.metrics
        )

    @property
    def outputs(self) -> bool:
        """Whether what the step computed differs (state after it, loss, gradients)."""
        return bool(self.state or self.loss or self.grads)

    def rows(self) -> list[Evidence]:
        rows = list(self.counters)
        if self.batch:
            rows.append(self.batch)
        rows += [m.row for m in self.state]
        if self.loss:
            rows.append(self.loss)
        if self.grads:
            rows.append(self.grads)
        rows += [m.row for m in self.metrics]
        return rows

    def kinds(self) -> list[Kind]:
        kinds = [Kind.PROGRESS] if self.counters else []
        kinds += [Kind.DATA_ORDER] if self.batch else []
        kinds += [m.kind for m in self.state]
        kinds += [Kind.WEIGHTS] if self.loss or self.grads else []
        kinds += [Kind.METRICS] if self.metrics else []
        return _ordered(kinds)


def _ordered(kinds: Sequence[Kind]) -> list[Kind]:
    return sorted(set(kinds), key=ORDER.index)


# -- entries ------------------------------------------------------------------------------
def describe(key: str, ref: Entry | None, got: Entry | None) -> Evidence:
    """One evidence row: the key, its dtype and shape, and how it differs."""
    category = category_of(key)
    if ref is None or got is None:
        present = got or ref
        assert present is not None
        where = "only after resume" if ref is None else "missing after resume"
        return Evidence(key, category, present.dtype, present.shape, detail=where)
    row = Evidence(key, category, ref.dtype, ref.shape)
    if (ref.dtype, ref.shape) != (got.dtype, got.shape):
        detail = f"resumed {got.dtype} {list(got.shape)}"
        return dataclasses.replace(row, detail=detail)
    a, b = ref.value, got.value
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        differing, numel = int((a != b).sum()), a.numel()
        if a.dtype.is_floating_point or a.dtype.is_complex:
            delta = float((b.double() - a.double()).abs().max()) if numel else 0.0
            return dataclasses.replace(row, max_abs_diff=delta, count=differing, numel=numel)
        if numel == 1:
            return dataclasses.replace(row, resumed=b.item(), reference=a.item())
        return dataclasses.replace(row, count=differing, numel=numel)
    if a is not None or b is not None:
        return dataclasses.replace(row, resumed=_plain(b), reference=_plain(a))
    return row


def _plain(value: object) -> object:
    """A number for a one-element value, else its repr (what JSON and the text show)."""
    number = scalar(value)
    return number if number is not None else repr(value)


def diff_snapshots(ref: Snapshot, got: Snapshot) -> list[Mismatch]:
    """What differs between two snapshots, in the categories both recorded."""
    return diff_entries(*comparable(ref, got))


def diff_entries(ref: Mapping[str, Entry], got: Mapping[str, Entry]) -> list[Mismatch]:
    out = []
    for key in sorted(ref.keys() | got.keys()):
        a, b = ref.get(key), got.get(key)
        if a is None or b is None or a.digest != b.digest:
            out.append(Mismatch(key, KIND_OF_CATEGORY[category_of(key)], describe(key, a, b)))
    return out


def _observable(mismatches: list[Mismatch]) -> list[Mismatch]:
    return [m for m in mismatches if m.kind is not Kind.RNG]


def diff_metrics(ref: Mapping[str, Entry], got: Mapping[str, Entry]) -> list[Mismatch]:
    out = []
    for key in sorted(ref.keys() | got.keys()):
        a, b = ref.get(key), got.get(key)
        if a is None or b is None or a.digest != b.digest:
            row = Evidence(key, "metric", resumed=_entry_value(b), reference=_entry_value(a))
            out.append(Mismatch(key, Kind.METRICS, row))
    return out


def _entry_value(entry: Entry | None) -> object:
    return None if entry is None else _plain(entry.value)


def _weights(snapshot: Snapshot | None) -> dict[str, str]:
    if snapshot is None:
        return {}
    return {k: e.digest for k, e in snapshot.entries.items() if category_of(k) == "weights"}


# -- steps --------------------------------------------------------------------------------
def _counter_rows(ref: StepRecord, got: StepRecord, ref_prev: int, got_prev: int) -> list[Evidence]:
    rows = []
    for name in ("epoch", "batch_idx", "global_step", "reported_step"):
        a, b = getattr(ref, name), getattr(got, name)
        if a is not None and b is not None and a != b:
            label = {
                "batch_idx": "batch index",
                "reported_step": "step passed to run.step",
                "global_step": "trainer.global_step",
            }.get(name, name)
            rows.append(
                Evidence(label, "counter", resumed=b, reference=a, detail=_counter_note(name, a, b))
            )
    ref_n, got_n = ref.optimizer_steps - ref_prev, got.optimizer_steps - got_prev
    if ref_n != got_n:
        key = "optimizer steps in this step"
        rows.append(Evidence(key, "counter", resumed=got_n, reference=ref_n))
    return rows


def _total_steps(got: int, ref: int) -> Evidence:
    return Evidence("total optimizer steps", "counter", resumed=got, reference=ref)


def _counter_note(name: str, ref: int, got: int) -> str:
    if name == "epoch":
        return " (an epoch was skipped)" if got > ref else " (an epoch is repeated)"
    if name in ("global_step", "reported_step") and got < ref:
        return " (the step counter restarted)"
    return ""


def diff_step(
    ref: StepRecord, got: StepRecord, step: int, prev: tuple[int, int], start: bool = False
) -> StepDiff:
    """Compare one step of two runs. ``start`` also compares the state the step began from."""
    diff = StepDiff(step, counters=_counter_rows(ref, got, *prev))
    if ref.batches != got.batches:
        where = f" (epoch {got.epoch}, batch {got.batch_idx})" if got.epoch is not None else ""
        diff.batch = Evidence(
            f"batch fed{where}",
            "batch",
            resumed=_digests(got.batches),
            reference=_digests(ref.batches),
        )
    mismatches: list[Mismatch] = []
    if start and ref.start is not None and got.start is not None:
        mismatches += diff_snapshots(ref.start, got.start)
    if ref.end is not None and got.end is not None:
        mismatches += diff_snapshots(ref.end, got.end)
    # An RNG state is not observable by itself: it matters once it changes something else.
    diff.state = _observable(mismatches)
    if (ref.loss is None) != (got.loss is None) or (
        ref.loss is not None and got.loss is not None and ref.loss.digest != got.loss.digest
    ):
        diff.loss = Evidence(
            "loss", "loss", resumed=_entry_value(got.loss), reference=_entry_value(ref.loss)
        )
    if ref.grads != got.grads:
        diff.grads = Evidence(
            "gradients the optimizer applied",
            "gradients",
            resumed=_digests(got.grads),
            reference=_digests(ref.grads),
        )
    diff.metrics = diff_metrics(ref.metrics, got.metrics)
    return diff


def _digests(batches: Sequence[str]) -> str:
    """Short digests of a step's batches (gradient accumulation feeds several)."""
    shown = "+".join(d[:10] for d in batches[:3]) or "none"
    return shown + (f"+… ({len(batches)} batches)" if len(batches) > 3 else "")


def first_difference(
    ref: Trajectory, other: Trajectory, upto: int | None = None
) -> StepDiff | None:
    """The first step at which two fresh runs differ (for the control and killed runs)."""
    n = min(len(ref.steps), len(other.steps)) if upto is None else upto
    prev = (0, 0)
    for i in range(min(n, len(ref.steps), len(other.steps))):
        diff = diff_step(ref.steps[i], other.steps[i], i + 1, prev, start=True)
        if diff:
            return diff
        prev = (ref.steps[i].optimizer_steps, other.steps[i].optimizer_steps)
    want = len(ref.steps) if upto is None else upto
    # A run killed mid-step (mid-write) closes one step fewer; that is the kill, not a diff.
    ended_early = other.error is not None or other.killed_at is not None
    if len(other.steps) > want or (len(other.steps) < want and not ended_early):
        diff = StepDiff(min(want, len(other.steps)) + 1)
        diff.counters.append(_total_steps(len(other.steps), want))
        return diff
    if upto is None and ref.final is not None and other.final is not None:
        diff = StepDiff(len(ref.steps))
        diff.state = _observable(diff_snapshots(ref.final, other.final))
        diff.metrics = diff_metrics(ref.final_metrics, other.final_metrics)
        return diff or None
    return None


# -- judging a kill plan ------------------------------------------------------------------
def judge_control(ref: Trajectory, control: Trajectory) -> Divergence | None:
    """Two uninterrupted runs, rank by rank for a distributed job."""
    found = _judge_control(ref, control)
    for other in ref.ranks:
        if found is not None:
            break
        r = other.rank or 0
        found = _judge_control(other, rank_view(control, r))
        if found is not None:
            found = dataclasses.replace(found, detail=f"rank {r}: {found.detail}")
    return found


def _judge_control(ref: Trajectory, control: Trajectory) -> Divergence | None:
    if control.error is not None:
        detail = (
            f"the second uninterrupted run raised {control.error.type}: {control.error.message}"
        )
        return Divergence(Kind.NONDETERMINISTIC, None, None, None, detail)
    diff = first_difference(ref, control)
    if diff is None:
        return None
    what = ", ".join(k.name.lower() for k in diff.kinds())
    detail = f"two uninterrupted runs differ at step {diff.step} ({what})"
    return Divergence(Kind.NONDETERMINISTIC, None, None, diff.step, detail, tuple(diff.rows()))


@dataclass
class Verdict:
    divergence: Divergence | None
    warnings: list[str] = field(default_factory=list)


def judge_plan(ref: Trajectory, plan: tuple[int, ...], segments: Sequence[Segment]) -> Verdict:
    """Classify the first divergence of one kill plan, or pass it (with warnings)."""
    verdict = Verdict(None)
    early = _judge_fresh(ref, plan, segments[0])
    if early is not None:
        verdict.divergence = early
        return verdict
    for prev, seg in itertools.pairwise(segments):
        div = _ResumeJudge(ref, plan, prev, seg, last=seg is segments[-1]).judge(verdict)
        if div is not None:
            verdict.divergence = div
            return verdict
    if len(segments) < len(plan) + 1:
        verdict.divergence = _no_checkpoint(plan, segments[-1])
    return verdict


def judge_ranks(ref: Trajectory, plan: tuple[int, ...], segments: Sequence[Segment]) -> Verdict:
    """Judge a plan rank by rank (distributed jobs); the earliest divergence names its rank."""
    if not ref.ranks:
        return judge_plan(ref, plan, segments)
    # A run killed mid-write may lack rank 0's record (the runner took it down): each rank
    # is judged on its own record, never on another rank's.
    own = ref.rank or 0
    verdict = judge_plan(
        ref,
        plan,
        [dataclasses.replace(s, trajectory=rank_view(s.trajectory, own)) for s in segments],
    )
    found: list[tuple[int, Divergence]] = []
    if verdict.divergence is not None:
        found.append((ref.rank or 0, verdict.divergence))
    for other in ref.ranks:
        r = other.rank or 0
        ranked = [dataclasses.replace(s, trajectory=rank_view(s.trajectory, r)) for s in segments]
        got = judge_plan(other, plan, ranked)
        verdict.warnings += [w for w in got.warnings if w not in verdict.warnings]
        if got.divergence is not None:
            found.append((r, got.divergence))
    if not found:
        return verdict
    rank, first = min(found, key=lambda f: (f[1].step if f[1].step is not None else -1, f[0]))
    others = sorted(r for r, _ in found if r != rank)
    total = 1 + len(ref.ranks)
    agree = (
        f"ranks {', '.join(map(str, others))} diverge too" if others else "the other ranks agree"
    )
    if len(found) == total:
        agree = "every rank diverges"
    verdict.divergence = dataclasses.replace(first, detail=f"rank {rank}: {first.detail} ({agree})")
    return verdict


def rank_view(trajectory: Trajectory, rank: int) -> Trajectory:
    """What one rank recorded in a run (the run's own error and exit stand for every rank)."""
    if (trajectory.rank or 0) == rank:
        return trajectory
    for other in trajectory.ranks:
        if other.rank == rank:
            other.error = other.error or trajectory.error
            other.exit_info, other.output_tail = trajectory.exit_info, trajectory.output_tail
            other.checkpoints = other.checkpoints or trajectory.checkpoints
            return other
    empty = Trajectory(error=trajectory.error, killed_at=trajectory.killed_at)
    empty.checkpoints, empty.exit_info = trajectory.checkpoints, trajectory.exit_info
    return empty


def _judge_fresh(ref: Trajectory, plan: tuple[int, ...], seg: Segment) -> Divergence | None:
    traj, k = seg.trajectory, plan[0]
    # A job that outlives its kill signal (SIGTERM ignored) made more fresh steps: all compared.
    diff = first_difference(ref, traj, upto=max(k, traj.killed_at or 0))
    if traj.error is not None and traj.killed_at is None and diff is None:
        detail = (
            f"a fresh run raised {traj.error.type} before the kill at step {k}, though the "
            f"uninterrupted run did not: {traj.error.message}"
        )
        return Divergence(Kind.NONDETERMINISTIC, k, None, len(traj.steps) + 1, detail, plan=plan)
    if diff is not None:
        detail = f"a fresh run differed from the reference at step {diff.step}, before any kill"
        return Divergence(
            Kind.NONDETERMINISTIC, k, None, diff.step, detail, tuple(diff.rows()), plan=plan
        )
    return None


def _no_checkpoint(plan: tuple[int, ...], seg: Segment) -> Divergence:
    k = seg.kill_at
    files = sorted(p.path.name for p in seg.trajectory.checkpoints)
    detail = "the killed run left no checkpoint to resume from"
    evidence: list[Row] = [f"checkpoint files seen: {', '.join(files) if files else 'none'}"]
    for unfinished in sharded.incomplete_dirs(p.path for p in seg.trajectory.checkpoints):
        evidence.append(
            f"{unfinished.name}/ holds DCP shards but no {sharded.METADATA}: its save never "
            "finished, so it is no checkpoint"
        )
    if seg.trajectory.exit_info:
        evidence.append(Evidence.note(seg.trajectory.exit_info, "killed run"))
    if seg.trajectory.written and not files:
        shown = ", ".join(seg.trajectory.written[:5])
        more = len(seg.trajectory.written) - 5
        evidence.append(
            Evidence.note(
                f"files it wrote: {shown}{f' (and {more} more)' if more > 0 else ''} (a "
                "checkpoint is a complete file written under {checkpoint_dir})",
                "files written",
            )
        )
    gs = [s.global_step for s in seg.trajectory.steps if s.global_step is not None]
    if gs and gs[-1] == 0:
        evidence.append(
            f"trainer.global_step stayed 0 while the harness counted {len(gs)} optimizer steps: "
            "step-based ModelCheckpoint and max_steps never fire"
        )
    return Divergence(Kind.NO_CHECKPOINT, k, None, None, detail, tuple(evidence), plan=plan)


class _ResumeJudge:
    """Judges one resumed run: crash, restored state, then step by step, then the end."""

    def __init__(
        self, ref: Trajectory, plan: tuple[int, ...], prev: Segment, seg: Segment, last: bool
    ) -> None:
        self.ref, self.plan, self.prev, self.seg, self.last = ref, plan, prev, seg, last
        self.traj, self.c, self.n = seg.trajectory, seg.checkpoint_step, len(ref.steps)
        self.rng: list[Mismatch] = []  # restored RNG differences: a cause once outputs differ

    def judge(self, verdict: Verdict) -> Divergence | None:
        found = self._crash() or self._restored() or self._walk() or self._end()
        if found is None and self.rng:
            keys = ", ".join(m.key for m in self.rng)
            verdict.warnings.append(
                f"after resuming from step {self.c} the RNG state differs from the uninterrupted "
                f"run ({keys}); nothing observable changed in this job, but dropout, shuffling "
                "or augmentation would diverge"
            )
        return found

    def _divergence(
        self,
        kind: Kind,
        step: int | None,
        detail: str,
        rows: Sequence[Row] = (),
        others: Sequence[Kind] = (),
    ) -> Divergence:
        if self.prev.trajectory.exit_info:
            rows = [*rows, f"killed run: {self.prev.trajectory.exit_info}"]
        name = self.seg.resume_from.name if self.seg.resume_from else None
        kinds = tuple(k for k in others if k is not kind)
        return Divergence(
            kind, self.prev.kill_at, self.c, step, detail, tuple(rows), kinds, self.plan, name
        )

    def _crash(self) -> Divergence | None:
        error, steps = self.traj.error, self.traj.steps
        if error is None or self.traj.killed_at is not None:
            return None
        kind = Kind.UNLOADABLE_CHECKPOINT if error.while_loading else Kind.RESUME_CRASH
        detail = f"{error.type}: {_first_sentence(error.message)}"
        step = len(steps) + self.c + 1 if steps else None
        return self._divergence(kind, step, detail, _frames(error.traceback))

    def _restored(self) -> Divergence | None:
        """The state right after restore, against the reference at the same point of the loop."""
        c, n, ref, traj = self.c, self.n, self.ref, self.traj
        if not traj.steps:
            if c >= n:
                return None
            none = [_total_steps(c, n)]
            return self._divergence(
                Kind.PROGRESS, c + 1, "the resumed run made no optimizer step", none
            )
        restored = traj.restored
        ref_at = _state_before(ref, c)
        initial = _weights(ref.steps[0].start)
        if c > 0 and initial and _weights(restored) == initial != _weights(ref_at):
            return self._not_restored(len(initial))
        placed = self._placed_elsewhere(restored, ref_at)
        if placed is not None:
            return placed
        counters: list[Evidence] = []
        if c < n:
            counters = _counter_rows(ref.steps[c], traj.steps[0], _prev_opt(ref, c), 0)
        state = diff_snapshots(ref_at, restored) if ref_at and restored else []
        blocking = _observable(state)
        self.rng = [m for m in state if m.kind is Kind.RNG]
        if not (counters or blocking):
            return None
        kinds = _ordered(([Kind.PROGRESS] if counters else []) + [m.kind for m in state])
        rows = [*counters, *(m.row for m in blocking + self.rng)]
        detail = _restore_detail(kinds[0], counters, blocking)
        return self._divergence(kinds[0], c + 1, detail, rows, kinds)

    def _placed_elsewhere(
        self, restored: Snapshot | None, ref_at: Snapshot | None
    ) -> Divergence | None:
        """A restored state equal to the reference's at another step: steps are repeated or
        skipped (framework-free; equal to the initial state is NOT_RESTORED)."""
        got = _placement(restored)
        if not got or got == _placement(ref_at):
            return None
        for j in range(len(self.ref.steps)):
            if j != self.c and _placement(_state_before(self.ref, j)) == got:
                if j == 0:
                    return self._not_restored(len(_weights(restored)))
                delta = self.c - j
                what = f"repeats {delta} step(s)" if delta > 0 else f"skips {-delta} step(s)"
                detail = (
                    f"the resumed run starts from the state after step {j}, though the checkpoint "
                    f"was written after step {self.c}: it {what}"
                )
                rows = [
                    Evidence.note(f"restored state equals the uninterrupted run's after step {j}")
                ]
                return self._divergence(Kind.PROGRESS, self.c + 1, detail, rows)
        return None

    def _not_restored(self, tensors: int) -> Divergence:
        detail = (
            "the resumed run starts from the initial weights, not from the checkpoint of step "
            f"{self.c}"
        )
        rows = [f"{tensors} weight tensors equal their initial values"]
        path = self.seg.resume_from
        if self.traj.claimed_checkpoint_step is None and path and path.suffix == ".ckpt":
            rows.append(
                "the harness's own callback state in the checkpoint was never loaded either"
            )
        return self._divergence(Kind.NOT_RESTORED, self.c + 1, detail, rows)

    def _walk(self) -> Divergence | None:
        """Each resumed step against the reference step with the same global number."""
        c, n, ref = self.c, self.n, self.ref
        prev_opt = (_prev_opt(ref, c), 0)
        for j, rec in enumerate(self.traj.steps):
            g = c + j + 1
            if g > n:
                total = _total_steps(c + len(self.traj.steps), n)
                detail = f"the resumed run went on past step {n}"
                return self._divergence(Kind.PROGRESS, g, detail, [total])
            diff = diff_step(ref.steps[g - 1], rec, g, prev_opt)
            if diff:
                return self._step_divergence(diff, rec)
            prev_opt = (ref.steps[g - 1].optimizer_steps, rec.optimizer_steps)
        return None

    def _step_divergence(self, diff: StepDiff, rec: StepRecord) -> Divergence:
        kinds = diff.kinds()
        # Inputs before outputs: counters, then the batch fed, then what the step made.
        if diff.counters:
            primary = Kind.PROGRESS
        elif diff.batch:
            primary = Kind.DATA_ORDER
        elif self.rng and diff.outputs:
            primary = Kind.RNG  # same inputs, different outputs: the random draws
        else:
            primary = kinds[0]
        rows = diff.rows() + [m.row for m in self.rng]
        others = kinds + ([Kind.RNG] if self.rng else [])
        detail = _step_detail(primary, diff, self.rng)
        if primary is Kind.DATA_ORDER:
            detail += _batch_origin(self.ref, rec, diff.step)
            total = self.c + len(self.traj.steps)
            if self.last and total != self.n and self.traj.error is None:
                # The data went back (or ahead) with the run's own progress: a program that
                # repeats or skips steps, as its total step count shows.
                more = "more" if total > self.n else "fewer"
                total_row = Evidence(
                    "total optimizer steps", "counter", resumed=total, reference=self.n
                )
                rows = [total_row, *rows]
                detail = (
                    f"the resumed run makes {abs(total - self.n)} {more} optimizer steps than "
                    f"the uninterrupted one{_batch_origin(self.ref, rec, diff.step)}"
                )
                primary = Kind.PROGRESS
        return self._divergence(primary, diff.step, detail, rows, others)

    def _end(self) -> Divergence | None:
        """Total step count and final state, for the run that trains to the end."""
        if not self.last:
            return None
        ref, traj, n = self.ref, self.traj, self.n
        total = self.c + len(traj.steps)
        if total < n:
            detail = f"the resumed run stopped after step {total}"
            return self._divergence(Kind.PROGRESS, total + 1, detail, [_total_steps(total, n)])
        if ref.final is None or traj.final is None:
            return None
        final = _observable(diff_snapshots(ref.final, traj.final))
        metrics = diff_metrics(ref.final_metrics, traj.final_metrics)
        if not (final or metrics):
            return None
        # Every step matched, so no random draw changed anything: not an RNG cause.
        primary = Kind.WEIGHTS if final else Kind.METRICS
        rows: list[Row] = [m.row for m in final + metrics]
        detail = "the final state differs after training ends"
        return self._divergence(primary, n, detail, rows, [m.kind for m in final + metrics])


def _batch_origin(ref: Trajectory, rec: StepRecord, step: int) -> str:
    """Which reference step fed the same batch, if any: "fed step 1's batch at step 9"."""
    if not rec.batches:
        return ""
    for i, other in enumerate(ref.steps):
        if other.batches == rec.batches:
            restarted = " (the data stream restarted)" if i == 0 else ""
            return f"; fed step {i + 1}'s batch at step {step}{restarted}"
    return "; a batch the uninterrupted run never fed"


def _state_before(ref: Trajectory, c: int) -> Snapshot | None:
    """The reference's state at the start of step ``c + 1``, where a resume from a checkpoint
    of step ``c`` starts. Runs record it where a checkpoint was written; elsewhere the state
    after step ``c`` stands in, without its RNG states (taken before the step's forward)."""
    if c >= len(ref.steps):
        return ref.final
    start = ref.steps[c].start
    if start is not None or c == 0:
        return start
    end = ref.steps[c - 1].end
    if end is None:
        return None
    kept = {k: e for k, e in end.entries.items() if category_of(k) != "rng"}
    return Snapshot(kept, full=end.full)


def _placement(snapshot: Snapshot | None) -> dict[str, str]:
    """What places a restored state among the reference's steps: its weights and learning
    rates (every snapshot records them; weights change at every step)."""
    if snapshot is None:
        return {}
    return {k: e.digest for k, e in snapshot.entries.items() if k.startswith(_PLACING)}


_PLACING = ("param.", "buffer.", "lr.")


def _frames(traceback_text: str, count: int = 3) -> list[str]:
    """The innermost frames of a traceback, one short line each."""
    frames = [ln.strip() for ln in traceback_text.splitlines() if ln.strip().startswith("File ")]
    return [f"at {frame[:160]}" for frame in frames[-count:]]


def _first_sentence(message: str) -> str:
    """The first line (and sentence) of an error message, for a one-line detail."""
    line = message.strip().splitlines()[0] if message.strip() else ""
    head, dot, _ = line.partition(". ")
    return (head + dot.strip()) if dot and len(head) > 20 else line[:200]


def _prev_opt(ref: Trajectory, c: int) -> int:
    return ref.steps[c - 1].optimizer_steps if c > 0 else 0


def _restore_detail(kind: Kind, counters: list[Evidence], state: list[Mismatch]) -> str:
    if kind is Kind.PROGRESS:
        return str(counters[0])
    n = sum(1 for m in state if m.kind is kind)
    what = {
        Kind.WEIGHTS: "weight tensors",
        Kind.OPTIMIZER: "optimizer state entries",
        Kind.SCHEDULER: "learning-rate/scheduler values",
    }[kind]
    return f"{n} {what} differ right after restore"


def _step_detail(kind: Kind, diff: StepDiff, rng: list[Mismatch]) -> str:
    if kind is Kind.PROGRESS:
        return str(diff.counters[0])
    if kind is Kind.RNG:
        seen = ", ".join(k.name.lower() for k in diff.kinds())
        return f"RNG state differs right after restore; first visible at step {diff.step} ({seen})"
    if kind is Kind.DATA_ORDER:
        also = " (the restored RNG state differs too)" if rng else ", with identical restored state"
        return f"a different batch is fed{also}"
    if kind is Kind.METRICS:
        return str(diff.metrics[0].row)
    if diff.loss and not diff.state:
        return f"the loss differs with the same batch and state ({diff.loss})"
    if diff.grads and not diff.state:
        return "the gradients differ with the same batch and state"
    n = sum(1 for m in diff.state if m.kind is kind)
    return f"{n} {kind.name.lower()} value(s) differ after the step"
