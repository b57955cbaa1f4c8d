"""``naah weights``: download, info, path, normalize and fixture."""

from __future__ import annotations

import argparse
from pathlib import Path

from naah.architecture import CONV_LAYERS
from naah.checks import as_int, positive_int, seed
from naah.cli.common import EXIT_FAILURE, PROG, UsageError, print_error
from naah.cli.paths import same_file, writable_file
from naah.io.files import check_regular_file
from naah.io.locate import (
    WeightsNotFoundError,
    default_weights_path,
    find_weights,
    search_order,
)
from naah.io.sources import NO_DOWNLOAD_ENV, SOURCES, downloads_allowed, fetch_weights
from naah.io.weights import load_weights
from naah.models import POOL_MODES
from naah.progress import printer
from naah.runtime import Runtime
from naah.settings import option_type

FORMAT_NAMES = {
    "matconvnet": "MatConvNet, MATLAB v5/v7 MAT-file",
    "matlab-v7.3": "MatConvNet, MATLAB v7.3 MAT-file (HDF5)",
    "keras-h5": "Keras HDF5",
}
CHECKSUM_NOTES = {
    "verified": "verified: it is the published file",
    "mismatch": "MISMATCH: named like a published file but different "
    "(a partial or corrupt download?)",
    "unknown": "unknown: not one of the published files",
    "not computed": "not computed",
}


