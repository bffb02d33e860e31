"""``resumecheck lint`` and ``resumecheck rules``: arguments, output and exit codes.

Importing this module is cheap (no libcst): the heavy modules load inside ``run_lint`` and
``run_rules``. Exit codes: 0 clean, 1 violations, 2 usage error or a file that could not be
checked.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
FORMATS = ("text", "json", "sarif", "github")


def _codes(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of jobs, got {value!r}")
    return jobs


def add_lint_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``resumecheck lint`` options."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help="Files or folders (default: .)")
    parser.add_argument(
        "--select", type=_codes, metavar="CODES", help="Check only these codes or prefixes (ALL)"
    )
    parser.add_argument(
        "--extend-select",
        type=_codes,
        default=[],
        metavar="CODES",
        help="Check these codes in addition, e.g. the off-by-default RC206,RC303,RC305",
    )
    parser.add_argument(
        "--ignore", type=_codes, default=[], metavar="CODES", help="Skip these codes or prefixes"
    )
    parser.add_argument("--fix", action="store_true", help="Apply safe fixes in place")
    parser.add_argument(
        "--unsafe-fixes", action="store_true", help="Also apply fixes that may change behaviour"
    )
    parser.add_argument(
        "--diff", action="store_true", help="Print the fixes as a unified diff; write nothing"
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="Output format")
    parser.add_argument(
        "--statistics", action="store_true", help="Print the number of violations per code"
    )
    parser.add_argument(
        "--exit-zero", action="store_true", help="Exit 0 even when there are violations"
    )
    parser.add_argument(
        "--config", metavar="PYPROJECT", help="Read settings from this pyproject.toml"
    )
    parser.add_argument(
        "--isolated", action="store_true", help="Ignore every pyproject.toml configuration"
    )
    parser.add_argument(
        "--stdin-filename",
        metavar="NAME",
        help="Read the source from stdin and report it as NAME (also: PATH '-')",
    )
    parser.add_argument(
        "-j", "--jobs", type=_jobs, metavar="N", help="Worker processes (default: all cores)"
    )


def add_rules_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``resumecheck rules`` arguments."""
    parser.add_argument("code", nargs="?", metavar="CODE", help="Explain one rule, e.g. RC101")
    parser.add_argument(
        "--markdown",
        action="store_true",
        help="Print the catalogue as Markdown (the generated part of docs/lint.md)",
    )


def run_lint(args: argparse.Namespace) -> int:
    """Run ``resumecheck lint`` and return the exit code."""
    from resumecheck.lint import config as cfg
    from resumecheck.lint.runner import LintRun

    try:
        run = LintRun.from_args(args)
    except cfg.ConfigError as exc:
        print(f"resumecheck lint: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return run.execute(sys.stdout, sys.stderr)


def run_rules(args: argparse.Namespace) -> int:
    """Run ``resumecheck rules``: list the catalogue or explain one rule."""
    from resumecheck.lint.rules import ALL_RULES, RULES_BY_CODE

    code = (getattr(args, "code", None) or "").upper()
    out: TextIO = sys.stdout
    if getattr(args, "markdown", False):
        from resumecheck.lint.catalogue import markdown

        selected = [RULES_BY_CODE[code]] if code in RULES_BY_CODE else list(ALL_RULES)
        if code and code not in RULES_BY_CODE:
            print(f"resumecheck rules: error: unknown rule {code!r}", file=sys.stderr)
            return EXIT_ERROR
        out.write(markdown(selected))
        return EXIT_CLEAN
    if not code:
        for rule in ALL_RULES:
            state = "on " if rule.default else "off"
            fix = "fix" if (rule.FIXES or rule.UNSAFE_FIXES) else "   "
            out.write(f"{rule.code}  {state}  {fix}  {rule.name}: {rule.message}\n")
        out.write("\nExplain one rule: resumecheck rules RC101\n")
        return EXIT_CLEAN
    if code not in RULES_BY_CODE:
        print(f"resumecheck rules: error: unknown rule {code!r}", file=sys.stderr)
        return EXIT_ERROR
    out.write(explain(code))
    return EXIT_CLEAN


def explain(code: str) -> str:
    """The long explanation of one rule, with examples."""
    from resumecheck.lint.rules import RULES_BY_CODE

    rule = RULES_BY_CODE[code]
    parts = [
        f"{rule.code} {rule.name}{'' if rule.default else ' (off by default)'}",
        "",
        rule.message,
        "",
        "Why: " + rule.explanation,
        "",
        "Versions: " + rule.versions,
        "Fix: " + (rule.fix_summary or "manual (no automatic fix)"),
    ]
    for title, examples in (("Invalid", rule.INVALID[:2]), ("Valid", rule.VALID[:2])):
        for example in examples:
            parts += ["", f"{title}:", _indent(example)]
    for before, after in (*rule.FIXES[:1], *rule.UNSAFE_FIXES[:1]):
        parts += ["", "Before the fix:", _indent(before), "", "After:", _indent(after)]
    return "\n".join(parts) + "\n"


def _indent(code: str) -> str:
    return "".join(f"    {line}" if line.strip() else line for line in code.splitlines(True))


def _default_paths(args: argparse.Namespace) -> list[str]:
    return list(args.paths) or [os.curdir]
