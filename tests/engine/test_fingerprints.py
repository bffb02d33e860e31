"""Exact fingerprints (engine/snapshot.py): any changed bit changes them, on both paths
(BLAKE2 of small host tensors, the on-device reduction of bigger ones)."""

from __future__ import annotations

import pytest
import torch

from resumecheck.engine.snapshot import tensor_digests

BIG = 3 * (1 << 16) + 5  # elements: several reduction rows, a partial row and tail bytes


def flipped(t: torch.Tensor, byte: int, bit: int) -> torch.Tensor:
    raw = t.clone().reshape(-1).view(torch.uint8)
    raw[byte] ^= 1 << bit
    return raw.view(t.dtype).reshape(t.shape)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64, torch.uint8])
@pytest.mark.parametrize("numel", [7, BIG], ids=["small", "big"])
def test_any_flipped_bit_changes_the_fingerprint(dtype: torch.dtype, numel: int) -> None:
    g = torch.Generator().manual_seed(0)
    t = (torch.rand(numel, generator=g) * 200).to(dtype)
    nbytes = t.numel() * t.element_size()
    # First and last bytes (the tail that is not a whole 64-bit word), row edges, the middle.
    for byte in {0, 1, 7, 8, nbytes // 2, (1 << 19) - 1, 1 << 19, nbytes - 2, nbytes - 1}:
        if byte >= nbytes:
            continue
        for bit in (0, 3, 7):
            a, b = tensor_digests([t, flipped(t, byte, bit)])
            assert a != b, (dtype, numel, byte, bit)


def test_moved_values_change_it_and_equal_tensors_agree_wherever_they_are_stored() -> None:
    t = torch.randn(BIG)
    swapped = t.clone()
    swapped[[10, 70_000]] = t[[70_000, 10]]
    neighbours = t.clone()
    neighbours[[3, 4]] = t[[4, 3]]
    base = torch.randn(BIG + 1)
    base[1:] = t  # the same values at an offset no 64-bit view can start at
    transposed = t[: 300 * 200].reshape(300, 200).t()  # not contiguous
    d = tensor_digests([t, swapped, neighbours, base[1:], t.clone(), transposed])
    assert d[0] != d[1]
    assert d[0] != d[2]
    assert d[0] == d[3] == d[4]
    assert d[5] == tensor_digests([transposed.contiguous()])[0]


def test_a_reduction_fingerprint_is_the_same_in_every_process() -> None:
    """Fixed multipliers: a digest computed here equals one computed in another process."""
    import subprocess
    import sys

    code = (
        "import torch; from resumecheck.engine.snapshot import tensor_digests; "
        "print(tensor_digests([torch.arange(200_000, dtype=torch.float32)])[0])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == tensor_digests([torch.arange(200_000, dtype=torch.float32)])[0]