def add_weights_parser(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """Add ``naah weights ACTION`` to the ``naah`` parser's subcommands."""
    weights = commands.add_parser(
        "weights", help="download, find and inspect the VGG-19 weights"
    )
    actions = weights.add_subparsers(dest="action", required=True, metavar="ACTION")
    download = actions.add_parser(
        "download",
        parents=[common],
        help="fetch imagenet-vgg-verydeep-19.mat into naah's cache",
        description="Download imagenet-vgg-verydeep-19.mat (535 MB), resuming an "
        "interrupted download, and verify its SHA-256.",
    )
    download.add_argument(
        "--dest",
        metavar="PATH",
        help=f"file or existing folder to write to (default {default_weights_path()})",
    )
    download.add_argument(
        "--source",
        choices=tuple(SOURCES),
        default="matconvnet",
        help="matconvnet: imagenet-vgg-verydeep-19.mat (535 MB); "
        "keras-notop: Keras' 80 MB file of the same convolutions, "
        "without fc6-fc8 (style transfer, not classification)",
    )
    download.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    download.set_defaults(handler=_download)
    info = actions.add_parser("info", parents=[common], help="describe a weights file")
    info.add_argument("file", metavar="FILE")
    info.set_defaults(handler=_info)
    where = actions.add_parser(
        "path", parents=[common], help="where naah looks for the weights"
    )
    where.set_defaults(handler=_path)
    normalize = actions.add_parser(
        "normalize",
        parents=[common],
        help="rescale the weights so every filter's mean activation is 1 (Gatys et al.)",
        description="Write Gatys et al.'s normalised VGG-19: each conv layer rescaled so "
        "that the mean rectified activation of every filter over the given images is 1 "
        "(fc6-fc8 are left unscaled). naah stylize picks loss weights to suit it.",
    )
    normalize.add_argument(
        "weights", metavar="WEIGHTS", help="the weights to normalise"
    )
    normalize.add_argument(
        "--images",
        required=True,
        metavar="DIR",
        help="folder of .jpg/.png images to measure on",
    )
    normalize.add_argument(
        "--size",
        type=option_type(as_int, positive_int),
        default=224,
        metavar="N",
        help="long edge the images are resized to (default 224)",
    )
    normalize.add_argument(
        "--pooling",
        choices=POOL_MODES,
        default="max",
        help="pooling while measuring (default %(default)s)",
    )
    normalize.add_argument(
        "--verify",
        action="store_true",
        help="measure the written network again and report",
    )
    normalize.add_argument("-o", "--output", required=True, metavar="OUT.mat")
    normalize.set_defaults(handler=_normalize)
    fixture = actions.add_parser(
        "fixture",
        parents=[common],
        help="write small random stand-in weights (NOT pretrained), to check an "
        "install offline",
        description="Write a small VGG-19-shaped MatConvNet file with random, narrow "
        "layers: naah runs end to end on it in seconds, but its results are not "
        "style transfers. For checking an install without the 535 MB download.",
    )
    fixture.add_argument("file", metavar="PATH", help="the .mat file to write")
    fixture.add_argument(
        "--seed",
        type=option_type(as_int, seed),
        default=0,
        metavar="N",
        help="seed of the random weights (default 0)",
    )
    fixture.set_defaults(handler=_fixture)
    return weights


def add_weights_options(group: argparse._ActionsContainer) -> None:
    """``--weights PATH`` and ``--no-download``, as ``naah stylize`` and ``naah
    video`` take them."""
    group.add_argument(
        "--weights",
        metavar="PATH",
        help="VGG-19 weights file (default: $NAAH_WEIGHTS, then the cache)",
    )
    group.add_argument(
        "--no-download",
        action="store_true",
        help="if no weights are found, refuse instead of downloading them (also "
        f"${NO_DOWNLOAD_ENV}=1)",
    )


def find_weights_file(path: str | None, download: bool = False) -> Path | None:
    """The weights file; None if none is found and it may be downloaded (after
    every other check: :func:`download_weights_now`)."""
    try:
        return find_weights(path)
    except WeightsNotFoundError as error:
        if path is not None:
            raise UsageError(f"--weights: {error}") from None
        if download and downloads_allowed():
            return None
        raise


def download_weights_now(quiet: bool) -> Path:
    """Weights on first use: fetched into the cache, and the run goes on."""
    printer(quiet)(
        f"{PROG}: no VGG-19 weights found; downloading them into the cache (535 MB, "
        f"once; --no-download or ${NO_DOWNLOAD_ENV}=1 refuses)"
    )
    path = fetch_weights(progress=not quiet)
    printer(quiet)(f"{PROG}: {path} is ready (checksum verified)")
    return path


# -- weights ---------------------------------------------------------------------------
def _download(args: argparse.Namespace) -> int:
    say = printer(args.quiet)
    size = SOURCES[args.source][0].file.size or 0
    say(
        f"{PROG}: fetching {SOURCES[args.source][0].file.name} ({size / 1e6:.0f} MB; "
        "an interrupted download resumes)"
    )
    path = fetch_weights(args.source, dest=args.dest, progress=not args.quiet)
    say(f"{PROG}: {path} is ready (checksum verified)")
    if args.source == "keras-notop":
        say(f"{PROG}: it has no fc6-fc8: it serves style transfer, not classification")
    return 0


def _info(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if path.is_dir():
        inside = str(path / default_weights_path().name)
        raise UsageError(
            f"{args.file!r} is a directory, not a weights file; give the path of "
            f"the file in it, e.g. {inside!r}"
        )
    if not path.exists():
        raise UsageError(f"no weights file at {args.file!r}")
    try:  # a FIFO would block, a device never end: refused unopened
        check_regular_file(path, "weights file")
    except ValueError as error:
        raise UsageError(str(error)) from None
    # Loaded even if it holds NaN or infinity, so that info can say where.
    weights = load_weights(args.file, check_finite=False)
    non_finite = weights.non_finite()
    source = weights.source
    convs = [n for n in weights.params if n in CONV_LAYERS]
    others = [n for n in weights.params if n not in CONV_LAYERS]
    names = f"{convs[0]}..{convs[-1]} ({len(convs)} convolutions)" if convs else ""
    names = ", ".join(filter(None, [names, *others]))
    widths = ", ".join("-" if w is None else str(w) for w in weights.widths())
    mean = ", ".join(f"{v:.3f}" for v in weights.mean_pixel)
    if weights.class_names:
        first = weights.class_names[0]
        if weights.class_descriptions:
            first += f" {weights.class_descriptions[0]!r}"
        classes = f"{len(weights.class_names)} (first: {first})"
    else:
        classes = "none in this file"
    rows = {
        "file": source.path,
        "format": f"{source.format} ({FORMAT_NAMES.get(source.format, '?')})",
        "release": source.release,
        "layers": f"{len(weights.params)} weight layers: {names}",
        "conv widths": f"{widths} (blocks 1-5)",
        "mean pixel": f"{mean} (RGB, 0-255)",
        "classes": classes,
        "size": f"{source.size:,} bytes",
        "sha256": source.sha256 or "not computed",
        "checksum": CHECKSUM_NOTES.get(source.checksum, source.checksum),
        "values": "NOT FINITE: " + "; ".join(non_finite)
        if non_finite
        else "all finite",
    }
    for key, value in rows.items():
        print(f"{key + ':':<13}{value}")
    if non_finite:
        print_error(
            f"{source.path} holds NaN or infinite values, so naah cannot use it; "
            "download it again"
        )
        return EXIT_FAILURE
    return 0


def _normalize(args: argparse.Namespace) -> int:
    from naah.normalize import normalize_file

    output = writable_file(args.output, "-o", (".mat",))
    weights = find_weights(args.weights)
    if same_file(output, weights):
        raise UsageError(f"-o {str(output)!r} is the weights file; choose another name")
    images = Path(args.images).expanduser()
    if not images.exists():
        raise UsageError(f"--images: no folder or file at {str(images)!r}")
    report = normalize_file(
        weights,
        images,
        output,
        args.size,
        pooling=args.pooling,
        verify=args.verify,
        runtime=Runtime(keep_freed_memory=True),
    )
    print(report)
    return 0


def _fixture(args: argparse.Namespace) -> int:
    from naah.testing import DEFAULT_WIDTHS, write_vgg19_mat

    path = writable_file(args.file, "weights fixture", (".mat",))
    write_vgg19_mat(path, seed=args.seed)
    widths = ", ".join(map(str, DEFAULT_WIDTHS))
    print(
        f"{PROG}: wrote {path}: random stand-in weights with narrow layers ({widths} "
        "channels per block), NOT pretrained; naah runs end to end on them, but the "
        "results are not style transfers"
    )
    return 0


def _path(args: argparse.Namespace) -> int:
    """Where naah looks and what it would use: an answer, so exit status 0 also
    when nothing is found (then what to do, on the "using:" line)."""
    for label, path in search_order():
        state = "found" if path.is_file() else "missing"
        print(f"{label + ':':<15}{path} ({state})")
    try:
        using = str(find_weights())
    except WeightsNotFoundError as missing:
        using = f"none: {missing}"
    print(f"{'using:':<15}{using}")
    return 0
