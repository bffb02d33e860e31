"""Elastic resumes: a job trained on N processes per node, resumed on M
(``ScriptJob(resume_nproc=M)``).

Which rank feeds which sample, and the order in which gradients are summed, depend on the
world size; what must not is the state every rank holds (the replicated weights and optimizer
state), the number of optimizer steps, and the samples the job as a whole feeds. Every run is
seen as one (:func:`merged`): a value each rank holds alike (DDP) taken once, one the ranks hold
parts of (FSDP's dim-0 shards) put back together. An elastic resume is judged on these only:

- the killed run, at the original world size, rank by rank against the reference, as always;
- the state right after restore (weights, optimizer state, learning rates): exact;
- the optimizer step count: exact (``PROGRESS``);
- the samples fed after each resume, as a multiset over every rank and step (``DATA_ORDER``,
  placed at the first step whose samples differ);
- the weights and optimizer state after each resumed step and at the end: within
  ``RTOL``/``ATOL`` of the reference (``WEIGHTS``/``OPTIMIZER`` beyond), since gradients
  averaged over another number of ranks round differently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from collections import Counter
from collections.abc import Sequence
from typing import Any

import torch

from resumecheck.engine.compare import (
    KIND_OF_CATEGORY,
    Mismatch,
    Segment,
    Verdict,
    _counter_rows,
    _judge_fresh,
    _no_checkpoint,
    _observable,
    _ordered,
    _prev_opt,
    _restore_detail,
    _ResumeJudge,
    _total_steps,
    describe,
    diff_entries,
    rank_view,
)
from resumecheck.engine.evidence import Evidence, Row
from resumecheck.engine.recorder import Recorder
from resumecheck.engine.report import Divergence, Kind
from resumecheck.engine.snapshot import Entry, Snapshot, category_of, tensor_entry
from resumecheck.engine.trajectory import Trajectory

RTOL = 1e-4
ATOL = 1e-6
_UNKEPT = "values not kept"


def scope(trained: str | None, resumed: int) -> str:
    """What an elastic check compared, for the report."""
    return (
        f"elastic resume ({trained or '?'} -> {resumed} processes per node): compared the "
        "job's state as one (replicas once, shards put back together): the restored weights "
        "and optimizer state exactly, the optimizer step count, the samples fed after each "
        "resume (as a set over all ranks), and the weights and optimizer state after each "
        f"resumed step within rtol {RTOL:g}, atol {ATOL:g} (gradients averaged over another "
        "world size round differently); per-rank batches, losses and gradients depend on the "
        "world size and are not compared"
    )


# -- recording ---------------------------------------------------------------------------
def record_samples(recorder: Recorder) -> None:
    """Also record one digest per input row of each training forward (after the observer)."""
    previous = recorder.on_forward

    def on_forward(module: torch.nn.Module, args: Any) -> None:
        if previous is not None:
            previous(module, args)
        recorder.ensure_open().samples.extend(sample_digests(args))

    recorder.on_forward = on_forward


def sample_digests(batch: Any) -> list[str]:
    """One exact digest per sample of a batch: row ``i`` of every tensor whose first dimension
    is the batch's (the first tensor's)."""
    tensors = [t for t in _tensors(batch) if t.dim() >= 1]
    if not tensors or tensors[0].shape[0] == 0:
        return []
    n = tensors[0].shape[0]
    rows = []
    for t in tensors:
        if t.shape[0] != n or t.numel() == 0:
            continue
        flat = t.detach().cpu().contiguous().reshape(n, -1)
        rows.append(flat.view(torch.uint8).numpy() if flat.dtype != torch.bool else flat.numpy())
    digests = []
    for i in range(n):
        h = hashlib.blake2b(digest_size=12)
        for row in rows:
            h.update(row[i].tobytes())
        digests.append(h.hexdigest())
    return digests


def _tensors(obj: Any) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for k in sorted(obj, key=repr) for t in _tensors(obj[k])]
    if isinstance(obj, list | tuple):
        return [t for item in obj for t in _tensors(item)]
    return []


# -- judging -----------------------------------------------------------------------------
def judge_elastic(ref: Trajectory, plan: tuple[int, ...], segments: Sequence[Segment]) -> Verdict:
    """Judge a plan whose resumed runs ran with another world size (see the module doc)."""
    verdict = Verdict(None)
    ref_ranks = [ref, *ref.ranks]
    for ref_r in ref_ranks:
        r = ref_r.rank or 0
        div = _judge_fresh(ref_r, plan, _view(segments[0], r))
        if div is not None:
            verdict.divergence = _on_rank(div, r, len(ref_ranks))
            return verdict
    whole = merged(ref)
    for prev, seg in itertools.pairwise(segments):
        before, after = (
            dataclasses.replace(s, trajectory=merged(s.trajectory)) for s in (prev, seg)
        )
        div = _ElasticJudge(whole, plan, before, after, seg is segments[-1]).judge(verdict)
        if div is not None:
            verdict.divergence = div
            return verdict
    if len(segments) < len(plan) + 1:
        verdict.divergence = _no_checkpoint(plan, segments[-1])
    return verdict


def _merged(seg: Segment) -> Segment:
    return dataclasses.replace(seg, trajectory=merged(seg.trajectory))


def _view(seg: Segment, rank: int) -> Segment:
    return dataclasses.replace(seg, trajectory=rank_view(seg.trajectory, rank))


def _on_rank(div: Divergence, rank: int, world: int) -> Divergence:
    return div if world == 1 else dataclasses.replace(div, detail=f"rank {rank}: {div.detail}")


class _ElasticJudge(_ResumeJudge):
    """A resumed run at another world size: crash and restored state as always (exact), then
    the step count, the samples fed, and the state within a float tolerance."""

    def __init__(
        self, ref: Trajectory, plan: tuple[int, ...], prev: Segment, seg: Segment, last: bool
    ) -> None:
        super().__init__(ref, plan, prev, seg, last)
        self.unkept = 0  # entries that differ but whose values were too large to keep

    def judge(self, verdict: Verdict) -> Divergence | None:
        found = super().judge(verdict)
        if self.unkept:
            note = (
                f"{self.unkept} state value(s) after the resume differ by some amount that "
                "cannot be told: the model is too large for resumecheck to keep its values, so "
                "they were not compared within the tolerance (the restored state, the step "
                "count and the samples were)"
            )
            verdict.warnings.append(note)
        return found

    def _restored(self) -> Divergence | None:
        """The first resume restores what the killed run (at the reference's world size) held:
        the reference's state, exactly. A later one restores what a resumed run at the other
        world size saved: compared exactly with that run's own state after the step."""
        saved = _state_after(self.prev, self.c)
        restored = self.traj.restored
        if self.prev.resume_from is None or saved is None or restored is None:
            return super()._restored()
        state = diff_entries(saved.entries, restored.entries)
        blocking = _observable(state)
        self.rng = [m for m in state if m.kind is Kind.RNG]
        if not blocking:
            return None
        kinds = _ordered([m.kind for m in state])
        detail = f"{_restore_detail(kinds[0], [], blocking)} (against the state the run saved)"
        rows = [m.row for m in blocking + self.rng]
        return self._divergence(kinds[0], self.c + 1, detail, rows, kinds)

    def _walk(self) -> Divergence | None:
        c, n, ref, steps = self.c, self.n, self.ref, self.traj.steps
        if c + len(steps) > n:
            total = _total_steps(c + len(steps), n)
            return self._divergence(
                Kind.PROGRESS, n + 1, f"the resumed run went on past step {n}", [total]
            )
        fed = self._samples()
        if fed is not None:
            return fed
        prev = (_prev_opt(ref, c), 0)
        for j, rec in enumerate(steps):
            g = c + j + 1
            counters = _counter_rows(ref.steps[g - 1], rec, *prev)
            if counters:
                return self._divergence(Kind.PROGRESS, g, str(counters[0]), counters)
            prev = (ref.steps[g - 1].optimizer_steps, rec.optimizer_steps)
            found = self._state(ref.steps[g - 1].end, rec.end, g, f"after step {g}")
            if found is not None:
                return found
        return None

    def _end(self) -> Divergence | None:
        if not self.last:
            return None
        total = self.c + len(self.traj.steps)
        if total < self.n:
            detail = f"the resumed run stopped after step {total}"
            return self._divergence(Kind.PROGRESS, total + 1, detail, [_total_steps(total, self.n)])
        return self._state(self.ref.final, self.traj.final, self.n, "after training ends")

    def _state(
        self, ref: Snapshot | None, got: Snapshot | None, step: int, when: str
    ) -> Divergence | None:
        far = beyond_tolerance(ref, got)
        self.unkept = max(self.unkept, sum(1 for m in far if m.row.detail == _UNKEPT))
        far = [m for m in far if m.row.detail != _UNKEPT]
        if not far:
            return None
        kinds = _ordered([m.kind for m in far])
        n = sum(1 for m in far if m.kind is kinds[0])
        detail = (
            f"{n} {kinds[0].name.lower()} value(s) differ {when} by more than the rounding of "
            f"another world size (rtol {RTOL:g}, atol {ATOL:g})"
        )
        return self._divergence(kinds[0], step, detail, [m.row for m in far], kinds)

    def _samples(self) -> Divergence | None:
        """The samples fed after the resume, over every rank, against the reference's."""
        c, m = self.c, len(self.traj.steps)
        ref_steps = [Counter(self.ref.steps[c + j].samples) for j in range(m)]
        got_steps = [Counter(self.traj.steps[j].samples) for j in range(m)]
        ref_all = sum(ref_steps, Counter[str]())
        got_all = sum(got_steps, Counter[str]())
        if ref_all == got_all:
            return None
        first = next((j for j in range(m) if ref_steps[j] != got_steps[j]), 0)
        g = c + first + 1
        missing, extra = ref_all - got_all, got_all - ref_all
        detail = (
            f"the samples fed in steps {c + 1}-{c + m} (all ranks together) are not the "
            f"uninterrupted run's: {missing.total()} of them are missing and {extra.total()} "
            f"others fed instead, from step {g} on{_origin(self.ref, got_steps[first], g)}"
        )
        rows: list[Row] = [
            Evidence("samples fed", "batch", resumed=got_all.total(), reference=ref_all.total()),
        ]
        return self._divergence(Kind.DATA_ORDER, g, detail, rows)


def _state_after(seg: Segment, step: int) -> Snapshot | None:
    """A run's own state after global step ``step``, if it recorded that step."""
    index = step - seg.checkpoint_step - 1
    steps = seg.trajectory.steps
    return steps[index].end if 0 <= index < len(steps) else None


def _origin(ref: Trajectory, fed: Counter[str], step: int) -> str:
    """Which reference step fed the same samples: "; step 7 feeds the samples of step 5"."""
    for i, rec in enumerate(ref.steps):
        if fed and Counter(rec.samples) == fed:
            return f"; step {step} feeds the samples of step {i + 1}"
    return ""


# -- the job's state, whatever its world size ----------------------------------------------
def merged(trajectory: Trajectory) -> Trajectory:
    """A distributed run seen as one: per step, the samples every rank fed, and the state with
    each value every rank holds alike taken once (DDP's replicas) and each value the ranks
    hold a part of put back together in rank order (FSDP's dim-0 shards)."""
    ranks = sorted([trajectory, *trajectory.ranks], key=lambda t: t.rank or 0)
    if len(ranks) == 1:
        return trajectory
    steps = []
    for j, rec in enumerate(trajectory.steps):
        same = [t.steps[j] for t in ranks if j < len(t.steps)]
        steps.append(
            dataclasses.replace(
                rec,
                start=_whole([s.start for s in same]),
                end=_whole([s.end for s in same]),
                samples=[x for s in same for x in s.samples],
            )
        )
    final = _whole([t.final for t in ranks])
    return dataclasses.replace(trajectory, steps=steps, ranks=[], final=final)


def _whole(snapshots: Sequence[Snapshot | None]) -> Snapshot | None:
    present = [s for s in snapshots if s is not None]
    if len(present) <= 1:
        return present[0] if present else None
    entries = {}
    for key, first in present[0].entries.items():
        parts = [s.entries.get(key) for s in present]
        entries[key] = first if category_of(key) == "rng" else _joined(first, parts)
    return Snapshot(entries)


def _joined(first: Entry, parts: Sequence[Entry | None]) -> Entry:
    present = [p for p in parts if p is not None]
    if len(present) < len(parts) or all(
        (p.digest, p.shape) == (first.digest, first.shape) for p in present
    ):
        return first  # held alike by every rank (or not by all: nothing to join)
    values = [p.value for p in present]
    tensors = [v for v in values if isinstance(v, torch.Tensor) and v.dim() >= 1]
    if len(tensors) == len(values) and all(t.shape[1:] == tensors[0].shape[1:] for t in tensors):
        return tensor_entry(torch.cat(tensors), True)
    return first  # a part not kept (a large model): this rank's stands for all


def beyond_tolerance(ref: Snapshot | None, got: Snapshot | None) -> list[Mismatch]:
    """Entries (RNG states aside) that differ by more than ``RTOL``/``ATOL``; an entry whose
    values were not kept (a large model) counts only when its dtype or shape differs."""
    if ref is None or got is None:
        return []
    out = []
    for key in sorted(ref.entries.keys() | got.entries.keys()):
        category = category_of(key)
        a, b = ref.entries.get(key), got.entries.get(key)
        if category == "rng" or (a is not None and b is not None and a.digest == b.digest):
            continue
        row = describe(key, a, b)
        if a is not None and b is not None:
            close = _close(a, b)
            if close is None:
                row = dataclasses.replace(row, detail=_UNKEPT)
            elif close:
                continue
        out.append(Mismatch(key, KIND_OF_CATEGORY[category], row))
    return out


def _close(a: Entry, b: Entry, /) -> bool | None:
    """Whether two entries agree within the tolerance; ``None`` when their values were not
    kept (a large model): the digests alone cannot tell."""
    if (a.dtype, a.shape) != (b.dtype, b.shape):
        return False
    x, y = a.value, b.value
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        return None if x is None or y is None else False
    if not x.dtype.is_floating_point:
        return False
    return bool(torch.allclose(y.double(), x.double(), rtol=RTOL, atol=ATOL))
