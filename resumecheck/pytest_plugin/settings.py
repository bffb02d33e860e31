"""Settings of the pytest plugin: ``check()`` keywords > marker > command line > ini > default.

Pure and cheap: no torch, no Hypothesis. Every value is validated where it enters, and a bad
one raises :class:`~resumecheck.errors.ConfigError` naming its source and the fix.

Kill steps are written ``5,13`` (two checks: a kill after step 5, and separately after
step 13) or ``5+11,7`` (kill after 5, resume, kill again after 11, resume; and separately a
single kill after 7).

>>> parse_kill_steps("5+11,7", CLI_SOURCE)
((5, 11), (7,))
>>> format_kill_steps(((5, 11), (7,)))
'5+11,7'
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from resumecheck.engine.options import MODES as KILL_MODES
from resumecheck.errors import ConfigError

DEFAULT_MODE = "exception"
DEFAULT_KILLS = 5
DEFAULT_MAX_KILLS = 2
DEFAULT_TIMEOUT = 300.0

Plan = tuple[int, ...]
Plans = tuple[Plan, ...]

ENABLE_HELP = (
    "Run resume checks: tests marked resumecheck or using the resumecheck fixture. "
    "Without it they are skipped."
)
KILLS_HELP = f"Number of kill plans to try per check (default: {DEFAULT_KILLS})"
MAX_KILLS_HELP = (
    f"Most kills in one plan: kill, resume, kill again... (default: {DEFAULT_MAX_KILLS})"
)
MODE_HELP = f"How a run is killed: {', '.join(KILL_MODES)} (default: {DEFAULT_MODE})"
SEED_HELP = "Seed for drawing kill steps (default: random, shown in the header)"
KILL_STEPS_HELP = (
    "Explicit kill plans instead of drawn ones, for reproducing a failure. "
    "'5,13' checks a kill after step 5 and, separately, after step 13. "
    "'5+11' kills after step 5, resumes, and kills again after step 11."
)
KEEP_ARTIFACTS_HELP = "Keep checkpoints and logs of passing checks too (failing ones are kept)"
TIMEOUT_HELP = (
    f"Fail a check that runs longer than this many seconds (in process modes: a run). "
    f"0 disables it (default: {DEFAULT_TIMEOUT:g})."
)

MARKER_LINE = (
    "resumecheck(kills=None, max_kills=None, mode=None, seed=None, kill_steps=None, "
    "keep_artifacts=None, timeout=None, control=None): a resume check; run with "
    "--resumecheck; the keyword arguments override the --resumecheck-* options for this test"
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved options of one check."""

    enabled: bool = False
    kills: int = DEFAULT_KILLS
    max_kills: int = DEFAULT_MAX_KILLS
    mode: str = DEFAULT_MODE
    seed: int = 0
    kill_steps: Plans | None = None
    keep_artifacts: bool = False
    timeout: float = DEFAULT_TIMEOUT
    control: bool = True
    sources: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def source(self, name: str) -> str:
        """Where the value of ``name`` came from, for messages."""
        return self.sources.get(name, "the default")

    def header_flags(self) -> str:
        """The command-line flags that reproduce this session's draws."""
        flags = [
            f"--resumecheck-seed={self.seed}",
            f"--resumecheck-kills={self.kills}",
            f"--resumecheck-max-kills={self.max_kills}",
            f"--resumecheck-mode={self.mode}",
        ]
        if self.kill_steps is not None:
            flags.append(f"--resumecheck-kill-steps={format_kill_steps(self.kill_steps)}")
        return " ".join(flags)


@dataclass(frozen=True, slots=True)
class Source:
    """Where a value came from: renders the label and a corrected example for messages."""

    style: Literal["cli", "ini", "marker", "call"]
    where: str = ""

    def label(self, name: str) -> str:
        if self.style == "cli":
            return cli_flag(name)
        if self.style == "ini":
            return f"ini option {ini_key(name)}" + (f" in {self.where}" if self.where else "")
        if self.style == "marker":
            return f"@pytest.mark.resumecheck({name}=...)" + (
                f" on {self.where}" if self.where else ""
            )
        return f"resumecheck.check({name}=...)"

    def example(self, name: str, value: str) -> str:
        if self.style == "cli":
            return f"{cli_flag(name)}={value}"
        if self.style == "ini":
            return f"{ini_key(name)} = {value}"
        return f"{name}={value!r}" if name in ("mode", "kill_steps") else f"{name}={value}"


CLI_SOURCE = Source("cli")
CALL_SOURCE = Source("call")


def cli_flag(name: str) -> str:
    return "--resumecheck-" + name.replace("_", "-")


def ini_key(name: str) -> str:
    return "resumecheck_" + name


def _fail(name: str, value: object, source: Source, expected: str, example: str) -> ConfigError:
    shown = value if isinstance(value, str) else repr(value)
    return ConfigError(
        f"resumecheck: invalid {name} {shown!r} from {source.label(name)}: expected "
        f"{expected}; for example {source.example(name, example)}"
    )


def parse_int(name: str, value: object, source: Source, minimum: int, example: str) -> int:
    """A whole number >= ``minimum`` from an int or its text."""
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("+").isdigit():
        number = int(value)
    if number is None or number < minimum:
        raise _fail(name, value, source, f"a whole number >= {minimum}", example)
    return number


