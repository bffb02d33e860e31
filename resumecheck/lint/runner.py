"""One ``resumecheck lint`` invocation: settings from arguments and config, output, exit code."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TextIO

from resumecheck.lint import output
from resumecheck.lint.config import (
    DEFAULT_CODES,
    ConfigError,
    LintConfig,
    codes_for,
    exclude_patterns,
    expand,
    find_pyproject,
    load_config,
)
from resumecheck.lint.engine import (
    FileCheckError,
    FileResult,
    FixMode,
    check_files,
    check_text,
    decode,
    iter_python_files,
)
from resumecheck.lint.rule import Violation
from resumecheck.lint.rules import ALL_RULES, RULES_BY_CODE

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


@dataclass(frozen=True, slots=True)
class LintRun:
    """Resolved settings for one run."""

    paths: tuple[str, ...]
    config: LintConfig
    codes: frozenset[str]
    fix: FixMode
    diff: bool
    fmt: str
    statistics: bool
    exit_zero: bool
    unsafe: bool
    stdin_filename: str | None = None
    jobs: int | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> LintRun:
        """Build the run from parsed arguments and the nearest configuration."""
        stdin_filename = getattr(args, "stdin_filename", None)
        paths = tuple(args.paths) or (("-",) if stdin_filename else (".",))
        config = _config(args, paths)
        label = f"{config.path}: [tool.resumecheck.lint]"
        if args.select is not None:
            codes = expand(args.select, "--select")
        elif config.select is not None:
            codes = expand(config.select, f"{label} select")
        else:
            codes = DEFAULT_CODES
        codes |= expand(config.extend_select, f"{label} extend-select")
        codes |= expand(args.extend_select, "--extend-select")
        codes -= expand(config.ignore, f"{label} ignore")
        codes -= expand(args.ignore, "--ignore")
        fix: FixMode = "none"
        if args.fix or args.diff:
            fix = "unsafe" if args.unsafe_fixes else "safe"
        return cls(
            paths, config, codes, fix, args.diff, args.format, args.statistics,
            args.exit_zero, args.unsafe_fixes, stdin_filename, getattr(args, "jobs", None),
        )  # fmt: skip

    def execute(self, out: TextIO, err: TextIO, stdin: BinaryIO | None = None) -> int:
        """Check the files, write the report, return the exit code."""
        jobs: list[tuple[str, frozenset[str]]] = []
        errors: list[tuple[str, str]] = []
        if "-" in self.paths:
            if len(self.paths) > 1:
                err.write("resumecheck lint: error: '-' (stdin) cannot be mixed with paths\n")
                return EXIT_ERROR
            return self._stdin(out, err, stdin if stdin is not None else sys.stdin.buffer)
        for path, problem in iter_python_files(self.paths, exclude_patterns(self.config)):
            if problem is not None:
                errors.append((path, problem))
            else:
                jobs.append((path, codes_for(path, self.codes, self.config)))
        write = self.fix != "none" and not self.diff
        results = check_files(jobs, self.fix, write, self.jobs)
        return self._finish(out, err, len(jobs), results, errors)

    def _stdin(self, out: TextIO, err: TextIO, stdin: BinaryIO) -> int:
        """Lint stdin as ``--stdin-filename`` (default ``-``); with ``--fix`` print the fixed
        source to stdout and the findings to stderr, as ruff does."""
        name = self.stdin_filename or "-"
        codes = codes_for(name, self.codes, self.config) if self.stdin_filename else self.codes
        try:
            text, _ = decode(stdin.read())
        except FileCheckError as exc:
            return self._finish(out, err, 1, [], [(name, str(exc))])
        result = check_text(text, name, codes, self.fix)
        errors = [(name, result.error)] if result.error is not None else []
        if self.fix != "none" and not self.diff:
            out.write(result.source if result.source is not None else text)
            out.flush()
            return self._finish(err, err, 1, [result], errors)
        return self._finish(out, err, 1, [result], errors)

    def _finish(
        self,
        out: TextIO,
        err: TextIO,
        checked: int,
        results: list[FileResult],
        errors: list[tuple[str, str]],
    ) -> int:
        errors = errors + [(r.path, r.error) for r in results if r.error is not None]
        errors = list(dict.fromkeys(errors))
        violations = sorted(
            (v for r in results for v in r.violations),
            key=lambda v: (v.path, v.cell or 0, v.line, v.column, v.code),
        )
        self._report(out, err, results, violations, errors)
        err.write(self._summary(checked, results, violations, errors) + "\n")
        if errors:
            return EXIT_ERROR
        pending = violations or (self.diff and any(r.diff for r in results))
        return EXIT_FINDINGS if pending and not self.exit_zero else EXIT_CLEAN

    def _report(
        self,
        out: TextIO,
        err: TextIO,
        results: list[FileResult],
        violations: list[Violation],
        errors: list[tuple[str, str]],
    ) -> None:
        error_lines = "".join(f"{p}: ERROR: cannot parse ({why})\n" for p, why in errors)
        if self.diff:
            out.write("".join(r.diff for r in results))
            err.write(error_lines)
        elif self.fmt == "json":
            out.write(output.as_json(violations))
            err.write(error_lines)
        elif self.fmt == "sarif":
            out.write(output.sarif(violations, ALL_RULES, errors))
            err.write(error_lines)
        elif self.fmt == "github":
            out.write(output.github(violations, errors))
        elif self.statistics:
            out.write(error_lines + output.statistics(violations, RULES_BY_CODE))
        else:
            out.write(error_lines + output.text(violations, self.unsafe))

    def _summary(
        self,
        checked: int,
        results: list[FileResult],
        violations: list[Violation],
        errors: list[tuple[str, str]],
    ) -> str:
        files = "file" if checked == 1 else "files"
        parts = [f"Checked {checked} {files}"]
        fixed = sum(r.fixed for r in results)
        changed = sum(1 for r in results if r.diff)
        if fixed:
            verb = "Would fix" if self.diff else "Fixed"
            parts.append(f"{verb} {fixed} violation{'s' * (fixed != 1)} in {changed} file"
                         f"{'s' * (changed != 1)}")  # fmt: skip
        if violations:
            in_files = len({v.path for v in violations})
            n = len(violations)
            text = f"{n} violation{'s' * (n != 1)} in {in_files} file{'s' * (in_files != 1)}"
            fixable = sum(1 for v in violations if output.fix_marker(v, self.unsafe))
            if fixable and self.fix == "none":
                text += f" ({fixable} fixable with --fix)"
            parts.append(text)
        if errors:
            parts.append(f"{len(errors)} could not be checked")
        if len(parts) == 1:
            parts.append("no problems")
        return parts[0] + ": " + "; ".join(parts[1:]) + "."


def _config(args: argparse.Namespace, paths: tuple[str, ...]) -> LintConfig:
    if args.isolated:
        return LintConfig()
    if args.config:
        path = Path(args.config)
        if not path.is_file():
            raise ConfigError(f"--config: {path}: no such file")
        return load_config(path)
    found = find_pyproject(paths)
    return load_config(found) if found is not None else LintConfig()
