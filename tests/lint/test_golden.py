"""Golden files: ``fixtures/<code>/<name>.py`` with the findings (``.txt``), the ``--fix``
output (``.fixed.py``) and the ``--fix --unsafe-fixes`` output (``.unsafe.py``) (TorchFix)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from resumecheck.lint.config import ALL_CODES
from resumecheck.lint.engine import FixMode, lint_source, make_rules

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(
    p for p in FIXTURES.glob("*/*.py") if not p.name.endswith((".fixed.py", ".unsafe.py"))
)
# Regenerate goldens: RESUMECHECK_REGEN=1 python -m pytest tests/lint/test_golden.py
REGEN = os.environ.get("RESUMECHECK_REGEN") == "1"


def _compare(path: Path, actual: str) -> None:
    if REGEN:
        path.write_text(actual, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == actual


def _run(source: str, fix: FixMode) -> str:
    return lint_source(source, "golden.py", make_rules(ALL_CODES), fix).source


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(case: Path) -> None:
    source = case.read_text(encoding="utf-8")
    result = lint_source(source, case.name, make_rules(ALL_CODES))
    lines = "".join(f"{v.line}:{v.column} {v.code} {v.message}\n" for v in result.violations)
    _compare(case.with_suffix(".txt"), lines)
    assert any(v.code.lower() == case.parent.name for v in result.violations)
    for suffix, mode in ((".fixed.py", "safe"), (".unsafe.py", "unsafe")):
        fixed = _run(source, mode)  # type: ignore[arg-type]
        _compare(case.with_name(case.stem + suffix), fixed)
        # Idempotent, and the fixed file still parses.
        assert _run(fixed, mode) == fixed  # type: ignore[arg-type]
        compile(fixed, str(case), "exec")
