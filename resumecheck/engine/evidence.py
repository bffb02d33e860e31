"""Evidence rows: what differs at a divergence, as fields, rendered to text from those fields.

Pure (no torch): the report, the JSON and the pytest plugin use these. The comparison builds
one :class:`Evidence` per difference (a tensor, a counter, the batch, the loss, a metric) or a
note; text rows are rendered from the fields, never the other way round.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

KEY_WIDTH = 36

# Categories of rows that explain a kind, most telling first; the rest follow in their order.
EXPLAINS: dict[str, tuple[str, ...]] = {
    "NO_CHECKPOINT": ("note",),
    "UNLOADABLE_CHECKPOINT": ("note",),
    "RESUME_CRASH": ("note",),
    "NOT_RESTORED": ("note", "weights"),
    "PROGRESS": ("counter",),
    "WEIGHTS": ("weights", "other", "loss"),
    "OPTIMIZER": ("optimizer",),
    "SCHEDULER": ("scheduler",),
    "RNG": ("rng", "loss", "batch", "weights"),
    "DATA_ORDER": ("batch", "rng", "loss", "weights"),
    "METRICS": ("metric",),
    "NONDETERMINISTIC": ("counter", "batch", "rng", "loss"),
}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One row of evidence.

    ``category`` is one of ``weights``, ``optimizer``, ``scheduler``, ``rng``, ``other``
    (state tensors and values), ``loss``, ``metric``, ``counter``, ``batch``, ``gradients``
    (digests of what the optimizer applied) or ``note``.
    ``max_abs_diff`` and ``count`` (differing elements of ``numel``) are set for tensors whose
    values were kept; ``resumed``/``reference`` hold plain values (numbers, strings) where
    known; ``detail`` says what a note, a presence or a counter row adds.
    """

    key: str
    category: str
    dtype: str | None = None
    shape: tuple[int, ...] | None = None
    max_abs_diff: float | None = None
    count: int | None = None
    numel: int | None = None
    resumed: Any = None
    reference: Any = None
    detail: str = ""

    @classmethod
    def note(cls, text: str, key: str = "") -> Evidence:
        """A row that is a sentence (a frame of a traceback, how a run ended, ...)."""
        return cls(key=key, category="note", detail=text)

    def __str__(self) -> str:
        return render(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus the rendered ``text`` (docs/json.md)."""
        return {
            "key": self.key,
            "category": self.category,
            "dtype": self.dtype,
            "shape": list(self.shape) if self.shape is not None else None,
            "max_abs_diff": self.max_abs_diff,
            "count": self.count,
            "numel": self.numel,
            "resumed": _plain(self.resumed),
            "reference": _plain(self.reference),
            "detail": self.detail,
            "text": render(self),
        }


Row = Evidence | str


def as_evidence(row: Row) -> Evidence:
    """An evidence row from a row or a plain sentence."""
    return row if isinstance(row, Evidence) else Evidence.note(row)


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool | type(None)) else repr(value)


def show(value: Any) -> str:
    """A value as a report shows it: numbers to 6 significant digits."""
    if isinstance(value, float):
        return f"{value:.6g}"
    if value is None:
        return "absent"
    return str(value)


def render(row: Evidence) -> str:
    """The text of a row, from its fields.

    >>> render(Evidence("param.w", "weights", "float32", (2, 3), 0.5, 4, 6))
    'param.w                              float32 [2, 3]  max|Δ| 0.5  4/6 elements'
    >>> render(Evidence("loss", "loss", resumed=1.5, reference=1.25))
    'loss: resumed 1.5, reference 1.25'
    """
    if row.category == "note":
        return row.detail
    if row.category == "loss":
        return f"loss: resumed {show(row.resumed)}, reference {show(row.reference)}"
    if row.category == "metric":
        return f"metric {row.key!r}: resumed {show(row.resumed)}, reference {show(row.reference)}"
    if row.category in ("batch", "gradients"):
        return f"{row.key}: {row.resumed}, reference {row.reference}"
    if row.category == "counter" and row.key.startswith("total "):
        return f"{row.key} {row.resumed}, reference {row.reference}{row.detail}"
    if row.category == "counter":
        return f"{row.key} {row.resumed} after resume, reference {row.reference}{row.detail}"
    return _render_state(row)


def _render_state(row: Evidence) -> str:
    shape = list(row.shape) if row.shape is not None else []
    head = f"{row.key:<{KEY_WIDTH}} {row.dtype} {shape}"
    if row.detail:  # presence, or a dtype/shape mismatch
        return f"{head}  {row.detail}"
    if row.max_abs_diff is not None:
        return f"{head}  max|Δ| {row.max_abs_diff:.3g}  {row.count}/{row.numel} elements"
    if row.count is not None:
        return f"{head}  {row.count}/{row.numel} elements differ"
    if row.resumed is not None or row.reference is not None:
        return f"{head}  resumed {show(row.resumed)}, reference {show(row.reference)}"
    return f"{head}  bytes differ"


def ordered(rows: Iterable[Evidence], kind: str) -> list[Evidence]:
    """Rows that explain ``kind`` first (in :data:`EXPLAINS` order), then the rest, stably."""
    first = EXPLAINS.get(kind, ())
    items = list(rows)

    def rank(row: Evidence) -> int:
        return first.index(row.category) if row.category in first else len(first)

    return sorted(items, key=rank)


def capped(rows: Sequence[Evidence], limit: int) -> tuple[list[str], int]:
    """The first ``limit`` rows as text, and how many were left out."""
    return [render(r) for r in rows[:limit]], max(0, len(rows) - limit)
