"""Job descriptions: what to train, how to resume. Plain data; importing this costs no torch.

Three kinds, one protocol (:class:`Job`): a :class:`LightningJob` (recorded by a Lightning
callback), a :class:`TorchJob` (a plain loop given a :class:`~resumecheck.Run`) and a
:class:`ScriptJob` (any command, unmodified, observed at the optimizer). Each knows how to run
itself once inside a process: the engine calls :meth:`Job.execute` and never imports a
framework itself.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from resumecheck.adapters.torch_loop import Run
    from resumecheck.engine.recorder import Recorder
    from resumecheck.engine.runner import RunSpec

TrainerArgs = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
Argv = Sequence[str] | str


@runtime_checkable
class Job(Protocol):
    """What the engine needs of a job: a label, a seed, and a way to run once in a process."""

    seed: int

    @property
    def label(self) -> str: ...

    def execute(self, spec: RunSpec, recorder: Recorder) -> None:
        """Run the job once in this process under ``spec``, feeding ``recorder``."""
        ...

    def checkpoint_step(self, path: Path) -> int | None:
        """The step a checkpoint holds, when the job's own bookkeeping says so."""
        ...


ResumeFn = Callable[[Any, Any, Any, str], None]


@dataclass(frozen=True)
class LightningJob:
    """A Lightning training job.

    Args:
        model: zero-arg callable returning a fresh LightningModule (a class works).
        data: zero-arg callable returning a LightningDataModule or a train DataLoader; ``None``
            when the module defines its own dataloaders.
        trainer: Trainer keyword arguments, or a zero-arg callable returning them. The harness
            overrides the checkpoint directory, logger and progress bar; callbacks are copied
            fresh for every run.
        seed: seed for torch, numpy and ``random`` at the start of every run.
        resume: ``(trainer, model, data, ckpt_path) -> None`` replacing the default
            ``trainer.fit(model, data, ckpt_path=ckpt_path)``.
        name: shown in reports; defaults to the model's name.
    """

    model: Callable[[], Any]
    data: Callable[[], Any] | None = None
    trainer: TrainerArgs = field(default_factory=dict)
    seed: int = 0
    resume: ResumeFn | None = None
    name: str | None = None

    @property
    def label(self) -> str:
        return str(self.name or getattr(self.model, "__name__", type(self.model).__name__))

    def execute(self, spec: RunSpec, recorder: Recorder) -> None:
        from resumecheck.adapters.lightning import run_lightning_job

        run_lightning_job(self, spec, recorder)

    def checkpoint_step(self, path: Path) -> int | None:
        from resumecheck.adapters.lightning import claimed_step

        return claimed_step(path)


@dataclass(frozen=True)
class TorchJob:
    """A plain PyTorch training loop: ``train(run)`` trains, checkpoints and calls ``run.step``.

    The loop resumes from ``run.resume_from`` when it is set, writes checkpoints under
    ``run.checkpoint_dir`` and calls ``run.step(...)`` after every optimizer step.
    """

    train: Callable[[Run], None]
    seed: int = 0
    name: str | None = None

    @property
    def label(self) -> str:
        return str(self.name or getattr(self.train, "__name__", "train"))

    def execute(self, spec: RunSpec, recorder: Recorder) -> None:
        from resumecheck.adapters.torch_loop import run_torch_job

        run_torch_job(self, spec, recorder)

    def checkpoint_step(self, path: Path) -> int | None:
        return None


def _split(argv: Argv | None) -> tuple[str, ...]:
    if argv is None:
        return ()
    return tuple(shlex.split(argv)) if isinstance(argv, str) else tuple(str(a) for a in argv)


