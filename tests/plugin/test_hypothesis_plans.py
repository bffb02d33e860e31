"""The Hypothesis driver: draws plans in range, shrinks failures, remembers them. No torch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.database import InMemoryExampleDatabase

from resumecheck.pytest_plugin.hypothesis_plans import fewest_kills, kill_plans, planned, search

Plan = tuple[int, ...]


@settings(max_examples=50, deadline=None)
@given(st.integers(2, 40), st.integers(1, 4), st.data())
def test_plans_are_increasing_steps_in_range(
    n_steps: int, max_kills: int, data: st.DataObject
) -> None:
    plan = data.draw(kill_plans(n_steps, max_kills))
    assert 1 <= len(plan) <= max_kills
    assert list(plan) == sorted(set(plan))
    assert plan[0] >= 1
    assert plan[-1] <= n_steps - 1


def test_a_failure_shrinks_to_the_smallest_kill_step() -> None:
    found = search(
        lambda p: p[-1] >= 4, 12, max_kills=2, examples=5, seed_value=3, key=b"a", database=None
    )
    assert found.failing == (4,)


def test_a_failure_shrinks_to_the_fewest_kills() -> None:
    # Only a second resume loses state: no single kill can show it.
    found = search(
        lambda p: len(p) >= 2, 12, max_kills=3, examples=30, seed_value=3, key=b"b", database=None
    )
    assert found.failing == (1, 2)


@pytest.mark.parametrize("seed_value", range(8))
def test_one_bad_step_shrinks_to_a_single_kill_whatever_the_seed(seed_value: int) -> None:
    # Any plan killing at step 4 diverges: the answer is always the plan (4,) alone.
    found = search(
        lambda p: 4 in p,
        12,
        max_kills=3,
        examples=40,
        seed_value=seed_value,
        key=b"d",
        database=None,
    )
    assert found.failing == (4,)


def test_fewest_kills_drops_every_kill_it_can() -> None:
    assert fewest_kills((1, 4, 7), lambda p: 4 in p) == (4,)
    assert fewest_kills((2, 5), lambda p: len(p) == 2) == (2, 5)


def test_a_passing_search_reports_every_plan_it_tried() -> None:
    found = search(
        lambda p: False, 12, max_kills=2, examples=5, seed_value=3, key=b"c", database=None
    )
    assert found.failing is None
    assert 1 <= len(found.tried) <= 5
    assert len(set(found.tried)) == len(found.tried)


def test_the_same_seed_draws_the_same_plans() -> None:
    def run(key: bytes) -> list[Plan]:
        return search(
            lambda p: False, 20, max_kills=2, examples=8, seed_value=7, key=key, database=None
        ).tried

    assert run(b"d") == run(b"e")


def test_the_database_replays_the_last_failure_first() -> None:
    def diverges(plan: Plan) -> bool:
        tried.append(plan)
        return plan[-1] >= 6

    def run(key: bytes, seed: int) -> Plan | None:
        tried.clear()
        found = search(
            diverges, 12, max_kills=1, examples=10, seed_value=seed, key=key, database=database
        )
        return found.failing

    tried: list[Plan] = []
    database = InMemoryExampleDatabase()
    assert run(b"t.py::test_a", 1) == (6,)
    assert run(b"t.py::test_a", 999) == (6,)
    assert tried[0] == (6,)  # replayed first, before any drawing
    run(b"t.py::test_b", 999)
    assert tried[0] != (6,)  # another check's failures are not replayed


def test_interrupts_propagate_untouched() -> None:
    class Interrupt(BaseException):
        pass

    def diverges(plan: Plan) -> bool:
        raise Interrupt

    with pytest.raises(Interrupt):
        search(diverges, 12, max_kills=2, examples=5, seed_value=1, key=b"g", database=None)


@pytest.mark.parametrize(
    ("n_steps", "max_kills", "examples", "seed_value"),
    [(12, 1, 5, 0), (24, 2, 5, 1), (96, 3, 10, 2), (3, 1, 5, 3), (40, 2, 20, 4)],
)
def test_planned_are_the_plans_a_search_tries_until_one_diverges(
    n_steps: int, max_kills: int, examples: int, seed_value: int
) -> None:
    """The uninterrupted run leaves killed runs for ``planned``: they must be the plans the
    real search (with its database) goes on to try."""
    args = {"max_kills": max_kills, "examples": examples, "seed_value": seed_value}
    plans = planned(n_steps, **args)
    assert plans
    passing = search(lambda p: False, n_steps, key=b"t", database=InMemoryExampleDatabase(), **args)
    assert passing.tried == plans
    bad = plans[len(plans) // 2]
    failing = search(lambda p: p == bad, n_steps, key=b"u", database=None, **args)
    assert failing.tried[: plans.index(bad) + 1] == plans[: plans.index(bad) + 1]
