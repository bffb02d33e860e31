"""``resumecheck check path/to/jobs.py::make_job``: run a resume check from the shell."""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import json
import os
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from resumecheck.errors import ConfigError, JobError

EXIT_PASS, EXIT_DIVERGED, EXIT_ERROR = 0, 1, 2


def add_check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="FILE::FACTORY",
        help="a Python file and the job (or zero-arg function returning one) in it",
    )
    add_plan_arguments(parser)


def add_plan_arguments(parser: argparse.ArgumentParser) -> None:
    """The options ``check`` and ``run`` share: kills, mode, seed, artifacts, format."""
    parser.add_argument(
        "--kills",
        default="5",
        metavar="N|STEPS",
        help="how many kill steps to draw (default 5), or explicit steps: "
        "'5,13' or a JSON list of plans such as '[[5, 11], 7]'",
    )
    parser.add_argument("--mode", default="exception", help="kill mode (default: exception)")
    parser.add_argument("--seed", type=int, default=None, help="seed for drawing kill steps")
    parser.add_argument(
        "--no-control",
        action="store_true",
        help="skip the second uninterrupted run that rules out nondeterminism",
    )
    parser.add_argument(
        "--keep-artifacts",
        action="store_true",
        help="keep checkpoints and logs even when the check passes",
    )
    parser.add_argument(
        "--artifacts-dir",
        default=None,
        metavar="DIR",
        help="where to keep checkpoints and logs (default: a new temp dir)",
    )
    parser.add_argument(
        "--timeout",
        default="300",
        metavar="SECONDS",
        help="fail the check if one run takes longer, in every mode (default 300; inf: none)",
    )
    parser.add_argument(
        "--grace",
        default="5",
        metavar="SECONDS",
        help="sigterm mode: seconds between SIGTERM and SIGKILL (default 5)",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text")


def parse_kills(text: str) -> Any:
    """``"5"`` → 5 kills drawn; ``"3,7"`` → steps 3 and 7; JSON lists pass through."""
    text = text.strip()
    try:
        if text.startswith("["):
            return json.loads(text)
        if "," in text:
            return [int(part) for part in text.split(",") if part.strip()]
        return int(text)
    except ValueError as exc:
        raise ConfigError(
            f"--kills {text!r}: expected a number, comma-separated steps, or a JSON list"
        ) from exc


def load_job(target: str) -> Any:
    """Import ``FILE::NAME`` and return the job it names (calling it if it is a factory)."""
    from resumecheck.jobs import JOB_TYPES

    path_text, sep, name = target.rpartition("::")
    if not sep or not name:
        raise ConfigError(f"{target!r}: expected FILE::FACTORY, e.g. jobs.py::make_job")
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (from {target!r})")
    module_name = f"_resumecheck_job_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    sys.path.insert(0, str(_import_root(path)))
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise JobError(f"{path}: importing it raised {type(exc).__name__}: {exc}") from exc
    obj = getattr(module, name, None)
    if obj is None:
        raise ConfigError(f"{path} has no {name!r}; define a function returning the job")
    job = obj
    if not isinstance(obj, JOB_TYPES) and callable(obj):
        try:
            job = obj()
        except Exception as exc:
            raise JobError(
                f"{target}: building the job raised {type(exc).__name__}: {exc}"
            ) from exc
    if not isinstance(job, JOB_TYPES):
        raise ConfigError(
            f"{target} returned {type(job).__name__}, "
            "not a resumecheck.LightningJob, TorchJob or ScriptJob"
        )
    return job


def _import_root(path: Path) -> Path:
    """The first directory above ``path`` that is not a package, so the file's own package
    imports (``from scenarios import _common``) work, as under pytest."""
    folder = path.resolve().parent
    while (folder / "__init__.py").exists() and folder.parent != folder:
        folder = folder.parent
    return folder


def _seconds(text: str, option: str) -> float:
    """A ``--timeout``/``--grace`` value, validated as the API validates it."""
    from resumecheck.engine.options import seconds

    try:
        value = float(text)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r}: expected a number of seconds > 0, e.g. {option} 60"
        ) from None
    try:
        return seconds(value, option.lstrip("-")) or float("inf")
    except ConfigError:
        raise ConfigError(
            f"{option} {text}: expected a number of seconds > 0, e.g. {option} 60"
        ) from None


