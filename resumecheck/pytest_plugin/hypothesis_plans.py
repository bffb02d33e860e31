"""Hypothesis draws the kill plans of a check, and shrinks a failing one.

Imported only when a check runs: importing Hypothesis is not free, and a pytest run without
``--resumecheck`` must not pay for it.

A kill plan is a tuple of increasing optimizer steps: ``(5,)`` kills once after step 5;
``(5, 11)`` kills after step 5, resumes, and kills again after step 11. Hypothesis shrinks a
failing plan towards fewer kills and earlier steps, so the plan a report shows is the
smallest one that still diverges, and its example database replays it first next time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from hypothesis import HealthCheck, Phase, given, note, seed, settings
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase

Plan = tuple[int, ...]

# No explain phase: it re-runs the failing plan with variations only to annotate it.
_PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink)


def kill_plans(n_steps: int, max_kills: int) -> st.SearchStrategy[Plan]:
    """Plans of 1 to ``max_kills`` increasing kill steps in ``1 .. n_steps - 1``."""
    last = n_steps - 1
    size = max(1, min(max_kills, last))
    steps = st.lists(st.integers(1, last), min_size=1, max_size=size, unique=True)
    return steps.map(lambda drawn: tuple(sorted(drawn)))


@dataclass
class SearchResult:
    """The smallest diverging plan Hypothesis found (``None`` if all passed) and all tried."""

    failing: Plan | None
    tried: list[Plan] = field(default_factory=list)


class PlanDiverged(Exception):
    """Raised inside the Hypothesis test for a diverging plan, so that Hypothesis shrinks it."""

    def __init__(self, plan: Plan) -> None:
        super().__init__(f"kill plan {list(plan)} diverges")
        self.plan = plan


class KeyedDatabase(ExampleDatabase):
    """Another database's entries under a per-check prefix.

    Hypothesis keys its database by the test function's source, and every check runs the
    same function below; the prefix (test id, job, step count) keeps their plans apart.
    """

    def __init__(self, base: ExampleDatabase, prefix: bytes) -> None:
        super().__init__()
        self.base = base
        self.prefix = hashlib.sha256(prefix).hexdigest()[:16].encode() + b"."

    def save(self, key: bytes, value: bytes) -> None:
        self.base.save(self.prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self.base.fetch(self.prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        self.base.delete(self.prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.base.move(self.prefix + src, self.prefix + dest, value)


def search(
    diverges: Callable[[Plan], bool],
    n_steps: int,
    *,
    max_kills: int,
    examples: int,
    seed_value: int,
    key: bytes,
    database: ExampleDatabase | Literal["profile"] | None = "profile",
) -> SearchResult:
    """Try up to ``examples`` drawn plans; shrink the first that ``diverges`` to its minimum.

    ``diverges`` must be deterministic (the harness memoizes plans). Anything it raises other
    than an ordinary exception (e.g. a timeout) propagates untouched. Failing plans are kept
    in ``database``: by default the current Hypothesis profile's (``.hypothesis/``).
    """
    tried: list[Plan] = []
    base = settings().database if database == "profile" else database
    keyed = None if base is None else KeyedDatabase(base, key + f"|{n_steps}".encode())

    # settings outermost: @seed alone would switch the database off, and a failing plan
    # must be remembered even though every check is seeded.
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=keyed,
        phases=_PHASES,
        derandomize=False,
        report_multiple_bugs=False,
        print_blob=False,
    )
    @seed(seed_value)
    @given(kill_plans(n_steps, max_kills))
    def probe(plan: Plan) -> None:
        note(f"kill plan: {list(plan)}")
        if plan not in tried:
            tried.append(plan)
        if diverges(plan):
            raise PlanDiverged(plan)

    try:
        probe()
    except PlanDiverged as exc:
        return SearchResult(fewest_kills(exc.plan, diverges), tried)
    return SearchResult(None, tried)


def planned(n_steps: int, *, max_kills: int, examples: int, seed_value: int) -> list[Plan]:
    """The plans :func:`search` with the same arguments tries while none diverges.

    Hypothesis draws from its seed alone until an example fails, so a dry search that never
    fails finds them before anything runs: the uninterrupted run can then leave their killed
    runs behind (engine/prefix.py). A plan the search tries beyond these (a stored failing
    plan replayed from the database, a shrunk one) is computed in full.
    """
    dry = search(
        lambda plan: False,
        n_steps,
        max_kills=max_kills,
        examples=examples,
        seed_value=seed_value,
        key=b"",
        database=None,  # never the real one: a passing replay would delete a stored plan
    )
    return dry.tried


def fewest_kills(plan: Plan, diverges: Callable[[Plan], bool]) -> Plan:
    """Drop kills from a diverging plan while it still diverges.

    Hypothesis shrinks the steps well, but whether it also drops a kill from a sorted, unique
    list depends on the draw; this makes "fewest kills" hold whatever the seed.
    """
    shorter = True
    while shorter and len(plan) > 1:
        shorter = False
        for i in range(len(plan)):
            candidate = plan[:i] + plan[i + 1 :]
            if diverges(candidate):
                plan, shorter = candidate, True
                break
    return plan
