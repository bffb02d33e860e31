"""Reading files a job's process wrote, without ever running code from them.

The harness process never unpickles a user's checkpoint (only the user's own resume code, in
the run, does), and it reads what a child wrote (its trajectory) with an unpickler that only
rebuilds resumecheck's own records, plain builtins and tensors: a file that names anything else
is refused, whoever wrote it.
"""

from __future__ import annotations

import dataclasses
import enum
import gc
import io
import pickle
import warnings
from pathlib import Path, PosixPath, PurePosixPath, PureWindowsPath, WindowsPath
from typing import Any

_SAFE_BUILTINS = {"set", "frozenset", "complex", "slice", "range", "bytearray"}
_SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    ("pathlib", "Path"): Path,
    ("pathlib", "PosixPath"): PosixPath,
    ("pathlib", "WindowsPath"): WindowsPath,
    ("pathlib", "PurePosixPath"): PurePosixPath,
    ("pathlib", "PureWindowsPath"): PureWindowsPath,
}


class RefusedGlobal(pickle.UnpicklingError):
    """The file names a global that resumecheck's own records never contain."""


def _storage_from_bytes(data: bytes) -> Any:
    """``torch.storage._load_from_bytes`` without its ``weights_only=False``."""
    import torch

    return torch.load(io.BytesIO(data), weights_only=True)


class _RecordUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _SAFE_BUILTINS:
            return super().find_class(module, name)
        if (module, name) in _SAFE_GLOBALS:
            return _SAFE_GLOBALS[(module, name)]
        if module == "collections" and name == "OrderedDict":
            return super().find_class(module, name)
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_parameter"):
            return super().find_class(module, name)
        if module == "torch.storage" and name == "_load_from_bytes":
            return _storage_from_bytes
        if module == "resumecheck" or module.startswith("resumecheck."):
            found = super().find_class(module, name)
            # Records only: dataclasses and enums build from data, they run no code of the file's.
            if isinstance(found, type) and (
                dataclasses.is_dataclass(found) or issubclass(found, enum.Enum)
            ):
                return found
        raise RefusedGlobal(f"refused to load {module}.{name}: not a resumecheck record")


def load_records(path: Path) -> Any:
    """Unpickle a file a run of resumecheck wrote (e.g. a child's trajectory); ``None`` if it
    is missing, truncated, or names anything but resumecheck's records, builtins and tensors."""
    # Thousands of small records: with torch and Lightning in the heap, the collections their
    # allocation triggers would cost more than reading them.
    enabled = gc.isenabled()
    gc.disable()
    try:
        with path.open("rb") as fh:
            return _RecordUnpickler(fh).load()
    except (OSError, EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
        return None
    finally:
        if enabled:
            gc.enable()


def load_weights_only(path: Path) -> Any:
    """``torch.load`` with ``weights_only=True`` (torch's restricted unpickler); ``None`` if
    the file cannot be read that way. Only the few bytes read are paged in (mmap)."""
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:
        return None
