"""The output paths of ``naah stylize``: checked before any work, never an input;
those a checkpoint records, only where they replace no one else's file."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection
from pathlib import Path

from naah.checks import PrintSize
from naah.cli.common import UsageError
from naah.io.files import same_file
from naah.io.images import DPI_FORMATS, SAVE_FORMATS, SIXTEEN_BIT_FORMATS

__all__ = [
    "HISTORY_FORMATS",
    "checkpoint_path",
    "distinct",
    "image_format",
    "inputs_kept",
    "is_snapshot_name",
    "not_snapshots",
    "plot_formats",
    "plot_path",
    "recorded_file",
    "same_file",
    "snapshot_path",
    "writable",
    "writable_file",
]

HISTORY_FORMATS = (".csv", ".json")


def checkpoint_path(
    checkpoint: str | None, no_checkpoint: bool, output: Path | None
) -> Path | None:
    """--checkpoint PATH, OUT_stem.ckpt by default, or None with --no-checkpoint."""
    if no_checkpoint:
        if checkpoint is not None:
            raise UsageError("--checkpoint and --no-checkpoint contradict each other")
        return None
    if checkpoint is not None:
        return writable_file(checkpoint, "--checkpoint", (".ckpt",))
    if output is None:
        return None
    return output.with_name(f"{output.stem}.ckpt")


def snapshot_path(output: Path, iteration: int, iterations: int) -> Path:
    """Where --save-every writes the image at ``iteration``: OUT_stem.iterNNNN.EXT,
    NNNN zero-padded to 4 digits or those of ``iterations``."""
    digits = max(4, len(str(iterations)))
    return output.with_name(f"{output.stem}.iter{iteration:0{digits}d}{output.suffix}")


def is_snapshot_name(name: str, output: Path, every: int, iterations: int) -> bool:
    """Whether --save-every writes a snapshot of ``output`` named ``name``."""
    pattern = rf"{re.escape(output.stem)}\.iter(\d+){re.escape(output.suffix)}"
    match = re.fullmatch(pattern, name)
    if match is None:
        return False
    iteration = int(match[1])
    return (
        iteration <= iterations
        and iteration % every == 0
        and snapshot_path(output, iteration, iterations).name == name
    )


def writable(path: str | None, what: str, suffixes: Collection[str]) -> Path | None:
    """``path`` as a Path once it is known that a file of that type can go there."""
    return None if path is None else writable_file(path, what, suffixes)


def writable_file(path: str | Path, what: str, suffixes: Collection[str]) -> Path:
    """:func:`_writable` for a ``path`` that is given."""
    file = Path(path).expanduser()
    if file.suffix.lower() not in suffixes:
        raise UsageError(
            f"{what} {str(file)!r}: unsupported extension {file.suffix or '(none)'!r}; "
            f"use one of {', '.join(suffixes)}"
        )
    if file.is_dir():
        raise UsageError(f"{what} {str(file)!r} is a directory; give a file name")
    folder = file.parent
    if not folder.is_dir():
        raise UsageError(
            f"{what} {str(file)!r}: folder {str(folder)!r} does not exist; create it first"
        )
    try:  # a real probe: os.access is no guide for root or read-only mounts
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{file.name}."):
            pass
    except OSError as error:
        raise UsageError(
            f"{what} {str(file)!r}: folder {str(folder)!r} is not writable "
            f"({error.strerror or error})"
        ) from None
    return file


def plot_path(plot: bool, given: str | None, output: Path) -> Path | None:
    """--plot-path PATH, or OUT_stem.loss.png for --plot, or None for neither."""
    if given is None and not plot:
        return None
    what = "--plot" if given is None else "--plot-path"
    default = output.with_name(f"{output.stem}.loss.png")
    path = default if given is None else Path(given)
    return writable_file(path, what, plot_formats(what))


def plot_formats(what: str) -> list[str]:
    """The extensions of the files matplotlib plots to (``.png``, ``.pdf`` …);
    ``what`` needs it, for the message when it is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError(f"{what} needs matplotlib: pip install 'naah[plot]'") from None
    return sorted({f".{ext}" for ext in Figure().canvas.get_supported_filetypes()})


