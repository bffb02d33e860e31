"""The resume check: reference run, control run, killed and resumed runs, and the verdict."""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from resumecheck.adapters.lightning_ddp import starts_processes
from resumecheck.engine import options, sharded
from resumecheck.engine.compare import Segment, Verdict, judge_control, judge_ranks
from resumecheck.engine.hints import refine
from resumecheck.engine.options import MODES
from resumecheck.engine.picture import PICTURE_NAME, Painter, PictureData, divergence_series
from resumecheck.engine.plan import KillSpec, Plan, check_range, draw_plans, normalize_plans
from resumecheck.engine.prefix import CHECKPOINTS, KILLED, moved, relocate
from resumecheck.engine.progress import Progress, RunInfo, RunKind, RunResult
from resumecheck.engine.recorder import newest_checkpoint
from resumecheck.engine.report import Divergence, Report
from resumecheck.engine.runner import InProcessRunner, Runner, RunSpec
from resumecheck.engine.trajectory import CheckpointFile, Trajectory
from resumecheck.errors import ConfigError, JobError, ResumeDivergence
from resumecheck.jobs import JOB_TYPES, Job, LightningJob, ScriptJob

DEFAULT_TIMEOUT = 300.0
DEFAULT_GRACE = 5.0


def make_runner(
    mode: str,
    timeout: float | None = DEFAULT_TIMEOUT,
    grace: float = DEFAULT_GRACE,
    job: Job | None = None,
) -> Runner:
    """The runner for a kill mode (process modes start the preloaded fork server).

    ``timeout``: seconds one run may take, in every mode (``None``: no limit). A
    :class:`ScriptJob` always runs in a child: ``python script.py`` forked from the server
    (``exception`` mode raises inside it) unless it trains in processes it starts, any other
    command as a fresh process tree. A :class:`LightningJob` whose Trainer starts processes
    (DDP with several devices) runs as a child command too, in every mode.
    """
    if mode not in MODES:
        raise ConfigError(f"mode={mode!r} is not a kill mode; choose one of: {', '.join(MODES)}")
    limit = float("inf") if timeout is None else timeout
    if isinstance(job, LightningJob) and starts_processes(job):
        # DDP and friends: the Trainer starts ranks of its own, so it runs in a child command.
        from resumecheck.adapters.lightning_ddp import LightningDDPRunner

        return LightningDDPRunner(mode, timeout=limit, grace=grace)
    if mode == "exception" and not isinstance(job, ScriptJob):
        return InProcessRunner(timeout)
    if isinstance(job, ScriptJob):
        from resumecheck.engine.command import CommandRunner, ScriptRunner

        if not job.runs_in_fork_server:
            return CommandRunner(mode, timeout=limit, grace=grace)
        return ScriptRunner(mode, timeout=limit, grace=grace)
    from resumecheck.engine.process import ProcessRunner

    return ProcessRunner(mode, timeout=limit, grace=grace)


def check(
    job: Job,
    kills: KillSpec = 5,
    mode: str = "exception",
    seed: int | None = None,
    control: bool = True,
    keep_artifacts: bool = False,
    artifacts_dir: str | os.PathLike[str] | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    grace: float = DEFAULT_GRACE,
    progress: Progress | None = None,
) -> Report:
    """Kill ``job`` after random (or given) optimizer steps, resume it, and compare.

    Args:
        job: a :class:`LightningJob` or :class:`TorchJob`.
        kills: how many kill steps to draw at random, or explicit plans: ``[5, 9]`` (two
            single kills) or ``[[5, 11], 7]`` (kill at 5, resume, kill at 11, resume; and
            separately a single kill at 7).
        mode: how the run dies; ``"exception"`` raises inside the process.
        seed: seed for drawing kill steps; random (and shown in the report) when ``None``.
        control: run the uninterrupted job twice to rule out nondeterminism first.
        keep_artifacts: keep checkpoints and logs even when the check passes.
        artifacts_dir: where to put them (a fresh temp dir by default).
        timeout: seconds one run may take, in every mode, before it counts as hung: the check
            then fails with :class:`~resumecheck.errors.JobHung` naming the step and where the
            job was stuck (``None``: no limit).
        grace: ``sigterm`` mode: seconds between SIGTERM and SIGKILL.
        progress: told of the plans and of every run as the check goes
            (:class:`resumecheck.engine.progress.StreamProgress` prints to stderr).
    """
    __tracebackhide__ = True
    if not isinstance(job, JOB_TYPES):
        raise ConfigError(
            f"job must be a LightningJob, TorchJob or ScriptJob, not {type(job).__name__}"
        )
    requested = normalize_plans(kills)
    timeout = options.seconds(timeout, "timeout")
    grace = options.seconds(grace, "grace", none_means="the default") or DEFAULT_GRACE
    root = options.artifacts_root(artifacts_dir, "artifacts_dir")
    runner = make_runner(mode, timeout, grace, job)
    seed = int.from_bytes(os.urandom(4), "little") if seed is None else seed
    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="resumecheck-", dir=root))
    report: Report | None = None
    try:
        report = _check(job, requested, runner, mode, seed, control, workdir, progress)
    except JobError as exc:
        # The runs' logs and output help fix the job: kept, and the message says where.
        raise type(exc)(f"{exc}\n  artifacts kept: {workdir}") from exc.__cause__
    except BaseException:
        # A usage error, Ctrl-C, a fault of the check: nothing worth keeping, nothing left.
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    finally:
        # Kept after a failure (or a crash of the check itself) for the user to look into.
        if report is not None and report.passed and not keep_artifacts:
            shutil.rmtree(workdir, ignore_errors=True)
    kept = None if report.passed and not keep_artifacts else str(workdir)
    return dataclasses.replace(report, artifacts=kept, seconds=time.perf_counter() - started)


