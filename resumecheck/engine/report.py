"""Verdict kinds, divergences and the report. Pure: no torch, so pytest can import it cheaply."""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from resumecheck.engine.evidence import Evidence, Row, as_evidence, capped, ordered

MAX_EVIDENCE_LINES = 10
# The version of the JSON document (docs/json.md); bumped only for incompatible changes.
JSON_SCHEMA_VERSION = 1


class Kind(enum.Enum):
    """What went wrong in a resume, in the order causes are judged."""

    NO_CHECKPOINT = "the killed run left no checkpoint to resume from"
    UNLOADABLE_CHECKPOINT = "a checkpoint exists but cannot be loaded"
    RESUME_CRASH = "the resumed run raised"
    NOT_RESTORED = "the resumed run started from the initial state, not from the checkpoint"
    PROGRESS = "step/epoch/batch counters differ: steps or epochs skipped or repeated"
    WEIGHTS = "parameters or buffers differ"
    OPTIMIZER = "optimizer state differs right after restore"
    SCHEDULER = "learning rates differ"
    RNG = "state restored but RNG state differs"
    DATA_ORDER = "state equal but a different batch is fed"
    METRICS = "weights identical but logged metrics differ"
    NONDETERMINISTIC = "two uninterrupted runs already differ"

    @property
    def hint(self) -> str:
        return HINTS[self]


HINTS: dict[Kind, str] = {
    Kind.NO_CHECKPOINT: "make sure a checkpoint is written while training runs "
    "(ModelCheckpoint fires on trainer.global_step, which manual optimization outside "
    "training_step never advances)",
    Kind.UNLOADABLE_CHECKPOINT: "write checkpoints atomically (temp file + os.replace) and keep "
    "them loadable with torch.load(weights_only=True): no numpy or custom objects",
    Kind.RESUME_CRASH: "resume with trainer.fit(model, ckpt_path=...); "
    "Trainer(resume_from_checkpoint=...) was removed in Lightning 2.0",
    Kind.NOT_RESTORED: "the checkpoint was never applied: pass ckpt_path to fit, or load the "
    "state dicts you saved into the model and optimizer",
    Kind.PROGRESS: "step/epoch counters must come back with the weights: resume with "
    "trainer.fit(model, ckpt_path=...), not Model.load_from_checkpoint + fit, and save the step "
    "in plain-loop checkpoints; Lightning 2.6 itself miscounts epochs after a resume from an "
    "epoch's last batch: add resumecheck.fixkit.ExactResumeCallback() to the Trainer's callbacks",
    Kind.WEIGHTS: "save and restore every parameter and buffer (model.state_dict())",
    Kind.OPTIMIZER: "save and restore optimizer.state_dict()",
    Kind.SCHEDULER: "return the LR scheduler from configure_optimizers (or save its state_dict)",
    Kind.RNG: "save and restore torch, numpy and random RNG states in the checkpoint "
    "(Lightning: add resumecheck.fixkit.ExactResumeCallback() to the Trainer's callbacks; plain "
    "loops: resumecheck.fixkit.save_training_state / load_training_state)",
    Kind.DATA_ORDER: "make the data order resumable: a sampler seeded per epoch with its "
    "position saved in the checkpoint (resumecheck.fixkit.ResumableDataLoader, with "
    "ExactResumeCallback under Lightning)",
    Kind.METRICS: "save metric state (torchmetrics accumulators, running averages) in the "
    "checkpoint",
    Kind.NONDETERMINISTIC: "the job is not deterministic even without a kill: seed every "
    "source of randomness and avoid nondeterministic kernels before checking resumes",
}


def format_plan(plan: Sequence[int]) -> str:
    """Render one kill plan the way ``check(kills=...)`` accepts it."""
    return str(plan[0]) if len(plan) == 1 else "[" + ", ".join(map(str, plan)) + "]"


def format_kills(plans: Sequence[Sequence[int]]) -> str:
    """Render kill plans as a ``kills=`` argument: ``[5]`` or ``[[5, 11], 7]``."""
    return "[" + ", ".join(format_plan(p) for p in plans) + "]"


@dataclass(frozen=True)
class Divergence:
    """The first difference between a resumed run and the reference, classified.

    ``step`` is the optimizer step (1-based, counted by the harness) at which the difference
    shows; ``None`` when it is not tied to a step (no checkpoint, a crash).
    """

    kind: Kind
    kill_step: int | None
    checkpoint_step: int | None
    step: int | None
    detail: str
    evidence: tuple[Row, ...] = ()
    others: tuple[Kind, ...] = ()
    plan: tuple[int, ...] = ()
    checkpoint: str | None = None
    hint: str | None = None  # fitted to the job (engine/hints.py); else the kind's own
    picture: str | None = None  # a PNG of the reference and the resumed run, step by step

    def __post_init__(self) -> None:
        # Rows may be given as sentences; they are kept as evidence rows, explaining ones first.
        rows = ordered((as_evidence(r) for r in self.evidence), self.kind.name)
        object.__setattr__(self, "evidence", tuple(rows))

    @property
    def advice(self) -> str:
        return self.hint or self.kind.hint

    @property
    def rows(self) -> tuple[Evidence, ...]:
        """The evidence rows, those that explain the kind first."""
        return tuple(as_evidence(r) for r in self.evidence)

    def headline(self) -> str:
        if self.kind is Kind.NONDETERMINISTIC:
            return "job is nondeterministic: two uninterrupted runs differ"
        where = f"killed after step {self.kill_step}"
        if len(self.plan) > 1:
            where = f"kill plan {format_plan(self.plan)}: {where}"
        if self.checkpoint is not None:
            where += f", resumed from {self.checkpoint} (step {self.checkpoint_step})"
        return f"resume diverged: {where}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.name,
            "headline": self.headline(),
            "kill_step": self.kill_step,
            "checkpoint_step": self.checkpoint_step,
            "checkpoint": self.checkpoint,
            "step": self.step,
            "detail": self.detail,
            "evidence": [r.to_dict() for r in self.rows],
            "others": [k.name for k in self.others],
            "plan": list(self.plan),
            "hint": self.advice,
            "picture": self.picture,
        }


