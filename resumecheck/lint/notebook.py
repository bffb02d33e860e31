"""Jupyter notebooks: the code cells as one module, positions back in cells, fixes written back.

The code cells are joined in order (as a kernel runs them with "Run all", so an import in the
first cell resolves a name in the fifth), each behind a marker comment line. IPython syntax
that is not Python (``%magic``, ``!shell``, ``x = !cmd``, ``obj?``) is masked line for line with
``pass`` and a numbered marker, so line numbers stay and a finding next to a magic is still
reported; a cell that is a non-Python cell magic (``%%bash``) is left out. Fixes are made on the
joined module, split back into cells at the markers, the masked lines restored, and only the
``source`` of changed cells is replaced: outputs, metadata and key order stay as they were.
Cells are numbered from 1 in notebook order, markdown cells included, as ruff reports them.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from typing import Any

CELL_MARKER = "# <resumecheck cell {n}>"
CELL_LINE = re.compile(r"^# <resumecheck cell (\d+)>$")
MAGIC_MARKER = "pass  # <resumecheck magic {n}>"
MAGIC_LINE = re.compile(r"^[ \t]*pass  # <resumecheck magic (\d+)>$")
# Lines IPython rewrites before Python sees them: %line magics, !shell, `x = !cmd`,
# `x = %magic`, and `obj?` / `obj??` help.
MAGIC = re.compile(r"^\s*(?:[%!]|\w[\w.]*\s*=\s*[%!]|[\w.]+\?\??\s*$|\?)")
# Cell magics whose body is Python; any other (%%bash, %%html, %%writefile ...) is skipped.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "python", "python3"})
COMPILE_FLAGS = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


class NotebookError(Exception):
    """Not a notebook this linter can read (bad JSON, no cells)."""


@dataclass(slots=True)
class Cell:
    """One code cell: its index in ``cells``, its number (index + 1), its text."""

    index: int
    number: int
    text: str
    masked: dict[int, str] = field(default_factory=dict)
    added_newline: bool = False
    indent: str = ""  # a leading indentation IPython strips from the whole cell
    python: str = ""  # the text that went into the joined module


@dataclass(slots=True)
class Notebook:
    """A parsed notebook and the joined, masked module of its code cells."""

    data: dict[str, Any]
    raw: str
    cells: list[Cell]
    source: str = ""
    starts: list[tuple[int, int]] = field(default_factory=list)  # (first line, cell number)
    errors: list[str] = field(default_factory=list)

    def indent(self, number: int, line: int) -> int:
        """Columns IPython's dedent took from a line of a cell (0 for most cells)."""
        cell = next(c for c in self.cells if c.number == number)
        lines = cell.text.split("\n")
        if cell.indent and 0 < line <= len(lines) and lines[line - 1].startswith(cell.indent):
            return len(cell.indent)
        return 0

    def place(self, line: int) -> tuple[int, int]:
        """(cell number, line in the cell) of a 1-based line of the joined module."""
        cell, first = 0, 1
        for start, number in self.starts:
            if start > line:
                break
            cell, first = number, start
        return cell, line - first + 1


