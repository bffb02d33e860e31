"""Root conftest: enables pytester for the plugin tests. Never imports torch."""

from __future__ import annotations

pytest_plugins = ["pytester"]
