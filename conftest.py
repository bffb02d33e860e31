"""Root conftest: enables pytester for the plugin tests. Never imports torch."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture(autouse=True, scope="session")
def _session_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Temp files go under pytest's own temp dir, not the machine's: a check that diverges
    keeps its artifacts in a new temp dir by design (its report names them), and the many
    tests that make one diverge would otherwise leave them behind. Runs inherit TMPDIR."""
    with pytest.MonkeyPatch.context() as patch:
        path = tmp_path_factory.mktemp("tmp", numbered=False)
        patch.setenv("TMPDIR", str(path))
        patch.setattr(tempfile, "tempdir", str(path))
        yield
