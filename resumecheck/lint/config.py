"""``[tool.resumecheck.lint]`` in pyproject.toml, and rule selection.

Selection works like ruff's: ``select`` (default: every rule that is on by default) is the
base set, ``extend-select`` adds, ``ignore`` removes. Entries are codes, prefixes (``RC2``)
or ``ALL``; a prefix or ``ALL`` also enables the off-by-default rules it covers. On the command
line, ``--select`` replaces the configured ``select``; ``--extend-select`` and ``--ignore`` add
to the configured lists.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from resumecheck.lint.rules import ALL_RULES

KEYS = ("select", "ignore", "extend-select", "exclude", "per-file-ignores")
CODE = re.compile(r"^(ALL|RC[0-9]{0,3})$")
ALL_CODES = frozenset(r.code for r in ALL_RULES)
DEFAULT_CODES = frozenset(r.code for r in ALL_RULES if r.default)


class ConfigError(Exception):
    """A bad configuration value or selector; the message names the key and its source."""


@dataclass(frozen=True, slots=True)
class LintConfig:
    """Settings from ``[tool.resumecheck.lint]`` (empty when there is none)."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    root: str = "."
    path: str | None = None


def expand(selectors: Iterable[str], source: str) -> frozenset[str]:
    """Codes matched by ``selectors``; raise ConfigError naming ``source`` for a bad one.

    >>> sorted(expand(["RC10", "RC201"], "--select"))[:2]
    ['RC101', 'RC102']
    """
    out: set[str] = set()
    for raw in selectors:
        sel = raw.strip().upper()
        if not CODE.match(sel):
            raise ConfigError(
                f"{source}: invalid rule selector {raw!r} (expected e.g. RC101, RC1 or ALL)"
            )
        matched = ALL_CODES if sel == "ALL" else {c for c in ALL_CODES if c.startswith(sel)}
        if not matched:
            raise ConfigError(f"{source}: {raw!r} matches no rule (see 'resumecheck rules')")
        out |= matched
    return frozenset(out)


def selected_codes(
    select: Iterable[str] | None,
    extend_select: Iterable[str],
    ignore: Iterable[str],
    sources: Mapping[str, str],
) -> frozenset[str]:
    """Resolve the base selection, then extensions, then ignores."""
    base = DEFAULT_CODES if select is None else expand(select, sources["select"])
    base |= expand(extend_select, sources["extend-select"])
    return base - expand(ignore, sources["ignore"])


def find_pyproject(paths: Iterable[str]) -> Path | None:
    """The nearest pyproject.toml with a ``[tool.resumecheck]`` table, walking up."""
    for start in list(paths)[:1] or ["."]:
        current = Path(start).resolve()
        if not current.is_dir():
            current = current.parent
        for folder in (current, *current.parents):
            candidate = folder / "pyproject.toml"
            if candidate.is_file() and "[tool.resumecheck" in _read(candidate):
                return candidate
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def load_config(path: Path) -> LintConfig:
    """Parse and validate ``[tool.resumecheck.lint]`` of ``path``."""
    try:
        # tomllib is 3.11+; tomli is not a dependency, so 3.10 runs without config.
        tomllib: Any = importlib.import_module("tomllib")
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        print(f"warning: {path}: Python 3.10 cannot read TOML; config ignored", file=sys.stderr)
        return LintConfig(root=str(path.parent))
    try:
        data = tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    table = data.get("tool", {}).get("resumecheck", {}).get("lint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.resumecheck.lint] must be a table")
    return _validate(table, path)


def _validate(table: dict[str, Any], path: Path) -> LintConfig:
    where = f"{path}: [tool.resumecheck.lint]"
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        raise ConfigError(f"{where} unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    lists = {k: _strings(table[k], f"{where} {k}") for k in KEYS[:4] if k in table}
    for key in ("select", "ignore", "extend-select"):
        if key in lists:
            expand(lists[key], f"{where} {key}")
    pfi = table.get("per-file-ignores", {})
    if not isinstance(pfi, dict):
        raise ConfigError(f"{where} per-file-ignores must be a table of glob = [codes]")
    per_file = []
    for glob, codes in pfi.items():
        checked = _strings(codes, f"{where} per-file-ignores {glob!r}")
        expand(checked, f"{where} per-file-ignores {glob!r}")
        per_file.append((glob, checked))
    return LintConfig(
        select=lists.get("select"),
        ignore=lists.get("ignore", ()),
        extend_select=lists.get("extend-select", ()),
        exclude=lists.get("exclude", ()),
        per_file_ignores=tuple(per_file),
        root=str(path.parent),
        path=str(path),
    )


def _strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where} must be a list of strings, got {value!r}")
    return tuple(value)


def codes_for(path: str, codes: frozenset[str], config: LintConfig) -> frozenset[str]:
    """Codes to check in ``path`` after ``per-file-ignores``."""
    if not config.per_file_ignores:
        return codes
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, config.root) if config.root else path
    name = os.path.basename(path)
    for glob, ignored in config.per_file_ignores:
        if fnmatch(rel, glob) or fnmatch(name, glob) or fnmatch(path, glob):
            codes = codes - expand(ignored, "per-file-ignores")
    return codes


def exclude_patterns(config: LintConfig) -> tuple[str, ...]:
    """Exclude globs, also anchored at the config's folder."""
    out: list[str] = []
    for p in config.exclude:
        out.append(p)
        if not os.path.isabs(p):
            out.append(os.path.join(os.path.abspath(config.root), p))
    return tuple(out)