class CheckSession:
    """One job under check: its reference (and control) runs, then any number of kill plans.

    The pytest plugin drives this directly, so Hypothesis can try and shrink plans without
    re-running the reference each time.
    """

    def __init__(
        self,
        job: Job,
        runner: Runner,
        workdir: Path,
        control: bool = True,
        progress: Progress | None = None,
        reuse_prefixes: bool = True,
    ) -> None:
        """``reuse_prefixes=False`` computes every killed run in full (engine/prefix.py)."""
        self.job = job
        self.reuse_prefixes = reuse_prefixes
        self.runner = runner
        self.workdir = workdir
        self.control = control
        self.progress = progress if progress is not None else Progress()
        self.reference = Trajectory()
        self.nondeterministic: Divergence | None = None
        self._tried: dict[Plan, Verdict] = {}
        # Plans whose killed run an uninterrupted run left, and which run left it.
        self._stashed: dict[Plan, str] = {}
        self._pictures: dict[Plan, PictureData] = {}  # drawn for the plans a report names

    @property
    def steps(self) -> int:
        return len(self.reference.steps)

    def prepare(self, plans: Sequence[Plan] | Callable[[int], Sequence[Plan]] = ()) -> list[Plan]:
        """Run the job uninterrupted (twice with the control); raise JobError if it is broken.

        ``plans`` (or a function of the step count drawing them) are the plans to be tried:
        the control run leaves their killed runs behind (engine/prefix.py), so
        :meth:`try_plan` does not compute those prefixes again. Without a control run nothing
        has shown the job deterministic: killed runs are computed, and one that differs from
        the reference before its kill is caught as ``NONDETERMINISTIC``. Returns the plans.
        """
        __tracebackhide__ = True
        self.reference = self._fresh("reference")
        n, label, error = self.steps, self.job.label, self.reference.error
        if error is not None:
            details = error.traceback
            if isinstance(self.job, ScriptJob):
                # What the program printed says more than resumecheck's frames around it.
                label = f"`{self.job.shell_command()}`"
                details = f"its output ends:\n{self.reference.output_tail}"
            raise JobError(
                f"the uninterrupted run of {label} failed before any kill, so its resumes "
                f"cannot be checked; fix the job first:\n{error.type}: {error.message}\n"
                f"{details}".rstrip()
            )
        if n and self.reference.steps[-1].optimizer_steps == 0:
            raise JobError(
                f"{label} never stepped an optimizer: its uninterrupted run reported {n} steps "
                "but made no optimizer.step() call, so nothing is trained and no resume can "
                "differ; call optimizer.step() (and run.step after it)"
            )
        if n < 2:
            raise JobError(_too_few_steps(self.job, n))
        chosen = list(plans(n) if callable(plans) else plans)
        if self.control:
            control = self._fresh("control", chosen)
            self.nondeterministic = judge_control(self.reference, control)
        return chosen

    def try_plan(self, plan: Plan) -> Verdict:
        """Kill and resume along one plan and judge it (memoized: runs are deterministic)."""
        if plan not in self._tried:
            check_range([plan], self.steps, self.job.label)
            segments = _run_plan(
                self.runner, self.job, plan, self.workdir, self.progress, self._stashed
            )
            verdict = _judge(self.job)(self.reference, plan, segments)
            verdict.warnings += [w for w in _kill_notes(segments) if w not in verdict.warnings]
            self._tried[plan] = verdict
            div = verdict.divergence
            if div is not None:
                self._pictures[plan] = divergence_series(self.reference, plan, segments, div)
            self.progress.plan_judged(plan, div.kind.name if div is not None else None)
        return self._tried[plan]

    def _fresh(self, kind: RunKind, plans: Sequence[Plan] = ()) -> Trajectory:
        run_dir = self.workdir / kind
        live = _live_dir(self.workdir)
        stash = self._stash_for(kind, plans)
        how = getattr(self.runner, "stash_by", None) or "copy"
        save_at = frozenset(stash) if _saves_sparsely(self.runner) else None
        spec = RunSpec(run_dir, live, self.job.seed, stash=stash, stash_by=how, save_at=save_at)
        try:
            trajectory = _observed(self.progress, RunInfo(kind), self.runner, self.job, spec)
        finally:
            _park(live, run_dir / CHECKPOINTS)
        relocate(trajectory, live, run_dir / CHECKPOINTS)
        return trajectory

    def _stash_for(self, kind: RunKind, plans: Sequence[Plan]) -> dict[int, tuple[Path, ...]]:
        """The kill points at which the run leaves killed runs for ``plans``, when the
        runner's kill mode allows it (engine/prefix.py)."""
        if not self.reuse_prefixes or getattr(self.runner, "stash_by", None) is None:
            return {}
        stash: dict[int, tuple[Path, ...]] = {}
        for plan in dict.fromkeys(plans):
            if plan and plan not in self._tried:
                chain = _chain_dir(self.workdir, plan)
                stash[plan[0]] = (*stash.get(plan[0], ()), chain)
                self._stashed[plan] = kind
        return stash

    def close(self) -> None:
        """Release the runner (process modes: stop the fork server this session started)."""
        close = getattr(self.runner, "close", None)
        if close is not None:
            close()

    def _pictured(
        self, plan: Plan, div: Divergence, painter: Painter
    ) -> Callable[[list[str]], Divergence]:
        """Start drawing the divergence's picture into the plan's artifacts; the returned
        call waits for it and gives the divergence with its picture (or a warning why not)."""
        data = self._pictures.get(plan)
        if data is None or div.picture is not None:
            return lambda warnings: div
        path = _chain_dir(self.workdir, plan) / PICTURE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        drawn = painter.draw(data, path)

        def finished(warnings: list[str]) -> Divergence:
            exc = drawn()
            if exc is None:
                return dataclasses.replace(div, picture=str(path))
            note = f"no picture of the divergence: {type(exc).__name__}: {exc}"
            if isinstance(exc, ImportError):
                note += " (pip install matplotlib)"
            if note not in warnings:
                warnings.append(note)
            return div

        return finished

    def report(self, plans: Sequence[Plan], mode: str, seed: int) -> Report:
        warnings: list[str] = []
        if self.nondeterministic is not None:
            divergences = [self.nondeterministic]
        else:
            pictured: list[Callable[[list[str]], Divergence]] = []
            painter = Painter(background=not isinstance(self.runner, InProcessRunner))
            try:
                for plan in plans:
                    verdict = self.try_plan(plan)
                    if verdict.divergence is not None:
                        refined = sharded.refine(refine(verdict.divergence, self.reference.facts))
                        pictured.append(self._pictured(plan, refined, painter))
                    warnings += [w for w in verdict.warnings if w not in warnings]
            finally:
                painter.close()
            divergences = [finished(warnings) for finished in pictured]
        return Report(
            job=self.job.label,
            mode=mode,
            seed=seed,
            plans=tuple(plans),
            steps=self.steps,
            divergences=tuple(divergences),
            warnings=tuple(warnings),
            control=self.control,
            compared=_compared(self.job),
        )


