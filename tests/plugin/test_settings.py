"""Settings: parsing, precedence and messages that name their source. Pure, no pytester."""

from __future__ import annotations

import doctest
import importlib

import pytest

from resumecheck.errors import ConfigError
from resumecheck.pytest_plugin.settings import (
    CALL_SOURCE,
    CLI_SOURCE,
    DEFAULT_KILLS,
    KILL_MODES,
    Settings,
    Source,
    apply_marker,
    format_kill_steps,
    merge,
    parse_kill_steps,
    resolve_session,
)

MARKER = Source("marker", "tests/test_x.py::test_y")


@pytest.mark.parametrize(
    ("text", "plans"),
    [
        ("5", ((5,),)),
        ("5,13", ((5,), (13,))),
        ("5+11", ((5, 11),)),
        ("5+11,7", ((5, 11), (7,))),
        (" 3 , 4+9 ", ((3,), (4, 9))),
    ],
)
def test_kill_steps_text_round_trips(text: str, plans: tuple[tuple[int, ...], ...]) -> None:
    assert parse_kill_steps(text, CLI_SOURCE) == plans
    assert parse_kill_steps(format_kill_steps(plans), CLI_SOURCE) == plans


@pytest.mark.parametrize(
    ("value", "plans"),
    [(7, ((7,),)), ([5, 9], ((5,), (9,))), ([[5, 11], 7], ((5, 11), (7,)))],
)
def test_kill_steps_from_python_values(value: object, plans: object) -> None:
    assert parse_kill_steps(value, MARKER) == plans


@pytest.mark.parametrize("bad", ["", "x", "5,", "0", "7+5", "5+5", "5.5", [], [[]], True, 2.0])
def test_bad_kill_steps_name_the_source_and_the_fix(bad: object) -> None:
    with pytest.raises(
        ConfigError, match=r"from --resumecheck-kill-steps.*--resumecheck-kill-steps=5\+11,7"
    ):
        parse_kill_steps(bad, CLI_SOURCE)


def test_defaults() -> None:
    settings = resolve_session(False, {}, {}, seed=42)
    assert settings == Settings(enabled=False, seed=42, sources={})
    assert settings.kills == DEFAULT_KILLS
    assert settings.mode == KILL_MODES[0]
    assert settings.source("kills") == "the default"


def test_a_random_seed_when_none_is_given() -> None:
    seeds = {resolve_session(True, {}, {}).seed for _ in range(5)}
    assert len(seeds) > 1


def test_command_line_beats_ini() -> None:
    settings = resolve_session(
        True, {"kills": "3"}, {"kills": "7", "mode": "sigkill"}, "tox.ini", seed=1
    )
    assert (settings.kills, settings.mode) == (3, "sigkill")
    assert settings.source("kills") == "--resumecheck-kills"
    assert settings.source("mode") == "ini option resumecheck_mode in tox.ini"


def test_marker_beats_command_line_and_check_keywords_beat_the_marker() -> None:
    session = resolve_session(True, {"kills": "3", "seed": "5"}, {}, seed=1)
    marked = apply_marker(session, (), {"kills": 9}, "t.py::test")
    assert (marked.kills, marked.seed) == (9, 5)
    assert merge(marked, {"kills": 11}, CALL_SOURCE).kills == 11


def test_none_in_a_marker_keeps_the_session_value() -> None:
    session = resolve_session(True, {"kills": "3"}, {}, seed=1)
    assert apply_marker(session, (), {"kills": None}, "t.py::test").kills == 3


@pytest.mark.parametrize(
    ("cli", "message"),
    [
        (
            {"kills": "0"},
            "invalid kills '0' from --resumecheck-kills: expected a whole number >= 1; "
            "for example --resumecheck-kills=5",
        ),
        ({"max_kills": "two"}, "invalid max_kills 'two' from --resumecheck-max-kills"),
        (
            {"mode": "kill9"},
            "invalid mode 'kill9' from --resumecheck-mode: expected one of exception, sigkill, "
            "sigterm, midwrite; for example --resumecheck-mode=sigkill",
        ),
        ({"seed": "-1"}, "invalid seed '-1' from --resumecheck-seed"),
        ({"timeout": "soon"}, "invalid timeout 'soon' from --resumecheck-timeout"),
        ({"timeout": "-5"}, "invalid timeout '-5' from --resumecheck-timeout"),
    ],
)
def test_bad_command_line_values(cli: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_session(True, cli, {}, seed=1)
    assert message in str(info.value)


def test_bad_ini_value_names_the_file_and_the_ini_syntax() -> None:
    with pytest.raises(ConfigError) as info:
        resolve_session(True, {}, {"keep_artifacts": "sometimes"}, "pytest.ini", seed=1)
    assert str(info.value) == (
        "resumecheck: invalid keep_artifacts 'sometimes' from ini option "
        "resumecheck_keep_artifacts in pytest.ini: expected true or false; "
        "for example resumecheck_keep_artifacts = true"
    )


def test_bad_marker_values_name_the_marker_and_the_test() -> None:
    session = resolve_session(True, {}, {}, seed=1)
    with pytest.raises(
        ConfigError, match=r"@pytest.mark.resumecheck\(kills=...\) on t.py::test_y.*kills=5"
    ):
        apply_marker(session, (), {"kills": "many"}, "t.py::test_y")
    with pytest.raises(ConfigError, match="keyword arguments only"):
        apply_marker(session, (5,), {}, "t.py::test_y")
    with pytest.raises(ConfigError, match=r"unknown option 'kils'.*valid options are: kills"):
        apply_marker(session, (), {"kils": 5}, "t.py::test_y")


def test_bools_accept_ini_spellings() -> None:
    for text, value in [("true", True), ("1", True), ("Yes", True), ("false", False), ("0", False)]:
        assert resolve_session(True, {}, {"keep_artifacts": text}, seed=1).keep_artifacts is value


def test_header_flags_are_the_reproduction_flags() -> None:
    settings = resolve_session(True, {"kill_steps": "5+11,7"}, {}, seed=1234)
    assert settings.header_flags() == (
        "--resumecheck-seed=1234 --resumecheck-kills=5 --resumecheck-max-kills=2 "
        "--resumecheck-mode=exception --resumecheck-kill-steps=5+11,7"
    )


@pytest.mark.parametrize("module", ["settings", "checker", "helpers"])
def test_doctests(module: str) -> None:
    imported = importlib.import_module(f"resumecheck.pytest_plugin.{module}")
    failures, tried = doctest.testmod(imported)
    assert tried
    assert not failures
