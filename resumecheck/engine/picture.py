"""A picture of a divergence: the reference and the resumed runs side by side, step by step.

:func:`divergence_series` takes, from the trajectories a plan already recorded, what the
picture needs: the loss of every step, and how far each run's weights are from the
reference's at the same global step (the L2 distance where the values were kept, which the
recorder does for small models; otherwise only whether they are equal). :func:`draw` renders
it with matplotlib (imported there, Agg backend) into a PNG.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from resumecheck.engine.compare import Segment
from resumecheck.engine.report import Divergence
from resumecheck.engine.snapshot import Snapshot, category_of, scalar
from resumecheck.engine.trajectory import StepRecord, Trajectory

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PICTURE_NAME = "divergence.png"


@dataclass
class Series:
    """One run's curve: global steps, loss, and its weights' distance from the reference."""

    label: str
    steps: list[int] = field(default_factory=list)
    loss: list[float | None] = field(default_factory=list)
    distance: list[float | None] = field(default_factory=list)  # None: only equal/different
    differs: list[bool] = field(default_factory=list)


@dataclass
class PictureData:
    """Everything :func:`draw` needs; plain data, no tensors."""

    title: str
    reference: Series
    runs: list[Series]
    kills: list[int]
    resumes: list[int]  # the checkpoint step each resumed run started after
    first: int | None  # the first divergent step

    @property
    def distances_known(self) -> bool:
        """Whether every step the reference also made has a distance (values were kept)."""
        last = len(self.reference.steps)
        return all(
            d is not None
            for s in self.runs
            for g, d in zip(s.steps, s.distance, strict=True)
            if g <= last
        )


def _loss(record: StepRecord) -> float | None:
    value = scalar(record.loss.value) if record.loss is not None else None
    return value if value is not None and math.isfinite(value) else None


def _weights_distance(ref: Snapshot | None, got: Snapshot | None) -> tuple[float | None, bool]:
    """(L2 distance of all weights, or None if values were not kept; whether any differ)."""
    if ref is None or got is None:
        return None, False
    total, known, differs = 0.0, True, False
    for key, entry in ref.entries.items():
        if category_of(key) != "weights":
            continue
        other = got.entries.get(key)
        if other is None or other.digest != entry.digest:
            differs = True
        a, b = entry.value, other.value if other is not None else None
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape:
            total += float((b.double() - a.double()).pow(2).sum())
        elif other is None or other.digest != entry.digest:
            known = False
    return (math.sqrt(total) if known else None), differs


def divergence_series(
    ref: Trajectory, plan: Sequence[int], segments: Sequence[Segment], divergence: Divergence
) -> PictureData:
    """The curves of a diverging plan, from the trajectories it recorded."""
    reference = Series("reference (uninterrupted)")
    for i, rec in enumerate(ref.steps):
        reference.steps.append(i + 1)
        reference.loss.append(_loss(rec))
        reference.distance.append(0.0)
        reference.differs.append(False)
    runs = []
    for n, seg in enumerate(segments):
        label = "killed run" if n == 0 else f"resumed run {n}"
        series = Series(label)
        for j, rec in enumerate(seg.trajectory.steps):
            g = seg.checkpoint_step + j + 1
            at = ref.steps[g - 1] if 0 < g <= len(ref.steps) else None
            distance, differs = _weights_distance(at.end if at else None, rec.end)
            series.steps.append(g)
            series.loss.append(_loss(rec))
            series.distance.append(distance if at is not None else None)
            series.differs.append(differs or at is None)
        runs.append(series)
    where = f" at step {divergence.step}" if divergence.step is not None else ""
    title = f"{divergence.kind.name}{where}, kill plan {list(plan)}"
    resumes = [seg.checkpoint_step for seg in segments[1:]]
    return PictureData(title, reference, runs, list(plan), resumes, divergence.step)


class Painter:
    """Draws a check's pictures. Where the runs happen in other processes, the check only
    waits for them, so pictures are drawn on a background thread meanwhile (a picture costs
    about a run of a small job). A check that runs jobs in its own process draws at once: it
    forks there (engine/prefix.py), and a fork must not copy a thread in the middle of a
    drawing or an import. One painter draws all its pictures on one :class:`Sheet`."""

    def __init__(self, background: bool) -> None:
        self._pool = ThreadPoolExecutor(1, "resumecheck-picture") if background else None
        self._sheet: Sheet | None = None

    def draw(self, data: PictureData, path: Path) -> Callable[[], BaseException | None]:
        """Start drawing ``data`` to ``path``; the returned call waits for the drawing and
        gives the error that stopped it, if any."""
        if self._pool is not None:
            return self._pool.submit(self._draw, data, path).exception
        error: Exception | None = None
        try:
            self._draw(data, path)
        except Exception as exc:  # a picture is a help, never a reason to lose the report
            error = exc
        return lambda: error

    def _draw(self, data: PictureData, path: Path) -> Path:
        if self._sheet is None:  # made by the thread that draws on it
            self._sheet = Sheet()
        return self._sheet.draw(data, path)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)


class Sheet:
    """A figure drawn again for every picture. Its axes, ticks and labels are made once, so
    a check that draws one picture per diverging plan pays for them once (about a quarter of
    a picture's cost); each picture is the one a new figure would give."""

    def __init__(self) -> None:
        # A bare Figure on the Agg canvas: no pyplot state to import or clean up, and fixed
        # margins instead of a layout engine.
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(9, 6))
        FigureCanvasAgg(self.figure)
        self.top, self.bottom = self.figure.subplots(2, 1, sharex=True)
        self.figure.subplots_adjust(left=0.1, right=0.97, top=0.93, bottom=0.09, hspace=0.12)
        self.bottom.set_xlabel("global optimizer step")

    def draw(self, data: PictureData, path: Path) -> Path:
        """Render ``data`` to a PNG at ``path``."""
        for ax in (self.top, self.bottom):
            for artist in [*ax.lines, *ax.patches, *ax.texts, *ax.collections]:
                artist.remove()
            if ax.legend_ is not None:
                ax.legend_.remove()
            ax.set_prop_cycle(None)  # the first run is blue again
        _draw_loss(self.top, data)
        _draw_distance(self.bottom, data)
        _marks(self.top, data, labels=True)
        _marks(self.bottom, data, labels=False)
        for ax in (self.top, self.bottom):
            ax.relim()  # this picture's data only
            ax.autoscale_view()
        self.top.set_title(data.title)
        # A fixed corner: "best" tries every position against every point drawn.
        self.top.legend(loc="upper right", fontsize="small")
        self.figure.savefig(path, dpi=100)
        return path


