"""The README's pytest section: its complete example runs and fails the way it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).parents[2] / "docs" / "pytest.md"
EXAMPLE_MARK = "<!-- example: test_resume.py -->"


def _example() -> str:
    text = DOC.read_text()
    block = re.search(r"```python\n(.*?)```", text[text.index(EXAMPLE_MARK) :], re.S)
    assert block
    return block.group(1)


def _documented_failure() -> list[str]:
    text = DOC.read_text()
    start = text.index("### What a failure looks like")
    block = re.search(r"```\n(.*?)```", text[start:], re.S)
    assert block
    return [line for line in block.group(1).splitlines() if line.startswith("E ")]


@pytest.mark.slow
def test_the_complete_example_runs_as_documented(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_resume=_example())
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--resumecheck", "--resumecheck-seed=83776034", timeout=180
    )
    result.assert_outcomes(failed=1, passed=1)
    documented = _documented_failure()
    # The verdict, the kind and the reproduce line are the documented ones (the evidence
    # rows hold float values and the addresses differ).
    for line in (documented[0], documented[1], documented[-2]):
        assert line in result.stdout.lines