def _judge(job: Job) -> Callable[[Trajectory, Plan, list[Segment]], Verdict]:
    """How a plan is judged: rank by rank, or, for an elastic resume, on what must not depend
    on the world size (engine/elastic.py)."""
    if isinstance(job, ScriptJob) and job.resume_nproc is not None:
        from resumecheck.engine.elastic import judge_elastic

        return judge_elastic
    return judge_ranks


def _compared(job: Job) -> str | None:
    """What the comparison covered, when it is not everything (an elastic resume)."""
    if isinstance(job, ScriptJob) and job.resume_nproc is not None:
        from resumecheck.engine.elastic import scope

        return scope(job.nproc, job.resume_nproc)
    return None


def _check(
    job: Job,
    requested: list[Plan] | int,
    runner: Runner,
    mode: str,
    seed: int,
    control: bool,
    workdir: Path,
    progress: Progress | None = None,
) -> Report:
    session = CheckSession(job, runner, workdir, control, progress)

    def drawn(steps: int) -> list[Plan]:
        assert isinstance(requested, int)
        plans = draw_plans(requested, steps, seed)
        check_range(plans, steps, job.label)
        return plans

    try:
        plans = session.prepare(drawn if isinstance(requested, int) else requested)
        check_range(plans, session.steps, job.label)
        if session.nondeterministic is None:
            session.progress.plans_chosen(plans, session.steps)
        return session.report(plans, mode, seed)
    finally:
        session.close()


