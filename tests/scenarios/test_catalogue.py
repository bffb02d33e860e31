"""Every scenario gets the verdict it records, via pytest and via direct calls."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

import resumecheck as rc

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"
NAMES = sorted(
    p.stem for p in SCENARIOS.glob("*.py") if not p.name.startswith("_") and p.stem != "conftest"
)
DOCS = ROOT / "docs" / "scenarios.md"
README = ROOT / "README.md"
START, END = "<!-- scenarios:start -->", "<!-- scenarios:end -->"


def load(name: str) -> ModuleType:
    return importlib.import_module(f"scenarios.{name}")


def expected_label(module: ModuleType) -> str:
    return "passes" if module.EXPECTED is None else f"`{module.EXPECTED.name}`"


def test_every_scenario_module_is_complete() -> None:
    assert len(NAMES) >= 16
    for name in NAMES:
        module = load(name)
        assert len((module.__doc__ or "").strip()) > 40, name
        assert module.EXPECTED is None or isinstance(module.EXPECTED, rc.Kind), name
        assert module.KILLS, name
        assert getattr(module, "MODE", "exception") in (
            "exception",
            "sigkill",
            "sigterm",
            "midwrite",
        )
        assert callable(module.job), name


def test_every_kind_but_resume_internals_is_shown() -> None:
    shown = {load(name).EXPECTED for name in NAMES}
    missing = set(rc.Kind) - shown - {rc.Kind.OPTIMIZER}  # plain-loop only: tests/engine
    assert not missing, missing


@pytest.mark.slow
def test_pytest_resumecheck_scenarios_runs_the_catalogue(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--resumecheck", str(SCENARIOS), "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=len(NAMES))
    assert result.ret == 0


def test_scenarios_are_skipped_without_the_flag(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(str(SCENARIOS), "-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=len(NAMES))
    result.stdout.fnmatch_lines(["*--resumecheck*"])


def test_a_wrong_expectation_fails_with_the_report(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    # The mismatching scenario keeps its artifacts: keep them inside this test's directory.
    (pytester.path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(pytester.path / "tmp"))
    conftest = (SCENARIOS / "conftest.py").read_text()
    pytester.makeconftest(conftest.replace("path.parent == Path(__file__).parent", "True"))
    pytester.makepyfile(
        wrong=(SCENARIOS / "broken_dropout_without_rng_state.py")
        .read_text()
        .replace("EXPECTED = rc.Kind.RNG", "EXPECTED = None")
    )
    result = pytester.runpytest_subprocess("--resumecheck", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected pass, got RNG*", "*resume diverged*"])


@pytest.mark.parametrize(
    "name", [n for n in NAMES if getattr(load(n), "MODE", "exception") == "exception"]
)
def test_direct_check_gets_the_recorded_verdict(name: str, tmp_path: Path) -> None:
    module = load(name)
    report = rc.check(module.job(), kills=module.KILLS, seed=0, artifacts_dir=tmp_path)
    got = report.divergences[0].kind if report.divergences else None
    assert got is module.EXPECTED, str(report)
    # The fix kit leaves no RNG residue; torchdata's loader still does (see its scenario).
    if module.EXPECTED is None and name.startswith("fixed_") and "stateful" not in name:
        assert report.warnings == (), report.warnings


def table_rows(text: str) -> dict[str, str]:
    assert START in text
    assert END in text
    table = text.split(START, 1)[1].split(END, 1)[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        name = re.fullmatch(r"`(\w+)`", cells[0])
        assert name, line
        rows[name.group(1)] = cells[2]
    return rows


@pytest.mark.parametrize("doc", [DOCS, README], ids=["docs", "readme"])
def test_the_scenarios_table_lists_every_scenario_with_its_verdict(doc: Path) -> None:
    if not doc.exists() or START not in doc.read_text():
        pytest.skip(f"{doc.name} has no scenarios table")
    rows = table_rows(doc.read_text())
    assert sorted(rows) == NAMES
    for name, verdict in rows.items():
        assert verdict == expected_label(load(name)), name
