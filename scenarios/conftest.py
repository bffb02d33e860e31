"""Collect every scenario module as one test item: ``pytest --resumecheck scenarios/``.

A scenario module (any ``scenarios/*.py`` not starting with ``_`` and not this file) defines
``job()``, ``EXPECTED`` (a ``resumecheck.Kind``, or ``None`` for "passes"), ``KILLS`` and
optionally ``MODE``. The item runs ``resumecheck.check`` on it and fails when the verdict
differs from ``EXPECTED``. Without ``--resumecheck`` the items are skipped.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SKIP_REASON = "resume scenarios run only with --resumecheck"


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if is_scenario(file_path):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


def is_scenario(path: Path) -> bool:
    """A module of this directory that is neither private (``_*``) nor this conftest."""
    return (
        path.suffix == ".py"
        and path.parent == Path(__file__).parent
        and not path.name.startswith("_")
        and path.name != "conftest.py"
    )


class ScenarioFile(pytest.File):
    """A scenario module: one item, named after the module."""

    def collect(self) -> list[pytest.Item]:
        return [ScenarioItem.from_parent(self, name=self.path.stem)]


class ScenarioItem(pytest.Item):
    """Runs one scenario's check and compares the verdict with its ``EXPECTED``."""

    def setup(self) -> None:
        if not self.config.getoption("resumecheck", default=False):
            pytest.skip(SKIP_REASON + " (pass --resumecheck)")

    def runtest(self) -> None:
        module = _load(self.path)
        mode = getattr(module, "MODE", "exception")
        from resumecheck.engine.harness import MODES

        if mode not in MODES:
            pytest.skip(f"kill mode {mode!r} is not available in this resumecheck ({MODES})")
        import resumecheck as rc

        tmp = tempfile.mkdtemp(prefix=f"resumecheck-{self.path.stem}-")
        keep = False
        try:
            report = rc.check(
                module.job(), kills=module.KILLS, mode=mode, seed=0, artifacts_dir=tmp
            )
            got = report.divergences[0].kind if report.divergences else None
            # Artifacts are kept only when the scenario's verdict is not the recorded one.
            keep = got != module.EXPECTED
            if keep:
                raise ScenarioMismatch(module.EXPECTED, got, str(report))
        finally:
            if not keep:
                shutil.rmtree(tmp, ignore_errors=True)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ScenarioMismatch):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.name}"


def _load(path: Path) -> ModuleType:
    if (path.parent / "__init__.py").exists():
        return importlib.import_module(f"{path.parent.name}.{path.stem}")
    # A scenario module elsewhere (e.g. a copy in a test's temporary directory).
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ScenarioMismatch(Exception):
    """The scenario's verdict is not the one it records."""

    def __init__(self, expected: Any, got: Any, report: str) -> None:
        want = expected.name if expected is not None else "pass"
        have = got.name if got is not None else "pass"
        super().__init__(f"expected {want}, got {have}\n{report}")