@dataclass(frozen=True)
class Report:
    """The outcome of one ``check``: passed, or the divergences found, with evidence."""

    job: str
    mode: str
    seed: int
    plans: tuple[tuple[int, ...], ...]
    steps: int
    divergences: tuple[Divergence, ...] = ()
    warnings: tuple[str, ...] = ()
    artifacts: str | None = None
    control: bool = True
    seconds: float = 0.0
    # What the comparison covered when it is not the whole state, bit for bit (elastic resumes).
    compared: str | None = None

    @property
    def passed(self) -> bool:
        return not self.divergences

    @property
    def kinds(self) -> list[Kind]:
        return [d.kind for d in self.divergences]

    def plans_for(self, divergence: Divergence | None) -> list[tuple[int, ...]]:
        """The kill plans that replay one divergence (all plans for the check as a whole)."""
        if divergence is None or not divergence.plan or divergence.kind is Kind.NONDETERMINISTIC:
            return list(self.plans)
        return [divergence.plan]

    def reproduce(self, divergence: Divergence | None = None) -> str:
        """The Python call that replays one divergence (or the whole check)."""
        kills = format_kills(self.plans_for(divergence))
        return f'rc.check(job, kills={kills}, mode="{self.mode}")'

    def __str__(self) -> str:
        return self.format()

    def format(self, reproduce: Callable[[list[tuple[int, ...]]], str] | None = None) -> str:
        """The human report; ``reproduce`` renders the replay line from kill plans."""

        def replay(div: Divergence) -> str:
            return reproduce(self.plans_for(div)) if reproduce else self.reproduce(div)

        lines: list[str]
        if self.passed:
            lines = [
                f"resume ok: {self.job}, {len(self.plans)} kill plan(s) "
                f"{format_kills(self.plans)} in {self.steps} steps, mode {self.mode}, "
                f"seed {self.seed}: "
                + ("matches" if self.compared else "bit-identical to")
                + " the uninterrupted run"
            ]
            lines += [f"  compared: {self.compared}"] if self.compared else []
            lines += [f"  warning: {w}" for w in self.warnings]
            return "\n".join(lines)
        lines = []
        for div in self.divergences:
            lines.append(div.headline())
            at = f" at step {div.step}" if div.step is not None else ""
            lines.append(f"  {div.kind.name}{at}: {div.detail}")
            shown, more = capped(div.rows, MAX_EVIDENCE_LINES)
            lines += [f"    {e}" for e in shown]
            if more:
                lines.append(f"    … {more} more")
            if div.others:
                lines.append("  also differs: " + ", ".join(k.name for k in div.others))
            lines.append(f"  hint: {div.advice}")
            if div.picture:
                lines.append(f"  picture: {div.picture}")
            lines.append(f"  reproduce: {replay(div)}")
        lines += [f"  compared: {self.compared}"] if self.compared else []
        lines += [f"  warning: {w}" for w in self.warnings]
        if self.artifacts:
            lines.append(f"  artifacts kept: {self.artifacts}")
        return "\n".join(lines)

    def to_dict(
        self, command: Callable[[list[tuple[int, ...]]], str] | None = None
    ) -> dict[str, Any]:
        """The report as JSON-ready data (schema: docs/json.md).

        ``command`` renders the shell command that replays some kill plans (the CLI's or the
        pytest line); without it ``reproduce.command`` is ``None``.
        """

        def reproduce(div: Divergence | None) -> dict[str, str | None]:
            plans = self.plans_for(div)
            return {
                "command": command(plans) if command else None,
                "python": self.reproduce(div),
                "kills": format_kills(plans),
            }

        divergences = []
        for div in self.divergences:
            data = div.to_dict()
            data["reproduce"] = reproduce(div)
            divergences.append(data)
        return {
            "schema": JSON_SCHEMA_VERSION,
            "passed": self.passed,
            "summary": self.summary(),
            "job": self.job,
            "mode": self.mode,
            "seed": self.seed,
            "plans": [list(p) for p in self.plans],
            "steps": self.steps,
            "control": self.control,
            "divergences": divergences,
            "warnings": list(self.warnings),
            "compared": self.compared,
            "artifacts": self.artifacts,
            "seconds": round(self.seconds, 3),
            "reproduce": reproduce(self.divergences[0] if self.divergences else None),
        }

    def summary(self) -> str:
        """``"2 of 5 plans diverged (RNG, PROGRESS)"``: the line above the reports."""
        first = self.divergences[0] if self.divergences else None
        if first is not None and first.kind is Kind.NONDETERMINISTIC and not first.plan:
            return "the job is nondeterministic: no kill plan was judged"
        kinds = sorted({d.kind for d in self.divergences}, key=list(Kind).index)
        tail = f" ({', '.join(k.name for k in kinds)})" if kinds else ""
        plural = "plan" if len(self.plans) == 1 else "plans"
        return f"{len(self.divergences)} of {len(self.plans)} {plural} diverged{tail}"
