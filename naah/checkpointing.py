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

A checkpoint is untrusted input. :func:`load_run` checks its metadata against one
schema (:data:`METADATA`, made of :mod:`naah.io.schema` checks, the records' from
their dataclasses), so that a field of the wrong type or range is refused with a
message naming the checkpoint and the field, and checks the arrays the listing
declares against the run the metadata describes. The arrays stay in the file
(:class:`naah.io.checkpoint.StoredArray`) until the optimiser's restore, which
checks their shapes against the problem's before it reads them
(:meth:`naah.optim.Minimizer.restore`).
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
    open_checkpoint,
    write_checkpoint,
)
from naah.io.files import remove_stale_temporaries
from naah.io.schema import (
    SchemaError,
    anything,
    array,
    boolean,
    either,
    integer,
    number,
    of_dataclass,
    optional,
    record,
    text,
)
from naah.optim import History, IterationRecord, Minimizer, MinimizerState
from naah.settings import ARRAY_INIT, INITS, Settings, specs, tupled

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
    style_guide: str | None = None

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
    """Read a style-transfer checkpoint: its description and the optimiser's state
    (whose arrays are read from the file when the run restores it).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    CheckpointError
        If the file is not a complete style-transfer checkpoint; the message names
        the file and, for its metadata and arrays, the field.
    """
    checkpoint = open_checkpoint(path)
    meta, where = checkpoint.metadata, checkpoint.path
    kind = meta.get("kind")
    if kind != KIND:
        raise CheckpointError(
            f"{where}: metadata field kind is {kind!r:.40}, not {KIND!r}: it is not a "
            "style-transfer checkpoint"
        )
    version = meta.get("version", 1)
    writer = meta.get("naah_version")
    written = f"written by naah {writer:.40}" if isinstance(writer, str) else "written"
    if type(version) is not int or not 1 <= version <= VERSION:
        raise CheckpointError(
            f"{where}: its metadata is version {version!r:.20}, not one this naah "
            f"reads (1 to {VERSION}; {written}): update naah"
        )
    try:
        meta = METADATA(meta, "")
        _check_consistency(meta)
    except SchemaError as error:
        raise CheckpointError(f"{where}: metadata field {error} ({written})") from None
    try:
        Settings.from_json(meta["settings"])  # each value by its setting's check
    except (TypeError, ValueError) as error:  # a SettingError names the setting
        raise CheckpointError(
            f"{where}: metadata field settings: {error} ({written})"
        ) from None
    try:
        description = RunDescription.from_json(meta)
    except (TypeError, ValueError) as error:  # size, style scale, scales, blend...
        raise CheckpointError(
            f"{where}: metadata fields run and inputs: {error} ({written})"
        ) from None
    _check_arrays(checkpoint, description.run)
    state = MinimizerState(
        description.settings.optimizer.method,
        dict(checkpoint.arrays),
        meta["optimizer_state"],
        history_from_rows(meta["history"]),
        source=str(where),
    )
    iteration = meta["iteration"]
    status = meta.get("status", "running")
    return SavedRun(where, description, state, iteration, status, checkpoint)


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


# -- the metadata's schema -------------------------------------------------------------
_HISTORY = array(
    of_dataclass(
        IterationRecord,
        iteration=integer(0),
        evaluations=integer(0),
        scale=optional(integer(1)),
    )
)
_IMAGE = of_dataclass(ImageRecord, missing_ok=("path",))
# The longest edge a recorded run may have: 2^20 pixels, 12 TB of RGB float32.
MAX_LENGTH = 1 << 20
_SCALE = number(finite=True)
_PATH = optional(text())

