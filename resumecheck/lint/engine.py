"""Find, read, check and fix files: the linter as an API (``lint_source``, ``lint_files``).

One parse and one :class:`~resumecheck.lint.facts.FileFacts` pass per file serve every rule.
A cheap text prefilter (each rule's trigger words) skips files no rule could flag, positions
are computed only for files with findings, and many files are spread over a process pool.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import tokenize
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import lru_cache
from io import BytesIO
from typing import Literal

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from resumecheck.lint import notebook
from resumecheck.lint.facts import FileFacts, walk
from resumecheck.lint.fix import apply_edits
from resumecheck.lint.rule import Edit, Finding, Rule, Violation, file_noqa, suppressed
from resumecheck.lint.rules import RULES_BY_CODE

FixMode = Literal["none", "safe", "unsafe"]

MAX_FIX_ROUNDS = 8
PARALLEL_MIN_FILES = 24
SOURCE_SUFFIXES = (".py", ".pyi", ".ipynb")
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".tox", ".nox", ".venv", "venv", ".eggs", "__pycache__",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints", "build", "dist",
        "node_modules", "site-packages", "__pypackages__",
    }
)  # fmt: skip


class FileCheckError(Exception):
    """A file that could not be read, decoded or parsed."""


@dataclass(slots=True)
class SourceResult:
    """Violations left in a source, the (possibly fixed) source, and how many fixes applied."""

    violations: list[Violation]
    source: str
    fixed: int = 0
    parsed: bool = False


@dataclass(slots=True)
class FileResult:
    """The outcome for one file: violations, an error, or a fixed source."""

    path: str
    violations: list[Violation] = field(default_factory=list)
    error: str | None = None
    fixed: int = 0
    diff: str = ""
    parsed: bool = False
    source: str | None = None  # the fixed text, kept for stdin


@lru_cache(maxsize=64)
def make_rules(codes: frozenset[str]) -> tuple[Rule, ...]:
    """Instances of the rules with ``codes``, in catalogue order."""
    return tuple(RULES_BY_CODE[c]() for c in sorted(codes) if c in RULES_BY_CODE)


def lint_source(
    source: str, path: str = "<string>", rules: Sequence[Rule] | None = None, fix: FixMode = "none"
) -> SourceResult:
    """Check ``source`` (and apply fixes when ``fix`` allows); raise FileCheckError."""
    active = list(rules if rules is not None else make_rules(frozenset(RULES_BY_CODE)))
    skipped = file_noqa(source)
    if skipped is not None:
        if not skipped:
            return SourceResult([], source)
        active = [r for r in active if not any(r.code.startswith(c) for c in skipped)]
    lines = source.splitlines()
    fixed = 0
    parsed = False
    for _ in range(MAX_FIX_ROUNDS):
        module, placed = _analyse(source, path, active)
        parsed = parsed or module is not None
        placed = [(f, r) for f, r in placed if not _noqa(f.code, r, lines)]
        edits, count = _edits(placed, fix)
        if module is None or not edits:
            break
        new = apply_edits(module, edits)
        if new == source or not _valid(new, path):
            break
        source, lines = new, new.splitlines()
        fixed += count
    return SourceResult([_violation(path, f, r) for f, r in placed], source, fixed, parsed)


def _analyse(
    source: str, path: str, rules: Sequence[Rule]
) -> tuple[cst.Module | None, list[tuple[Finding, CodeRange]]]:
    active = [r for r in rules if r.might_match(source)]
    if not active:
        return None, []
    try:
        module = cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise FileCheckError(
            f"line {exc.raw_line}, column {exc.raw_column}: {exc.message}"
        ) from exc
    except RecursionError as exc:
        raise FileCheckError("too deeply nested") from exc
    facts = FileFacts(module, source)
    findings = [f for rule in active for f in rule.check(facts)]
    if not findings:
        return module, []
    positions = _positions(module, [f.node for f in findings])
    seen: set[tuple[str, int, int]] = set()
    placed: list[tuple[Finding, CodeRange]] = []
    for f in findings:
        r = positions[id(f.node)]
        key = (f.code, r.start.line, r.start.column)
        if key not in seen:
            seen.add(key)
            placed.append((f, r))
    placed.sort(key=lambda fr: (fr[1].start.line, fr[1].start.column, fr[0].code))
    return module, placed


def _positions(module: cst.Module, nodes: list[cst.CSTNode]) -> dict[int, CodeRange]:
    """Positions of ``nodes``, computed only inside the top-level statements holding them.

    Position metadata costs ten times a plain code generation of the module, so the
    statements before are only generated (to count their lines) and positions are resolved
    on a one-statement module, then shifted.
    """
    wanted = {id(n) for n in nodes}
    out: dict[int, CodeRange] = {}
    line = 1 + sum(module.code_for_node(e).count("\n") for e in module.header)
    for stmt in module.body:
        found = wanted & {id(n) for n in walk(stmt)}
        if found:
            single = cst.Module(
                body=[stmt],
                header=[],
                footer=[],
                default_indent=module.default_indent,
                default_newline=module.default_newline,
            )
            ranges = MetadataWrapper(single, unsafe_skip_copy=True).resolve(PositionProvider)
            for node, r in ranges.items():
                if id(node) in found:
                    out[id(node)] = CodeRange(
                        CodePosition(r.start.line + line - 1, r.start.column),
                        CodePosition(r.end.line + line - 1, r.end.column),
                    )
            wanted -= found
            if not wanted:
                break
        line += module.code_for_node(stmt).count("\n")
    if wanted:  # not under a statement: resolve the whole module
        ranges = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        out.update({id(n): r for n, r in ranges.items() if id(n) in wanted})
    return out


def _noqa(code: str, where: CodeRange, lines: list[str]) -> bool:
    line = where.start.line - 1
    return 0 <= line < len(lines) and suppressed(code, lines[line])


def _allowed(f: Finding, fix: FixMode) -> bool:
    if f.fix is None or fix == "none":
        return False
    return f.fix.applicability == "safe" or fix == "unsafe"


def _edits(placed: list[tuple[Finding, CodeRange]], fix: FixMode) -> tuple[list[Edit], int]:
    edits: list[Edit] = []
    touched: set[int] = set()
    count = 0
    for f, _ in placed:
        if f.fix is None or not _allowed(f, fix):
            continue
        ids = {id(getattr(e, "arg", None) or e) for e in f.fix.edits}
        if ids & touched:
            continue  # overlapping edits wait for the next round
        touched |= ids
        edits.extend(f.fix.edits)
        count += 1
    return edits, count


def _valid(source: str, path: str) -> bool:
    try:
        cst.parse_module(source)
        compile(source, path, "exec", dont_inherit=True, flags=0x400)  # ast.PyCF_ONLY_AST
    except (cst.ParserSyntaxError, SyntaxError, ValueError):
        return False
    return True


def _violation(path: str, f: Finding, r: CodeRange) -> Violation:
    return Violation(
        path=path,
        line=r.start.line,
        column=r.start.column + 1,
        end_line=r.end.line,
        end_column=r.end.column + 1,
        code=f.code,
        message=f.message,
        fix=f.fix.applicability if f.fix is not None else None,
        fix_description=f.fix.description if f.fix is not None else None,
    )


# Files --------------------------------------------------------------------------------------


def read_source(path: str) -> tuple[str, str]:
    """Read and decode ``path`` (PEP 263 aware); return (text, encoding)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise FileCheckError(exc.strerror or str(exc)) from exc
    return decode(data)