@dataclass(frozen=True)
class ScriptJob:
    """Any training program, unmodified: a command line and how it resumes.

    Args:
        command: argv, or a string split like a shell would (no shell runs it).
            ``{checkpoint_dir}`` is replaced by the directory every run of a plan shares.
        resume: arguments appended for a resumed run; ``{resume_from}`` is replaced by the
            newest checkpoint the killed run left (a file, or a directory such as Hugging
            Face's ``checkpoint-12/``). Many programs find their checkpoint by themselves and
            need none.
        checkpoints: a glob under ``{checkpoint_dir}`` naming what counts as a checkpoint
            (default: anything written there).
        cwd: the working directory of every run (default: the current one).
        env: extra environment variables for every run.
        name: shown in reports; defaults to the script's name.
        resume_nproc: resume with this many processes per node instead of the command's own
            (an elastic resume; ``torchrun`` commands only): resumed runs get
            ``--nproc_per_node=resume_nproc``. The comparison then covers only what must not
            depend on the world size (restored weights and optimizer state, the optimizer step
            count, the samples fed after the resume, the weights within a float tolerance);
            the report says so.

    Steps are optimizer steps, observed by a bootstrap that resumecheck activates only in
    its own runs. ``python script.py ...`` runs in a child of a preloaded fork server, as
    ``python`` would run it; other commands (``torchrun``, wrappers) start fresh.
    """

    command: Argv
    resume: Argv | None = None
    checkpoints: str | None = None
    cwd: str | os.PathLike[str] | None = None
    env: Mapping[str, str] | None = None
    name: str | None = None
    seed: int = 0  # unused by the script; kept so every job has one
    resume_nproc: int | None = None

    def __post_init__(self) -> None:
        from resumecheck.errors import ConfigError

        if not self.argv:
            raise ConfigError("ScriptJob: the command is empty; give the program to run")
        if self.cwd is not None and not Path(self.cwd).is_dir():
            raise ConfigError(f"ScriptJob: cwd={str(self.cwd)!r} is not a directory")
        if self.resume_nproc is not None:
            n = self.resume_nproc
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ConfigError(
                    f"ScriptJob: resume_nproc={n!r} is not a process count; give an int >= 1"
                )
            if _nproc_at(self.argv) is None:
                raise ConfigError(
                    f"ScriptJob: resume_nproc={n} needs a torchrun command with "
                    "--nproc_per_node=N (the world size it trains with); add it to the command"
                )

    @property
    def nproc(self) -> str | None:
        """The command's ``--nproc_per_node`` value, if it has one."""
        at = _nproc_at(self.argv)
        return None if at is None else _nproc_value(self.argv, at)

    @property
    def argv(self) -> tuple[str, ...]:
        return _split(self.command)

    @property
    def resume_argv(self) -> tuple[str, ...]:
        return _split(self.resume)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        scripts = [a for a in self.argv if a.endswith(".py")]
        return Path(scripts[0]).name if scripts else Path(self.argv[0]).name

    def command_for(self, checkpoint_dir: Path, resume_from: Path | None) -> list[str]:
        """The argv of one run: placeholders filled, resume arguments added when resuming."""
        values = {"checkpoint_dir": str(checkpoint_dir), "resume_from": str(resume_from or "")}
        argv = list(self.argv)
        if resume_from is not None and self.resume_nproc is not None:
            argv = _with_nproc(argv, self.resume_nproc)
        argv += list(self.resume_argv) if resume_from is not None else []
        return [_fill(arg, values) for arg in argv]

    @property
    def runs_in_fork_server(self) -> bool:
        """``python script.py``/``python -m mod``: forked from the preloaded server."""
        return python_target(self.argv) is not None

    def checkpoint_of(self, path: Path, root: Path) -> Path | None:
        """The checkpoint ``path`` is part of: the entry of ``root`` (a file, or a directory
        such as ``checkpoint-12/``) that matches :attr:`checkpoints`; ``None`` if none does."""
        try:
            rel = path.relative_to(root)
        except ValueError:
            return None
        if self.checkpoints is None:
            return root / rel.parts[0]
        for match in root.glob(self.checkpoints):
            if match == path or match in path.parents:
                return match
        return None

    def shell_command(self) -> str:
        """The command as a person would type it (for reports)."""
        return shlex.join(self.argv)

    def execute(self, spec: RunSpec, recorder: Recorder) -> None:
        from resumecheck.adapters.script import run_script_job

        run_script_job(self, spec, recorder)

    def checkpoint_step(self, path: Path) -> int | None:
        return None


_PYTHON_NAMES = ("python", "python3")
# Interpreter options that change nothing a forked child would do differently.
_HARMLESS_OPTIONS = ("-u", "-B")


@dataclass(frozen=True)
class PythonTarget:
    """What ``python ARGS`` runs: a script path or a module (``-m``), and its arguments."""

    path: str | None
    module: str | None
    args: tuple[str, ...]


def python_target(argv: Sequence[str]) -> PythonTarget | None:
    """The script or module a ``python ...`` command runs, or ``None`` for other commands.

    >>> python_target(["python", "-u", "train.py", "--lr=1"])
    PythonTarget(path='train.py', module=None, args=('--lr=1',))
    >>> python_target(["python", "-m", "pkg.train", "x"])
    PythonTarget(path=None, module='pkg.train', args=('x',))
    >>> python_target(["torchrun", "--nproc_per_node=2", "train.py"]) is None
    True
    """
    if not argv or not _is_this_python(argv[0]):
        return None
    rest = list(argv[1:])
    while rest and rest[0] in _HARMLESS_OPTIONS:
        rest.pop(0)
    if len(rest) >= 2 and rest[0] == "-m":
        return PythonTarget(None, rest[1], tuple(rest[2:]))
    if rest and not rest[0].startswith("-"):
        return PythonTarget(rest[0], None, tuple(rest[1:]))
    return None


def _is_this_python(program: str) -> bool:
    """``python``/``python3`` or this interpreter's own path: what the fork server runs."""
    if program == sys.executable or os.path.realpath(program) == os.path.realpath(sys.executable):
        return True
    return "/" not in program and program in _PYTHON_NAMES


_NPROC_FLAGS = ("--nproc_per_node", "--nproc-per-node")


def _nproc_at(argv: Sequence[str]) -> int | None:
    """Where torchrun's ``--nproc_per_node`` is, among the options before the script."""
    for i, arg in enumerate(argv):
        if arg.endswith(".py"):
            return None  # the script's own arguments start here
        if arg.split("=", 1)[0] in _NPROC_FLAGS and ("=" in arg or i + 1 < len(argv)):
            return i
    return None


def _nproc_value(argv: Sequence[str], at: int) -> str:
    arg = argv[at]
    return arg.split("=", 1)[1] if "=" in arg else argv[at + 1]


def _with_nproc(argv: list[str], nproc: int) -> list[str]:
    """``argv`` with torchrun's process count per node set to ``nproc``.

    >>> _with_nproc(["torchrun", "--nproc-per-node", "2", "t.py", "--x=1"], 1)
    ['torchrun', '--nproc-per-node', '1', 't.py', '--x=1']
    >>> _with_nproc(["torchrun", "--standalone", "--nproc_per_node=2", "t.py"], 4)
    ['torchrun', '--standalone', '--nproc_per_node=4', 't.py']
    """
    at = _nproc_at(argv)
    assert at is not None
    out = list(argv)
    if "=" in out[at]:
        out[at] = f"{out[at].split('=', 1)[0]}={nproc}"
    else:
        out[at + 1] = str(nproc)
    return out


def _fill(arg: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        arg = arg.replace("{" + key + "}", value)
    return arg


JOB_TYPES = (LightningJob, TorchJob, ScriptJob)