def _observed(
    progress: Progress, run: RunInfo, runner: Runner, job: Job, spec: RunSpec
) -> Trajectory:
    """Run ``spec`` and tell ``progress`` when it starts and how it ended."""
    progress.run_started(run)
    started = time.perf_counter()
    trajectory = runner.run(job, spec)
    error = trajectory.error
    result = RunResult(
        run.resume_step + 1,
        run.resume_step + len(trajectory.steps),
        time.perf_counter() - started,
        None if error is None else f"{error.type}: {error.message}".splitlines()[0][:120],
    )
    progress.run_finished(run, result)
    return trajectory


def _run_plan(
    runner: Runner,
    job: Job,
    plan: Plan,
    workdir: Path,
    progress: Progress | None = None,
    stashed: Mapping[Plan, str] | None = None,
) -> list[Segment]:
    """Kill at each step of the plan in turn, resuming from the newest checkpoint each time.

    Every run works in the session's one checkpoint path; the chain's directory is moved there
    first (with what a stashed killed run left) and back afterwards.
    """
    progress = progress or Progress()
    chain = _chain_dir(workdir, plan)
    live = _live_dir(workdir)
    home = chain / CHECKPOINTS
    stashed = stashed or {}
    killed = _stashed_killed(chain) if plan in stashed else None
    if killed is not None:
        _unpark(home, live)
    known: dict[Path, CheckpointFile] = {}
    segments: list[Segment] = []
    resume_from: Path | None = None
    offset = 0
    sparse = _saves_sparsely(runner)
    try:
        for i, kill_at in enumerate([*plan, None]):
            save_at = frozenset([kill_at] if kill_at else []) if sparse else None
            spec = RunSpec(
                chain / f"run-{i}", live, job.seed, resume_from, kill_at, offset, save_at=save_at
            )
            # The first run of a chain is killed; every later one resumes (and may be killed).
            run = RunInfo("killed" if i == 0 else "resumed", plan, kill_at, offset)
            if i == 0 and killed is not None:
                progress.run_started(run)
                source = stashed[plan]
                progress.run_finished(run, RunResult(1, len(killed.steps), 0.0, None, source))
                trajectory = killed
            else:
                trajectory = _observed(progress, run, runner, job, spec)
            segments.append(Segment(trajectory, kill_at, resume_from, offset))
            if kill_at is None or trajectory.killed_at is None:
                break
            known.update({f.path: f for f in trajectory.checkpoints})
            newest = _resume_point(job, known, live)
            if newest is None:
                break
            resume_from = newest.path
            offset = _checkpoint_step(job, newest)
    finally:
        _park(live, home)
    for seg in segments:
        relocate(seg.trajectory, live, home)
    return [
        dataclasses.replace(s, resume_from=moved(s.resume_from, live, home))
        if s.resume_from is not None
        else s
        for s in segments
    ]


def _stashed_killed(chain: Path) -> Trajectory | None:
    """The killed run an uninterrupted run left for this chain, if it left one."""
    from resumecheck.engine.safeload import load_records

    try:
        saved = load_records(chain / KILLED)
    except Exception:  # an unreadable record: the killed run is computed instead
        return None
    if not isinstance(saved, tuple) or not isinstance(saved[0], Trajectory):
        return None
    return saved[0]