def decode(data: bytes) -> tuple[str, str]:
    """Decode source bytes (PEP 263 aware); a UTF-8 BOM is dropped from the text and kept in
    the encoding (``utf-8-sig``), so a fixed file is written back with it."""
    try:
        encoding, _ = tokenize.detect_encoding(BytesIO(data).readline)
        text = data.decode(encoding)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        raise FileCheckError(f"cannot decode: {exc}") from exc
    if encoding == "utf-8-sig" or text.startswith("\ufeff"):
        encoding = "utf-8-sig"
        text = text[1:] if text.startswith("\ufeff") else text
    if "\x00" in text:
        raise FileCheckError("file contains NUL bytes")
    return text, encoding


def check_file(path: str, codes: frozenset[str], fix: FixMode, write: bool) -> FileResult:
    """Check one file; with ``fix`` build the fixed text, and write it when ``write``."""
    try:
        text, encoding = read_source(path)
    except FileCheckError as exc:
        return FileResult(path, error=str(exc))
    result = check_text(text, path, codes, fix)
    if write and result.source is not None and result.error is None:
        write_atomic(path, result.source, encoding)
    return result


def check_text(text: str, path: str, codes: frozenset[str], fix: FixMode) -> FileResult:
    """Check ``text`` as the file ``path`` (a notebook when it ends in ``.ipynb``); writes
    nothing: a changed text is in ``source``, its diff in ``diff``."""
    result = FileResult(path)
    rules = make_rules(codes)
    try:
        if path.endswith(".ipynb"):
            return _check_notebook(result, text, rules, fix)
        outcome = lint_source(text, path, rules, fix)
        result.parsed = outcome.parsed
    except FileCheckError as exc:
        result.error = str(exc)
        return result
    except Exception as exc:  # a rule bug must not stop the run
        result.error = f"internal error: {type(exc).__name__}: {exc}"
        return result
    result.violations = outcome.violations
    if outcome.source != text:
        result.fixed = outcome.fixed
        result.source = outcome.source
        result.diff = _diff(text, outcome.source, path, path)
    return result


