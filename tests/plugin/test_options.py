"""Options, header, marker, fixture docs and usage errors, through pytester in-process.

Nothing here runs a check, so nothing imports torch: in-process runs are safe and fast.
"""

from __future__ import annotations

import re

import pytest

from resumecheck.pytest_plugin.plugin import SKIP_REASON
from resumecheck.pytest_plugin.settings import ENABLE_HELP, MARKER_LINE

PASSING = "def test_plain():\n    pass\n"


def test_no_header_when_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "resumecheck:" not in result.stdout.str()


def test_header_is_the_reproduction_flags(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING)
    result = pytester.runpytest("--resumecheck", "--resumecheck-seed=1234", "--resumecheck-kills=3")
    result.stdout.fnmatch_lines(
        [
            "resumecheck: --resumecheck-seed=1234 --resumecheck-kills=3 --resumecheck-max-kills=2 "
            "--resumecheck-mode=exception"
        ]
    )


def test_header_shows_a_drawn_seed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(PASSING)
    result = pytester.runpytest("--resumecheck")
    assert re.search(r"^resumecheck: --resumecheck-seed=\d+ ", result.stdout.str(), re.M)


def test_ini_values_and_command_line_precedence(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nresumecheck_kills = 7\nresumecheck_mode = sigterm\n")
    pytester.makepyfile(PASSING)
    result = pytester.runpytest("--resumecheck", "--resumecheck-kills=3")
    result.stdout.fnmatch_lines(["resumecheck: *--resumecheck-kills=3 *--resumecheck-mode=sigterm"])


def test_marker_and_check_keywords_win(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nresumecheck_kills = 7\n")
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.resumecheck(kills=9, mode="sigkill")
        def test_marked(resumecheck):
            settings = resumecheck.settings()
            assert (settings.kills, settings.mode, settings.seed) == (9, "sigkill", 5)
            assert resumecheck.settings(kills=11).kills == 11

        def test_unmarked(resumecheck, resumecheck_settings):
            assert resumecheck.settings().kills == 3 == resumecheck_settings.kills
        """
    )
    result = pytester.runpytest("--resumecheck", "--resumecheck-kills=3", "--resumecheck-seed=5")
    result.assert_outcomes(passed=2)


def test_off_skips_with_a_reason_naming_the_flag(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        def test_fixture(resumecheck):
            raise AssertionError("must not run")

        @pytest.mark.resumecheck(kills=3)
        def test_marker():
            raise AssertionError("must not run")

        def test_other():
            pass
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] *{SKIP_REASON}"] * 2)
    assert "--resumecheck" in SKIP_REASON


def test_marker_is_registered_with_its_signature(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines([f"@pytest.mark.{MARKER_LINE[:60]}*"])
    # --strict-markers accepts it
    pytester.makepyfile("import pytest\n@pytest.mark.resumecheck\ndef test_a():\n    pass\n")
    pytester.runpytest("--strict-markers").assert_outcomes(skipped=1)


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        [
            "resumecheck -- *plugin.py:*",
            "*Check that a training job resumes bit for bit: ``resumecheck.check(job)``.",
            "resumecheck_settings [[]session scope[]] -- *",
        ]
    )


def test_options_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "kill-and-resume checks for training jobs:",
            f"  --resumecheck *{ENABLE_HELP[:30]}*",
            "  --resumecheck-kills=N*",
            "  --resumecheck-kill-steps=PLANS*",
            "  resumecheck_kills (string):*",
        ]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resumecheck-kills=0"], "invalid kills '0' from --resumecheck-kills"),
        (["--resumecheck-mode=bogus"], "invalid mode 'bogus' from --resumecheck-mode"),
        (
            ["--resumecheck-kill-steps=5,x"],
            "invalid kill_steps '5,x' from --resumecheck-kill-steps",
        ),
        (["--resumecheck-timeout=-1"], "*for example --resumecheck-timeout=60"),
    ],
)
def test_bad_option_is_a_usage_error(
    pytester: pytest.Pytester, args: list[str], message: str
) -> None:
    pytester.makepyfile(PASSING)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"ERROR: resumecheck: {message}*"])


def test_bad_ini_value_is_a_usage_error_naming_the_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(".ini", tox="[pytest]\nresumecheck_seed = lucky\n")
    pytester.makepyfile(PASSING)
    result = pytester.runpytest("--resumecheck")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: resumecheck: invalid seed 'lucky' from ini option resumecheck_seed in tox.ini: "
            "expected a whole number >= 0; for example resumecheck_seed = 1234"
        ]
    )


def test_bad_marker_values_fail_that_test_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.resumecheck(kills="many")
        def test_bad_value(resumecheck):
            raise AssertionError("must not run")

        @pytest.mark.resumecheck(3)
        def test_positional():
            raise AssertionError("must not run")

        @pytest.mark.resumecheck(kils=3)
        def test_typo(resumecheck):
            raise AssertionError("must not run")

        def test_bad_keyword(resumecheck):
            resumecheck.check(object(), mode="kill-9")

        def test_fine(resumecheck):
            pass
        """
    )
    result = pytester.runpytest("--resumecheck")
    result.assert_outcomes(failed=4, passed=1)
    result.stdout.fnmatch_lines_random(
        [
            "resumecheck: invalid kills 'many' from @pytest.mark.resumecheck(kills=...) on "
            "test_bad_marker_values_fail_that_test_only.py::test_bad_value: expected a whole "
            "number >= 1; for example kills=5",
            "resumecheck: @pytest.mark.resumecheck on *::test_positional takes keyword "
            "arguments only*",
            "resumecheck: unknown option 'kils' in @pytest.mark.resumecheck(kils=...)*",
            "*resumecheck: invalid mode 'kill-9' from resumecheck.check(mode=...): *; "
            "for example mode='sigkill'",
        ]
    )
    assert "must not run" not in result.stdout.str()