#: The schema of a style-transfer checkpoint's metadata (see the module docstring):
#: :func:`load_run` checks every checkpoint against it.
METADATA = record(
    {
        "kind": text(KIND),
        # Each setting's own check (naah.settings) reads the values.
        "settings": record({}, others=anything(4)),
        "run": record(
            {
                "iterations": integer(0),
                "size": optional(integer(1, MAX_LENGTH)),
                "style_scale": either(_SCALE, array(_SCALE)),
            },
            {
                "init": text(),
                "scales": array(integer(1, MAX_LENGTH)),
                "scale_iterations": array(integer(0)),
                "scale_index": integer(0),
                "earlier_history": _HISTORY,
            },
        ),
        "inputs": record(
            {
                "content": _IMAGE,
                "weights": record(
                    {"path": _PATH, "sha256": optional(text())},
                    {"size": optional(integer(0))},
                    others=anything(2),
                ),
            },
            {
                "guide_mode": text(),
                "style": _IMAGE,
                "styles": array(_IMAGE),
                "style_blend": optional(array(number(finite=True))),
                "regions": array(of_dataclass(RegionRecord, weight=_SCALE)),
            },
        ),
        "iteration": integer(-1),
        "history": _HISTORY,
        "optimizer_state": record(
            {
                "learning_rate": number(finite=True),
                "rollbacks": integer(0),
                "best_iteration": integer(-1),
                "best_loss": number(),
                "started": boolean(),
            },
            {
                # L-BFGS's (naah.optim.lbfgs) and the first-order methods'.
                "lbfgs_layout": text(),
                "lbfgs_history": integer(1),
                "recorded": boolean(),
                "anchor": boolean(),
            },
        ),
    },
    {
        "version": integer(1, VERSION),
        "naah_version": text(),
        "status": text(),
        # The caller's; naah stylize keeps its files there (naah.cli.running).
        "info": record(
            {},
            {key: _PATH for key in ("output", "history", "plot", "content")},
            others=anything(4),
        ),
    },
    others=anything(4),
)


def _check_consistency(meta: Mapping[str, Any]) -> None:
    """What the schema of each field cannot say: fields that must agree."""
    unknown = [name for name in meta["settings"] if name not in specs()]
    if unknown:
        raise SchemaError(f"settings.{unknown[0][:60]}", "is no setting of this naah")
    run = meta["run"]
    pyramid = ("scales", "scale_iterations", "scale_index", "earlier_history")
    if "scales" in run or "scale_index" in run:
        for key in pyramid:
            if key not in run:
                raise SchemaError(f"run.{key}", "is missing (the run has scales)")
        scales = len(run["scales"])
        if len(run["scale_iterations"]) != scales:
            raise SchemaError(
                "run.scale_iterations",
                f"has {len(run['scale_iterations'])} values for {scales} scales",
            )
        if run["scale_index"] >= scales:
            raise SchemaError(
                "run.scale_index", f"is {run['scale_index']}, beyond {scales} scales"
            )
    inputs = meta["inputs"]
    if not any(key in inputs for key in ("regions", "styles", "style")):
        raise SchemaError("inputs.style", "is missing")
    iteration, records = meta["iteration"], len(meta["history"])
    if iteration != records - 1:
        raise SchemaError(
            "iteration", f"is {iteration}, but the history has {records} records"
        )
    best = meta["optimizer_state"]["best_iteration"]
    if best > iteration:
        raise SchemaError(
            "optimizer_state.best_iteration",
            f"is {best}, beyond the last iteration ({iteration})",
        )


def _check_arrays(checkpoint: Checkpoint, run: RunRecord) -> None:
    """The iterate and the best image: listed, (1, 3, H, W) alike, no longer than
    the run's size; the optimiser checks its own arrays when it restores them."""
    arrays, where = checkpoint.arrays, checkpoint.path
    missing = {"image", "best_image"} - set(arrays)
    if missing:
        raise CheckpointError(f"{where} lacks arrays {sorted(missing)}")
    image, best = arrays["image"], arrays["best_image"]
    shape = image.shape
    if len(shape) != 4 or shape[:2] != (1, 3) or 0 in shape:
        raise CheckpointError(
            f"{where}: array 'image' has shape {shape}; an image is (1, 3, H, W)"
        )
    if best.shape != shape:
        raise CheckpointError(
            f"{where}: array 'best_image' has shape {best.shape}, 'image' {shape}"
        )
    if run.size is not None and max(shape[2:]) > run.size:
        raise CheckpointError(
            f"{where}: array 'image' is {shape[3]}x{shape[2]} pixels, larger than "
            f"the run's size ({run.size}, metadata field run.size)"
        )


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
