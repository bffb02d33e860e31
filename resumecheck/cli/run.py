"""``resumecheck run [OPTIONS] -- COMMAND ...``: check any training program, unmodified."""

from __future__ import annotations

import argparse
import shlex

from resumecheck.cli.check import add_plan_arguments, run_with_server
from resumecheck.errors import ConfigError
from resumecheck.jobs import ScriptJob


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resume",
        default=None,
        metavar="ARGS",
        help="arguments appended to resume, e.g. --resume=--init_from=resume or "
        "--resume='--ckpt {resume_from}' ({resume_from}: the newest checkpoint)",
    )
    parser.add_argument(
        "--checkpoints",
        default=None,
        metavar="GLOB",
        help="what counts as a checkpoint under {checkpoint_dir} (default: anything there)",
    )
    parser.add_argument(
        "--resume-nproc",
        type=int,
        default=None,
        metavar="N",
        help="elastic resume: resumed runs get torchrun --nproc_per_node=N instead of the "
        "command's own; the comparison then covers only what must not depend on the world "
        "size (restored weights and optimizer state exactly, the optimizer step count, the "
        "samples fed as a set over all ranks, later weights within a float tolerance) and the "
        "report says so",
    )
    parser.add_argument("--cwd", default=None, metavar="DIR", help="working directory of every run")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment variable for every run (repeatable)",
    )
    add_plan_arguments(parser)
    parser.add_argument(
        "program",
        nargs=argparse.REMAINDER,
        metavar="-- COMMAND ...",
        help="the training command; {checkpoint_dir} is the directory its runs share",
    )


def script_job(args: argparse.Namespace) -> ScriptJob:
    """The :class:`ScriptJob` the command line describes."""
    program = list(args.program)
    if program[:1] == ["--"]:
        program = program[1:]
    if not program:
        raise ConfigError(
            "no command to check; put it after --, e.g. resumecheck run -- python train.py "
            "--out={checkpoint_dir}"
        )
    env = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError(f"--env {item!r}: expected NAME=VALUE")
        env[name] = value
    return ScriptJob(
        program,
        resume=args.resume,
        checkpoints=args.checkpoints,
        cwd=args.cwd,
        env=env or None,
        resume_nproc=args.resume_nproc,
    )


def reproduce_command(args: argparse.Namespace, plans: list[tuple[int, ...]]) -> str:
    """The ``resumecheck run`` line that replays ``plans``."""
    from resumecheck.engine.report import format_kills

    parts = ["resumecheck", "run"]
    for flag in ("resume", "checkpoints", "cwd"):
        value = getattr(args, flag)
        if value is not None:
            parts.append(f"--{flag}={value}")
    if args.resume_nproc is not None:
        parts.append(f"--resume-nproc={args.resume_nproc}")
    parts += [f"--env={item}" for item in args.env]
    parts += ["--kills", format_kills(plans).replace(" ", ""), "--mode", args.mode, "--"]
    program = list(args.program)
    return shlex.join(parts + (program[1:] if program[:1] == ["--"] else program))


def run_run(args: argparse.Namespace) -> int:
    return run_with_server(args, lambda: script_job(args), reproduce_command)
