"""What a style-transfer checkpoint holds, when one is written, and reading it back.

The file format is :mod:`naah.io.checkpoint` (a zip of ``.npy`` arrays and JSON).
A style-transfer checkpoint's arrays are the :class:`naah.optim.MinimizerState`'s:
the current iterate ``image`` and the ``best_image`` (both preprocessed, (1, 3, H,
W)), and the optimiser's own (``lbfgs.*``, L-BFGS-B's workspace and line search;
``first_order.*``, Adam's moments and step). Its metadata (JSON) holds:

``kind``
    ``"style-transfer"``.
``naah_version``
    The version that wrote it.
``settings``
    Every keyword of :class:`naah.StyleTransfer` (layers, α, β, pooling, optimiser…).
``run``
    ``size``, ``style_scale``, ``init`` and the ``iterations`` asked for.
``inputs``
    ``content``, ``style`` and ``weights``: each with its ``path`` (None for an
    array) and ``sha256``. For images the checksum is of the pixels as used
    (float32 after resizing), so a file that was re-encoded but gives the same
    pixels is the same input; for the weights it is the file's.
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
from dataclasses import asdict
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

KIND = "style-transfer"
# Defaults of naah stylize: every 50 iterations and at least once a minute.
CHECKPOINT_EVERY = 50
CHECKPOINT_SECONDS = 60.0
# Time-based checkpoints are spaced so that writing them costs at most this share
# of the run (a 2048-px L-BFGS state is 2.5 GB: once a minute would cost more).
MAX_OVERHEAD = 0.02
_REQUIRED = (
    ("run", "iterations"),
    ("run", "size"),
    ("run", "style_scale"),
    ("inputs", "content"),
    ("inputs", "style"),
    ("inputs", "weights"),
)


def sha256_of_pixels(image: np.ndarray) -> str:
    """SHA-256 of an image's float32 pixels and shape."""
    pixels = np.ascontiguousarray(image, dtype=np.float32)
    digest = hashlib.sha256(repr(pixels.shape).encode())
    digest.update(pixels.tobytes())
    return digest.hexdigest()


class Checkpointer:
    """Writes a run's checkpoints: every ``every`` iterations, at least every
    ``seconds`` (but never so often that writing takes more than
    :data:`MAX_OVERHEAD` of the run), and whenever :meth:`write` is called.

    Parameters
    ----------
    path : path-like
    description : dict
        The metadata that does not change during the run (``settings``, ``run``,
        ``inputs``; see the module's docstring).
    every : int
    seconds : float
    """

    def __init__(
        self,
        path: str | os.PathLike,
        description: dict[str, Any],
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
        metadata = {
            **self.description,
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


def read_run(path: str | os.PathLike) -> tuple[Checkpoint, MinimizerState]:
    """Read a style-transfer checkpoint and the optimiser state in it.

    Raises
    ------
    CheckpointError
        If the file is not a complete style-transfer checkpoint.
    """
    checkpoint = read_checkpoint(path)
    meta = checkpoint.metadata
    if meta.get("kind") != KIND:
        raise CheckpointError(f"{checkpoint.path} is not a style-transfer checkpoint")
    try:
        method = meta["settings"]["optimizer"]
        history = history_from_rows(meta["history"])
        info = _floats_back(meta["optimizer_state"])
        for section, key in _REQUIRED:
            if key not in meta[section]:
                raise KeyError(f"{section}.{key}")
    except (KeyError, TypeError) as error:
        raise CheckpointError(
            f"{checkpoint.path}: its metadata lacks {error} (written by naah "
            f"{meta.get('naah_version', '?')})"
        ) from None
    missing = {"image", "best_image"} - set(checkpoint.arrays)
    if missing:
        raise CheckpointError(f"{checkpoint.path} lacks arrays {sorted(missing)}")
    return checkpoint, MinimizerState(method, dict(checkpoint.arrays), info, history)


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