def _validate(args: argparse.Namespace) -> None:
    """Usage errors before anything starts (the fork server, the job's import)."""
    from resumecheck.engine.options import MODES, artifacts_root
    from resumecheck.engine.plan import normalize_plans

    args.timeout = _seconds(args.timeout, "--timeout")
    args.grace = _seconds(args.grace, "--grace")
    if args.mode not in MODES:
        raise ConfigError(
            f"--mode {args.mode!r} is not a kill mode; choose one of: {', '.join(MODES)}"
        )
    kills = parse_kills(args.kills)  # its own errors name --kills already
    try:
        normalize_plans(kills)
    except ConfigError as exc:
        message = str(exc).removeprefix("kills")
        raise ConfigError(f"--kills {args.kills!r}{message}") from None
    try:
        artifacts_root(args.artifacts_dir, "--artifacts-dir")
    except ConfigError as exc:
        raise ConfigError(str(exc).replace("--artifacts-dir=", "--artifacts-dir ")) from None


def run_check(args: argparse.Namespace) -> int:
    return run_with_server(args, lambda: load_job(args.target), _command)


def run_with_server(
    args: argparse.Namespace,
    make_job: Callable[[], Any],
    command: Callable[[argparse.Namespace, list[tuple[int, ...]]], str],
) -> int:
    """Check the job ``make_job`` builds, with the fork server up when a child needs it."""
    import faulthandler

    from resumecheck.engine.forkserver import PROCESS_MODES, start_server, stop_server

    try:
        _validate(args)
    except ConfigError as exc:
        print(f"resumecheck {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # A job that crashes the interpreter in exception mode (a segfault) leaves a traceback.
    with contextlib.suppress(ValueError, OSError, AttributeError):  # stderr without a fd
        faulthandler.enable()
    if args.mode not in PROCESS_MODES and args.command != "run":
        return _run_check(args, make_job, command)
    start_server()  # imports torch and Lightning while this process imports the job
    try:
        return _run_check(args, make_job, command)
    finally:
        stop_server()


def _run_check(
    args: argparse.Namespace,
    make_job: Callable[[], Any],
    command: Callable[[argparse.Namespace, list[tuple[int, ...]]], str],
) -> int:
    from resumecheck.engine.harness import check
    from resumecheck.engine.progress import StreamProgress, summary

    # Drawn here, not in check(), so it is printed before anything runs.
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    progress = StreamProgress()
    try:
        job = make_job()
        kills = parse_kills(args.kills)
        what = args.target if args.command == "check" else shlex.join(job.argv)
        progress.say(f"checking {what}, mode {args.mode}, seed {seed} (replay with --seed {seed})")
        report = check(
            job,
            kills=kills,
            mode=args.mode,
            seed=seed,
            control=not args.no_control,
            keep_artifacts=args.keep_artifacts,
            artifacts_dir=args.artifacts_dir,
            timeout=args.timeout,
            grace=args.grace,
            progress=progress,
        )
    except (ConfigError, JobError) as exc:
        progress.close()
        print(f"resumecheck {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    progress.close()
    replay = functools.partial(command, args)
    if args.format == "json":
        progress.say(f"{summary(report)} in {report.seconds:.1f} s")
        print(json.dumps(report.to_dict(replay), indent=2))
    else:
        print(f"{summary(report)} in {report.seconds:.1f} s")
        print(report.format(replay))
    return EXIT_PASS if report.passed else EXIT_DIVERGED


def _command(args: argparse.Namespace, plans: list[tuple[int, ...]]) -> str:
    from resumecheck.engine.report import format_kills

    kills = format_kills(plans).replace(" ", "")
    return f"resumecheck check {args.target} --kills '{kills}' --mode {args.mode}"
