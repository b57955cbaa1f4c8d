"""What a style-transfer checkpoint holds, when one is written, and reading it back.

The file format is :mod:`naah.io.checkpoint` (a zip of ``.npy`` arrays and JSON).
A style-transfer checkpoint's arrays are the :class:`naah.optim.MinimizerState`'s:
the current iterate ``image`` and the ``best_image`` (both preprocessed, (1, 3, H,
W)), and the optimiser's own (``lbfgs.*``, L-BFGS-B's workspace and line search,
or naah's float32 L-BFGS's when the problem's memory budget is too small for
L-BFGS-B's: a checkpoint shrinks with that state; ``first_order.*``, the
first-order methods' state). Its metadata (JSON) is a
:class:`RunDescription`, which does not change during the run, and what does:

``version``
    :data:`VERSION`. Version 1 (no ``version`` key), written by naah before the
    settings model, has the same sections; :meth:`RunDescription.from_json` reads
    both, filling in what older files lack.
``kind``, ``naah_version``
    ``"style-transfer"``, and the version that wrote it.
``settings``
    Every keyword of :class:`naah.StyleTransfer` (:meth:`naah.settings.Settings.
    to_json` of scope ``transfer``: layers, α, β, pooling, optimiser…).
``run``
    ``size``, ``style_scale``, ``init`` and the ``iterations`` asked for; a
    coarse-to-fine run also its ``scales``, ``scale_iterations``, the
    ``scale_index`` it is at and the ``earlier_history`` of the scales before
    (:class:`RunRecord`).
``inputs``
    ``content``, ``style`` (``styles``, ``style_blend``; or ``regions``),
    ``guide_mode`` and ``weights``: each input with its ``path`` (None for an
    array) and ``sha256``. For images the checksum is of the pixels as used
    (float32 after resizing), so a file that was re-encoded but gives the same
    pixels is the same input; for the weights it is the file's
    (:class:`InputsRecord`).
``info``
    The caller's (``naah stylize`` keeps its output paths there).
``iteration``, ``status``, ``history``
    The last iteration recorded, why the run stopped (``"running"``, ``"finished"``,
    ``"interrupted"``, ``"diverged"``), and one record per iteration.
``optimizer_state``
    The optimiser's scalars: current learning rate, rollbacks, best iteration…
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from naah._version import __version__
from naah.io.checkpoint import (
    Checkpoint,
    CheckpointError,
    read_checkpoint,
    write_checkpoint,
)
from naah.io.files import remove_stale_temporaries
from naah.optim import History, IterationRecord, Minimizer, MinimizerState
from naah.settings import ARRAY_INIT, INITS, Settings, tupled

KIND = "style-transfer"
#: The layout of the metadata this naah writes (see the module docstring).
VERSION = 2
# Defaults of naah stylize: every 50 iterations and at least once a minute.
CHECKPOINT_EVERY = Settings().schedule.checkpoint_every
CHECKPOINT_SECONDS = 60.0
# Time-based checkpoints are spaced so that writing them costs at most this share
# of the run (a 2048-px L-BFGS state is 2.5 GB: once a minute would cost more).
MAX_OVERHEAD = 0.02


def sha256_of_pixels(image: np.ndarray) -> str:
    """SHA-256 of an image's float32 pixels and shape."""
    pixels = np.ascontiguousarray(image, dtype=np.float32)
    digest = hashlib.sha256(repr(pixels.shape).encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()


# -- the description ------------------------------------------------------------------
@dataclass(frozen=True)
class ImageRecord:
    """An input image: its file (None for an array) and the SHA-256 of its pixels
    as the run used them."""

    path: str | None
    sha256: str

    @classmethod
    def of(cls, given: object, pixels: np.ndarray) -> ImageRecord:
        path = os.path.abspath(given) if isinstance(given, str | os.PathLike) else None
        return cls(path, sha256_of_pixels(pixels))

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageRecord:
        return cls(data.get("path"), data["sha256"])


#: Settings of how a run is computed that its record keeps with the transfer's:
#: a resumed run evaluates in the same blocks, under the same memory budget (and
#: so with the same optimiser state), unless given others.
COMPUTED_AS = ("tile_size", "max_memory")


@dataclass(frozen=True)
class RegionRecord:
    """A region of the run: its name and weight, its guide's file and checksum, its
    style image and its style guide's file."""

    name: str
    weight: float
    guide: str | None
    guide_sha256: str
    style: ImageRecord
    style_guide: str | None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "style": self.style.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RegionRecord:
        return cls(
            name=data["name"],
            weight=data["weight"],
            guide=data["guide"],
            guide_sha256=data["guide_sha256"],
            style=ImageRecord.from_json(data["style"]),
            style_guide=data.get("style_guide"),
        )


@dataclass(frozen=True)
class InputsRecord:
    """The run's inputs: content, styles (or regions) and weights."""

    content: ImageRecord
    weights: Mapping[str, Any]
    styles: tuple[ImageRecord, ...] = ()
    regions: tuple[RegionRecord, ...] = ()

    def to_json(self, style_blend: Sequence[float] | None, guide_mode: str) -> dict:
        data: dict[str, Any] = {
            "content": self.content.to_json(),
            "weights": dict(self.weights),
            "guide_mode": guide_mode,
        }
        if self.regions:
            regions = [r.to_json() for r in self.regions]
            data.update(regions=regions, style=regions[0]["style"])
        else:
            styles = [s.to_json() for s in self.styles]
            blend = None if style_blend is None else list(style_blend)
            data.update(style=styles[0], styles=styles, style_blend=blend)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InputsRecord:
        regions = tuple(RegionRecord.from_json(r) for r in data.get("regions", ()))
        styles = () if regions else data.get("styles", [data["style"]])
        return cls(
            content=ImageRecord.from_json(data["content"]),
            weights=dict(data["weights"]),
            styles=tuple(ImageRecord.from_json(s) for s in styles),
            regions=regions,
        )


@dataclass(frozen=True)
class PyramidPosition:
    """Where a coarse-to-fine run is: its scales, the iterations of each, the scale
    it is at, and the records of the scales before."""

    scales: tuple[int, ...]
    scale_iterations: tuple[int, ...]
    scale_index: int
    earlier_history: History = field(default_factory=History)

    def to_json(self) -> dict[str, Any]:
        return {
            "scales": list(self.scales),
            "scale_iterations": list(self.scale_iterations),
            "scale_index": self.scale_index,
            "earlier_history": history_rows(self.earlier_history),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PyramidPosition | None:
        if "scales" not in data:
            return None
        return cls(
            tuple(data["scales"]),
            tuple(data["scale_iterations"]),
            int(data["scale_index"]),
            history_from_rows(data["earlier_history"]),
        )


@dataclass(frozen=True)
class RunRecord:
    """The ``run`` section: the iterations asked for (of the scale a coarse-to-fine
    run is at), the size it runs at, and how it started."""

    iterations: int
    size: int | None
    style_scale: float | tuple[float, ...]
    init: str
    pyramid: PyramidPosition | None = None

    def to_json(self) -> dict[str, Any]:
        scale = self.style_scale
        data: dict[str, Any] = {
            "iterations": self.iterations,
            "size": self.size,
            "style_scale": list(scale) if isinstance(scale, tuple) else scale,
            "init": self.init,
        }
        if self.pyramid is not None:
            data.update(self.pyramid.to_json())
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        scale = data["style_scale"]
        return cls(
            iterations=int(data["iterations"]),
            size=data["size"],
            style_scale=tupled(scale),
            init=data.get("init", "noise"),
            pyramid=PyramidPosition.from_json(data),
        )


@dataclass(frozen=True)
class RunDescription:
    """What a checkpoint says of its run, apart from the optimiser's state: its
    settings, where it is, its inputs and the caller's info.

    ``settings`` is the whole run's: the transfer's keywords as recorded, and the
    run's (size, style scale, blend, guide mode, start, iterations and scales).
    """

    settings: Settings
    run: RunRecord
    inputs: InputsRecord
    info: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        images = self.settings.images
        settings = self.settings.to_json(scope="transfer")
        run_settings = self.settings.to_json(scope="run")
        settings.update({k: run_settings[k] for k in COMPUTED_AS if k in run_settings})
        return {
            "version": VERSION,
            "settings": settings,
            "run": self.run.to_json(),
            "inputs": self.inputs.to_json(images.style_blend, images.guide_mode),
            "info": dict(self.info),
        }

    @classmethod
    def from_json(cls, meta: Mapping[str, Any]) -> RunDescription:
        """Read version 1 or 2 metadata (a KeyError or TypeError for a part missing,
        a SettingError for a value no setting takes)."""
        run = RunRecord.from_json(meta["run"])
        inputs = meta["inputs"]
        pyramid = run.pyramid
        init = run.init
        if init not in (*INITS, ARRAY_INIT) and not os.path.isfile(init):
            init = ARRAY_INIT  # a start file since moved: the run is past its start
        values: dict[str, Any] = {
            "size": run.size,
            "style_scale": run.style_scale,
            "init": init,
            "style_blend": tupled(inputs.get("style_blend")),
            "guide_mode": inputs.get("guide_mode", "simple"),
            "iterations": run.iterations
            if pyramid is None
            else pyramid.scale_iterations,
            "scales": None if pyramid is None else pyramid.scales,
        }
        recorded = Settings.from_json(meta["settings"])
        return cls(
            settings=Settings.of(values, recorded),
            run=run,
            inputs=InputsRecord.from_json(inputs),
            info=dict(meta.get("info") or {}),
        )

    def with_info(self, info: Mapping[str, Any] | None) -> RunDescription:
        """This description with ``info`` added to its own."""
        return replace(self, info={**self.info, **(info or {})})


@dataclass(frozen=True)
class SavedRun:
    """A style-transfer checkpoint, read (:func:`load_run`).

    Attributes
    ----------
    path : Path
    description : RunDescription
    state : MinimizerState
        The optimiser's state, with the history.
    iteration : int
        The last iteration recorded.
    status : str
        Why the run stopped.
    checkpoint : naah.io.checkpoint.Checkpoint
        The file's arrays and raw metadata.
    """

    path: Path
    description: RunDescription
    state: MinimizerState
    iteration: int
    status: str
    checkpoint: Checkpoint


def load_run(path: str | os.PathLike) -> SavedRun:
    """Read a style-transfer checkpoint: its description and the optimiser's state.

    Raises
    ------
    CheckpointError
        If the file is not a complete style-transfer checkpoint.
    """
    checkpoint = read_checkpoint(path)
    meta = checkpoint.metadata
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{checkpoint.path} is not a style-transfer checkpoint")
    version = meta.get("version", 1)
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(
            f"{checkpoint.path}: its metadata is version {version!r}, newer than this "
            f"naah reads ({VERSION}; written by naah {meta.get('naah_version', '?')}): "
            "update naah"
        )
    try:
        description = RunDescription.from_json(meta)
        history = history_from_rows(meta["history"])
        info = _floats_back(meta["optimizer_state"])
        iteration = int(meta["iteration"])
        status = str(meta.get("status", "running"))
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointError(
            f"{checkpoint.path}: its metadata lacks or spoils {error} (written by naah "
            f"{meta.get('naah_version', '?')})"
        ) from None
    missing = {"image", "best_image"} - set(checkpoint.arrays)
    if missing:
        raise CheckpointError(f"{checkpoint.path} lacks arrays {sorted(missing)}")
    method = description.settings.optimizer.method
    state = MinimizerState(method, dict(checkpoint.arrays), info, history)
    return SavedRun(checkpoint.path, description, state, iteration, status, checkpoint)


def read_run(path: str | os.PathLike) -> tuple[Checkpoint, MinimizerState]:
    """The file and the optimiser state of a style-transfer checkpoint
    (:func:`load_run` gives its description too).

    Raises
    ------
    CheckpointError
        If the file is not a complete style-transfer checkpoint.
    """
    saved = load_run(path)
    return saved.checkpoint, saved.state


# -- writing ---------------------------------------------------------------------------
class Checkpointer:
    """Writes a run's checkpoints: every ``every`` iterations, at least every
    ``seconds`` (but never so often that writing takes more than
    :data:`MAX_OVERHEAD` of the run), and whenever :meth:`write` is called.

    Parameters
    ----------
    path : path-like
    description : RunDescription or dict
        The metadata that does not change during the run (a dict is written as it
        is).
    every : int
    seconds : float
    """

    def __init__(
        self,
        path: str | os.PathLike,
        description: RunDescription | Mapping[str, Any],
        every: int = CHECKPOINT_EVERY,
        seconds: float = CHECKPOINT_SECONDS,
    ) -> None:
        if not isinstance(every, int) or every <= 0:
            raise ValueError(f"checkpoint_every must be a positive int, got {every!r}")
        self.path = Path(path)
        self.description = description
        self.every = every
        self.seconds = seconds
        self.written = 0
        self._since = time.perf_counter()
        self._last_iteration: int | None = None
        self._write_seconds = 0.0
        remove_stale_temporaries(self.path)

    def due(self, iteration: int) -> bool:
        """Whether a checkpoint is due after ``iteration``."""
        if self._last_iteration is None:
            self._last_iteration = iteration  # the run's first iteration here
        if iteration - self._last_iteration >= self.every:
            return True
        elapsed = time.perf_counter() - self._since
        return elapsed >= max(self.seconds, self._write_seconds / MAX_OVERHEAD)

    def write(self, run: Minimizer, status: str = "running") -> Path:
        """Write ``run``'s state now (atomically)."""
        start = time.perf_counter()
        state = run.state()
        # The last iteration in the history (GD and Adam have already moved on to
        # the next image, whose loss they have not yet seen).
        iteration = len(state.history) - 1
        described = self.description
        metadata = {
            **(
                described.to_json()
                if isinstance(described, RunDescription)
                else described
            ),
            "kind": KIND,
            "naah_version": __version__,
            "iteration": iteration,
            "status": status,
            "history": history_rows(state.history),
            "optimizer_state": _finite_row(state.info),
        }
        write_checkpoint(self.path, state.arrays, metadata)
        self.written += 1
        self._since = time.perf_counter()
        self._write_seconds = self._since - start
        self._last_iteration = iteration
        return self.path


def history_rows(history: History) -> list[dict[str, Any]]:
    """A history as JSON-ready rows (infinities as strings)."""
    return [_finite_row(asdict(record)) for record in history]


def history_from_rows(rows: list[dict[str, Any]]) -> History:
    """The inverse of :func:`history_rows`."""
    return History(IterationRecord(**_floats_back(row)) for row in rows)


def _finite_row(row: dict[str, Any]) -> dict[str, Any]:
    """JSON has no infinities: store them as strings, as Python spells them."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out[key] = _finite_row(value)
        elif isinstance(value, float) and not math.isfinite(value):
            out[key] = repr(value)
        else:
            out[key] = value
    return out


def _floats_back(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out[key] = _floats_back(value)
        elif value in ("inf", "-inf", "nan"):
            out[key] = float(value)
        else:
            out[key] = value
    return out