def parse_timeout(value: object, source: Source) -> float:
    """Seconds, >= 0 (0 disables the timeout)."""
    try:
        if isinstance(value, bool):
            raise ValueError
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise _fail("timeout", value, source, "a number of seconds >= 0 (0 disables it)", "60")
    return seconds


def parse_mode(value: object, source: Source) -> str:
    if not isinstance(value, str) or value.strip() not in KILL_MODES:
        raise _fail("mode", value, source, "one of " + ", ".join(KILL_MODES), "sigkill")
    return value.strip()


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def parse_bool(name: str, value: object, source: Source) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise _fail(name, value, source, "true or false", "true")


def parse_kill_steps(value: object, source: Source) -> Plans:
    """Kill plans from ``"5+11,7"``, an int, or a list like ``[[5, 11], 7]``."""
    expected = (
        "kill steps >= 1 as '5,13' (separate checks) or '5+11' (kill, resume, kill again), "
        "each plan increasing"
    )
    try:
        plans = _plans_from(value)
    except (TypeError, ValueError):
        raise _fail("kill_steps", value, source, expected, "5+11,7") from None
    if not plans or any(not p or p[0] < 1 or list(p) != sorted(set(p)) for p in plans):
        raise _fail("kill_steps", value, source, expected, "5+11,7")
    return plans


def _plans_from(value: object) -> Plans:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return ((value,),)
    if isinstance(value, str):
        return tuple(
            tuple(_step(s) for s in part.split("+")) for part in value.replace(" ", "").split(",")
        )
    if isinstance(value, Sequence):
        return tuple(
            (_step(item),) if not isinstance(item, Sequence) else tuple(map(_step, item))
            for item in value
        )
    raise TypeError


def _step(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError


def format_kill_steps(plans: Sequence[Sequence[int]]) -> str:
    """Render plans the way ``--resumecheck-kill-steps`` reads them."""
    return ",".join("+".join(map(str, plan)) for plan in plans)


Parser = Callable[[object, Source], Any]

# name -> parser; the order is the order of the options in --help.
PARSERS: dict[str, Parser] = {
    "kills": lambda v, s: parse_int("kills", v, s, 1, "5"),
    "max_kills": lambda v, s: parse_int("max_kills", v, s, 1, "2"),
    "mode": parse_mode,
    "seed": lambda v, s: parse_int("seed", v, s, 0, "1234"),
    "kill_steps": parse_kill_steps,
    "keep_artifacts": lambda v, s: parse_bool("keep_artifacts", v, s),
    "timeout": parse_timeout,
    "control": lambda v, s: parse_bool("control", v, s),
}
# Options with a command-line flag and an ini key (control is per test: marker or check()).
CONFIG_OPTIONS = (
    "kills",
    "max_kills",
    "mode",
    "seed",
    "kill_steps",
    "keep_artifacts",
    "timeout",
)
HELPS = {
    "kills": KILLS_HELP,
    "max_kills": MAX_KILLS_HELP,
    "mode": MODE_HELP,
    "seed": SEED_HELP,
    "kill_steps": KILL_STEPS_HELP,
    "keep_artifacts": KEEP_ARTIFACTS_HELP,
    "timeout": TIMEOUT_HELP,
}


def random_seed() -> int:
    """A fresh seed, without touching any global RNG."""
    return int.from_bytes(os.urandom(4), "little") % 10**8


def resolve_session(
    enabled: bool,
    cli: Mapping[str, object],
    ini: Mapping[str, str],
    ini_file: str = "",
    seed: int | None = None,
) -> Settings:
    """Merge command-line values (``None`` when absent) over ini values (``""`` when absent).

    ``seed`` is the one to use when neither gives one (e.g. handed down by the xdist
    controller).
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    ini_source = Source("ini", ini_file)
    for name in CONFIG_OPTIONS:
        raw_cli, raw_ini = cli.get(name), ini.get(name, "")
        if raw_cli is not None:
            values[name] = PARSERS[name](raw_cli, CLI_SOURCE)
            sources[name] = CLI_SOURCE.label(name)
        elif raw_ini is not None and str(raw_ini).strip() != "":
            values[name] = PARSERS[name](str(raw_ini).strip(), ini_source)
            sources[name] = ini_source.label(name)
    values.setdefault("seed", random_seed() if seed is None else seed)
    return Settings(enabled=enabled, sources=sources, **values)


def merge(settings: Settings, overrides: Mapping[str, object], source: Source) -> Settings:
    """Apply marker or ``check()`` keyword values on top of ``settings``."""
    unknown = sorted(set(overrides) - set(PARSERS))
    if unknown:
        raise ConfigError(
            f"resumecheck: unknown option {', '.join(map(repr, unknown))} in "
            f"{source.label(unknown[0])}; valid options are: {', '.join(PARSERS)}"
        )
    values = {k: PARSERS[k](v, source) for k, v in overrides.items() if v is not None}
    sources = {**settings.sources, **{k: source.label(k) for k in values}}
    return dataclasses.replace(settings, sources=sources, **values)


def apply_marker(
    settings: Settings, args: Sequence[object], kwargs: Mapping[str, object], where: str
) -> Settings:
    """Apply one ``@pytest.mark.resumecheck(...)``: keyword arguments only."""
    if args:
        raise ConfigError(
            f"resumecheck: @pytest.mark.resumecheck on {where} takes keyword arguments only, "
            f"got positional {list(args)!r}; for example @pytest.mark.resumecheck(kills=10)"
        )
    return merge(settings, kwargs, Source("marker", where))
