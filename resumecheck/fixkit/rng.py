"""Capture and restore every global RNG in a form that ``torch.load(weights_only=True)`` accepts.

Lightning's own ``_collect_rng_states`` stores ``np.random.get_state()`` as is: a tuple holding
a numpy array, which the weights-only unpickler of torch >= 2.6 refuses. Here every state is
tensors, ints, floats, strings, lists and ``None``.
"""

from __future__ import annotations

import random
from typing import Any

import torch

RngState = dict[str, Any]


def capture_rng_state() -> RngState:
    """Return the torch CPU, CUDA, numpy and Python ``random`` states, weights-only loadable.

    >>> state = capture_rng_state()
    >>> a = torch.rand(3)
    >>> restore_rng_state(state)
    >>> bool(torch.equal(a, torch.rand(3)))
    True
    """
    state: RngState = {"torch": torch.get_rng_state()}
    # Initialising CUDA just to read its state would slow down CPU jobs; an uninitialised CUDA
    # RNG has not been drawn from, so there is nothing to save.
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    version, internal, gauss = random.getstate()
    state["python"] = {"version": version, "state": list(internal), "gauss": gauss}
    numpy_state = _capture_numpy()
    if numpy_state is not None:
        state["numpy"] = numpy_state
    return state


def restore_rng_state(state: RngState) -> None:
    """Set every global RNG to a state taken by :func:`capture_rng_state`."""
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    py = state.get("python")
    if py is not None:
        random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    if state.get("numpy") is not None:
        _restore_numpy(state["numpy"])


def _capture_numpy() -> dict[str, Any] | None:
    try:
        import numpy as np
    except ImportError:
        return None
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    assert not isinstance(keys, str)  # legacy=True: always the MT19937 tuple
    return {
        "name": str(name),
        # int64 holds every uint32 key exactly; a plain tensor loads under weights_only.
        "keys": torch.from_numpy(keys.astype(np.int64)),
        "pos": int(pos),
        "has_gauss": int(has_gauss),
        "cached_gaussian": float(cached),
    }


def _restore_numpy(state: dict[str, Any]) -> None:
    import numpy as np

    keys = state["keys"].numpy().astype(np.uint32)
    np.random.set_state(
        (state["name"], keys, state["pos"], state["has_gauss"], state["cached_gaussian"])
    )