def draw(data: PictureData, path: Path) -> Path:
    """Render ``data`` to a PNG at ``path`` (matplotlib, Agg backend) on a new figure."""
    return Sheet().draw(data, path)


def _draw_loss(ax: Axes, data: PictureData) -> None:
    ref = data.reference
    ax.plot(ref.steps, _nan(ref.loss), color="black", lw=2, label=ref.label)
    for series in data.runs:
        ax.plot(series.steps, _nan(series.loss), marker="o", ms=3, ls="--", label=series.label)
    if all(v is None for v in ref.loss):
        ax.text(0.5, 0.5, "no loss recorded", transform=ax.transAxes, ha="center")
    ax.set_ylabel("loss")


def _draw_distance(ax: Axes, data: PictureData) -> None:
    from matplotlib.ticker import FuncFormatter, NullLocator, SymmetricalLogLocator

    if data.distances_known:
        for s in data.runs:
            ax.plot(s.steps, _nan(s.distance), marker="o", ms=3, ls="--", label=s.label)
        ax.set_yscale("symlog", linthresh=1e-8)
        # Plain-text labels, no minor ticks: mathtext labels ($10^{-8}$) were most of a
        # picture's cost (a check may draw one per diverging plan).
        ax.yaxis.set_major_locator(SymmetricalLogLocator(base=10, linthresh=1e-8, subs=[1.0]))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}" if v else "0"))
        ax.set_ylabel("|weights - reference| (L2)")
        return
    ax.set_yscale("linear")  # a sheet's previous picture may have had distances
    # Values were not kept (a large model): show only where the weights differ.
    for s in data.runs:
        ax.step(s.steps, [int(d) for d in s.differs], where="mid", label=s.label)
    ax.set_yticks([0, 1], ["equal", "differ"])
    ax.set_ylabel("weights vs reference")


def _marks(ax: Axes, data: PictureData, labels: bool) -> None:
    for i, k in enumerate(data.kills):
        label = "killed after this step" if labels and i == 0 else None
        ax.axvline(k + 0.55, color="red", ls=":", lw=1.5, label=label)
    for i, c in enumerate(data.resumes):
        label = "resumed from this step's checkpoint" if labels and i == 0 else None
        ax.axvline(c + 0.45, color="green", ls="-.", lw=1, alpha=0.7, label=label)
    if data.first is not None:
        label = f"first divergent step ({data.first})" if labels else None
        ax.axvspan(data.first - 0.5, data.first + 0.5, color="orange", alpha=0.3, label=label)


def _nan(values: Sequence[float | None]) -> list[float]:
    return [math.nan if v is None else v for v in values]
