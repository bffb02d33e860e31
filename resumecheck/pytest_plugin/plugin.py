"""pytest plugin: ``pytest --resumecheck`` and the ``resumecheck`` fixture.

Thin, and cheap to load: it imports only the standard library, pytest and resumecheck's
torch-free modules. torch, Lightning and Hypothesis are imported when a check runs, so a
pytest run without ``--resumecheck`` pays nothing for them (Hypothesis learned this in #3140).
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from resumecheck.errors import ConfigError
from resumecheck.pytest_plugin.settings import (
    CONFIG_OPTIONS,
    ENABLE_HELP,
    HELPS,
    MARKER_LINE,
    Settings,
    apply_marker,
    cli_flag,
    ini_key,
    resolve_session,
)

if TYPE_CHECKING:
    from resumecheck.engine.progress import Progress
    from resumecheck.pytest_plugin.checker import Checker

SKIP_REASON = "resume check: run pytest with --resumecheck to enable it"
SECTION = "resumecheck"
WORKER_SEED = "resumecheck_seed"  # handed from the xdist controller to its workers

SETTINGS_KEY = pytest.StashKey[Settings]()
ITEM_SETTINGS_KEY = pytest.StashKey[Settings]()
SECTIONS_KEY = pytest.StashKey[list[str]]()
PLAN_PROPERTY = "resumecheck plan"  # one user property per judged kill plan, shown under -v

_METAVARS = {
    "kills": "N",
    "max_kills": "K",
    "mode": "MODE",
    "seed": "S",
    "kill_steps": "PLANS",
    "timeout": "SECONDS",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("resumecheck", "kill-and-resume checks for training jobs")
    group.addoption("--resumecheck", action="store_true", default=False, help=ENABLE_HELP)
    for name in CONFIG_OPTIONS:
        if name == "keep_artifacts":
            group.addoption(
                cli_flag(name),
                action="store_true",
                default=None,
                dest=ini_key(name),
                help=HELPS[name],
            )
        else:
            group.addoption(
                cli_flag(name),
                default=None,
                dest=ini_key(name),
                metavar=_METAVARS[name],
                help=HELPS[name],
            )
        parser.addini(ini_key(name), HELPS[name], type="string", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_LINE)
    cli = {name: config.getoption(ini_key(name)) for name in CONFIG_OPTIONS}
    ini = {name: str(config.getini(ini_key(name))) for name in CONFIG_OPTIONS}
    worker: dict[str, Any] | None = getattr(config, "workerinput", None)
    inipath = config.inipath.name if config.inipath else ""
    try:
        settings = resolve_session(
            bool(config.getoption("resumecheck")),
            cli,
            ini,
            inipath,
            seed=worker.get(WORKER_SEED) if worker else None,
        )
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[SETTINGS_KEY] = settings
    if settings.enabled:
        config.pluginmanager.register(PlanLines(config), "resumecheck-plan-lines")
        _start_server_early(config, settings)


def _start_server_early(config: pytest.Config, settings: Settings) -> None:
    """Process-mode checks fork from a server that imports torch and Lightning (seconds):
    started now, that import overlaps collection's instead of delaying the first check. Not
    in an xdist controller, which runs no test; each worker starts its own."""
    from resumecheck.engine.forkserver import PROCESS_MODES, start_server

    controller = getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")
    if settings.mode in PROCESS_MODES and not controller:
        start_server()


class PlanLines:
    """Under ``-v``, prints one line per kill plan a test checked, below the test's status.

    The lines travel as the report's user properties, so xdist workers' checks show too.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or self.config.get_verbosity() < 1:
            return
        from_worker = getattr(report, "node", None) is not None  # xdist sets it
        if not from_worker and live_progress(self.config) is not None:
            return  # already shown as the check ran
        lines = [str(v) for k, v in report.user_properties if k == PLAN_PROPERTY]
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if not lines or reporter is None:
            return
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(f"    resumecheck: {line}")


