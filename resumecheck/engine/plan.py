"""Kill plans: after which global optimizer steps a chain of runs is killed."""

from __future__ import annotations

import random
from collections.abc import Sequence

from resumecheck.errors import ConfigError

KillSpec = int | Sequence[int | Sequence[int]]
Plan = tuple[int, ...]


def draw_plans(count: int, n_steps: int, seed: int) -> list[Plan]:
    """``count`` distinct single-kill plans drawn from steps ``1 .. n_steps - 1``."""
    candidates = list(range(1, n_steps))
    picked = random.Random(seed).sample(candidates, min(count, len(candidates)))
    return [(k,) for k in sorted(picked)]


def normalize_plans(kills: KillSpec, n_steps: int | None = None) -> list[Plan] | int:
    """Validate ``kills``: an int (how many to draw) or a list of steps / lists of steps."""
    if isinstance(kills, bool):
        raise ConfigError(f"kills={kills!r}: pass a number of kills or a list of steps")
    if isinstance(kills, int):
        if kills < 1:
            raise ConfigError(f"kills={kills}: the number of kills must be at least 1")
        return kills
    plans: list[Plan] = []
    if isinstance(kills, str | bytes) or not isinstance(kills, Sequence):
        raise ConfigError(f"kills={kills!r}: pass a number of kills or a list of steps")
    for item in kills:
        if not isinstance(item, int | list | tuple):
            raise ConfigError(f"kills: bad kill plan {item!r}; use a step number or a list of them")
        plan = (item,) if isinstance(item, int) else tuple(item)
        if not plan or any(not isinstance(k, int) or isinstance(k, bool) for k in plan):
            raise ConfigError(f"kills: bad kill plan {item!r}; use a step number or a list of them")
        if list(plan) != sorted(set(plan)) or plan[0] < 1:
            raise ConfigError(f"kills: plan {list(plan)} must be increasing steps >= 1")
        plans.append(plan)
    if not plans:
        raise ConfigError("kills=[]: give at least one kill step")
    return plans


def check_range(plans: Sequence[Plan], n_steps: int, job: str) -> None:
    for plan in plans:
        if plan[-1] >= n_steps:
            raise ConfigError(
                f"kill step {plan[-1]} is out of range: {job} makes {n_steps} optimizer steps, "
                f"so kills must be between 1 and {n_steps - 1}"
            )
