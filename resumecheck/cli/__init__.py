"""Command line: ``resumecheck check``, ``run``, ``lint`` and ``rules``.

The CLI parses arguments, calls the API and turns results into output and an exit code:
0 clean, 1 findings or divergences, 2 usage or internal error, 130 interrupted. Heavy
imports (torch, lightning, libcst) happen inside the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import atexit
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors exit with 2 and say how to get help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message}\nTry '{self.prog} --help'.\n")


def build_parser() -> argparse.ArgumentParser:
    from resumecheck import __version__

    parser = _Parser(prog="resumecheck", description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--version", action="version", version=f"resumecheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    check = sub.add_parser("check", help="kill a training job at random steps, resume, compare")
    from resumecheck.cli.check import add_check_arguments

    add_check_arguments(check)

    run = sub.add_parser("run", help="check any training command, unmodified: run -- COMMAND")
    from resumecheck.cli.run import add_run_arguments

    add_run_arguments(run)

    lint = sub.add_parser("lint", help="flag code patterns that break resuming from checkpoints")
    rules = sub.add_parser("rules", help="list the lint rules, or explain one")
    from resumecheck.cli.lint import add_lint_arguments, add_rules_arguments

    add_lint_arguments(lint)
    add_rules_arguments(rules)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``resumecheck`` command line and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            from resumecheck.cli.check import run_check

            return run_check(args)
        if args.command == "run":
            from resumecheck.cli.run import run_run

            return run_run(args)
        from resumecheck.cli.lint import run_lint, run_rules

        return run_lint(args) if args.command == "lint" else run_rules(args)
    except KeyboardInterrupt:
        # Ctrl-C is never a verdict nor a traceback.
        print(f"resumecheck {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def entry() -> NoReturn:
    """The ``resumecheck`` command: :func:`main`, then exit without tearing the interpreter
    down. Once torch and Lightning are imported, the interpreter's own teardown (freeing
    every module's objects) takes more than a second; nothing of the check is left to do.
    What a normal exit must still do, happens: other threads are waited for, exit handlers
    (logging, temp dirs, the fork server) run, output is flushed."""
    code = main()
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            code = code or EXIT_ERROR
    os._exit(code)
