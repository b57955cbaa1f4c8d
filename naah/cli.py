"""The ``naah`` command: argument parsing and wiring of :mod:`naah`'s parts.

``naah stylize`` checks every option, input and output path before it loads the
weights or compiles anything. Exit status: 0 success, 1 a failure while working
(unreadable weights, a failed download…), 2 a bad command line (the message says
which option and why; nothing is written), 130 interrupted. Errors are one line on
stderr; ``--debug`` shows the traceback of failures instead.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NoReturn, TextIO, TypeVar

from naah._version import __version__
from naah.architecture import CONV_LAYERS
from naah.compile import BACKENDS, get_mode
from naah.io.download import download_weights
from naah.io.images import SAVE_FORMATS, ImageError, load_image, save_image
from naah.io.locate import (
    WeightsNotFoundError,
    default_weights_path,
    find_weights,
    search_order,
)
from naah.io.weights import load_weights
from naah.models import POOL_MODES
from naah.optim import METHODS, IterationRecord, OptimizerSettings
from naah.runtime import Runtime
from naah.style_transfer import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_SIZE,
    DEFAULT_STYLE_LAYERS,
    INITS,
    StyleTransfer,
)

if TYPE_CHECKING:
    import numpy as np

_T = TypeVar("_T")

PROG = "naah"
DEFAULT_ITERATIONS = 500  # StyleTransfer.run's default
HISTORY_FORMATS = (".csv", ".json")
EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
# Failures whose message says it all (WeightsError and ImageError are ValueErrors,
# DownloadError an OSError); any other exception is also named, with a --debug hint.
EXPECTED_ERRORS = (OSError, ValueError, ImportError)
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


class UsageError(Exception):
    """A bad command line: reported as ``naah: error: ...`` with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``naah`` command with ``argv`` (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0, 1 (failure), 2 (bad command line) or 130 (interrupted).

    Examples
    --------
    >>> main(["stylize", "content.jpg", "style.jpg", "-o", "out.png"])  # doctest: +SKIP
    0
    """
    debug = False
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exit_:  # --help, --version
            return int(exit_.code or 0)
        debug = getattr(args, "debug", False)
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.handler(args)
    except UsageError as error:
        _error(error)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:
        if debug:
            raise
        if isinstance(error, EXPECTED_ERRORS):
            _error(error)
        else:
            _error(f"{type(error).__name__}: {error} (--debug shows where)")
        return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    """The ``naah`` argument parser, with subcommands ``stylize`` and ``weights``."""
    # A _Parser, as typeshed wants a subcommand's parents of its parser's class; a
    # parent only lends its arguments, so its error() is never called.
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show the traceback of failures",
    )
    parser = _Parser(
        prog=PROG,
        description="Neural style transfer (Gatys, Ecker & Bethge 2015) on PyTensor.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_stylize(commands, common)
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
    download.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    download.set_defaults(handler=_download)
    info = actions.add_parser("info", parents=[common], help="describe a weights file")
    info.add_argument("file", metavar="FILE")
    info.set_defaults(handler=_info)
    where = actions.add_parser(
        "path", parents=[common], help="where naah looks for the weights"
    )
    where.set_defaults(handler=_path)
    return parser


def _add_stylize(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    p = commands.add_parser(
        "stylize",
        parents=[common],
        help="paint a content image in the style of another",
        description="Paint CONTENT in the style of STYLE (Gatys et al. 2015).",
    )
    p.add_argument("content", metavar="CONTENT", help="content image")
    p.add_argument("style", metavar="STYLE", help="style image")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help=f"result image ({', '.join(SAVE_FORMATS)})")  # fmt: skip
    p.add_argument("--weights", metavar="PATH",
                   help="VGG-19 weights file (default: $NAAH_WEIGHTS, then the cache)")  # fmt: skip
    p.add_argument("--size", type=_positive_int, default=DEFAULT_SIZE, metavar="N",
                   help="long edge of the result in pixels (default %(default)s)")  # fmt: skip
    p.add_argument("--style-scale", type=_positive_float, default=1.0, metavar="S",
                   help="style image's long edge relative to --size (default 1)")  # fmt: skip
    p.add_argument("--iterations", type=_non_negative_int, default=DEFAULT_ITERATIONS,
                   metavar="N", help="optimiser iterations (default %(default)s)")  # fmt: skip
    p.add_argument("--optimizer", choices=METHODS, default=METHODS[0],
                   help="optimiser (default %(default)s)")  # fmt: skip
    p.add_argument("--learning-rate", type=_positive_float,
                   default=OptimizerSettings.learning_rate, metavar="LR",
                   help="step size of adam and gd, in pixel units (default %(default)s)")  # fmt: skip
    p.add_argument("--beta1", type=float, default=OptimizerSettings.beta1,
                   help="Adam's beta1 (default %(default)s)")  # fmt: skip
    p.add_argument("--beta2", type=float, default=OptimizerSettings.beta2,
                   help="Adam's beta2 (default %(default)s)")  # fmt: skip
    p.add_argument("--alpha", type=_non_negative_float, default=DEFAULT_ALPHA,
                   help="content weight (default %(default)s)")  # fmt: skip
    p.add_argument("--beta", type=_non_negative_float, default=DEFAULT_BETA,
                   help="style weight (default %(default)s)")  # fmt: skip
    p.add_argument("--content-layers", type=_names, default=DEFAULT_CONTENT_LAYERS,
                   metavar="L1,L2", help="default " + ",".join(DEFAULT_CONTENT_LAYERS))  # fmt: skip
    p.add_argument("--style-layers", type=_names, default=DEFAULT_STYLE_LAYERS,
                   metavar="L1,L2", help="default " + ",".join(DEFAULT_STYLE_LAYERS))  # fmt: skip
    p.add_argument("--style-weights", type=_floats, metavar="W1,W2",
                   help="weight w_l of each style layer (default: equal, summing to 1)")  # fmt: skip
    p.add_argument("--tv-weight", type=_non_negative_float, default=0.0, metavar="W",
                   help="total-variation weight (default 0: off)")  # fmt: skip
    p.add_argument("--pooling", choices=POOL_MODES, default="max",
                   help="VGG pooling: max as trained, avg as Gatys et al. suggest (default %(default)s)")  # fmt: skip
    p.add_argument("--init", default=INITS[0], metavar="|".join((*INITS, "PATH")),
                   help="initial image: white noise, the content or style image, or a "
                   "file (default %(default)s)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
    p.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0],
                   help="how graphs run: see naah.compile; jax for GPUs (default %(default)s)")  # fmt: skip
    p.add_argument("--save-every", type=_positive_int, metavar="N",
                   help="also write the image every N iterations, as OUT_stem.iter0010.png…")  # fmt: skip
    p.add_argument("--plot", nargs="?", const=True, metavar="PATH",
                   help="plot the losses per iteration (default PATH OUT_stem.loss.png)")  # fmt: skip
    p.add_argument("--history", metavar="PATH",
                   help="write the losses per iteration as .csv or .json")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing but errors and warnings")  # fmt: skip
    p.set_defaults(handler=_stylize)


# -- stylize ---------------------------------------------------------------------------
def _stylize(args: argparse.Namespace) -> int:
    """Check everything, then load, compile, optimise and write."""
    output = _writable_file(args.output, "output image", SAVE_FORMATS)  # -o is required
    plot = _plot_path(args.plot, output)
    history = _writable(args.history, "--history", HISTORY_FORMATS)
    _distinct(output=output, plot=plot, history=history)
    transfer, weights = _style_transfer(args)
    content = _read_image(args.content, "content image")
    style = _read_image(args.style, "style image")
    init = args.init if args.init in INITS else _read_image(args.init, "--init")

    say = _printer(args.quiet)
    say(f"{PROG}: loading {weights} and compiling (slower the first time)...")
    start = time.perf_counter()
    result = transfer.run(
        content,
        style,
        iterations=args.iterations,
        size=args.size,
        style_scale=args.style_scale,
        init=init,
        callback=_snapshot_writer(output, args.save_every, args.iterations),
        progress=not args.quiet,
    )
    result.save(output)
    if history is not None:
        result.history.save(history)
    if plot is not None:
        from naah.plotting import plot_history

        plot_history(result.history, plot)
    elapsed = time.perf_counter() - start
    for path in (output, history, plot):
        if path is not None:
            say(f"{PROG}: wrote {path}")
    last = result.history[-1]
    say(
        f"{PROG}: {args.iterations} iterations in {elapsed:.1f} s; final loss "
        f"{last.total:.4g} (content {last.content:.4g}, style {last.style:.4g})"
    )
    return 0


def _style_transfer(args: argparse.Namespace) -> tuple[StyleTransfer, Path]:
    """Find the weights and check the settings; nothing is loaded yet."""
    try:
        weights = find_weights(args.weights)
    except WeightsNotFoundError as error:
        if args.weights is not None:
            raise UsageError(f"--weights: {error}") from None
        raise
    style_layers = args.style_layers
    if args.style_weights is not None:
        if len(args.style_weights) != len(style_layers):
            raise UsageError(
                f"--style-weights has {len(args.style_weights)} values but there are "
                f"{len(style_layers)} style layers ({','.join(style_layers)}); give "
                "one weight per layer"
            )
        style_layers = dict(zip(style_layers, args.style_weights, strict=True))
    try:
        transfer = StyleTransfer(
            weights,
            content_layers=args.content_layers,
            style_layers=style_layers,
            alpha=args.alpha,
            beta=args.beta,
            tv_weight=args.tv_weight,
            pooling=args.pooling,
            optimizer=args.optimizer,
            learning_rate=args.learning_rate,
            beta1=args.beta1,
            beta2=args.beta2,
            seed=args.seed,
            backend=args.backend,
            # A command runs one job and exits: keeping freed memory costs nothing
            # later and saves 16 % per evaluation at 512x512 (naah.runtime).
            runtime=Runtime(keep_freed_memory=True),
        )
        get_mode(args.backend)
    except (ValueError, ImportError) as error:
        raise UsageError(str(error)) from None
    return transfer, weights


def _snapshot_writer(
    output: Path, every: int | None, iterations: int
) -> Callable[[IterationRecord, np.ndarray], None] | None:
    if every is None:
        return None
    digits = max(4, len(str(iterations)))

    def write(record: IterationRecord, image: np.ndarray) -> None:
        if record.iteration % every == 0:
            name = f"{output.stem}.iter{record.iteration:0{digits}d}{output.suffix}"
            save_image(output.with_name(name), image)

    return write


def _read_image(path: str, what: str) -> np.ndarray:
    """Load an input image now, so that a bad one stops the command before work."""
    try:
        return load_image(path)
    except (OSError, ImageError) as error:
        raise UsageError(f"cannot read {what} {path!r}: {error}") from None


def _writable(path: str | None, what: str, suffixes: Collection[str]) -> Path | None:
    """``path`` as a Path once it is known that a file of that type can go there."""
    return None if path is None else _writable_file(path, what, suffixes)


def _writable_file(path: str | Path, what: str, suffixes: Collection[str]) -> Path:
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


def _plot_path(plot: str | Literal[True] | None, output: Path) -> Path | None:
    if plot is None:
        return None
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'naah[plot]'") from None
    formats = {f".{ext}" for ext in Figure().canvas.get_supported_filetypes()}
    path = output.with_name(f"{output.stem}.loss.png") if plot is True else plot
    return _writable_file(path, "--plot", sorted(formats))


def _distinct(**paths: Path | None) -> None:
    seen: dict[Path, str] = {}
    for name, path in paths.items():
        if path is None:
            continue
        key = path.resolve()
        if key in seen:
            raise UsageError(f"{name} and {seen[key]} are the same file {str(path)!r}")
        seen[key] = name


# -- weights ---------------------------------------------------------------------------
def _download(args: argparse.Namespace) -> int:
    say = _printer(args.quiet)
    say(
        f"{PROG}: fetching the VGG-19 weights (535 MB; an interrupted download resumes)"
    )
    path = download_weights(args.dest, progress=not args.quiet)
    say(f"{PROG}: {path} is ready (SHA-256 verified)")
    return 0


def _info(args: argparse.Namespace) -> int:
    if not Path(args.file).is_file():
        raise UsageError(f"no weights file at {args.file!r}")
    weights = load_weights(args.file)
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
    }
    for key, value in rows.items():
        print(f"{key + ':':<13}{value}")
    return 0


def _path(args: argparse.Namespace) -> int:
    for label, path in search_order():
        state = "found" if path.is_file() else "missing"
        print(f"{label + ':':<15}{path} ({state})")
    print(f"{'using:':<15}{find_weights()}")
    return 0


# -- helpers ---------------------------------------------------------------------------
def _printer(quiet: bool) -> Callable[[str], None]:
    def say(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr)

    return say


def _error(message: object) -> None:
    text = " ".join(str(message).split())
    print(f"{PROG}: error: {text}", file=sys.stderr)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    text = " ".join(str(message).split())
    print(f"{PROG}: warning: {text}", file=sys.stderr)


def _positive_int(text: str) -> int:
    value = _number(text, int, "an integer")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _non_negative_int(text: str) -> int:
    value = _number(text, int, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _number(text: str, kind: Callable[[str], _T], what: str) -> _T:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {what}, got {text!r}") from None


def _names(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(","))
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer names like conv1_1,conv2_1, got {text!r}"
        )
    return names


def _floats(text: str) -> tuple[float, ...]:
    return tuple(_non_negative_float(n.strip()) for n in text.split(","))