def read(raw: str) -> Notebook:
    """Parse notebook JSON and build the module to lint; raise NotebookError."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"not valid notebook JSON: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a Jupyter notebook (no 'cells' list)")
    cells: list[Cell] = []
    for i, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            text = "".join(source)
        elif isinstance(source, str):
            text = source
        else:
            raise NotebookError(f"cell {i + 1}: 'source' is not a string or a list of strings")
        cells.append(Cell(i, i + 1, text))
    nb = Notebook(data, raw, cells)
    _join(nb)
    return nb


def _join(nb: Notebook) -> None:
    parts: list[str] = []
    line = 1
    magic = 0
    for cell in nb.cells:
        masked, magic, problem = _mask(cell, magic)
        if masked is None:
            if problem:
                nb.errors.append(f"cell {cell.number}: {problem}")
            continue
        parts.append(CELL_MARKER.format(n=cell.number) + "\n")
        line += 1
        nb.starts.append((line, cell.number))
        if not masked.endswith("\n"):
            masked += "\n"
            cell.added_newline = True
        cell.python = masked
        parts.append(masked)
        line += masked.count("\n")
    nb.source = "".join(parts)


def _mask(cell: Cell, counter: int) -> tuple[str | None, int, str]:
    """The cell as Python (magics masked), or None and why it is left out."""
    text = cell.text
    if not text.strip():
        return None, counter, ""
    lines = text.split("\n")
    first_line = next(line for line in lines if line.strip())
    indent = first_line[: len(first_line) - len(first_line.lstrip())]
    if indent:
        # IPython drops an indentation the whole cell starts with; columns are shifted back
        # when reported, and fixes are not written into such a cell.
        cell.indent = indent
        lines = [line[len(indent) :] if line.startswith(indent) else line for line in lines]
        text = "\n".join(lines)
    first = lines[0].strip()
    if first.startswith("%%"):
        name = first[2:].split(maxsplit=1)[0] if first[2:].strip() else ""
        if name not in PYTHON_CELL_MAGICS:
            return None, counter, ""  # %%bash, %%html ...: not Python
    elif _parses(text):
        return text, counter, ""
    out = []
    for i, line in enumerate(lines):
        if (i == 0 and first.startswith("%%")) or MAGIC.match(line):
            indent = line[: len(line) - len(line.lstrip())]
            cell.masked[counter] = line
            out.append(indent + MAGIC_MARKER.format(n=counter))
            counter += 1
        else:
            out.append(line)
    masked = "\n".join(out)
    try:
        compile(masked, f"<cell {cell.number}>", "exec", flags=COMPILE_FLAGS, dont_inherit=True)
    except SyntaxError as exc:
        return None, counter, f"line {exc.lineno}, column {exc.offset}: {exc.msg}"
    except ValueError as exc:
        return None, counter, str(exc)
    return masked, counter, ""


def _parses(text: str) -> bool:
    try:
        compile(text, "<cell>", "exec", flags=COMPILE_FLAGS, dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def split(nb: Notebook, fixed: str) -> tuple[dict[int, str], bool]:
    """Cell number -> new text, for the cells a fix changed (magics restored); and whether
    a fix fell in a dedented cell, which is kept as it was."""
    originals = {n: line for c in nb.cells for n, line in c.masked.items()}
    by_number = {c.number: c for c in nb.cells}
    chunks: dict[int, list[str]] = {}
    current: list[str] | None = None
    for line in fixed.splitlines(keepends=True):
        m = CELL_LINE.match(line.rstrip("\r\n"))
        if m is not None:
            current = chunks.setdefault(int(m.group(1)), [])
        elif current is not None:
            current.append(line)
    changed: dict[int, str] = {}
    kept = False
    for number, lines in chunks.items():
        cell = by_number[number]
        python = "".join(lines)
        if python == cell.python:
            continue
        if cell.indent:
            kept = True  # IPython's dedent cannot be undone exactly: never rewritten
            continue
        text = "".join(
            originals[int(m.group(1))] + line[len(line.rstrip("\r\n")) :]
            if (m := MAGIC_LINE.match(line.rstrip("\r\n")))
            else line
            for line in lines
        )
        if cell.added_newline and text.endswith("\n"):
            text = text[:-1]  # the join's own newline
        if text != cell.text:
            changed[number] = text
    return changed, kept


def write(nb: Notebook, changed: dict[int, str]) -> str:
    """The notebook JSON with the ``source`` of changed cells replaced, formatted as read."""
    by_number = {c.number: c for c in nb.cells}
    for number, text in changed.items():
        cell = nb.data["cells"][by_number[number].index]
        if isinstance(cell.get("source"), list):
            cell["source"] = text.splitlines(keepends=True)
        else:
            cell["source"] = text
    indent = _indent(nb.raw)
    ascii_only = nb.raw.isascii() and "\\u" in nb.raw
    out = json.dumps(nb.data, indent=indent, ensure_ascii=ascii_only)
    return out + "\n" if nb.raw.endswith("\n") else out


def _indent(raw: str) -> int | None:
    m = re.search(r"\n( +)\"", raw)
    if m is None:
        return None if "\n" not in raw.strip() else 1
    return len(m.group(1))
