"""Where a video run keeps its work, so that none of it is ever done twice.

A run's work folder holds:

``manifest.json``
    What the run is (its settings and a checksum of every input: each content
    frame as the network gets it, the styles, the weights) and each finished
    step: the file of its frame, that file's SHA-256, its losses and time.
``flows/FROM_TO.npy``
    Each optical flow, computed once.
``pass_P/frame_NNNNN.png``
    The result of each frame of each pass (lossless: the next frame is warped
    from exactly these pixels, whether the run was interrupted or not).
``pass_P/frame_NNNNN.ckpt``
    The checkpoint of the frame in progress (:mod:`naah.checkpointing`), removed
    once its frame is written.

Every file is written whole or not at all (:func:`naah.io.files.write_atomically`),
the frame before the manifest that names it, so after Ctrl-C, SIGTERM or kill -9
a rerun of the same command trusts only what the manifest names and finds intact,
and loses at most the current frame's iterations since its last checkpoint. A
rerun with other settings or inputs is refused before any work (``overwrite``
starts again).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from naah.io.files import (
    remove_stale_temporaries,
    sha256_of_file,
    write_atomically,
)
from naah.io.images import save_image
from naah.io.video import frame_path

__all__ = ["WorkFolder", "WorkMismatch", "digest"]

MANIFEST = "manifest.json"
KIND = "naah video"
VERSION = 1


class WorkMismatch(ValueError):
    """A work folder that holds another run (other settings or inputs)."""


def digest(array: np.ndarray) -> str:
    """The SHA-256 of an array's shape, dtype and bytes."""
    array = np.ascontiguousarray(array)
    hasher = hashlib.sha256(f"{array.dtype.str}{array.shape}".encode())
    hasher.update(array.data)
    return hasher.hexdigest()


class WorkFolder:
    """A video run's work folder (see the module docstring).

    Parameters
    ----------
    path : path
        The folder (created).
    identity : mapping
        What the run is: its settings and its inputs' checksums, as JSON.
    overwrite : bool
        Start again when the folder holds another run (else refuse).

    Raises
    ------
    WorkMismatch
        The folder holds another run and ``overwrite`` is false: the message
        names what differs and how to continue or start again.
    """

    def __init__(
        self, path: str | Path, identity: Mapping[str, Any], *, overwrite: bool = False
    ) -> None:
        self.path = Path(path)
        self.identity = json.loads(json.dumps(identity))
        self.done: dict[str, dict[str, Any]] = {}
        recorded = self._read()
        if recorded is not None and recorded.get("identity") != self.identity:
            if not overwrite:
                raise WorkMismatch(self._mismatch(recorded.get("identity")))
            recorded = None
        if recorded is None and self.path.exists():
            self._clear()
        self.path.mkdir(parents=True, exist_ok=True)
        if recorded is not None:
            _remove_stale_temporaries(self.path)
            self.done = {
                key: entry
                for key, entry in recorded.get("done", {}).items()
                if self._intact(entry)
            }
        self._write()

    # -- the manifest ---------------------------------------------------------------
    def _read(self) -> dict[str, Any] | None:
        file = self.path / MANIFEST
        if not file.is_file():
            return None
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise WorkMismatch(
                f"{file} cannot be read ({error}); delete the folder {self.path} or "
                "pass overwrite (--overwrite) to start again"
            ) from None
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise WorkMismatch(
                f"{self.path} is not a naah video work folder; choose another "
                "output, or delete it"
            )
        return data

    def _write(self) -> None:
        data = {
            "kind": KIND,
            "version": VERSION,
            "identity": self.identity,
            "done": self.done,
        }
        text = json.dumps(data, indent=1, sort_keys=True).encode()
        write_atomically(self.path / MANIFEST, lambda f: f.write(text))

    def _mismatch(self, recorded: Any) -> str:
        differs = _differences(recorded or {}, self.identity)
        shown = "; ".join(differs[:4]) + (" …" if len(differs) > 4 else "")
        return (
            f"{self.path} holds the work of another run ({shown}); rerun with "
            "the same options to continue it, or pass --overwrite (overwrite=True) "
            "to discard it and start again"
        )

    def _clear(self) -> None:
        """Remove a folder of naah's own work (only one with a manifest, or
        empty)."""
        if not self.path.is_dir():
            raise WorkMismatch(f"{self.path} is not a folder; choose another output")
        if (self.path / MANIFEST).is_file() or not any(self.path.iterdir()):
            shutil.rmtree(self.path)
            return
        raise WorkMismatch(
            f"{self.path} exists and is not a naah video work folder; choose "
            "another output, or move it away"
        )

    # -- frames -----------------------------------------------------------------------
    def frame_file(self, pass_: int, frame: int) -> Path:
        return frame_path(self.path / f"pass_{pass_}", frame)

    def checkpoint_file(self, pass_: int, frame: int) -> Path:
        return self.frame_file(pass_, frame).with_suffix(".ckpt")

    def finished(self, key: str) -> bool:
        return key in self.done

    def frame(self, pass_: int, frame: int) -> np.ndarray:
        """A finished frame's pixels, uint8 (H, W, 3)."""
        from PIL import Image

        with Image.open(self.frame_file(pass_, frame)) as image:
            return np.asarray(image.convert("RGB"))

    def finish(
        self, key: str, pass_: int, frame: int, image: np.ndarray, **facts: Any
    ) -> None:
        """Record a step as done: its frame written, then the manifest."""
        path = self.frame_file(pass_, frame)
        path.parent.mkdir(exist_ok=True)
        save_image(path, image)
        entry = {
            "file": str(path.relative_to(self.path)),
            "sha256": sha256_of_file(path),
        }
        self.done[key] = {**entry, **facts}
        self._write()
        self.checkpoint_file(pass_, frame).unlink(missing_ok=True)

    def _intact(self, entry: Any) -> bool:
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            return False
        path = self.path / entry["file"]
        return path.is_file() and sha256_of_file(path) == entry.get("sha256")

    # -- flows ------------------------------------------------------------------------
    def flow_file(self, source: int, target: int) -> Path:
        return self.path / "flows" / f"{source + 1:05d}_{target + 1:05d}.npy"

    def save_flow(self, source: int, target: int, flow: np.ndarray) -> None:
        path = self.flow_file(source, target)
        path.parent.mkdir(exist_ok=True)
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(flow, np.float32), allow_pickle=False)
        write_atomically(path, lambda f: f.write(buffer.getvalue()))

    def flow(self, source: int, target: int) -> np.ndarray | None:
        """A saved flow, or None (not computed yet, or unreadable)."""
        path = self.flow_file(source, target)
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            return None


def _remove_stale_temporaries(folder: Path) -> None:
    """Remove what writers killed mid-write (kill -9) left: their temporary
    files (:func:`naah.io.files.remove_stale_temporaries`), in every subfolder."""
    for temporary in folder.rglob(".*.tmp"):
        match = _TEMPORARY.match(temporary.name)
        if match:
            remove_stale_temporaries(temporary.with_name(match.group(1)))


_TEMPORARY = re.compile(r"^\.(.+)\.\d+(\.[0-9a-f]+)?\.tmp$")


def _differences(
    old: Mapping[str, Any], new: Mapping[str, Any], at: str = ""
) -> list[str]:
    """What differs between two identities, as ``name: old -> new``."""
    found = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        name = f"{at}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            found.extend(_differences(a, b, f"{name}."))
        elif a != b:
            found.append(f"{name}: {_short(a)} -> {_short(b)}")
    return found


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