def recorded_file(recorded: object, what: str, checkpoint: Path, instead: str) -> Path:
    """A path that ``checkpoint`` records for its run's ``what``, once it is known
    that writing there replaces nothing but the run's own file: it is in the
    checkpoint's folder, or no file is there yet. A checkpoint from elsewhere may
    name any file; ``instead`` is the option that gives the path anew."""
    if not isinstance(recorded, str) or not recorded:
        raise UsageError(
            f"{checkpoint} records no usable path for its {what}: give {instead}"
        )
    path = Path(recorded)
    if os.path.lexists(path) and not same_file(path.parent, checkpoint.parent):
        raise UsageError(
            f"{checkpoint} records its {what} as {recorded!r}, a file that exists "
            "outside the checkpoint's folder; naah writes a recorded path only beside "
            f"the checkpoint or where no file is yet: give {instead}"
        )
    return path


def distinct(outputs: dict[str, Path | None]) -> None:
    """Refuse two outputs that are one file."""
    seen: list[tuple[str, Path]] = []
    for what, path in outputs.items():
        if path is None:
            continue
        for other, earlier in seen:
            if same_file(path, earlier):
                raise UsageError(
                    f"{what} and {other} are the same file {str(path)!r}; give each "
                    "its own name"
                )
        seen.append((what, path))


def not_snapshots(
    outputs: dict[str, Path | None], output: Path, every: int, iterations: int
) -> None:
    """Refuse an output that a --save-every snapshot would replace."""
    for what, path in outputs.items():
        if (
            path is not None
            and is_snapshot_name(path.name, output, every, iterations)
            and same_file(path.parent, output.parent)
        ):
            raise UsageError(
                f"{what} {str(path)!r} is a name --save-every writes a snapshot to; "
                "choose another"
            )


def inputs_kept(
    inputs: dict[str, str],
    outputs: dict[str, Path | None],
    save_every: int | None = None,
    total: int = 0,
) -> None:
    """Refuse an output, or a --save-every snapshot, that is one of the inputs."""
    for what, path in outputs.items():
        for source, given in inputs.items():
            if path is not None and same_file(path, Path(given)):
                raise UsageError(
                    f"{what} {str(path)!r} is the {source} {given!r}; naah never "
                    "writes over its inputs: choose another name"
                )
    output = outputs.get("output image")
    if save_every is None or output is None:
        return
    # Inputs exist, so a snapshot that is one of them exists too: look at the files
    # named like snapshots in the output's folder (links and all).
    try:
        names = os.listdir(output.parent)
    except OSError:
        return
    for name in names:
        if is_snapshot_name(name, output, save_every, total):
            snapshot = output.with_name(name)
            for source, given in inputs.items():
                if same_file(snapshot, Path(given)):
                    raise UsageError(
                        f"--save-every would write the snapshot {str(snapshot)!r} "
                        f"over the {source} {given!r}; naah never writes over its "
                        "inputs: choose another -o name or move the input"
                    )


def image_format(
    output: Path, bit_depth: int, dpi: float | None, size: object = None
) -> tuple[int, float | None]:
    """The bits per channel and the dpi the images go to ``output`` with, checked
    against its format before any work: ``--bit-depth 16`` needs PNG or TIFF,
    ``--dpi`` a format that records it. Without ``--dpi``, a ``--size`` given as a
    print (30cm@300dpi, a :class:`naah.checks.PrintSize`) gives its dpi, where the
    format can record it."""
    fmt = SAVE_FORMATS[output.suffix.lower()]
    if bit_depth == 16 and fmt not in SIXTEEN_BIT_FORMATS:
        raise UsageError(
            f"--bit-depth 16: output image {str(output)!r} is {fmt}, which holds 8 "
            f"bits per channel; name it {output.stem}.png or {output.stem}.tif, or "
            "leave out --bit-depth 16"
        )
    if dpi is not None and fmt not in DPI_FORMATS:
        raise UsageError(
            f"--dpi: output image {str(output)!r} is {fmt}, which cannot record a "
            "resolution; write a .png, .tif or .jpg, or leave out --dpi"
        )
    if dpi is None and isinstance(size, PrintSize) and fmt in DPI_FORMATS:
        dpi = size.dpi
    return bit_depth, dpi