def pytest_unconfigure(config: pytest.Config) -> None:
    # Process-mode checks share one fork server per pytest process; stop it with the session.
    if "resumecheck.engine.forkserver" in sys.modules:
        sys.modules["resumecheck.engine.forkserver"].stop_server()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Give every xdist worker the controller's seed, so one header line reproduces all."""
    node.workerinput[WORKER_SEED] = node.config.stash[SETTINGS_KEY].seed


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS_KEY]
    return [f"resumecheck: {settings.header_flags()}"] if settings.enabled else []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash[SETTINGS_KEY].enabled:
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if _wants_check(item):
            item.add_marker(skip)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # Marker values are checked when the test runs: a bad one fails that test only.
    if item.get_closest_marker("resumecheck") is None:
        return
    try:
        item_settings(item)
    except ConfigError as exc:
        error = str(exc)
    else:
        return
    pytest.fail(error, pytrace=False)  # outside the except clause: no chained traceback


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    sections = item.stash.get(SECTIONS_KEY, None)
    if sections and report.when == "call":
        report.sections.append((SECTION, "\n\n".join(sections)))
    return report


def live_progress(config: pytest.Config) -> Progress | None:
    """Under ``-v``, in the process that owns the terminal: runs and plans as they finish."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if config.get_verbosity() < 1 or reporter is None or hasattr(config, "workerinput"):
        return None
    from resumecheck.engine.progress import StreamProgress

    capture = config.pluginmanager.get_plugin("capturemanager")
    terminal: Any = reporter

    class TerminalProgress(StreamProgress):
        def say(self, text: str) -> None:
            # Past pytest's output capture, as its live logging does.
            with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
                terminal.ensure_newline()
                terminal.write_line(f"    {self.prefix}: {text}")

    return TerminalProgress(live=False)


def _wants_check(item: pytest.Item) -> bool:
    uses_fixture = "resumecheck" in getattr(item, "fixturenames", ())
    return uses_fixture or item.get_closest_marker("resumecheck") is not None


def item_settings(item: pytest.Item) -> Settings:
    """The session's settings with the test's ``resumecheck`` markers applied (closest wins)."""
    cached = item.stash.get(ITEM_SETTINGS_KEY, None)
    if cached is None:
        cached = item.config.stash[SETTINGS_KEY]
        for mark in reversed(list(item.iter_markers("resumecheck"))):
            cached = apply_marker(cached, mark.args, mark.kwargs, item.nodeid)
        item.stash[ITEM_SETTINGS_KEY] = cached
    return cached


@pytest.fixture
def resumecheck(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Checker:
    """Check that a training job resumes bit for bit: ``resumecheck.check(job)``.

    The job (``resumecheck.LightningJob`` or ``resumecheck.TorchJob``) is run uninterrupted,
    then killed after Hypothesis-drawn optimizer steps and resumed from its checkpoints. If a
    resumed run differs from the uninterrupted one, the test fails with the verdict, the
    evidence, a hint and a command that reproduces it (the kill plan shrunk to the smallest).
    Otherwise ``check`` returns the ``resumecheck.Report``.

    Options come from ``--resumecheck-*`` flags, ``resumecheck_*`` ini keys, the
    ``@pytest.mark.resumecheck(...)`` marker and ``check(job, kills=..., mode=...)`` keywords.
    Tests using this fixture are skipped unless pytest runs with ``--resumecheck``.
    """
    from resumecheck.pytest_plugin.checker import Checker

    item = request.node
    assert isinstance(item, pytest.Item)
    sections = item.stash.setdefault(SECTIONS_KEY, [])
    name = re.sub(r"\W", "_", item.name)[:30]
    return Checker(
        item.nodeid,
        settings=lambda: item_settings(item),
        workdir=lambda: tmp_path_factory.mktemp(f"resumecheck-{name}"),
        add_section=sections.append,
        on_plan=lambda line: item.user_properties.append((PLAN_PROPERTY, line)),
        progress=live_progress(item.config),
    )


@pytest.fixture(scope="session")
def resumecheck_settings(pytestconfig: pytest.Config) -> Settings:
    """The session's resumecheck settings (``--resumecheck-*`` flags over ini keys)."""
    return pytestconfig.stash[SETTINGS_KEY]