def _diff(before: str, after: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=_diff_name("a", old),
        tofile=_diff_name("b", new),
    )
    # As diff(1) and git write a last line without a newline (notebook cells end so).
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _check_notebook(
    result: FileResult, text: str, rules: Sequence[Rule], fix: FixMode
) -> FileResult:
    path = result.path
    try:
        nb = notebook.read(text)
    except notebook.NotebookError as exc:
        raise FileCheckError(str(exc)) from exc
    if nb.errors:
        result.error = "; ".join(nb.errors)
    try:
        outcome = lint_source(nb.source, path, rules, fix)
        result.parsed = outcome.parsed
        changed: dict[int, str] = {}
        placed = nb
        if outcome.source != nb.source:
            changed, kept = notebook.split(nb, outcome.source)
            if kept:
                # A fix fell in a cell that is never rewritten (IPython-dedented): report
                # what is left after the fixes that were written, from the notebook as it
                # will be.
                fixed_text = notebook.write(nb, changed) if changed else text
                placed = notebook.read(fixed_text)
                before = len(lint_source(nb.source, path, rules, "none").violations)
                outcome = lint_source(placed.source, path, rules, "none")
                outcome.fixed = before - len(outcome.violations)
    except FileCheckError as exc:
        result.error = str(exc)
        return result
    result.violations = [_in_cell(placed, v) for v in outcome.violations]
    if changed:
        old = {c.number: c.text for c in nb.cells}
        result.fixed = outcome.fixed
        result.diff = "".join(
            _diff(old[n], changed[n], f"{path}:cell {n}", f"{path}:cell {n}")
            for n in sorted(changed)
        )
        result.source = notebook.write(nb, changed)
    return result


def _in_cell(nb: notebook.Notebook, v: Violation) -> Violation:
    """A violation of the joined module, placed in its cell."""
    cell, line = nb.place(v.line)
    _, end_line = nb.place(v.end_line)
    return Violation(
        v.path,
        line,
        v.column + nb.indent(cell, line),
        end_line,
        v.end_column + nb.indent(cell, end_line),
        v.code,
        v.message,
        v.fix,
        v.fix_description,
        cell,
    )


def _diff_name(side: str, path: str) -> str:
    return path if os.path.isabs(path) else f"{side}/{path}"


def write_atomic(path: str, text: str, encoding: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    real = os.path.realpath(path)
    folder = os.path.dirname(real) or "."
    mode = os.stat(real).st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".resumecheck-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def iter_python_files(
    paths: Iterable[str], excluded: Iterable[str] = ()
) -> Iterator[tuple[str, str | None]]:
    """Yield (path, error) for the Python files and notebooks under ``paths``, skipping
    excluded folders.

    A path given explicitly is always checked; ``excluded`` globs apply to what a folder
    walk finds (matched against the path and its name).
    """
    patterns = tuple(excluded)
    for root in paths:
        if os.path.isdir(root):
            yield from _walk(root, patterns)
        elif os.path.lexists(root):
            yield root, None
        else:
            yield root, "no such file or directory"


def _walk(root: str, patterns: tuple[str, ...]) -> Iterator[tuple[str, str | None]]:
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not d.endswith(".egg-info")
            and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg"))
            and not _excluded(os.path.join(folder, d), patterns)
        )
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.endswith(SOURCE_SUFFIXES) and not _excluded(path, patterns):
                yield path, None


def _excluded(path: str, patterns: tuple[str, ...]) -> bool:
    if not patterns:
        return False
    norm = os.path.normpath(path)
    name = os.path.basename(norm)
    absolute = os.path.abspath(norm)
    return any(
        fnmatch(name, p) or fnmatch(norm, p) or fnmatch(absolute, p) or fnmatch(norm, p + "/*")
        for p in patterns
    )


def _task(job: tuple[str, frozenset[str], FixMode, bool]) -> FileResult:
    return check_file(*job)


def check_files(
    jobs: Sequence[tuple[str, frozenset[str]]],
    fix: FixMode = "none",
    write: bool = False,
    workers: int | None = None,
) -> list[FileResult]:
    """Check every (path, codes) job, in a process pool when there are enough files."""
    tasks = [(path, codes, fix, write) for path, codes in jobs]
    cpus = workers if workers is not None else (os.cpu_count() or 1)
    if len(tasks) < PARALLEL_MIN_FILES or cpus < 2:
        return [_task(t) for t in tasks]
    chunk = max(1, min(64, len(tasks) // (cpus * 8)))
    with ProcessPoolExecutor(max_workers=min(cpus, 16)) as pool:
        return list(pool.map(_task, tasks, chunksize=chunk))