def _saves_sparsely(runner: Runner) -> bool:
    """Whether a checkpoint the harness adds need be written only where a kill resumes from.
    A run killed mid-write resumes from the checkpoint before; one that outlives its SIGTERM
    may train on and resume from a later one: those modes keep one every step."""
    return getattr(runner, "mode", "exception") in ("exception", "sigkill")


def _live_dir(workdir: Path) -> Path:
    """The one checkpoint path every run of a check sees."""
    return workdir / CHECKPOINTS


def _park(live: Path, home: Path) -> None:
    """Move a finished run's checkpoint directory to where it is kept."""
    if live.exists():
        shutil.rmtree(home, ignore_errors=True)
        home.parent.mkdir(parents=True, exist_ok=True)
        live.rename(home)


def _unpark(home: Path, live: Path) -> None:
    shutil.rmtree(live, ignore_errors=True)
    if home.exists():
        home.rename(live)


def _too_few_steps(job: Job, n: int) -> str:
    who = f"the command `{job.shell_command()}`" if isinstance(job, ScriptJob) else job.label
    if n == 0:
        return (
            f"{who} never stepped an optimizer: its uninterrupted run made no optimizer.step() "
            "call on a torch optimizer, so nothing is trained and no resume can differ (does "
            "it import torch and train?)"
        )
    if isinstance(job, ScriptJob):
        return (
            f"the command `{job.shell_command()}` made {n} optimizer step(s) uninterrupted; a "
            "resume check needs at least 2 optimizer.step() calls on a torch optimizer (does "
            "it import torch and train? give it more steps)"
        )
    return (
        f"{job.label} made {n} optimizer step(s) uninterrupted; a resume check needs at least "
        "2 (raise max_steps/max_epochs; a plain loop must step a torch.optim optimizer)"
    )


def _chain_dir(workdir: Path, plan: Plan) -> Path:
    return workdir / ("plan-" + "-".join(map(str, plan)))


def _kill_notes(segments: Sequence[Segment]) -> list[str]:
    """What a killed run did with its kill signal, when that is worth saying."""
    notes = []
    for seg in segments[:-1]:
        info, traj = seg.trajectory.exit_info, seg.trajectory
        if "after SIGTERM; SIGKILLed" in info:
            notes.append(
                f"the job ignored SIGTERM after step {seg.kill_at}: {info} (it had reached step "
                f"{traj.killed_at}); a preemption would lose that work: on SIGTERM, save a "
                "checkpoint and exit (Lightning: OnExceptionCheckpoint)"
            )
        elif "after SIGTERM" in info and (traj.killed_at or 0) > (seg.kill_at or 0):
            notes.append(
                f"the job kept training after SIGTERM at step {seg.kill_at} until step "
                f"{traj.killed_at}, then {info}"
            )
    return notes


def _resume_point(job: Job, known: dict[Path, CheckpointFile], root: Path) -> CheckpointFile | None:
    """The newest checkpoint: a file, or for a script job the entry of the checkpoint dir
    (file or directory) that the newest file belongs to."""
    if not isinstance(job, ScriptJob):
        return newest_checkpoint(known)
    entries: dict[Path, CheckpointFile] = {}
    for f in known.values():
        entry = job.checkpoint_of(f.path, root)
        # A DCP shard counts once its checkpoint's metadata is written (a kill mid-save
        # leaves shards that no loader accepts).
        if entry is None or not f.path.exists() or not sharded.complete(f.path):
            continue
        held = entries.get(entry)
        if held is None or (f.step, f.seen) > (held.step, held.seen):
            entries[entry] = CheckpointFile(entry, f.step, f.seen, f.mtime_ns)
    return max(entries.values(), key=lambda f: (f.step, f.seen), default=None)


def _checkpoint_step(job: Job, newest: CheckpointFile) -> int:
    claimed = job.checkpoint_step(newest.path)
    return newest.step if claimed is None else claimed


def assert_resumes(job: Job, kills: KillSpec = 5, **options: object) -> Report:
    """Like :func:`check`, but raise :class:`ResumeDivergence` when the resume diverges."""
    __tracebackhide__ = True
    report = check(job, kills, **options)  # type: ignore[arg-type]
    if not report.passed:
        raise ResumeDivergence(report)
    return report
