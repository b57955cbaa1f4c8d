"""``naah stylize``: its options, and the checks and wiring before a run."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
from pathlib import Path

from naah.checkpointing import CHECKPOINT_EVERY
from naah.cli.arguments import (
    _adam_beta,
    _counts,
    _floats,
    _given_options,
    _names,
    _non_negative_float,
    _non_negative_int,
    _port,
    _positive_float,
    _positive_floats,
    _positive_int,
    _region_spec,
    _seed,
    _size,
)
from naah.cli.common import PROG, UsageError
from naah.cli.images import (
    _read_image,
    _regions,
    _sized_images,
    _style_files,
    _style_inputs,
    _style_plan,
)
from naah.cli.memory import _auto_size, _dry_run, _memory_check
from naah.cli.paths import (
    HISTORY_FORMATS,
    _checkpoint_path,
    _distinct,
    _inputs_kept,
    _not_snapshots,
    _plot_path,
    _writable,
    _writable_file,
)
from naah.cli.resume import _resume
from naah.cli.running import (
    _closing,
    _finish,
    _on_iteration,
    _Outputs,
    _style_transfer,
    _web_view,
)
from naah.cli.weights import _download_weights_now
from naah.color import COLOR_MODES, MATCH_MODES
from naah.compile import BACKENDS
from naah.io.images import SAVE_FORMATS
from naah.io.sources import NO_DOWNLOAD_ENV
from naah.live import chain
from naah.models import POOL_MODES
from naah.optim import METHODS, OptimizerSettings
from naah.progress import printer
from naah.regions import GUIDE_MODES
from naah.style_transfer import (
    DEFAULT_ALPHA,
    DEFAULT_BETA,
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_SIZE,
    DEFAULT_STYLE_LAYERS,
    INITS,
    StyleTransfer,
)

DEFAULT_ITERATIONS = 500  # StyleTransfer.run's default


def _add_stylize(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> None:
    p = commands.add_parser(
        "stylize",
        parents=[common],
        help="paint a content image in the style of another",
        description="Paint CONTENT in the style of STYLE (Gatys et al. 2015).",
    )
    p.add_argument("content", metavar="CONTENT", nargs="?",
                   help="content image (with --resume: the run's, by default)")  # fmt: skip
    p.add_argument("styles", metavar="STYLE", nargs="*",
                   help="style image; several are blended (--style-blend); none with "
                   "--region or --resume (the run's)")  # fmt: skip
    p.add_argument("-o", "--output", metavar="OUT",
                   help=f"result image ({', '.join(SAVE_FORMATS)}): the iterate of "
                   "lowest loss; required but with --resume")  # fmt: skip
    p.add_argument("--resume", metavar="CKPT",
                   help="continue the run of checkpoint CKPT, with its settings; "
                   "--iterations is the new total")  # fmt: skip
    p.add_argument("--checkpoint", metavar="PATH",
                   help="where to write the run's checkpoint (default OUT_stem.ckpt; "
                   "with --resume, CKPT)")  # fmt: skip
    p.add_argument("--checkpoint-every", type=_positive_int, default=CHECKPOINT_EVERY,
                   metavar="N", help="write the checkpoint every N iterations and at "
                   "least once a minute (default %(default)s)")  # fmt: skip
    p.add_argument("--no-checkpoint", action="store_true",
                   help="write no checkpoint")  # fmt: skip
    p.add_argument("--no-download", action="store_true",
                   help=f"if no weights are found, refuse instead of downloading them "
                   f"(also ${NO_DOWNLOAD_ENV}=1)")  # fmt: skip
    p.add_argument("--weights", metavar="PATH",
                   help="VGG-19 weights file (default: $NAAH_WEIGHTS, then the cache)")  # fmt: skip
    p.add_argument("--size", type=_size, default=DEFAULT_SIZE, metavar="N|auto",
                   help="long edge of the result in pixels; auto: the largest that fits "
                   "in memory, at most the content's own (default %(default)s)")  # fmt: skip
    p.add_argument("--dry-run", action="store_true",
                   help="print the memory estimate and the expected seconds per "
                   "iteration (a short calibration), then exit")  # fmt: skip
    p.add_argument("--force", action="store_true",
                   help="run even if the memory estimate exceeds the memory available")  # fmt: skip
    p.add_argument("--style-scale", type=_positive_floats, default=(1.0,), metavar="S",
                   help="style image's long edge relative to --size: one value, or "
                   "one per style S1,S2 (default 1)")  # fmt: skip
    p.add_argument("--style-blend", type=_floats, metavar="W1,W2",
                   help="weights of several STYLE images, normalised to sum 1 "
                   "(default: equal)")  # fmt: skip
    p.add_argument("--region", action="append", type=_region_spec,
                   metavar="MASK=STYLE[:STYLE_MASK]",
                   help="spatial control (Gatys et al. 2017): the part of CONTENT "
                   "where greyscale MASK is white takes STYLE's style (or that of "
                   "STYLE_MASK's part of it); repeat for each region")  # fmt: skip
    p.add_argument("--guide-mode", choices=GUIDE_MODES, default="simple",
                   help="masks at each layer: resized (simple) or eroded to the "
                   "positions whose receptive field is inside (default %(default)s)")  # fmt: skip
    p.add_argument("--iterations", type=_counts, default=(DEFAULT_ITERATIONS,),
                   metavar="N", help="optimiser iterations, in all; with --scales "
                   f"one per scale, N1,N2,… (default {DEFAULT_ITERATIONS})")  # fmt: skip
    p.add_argument("--scales", type=_counts, metavar="S1,S2",
                   help="coarse to fine (Gatys et al. 2017): long edges, increasing, "
                   "e.g. 256,512,1024; each starts from the last, upsampled; "
                   "replaces --size")  # fmt: skip
    p.add_argument("--optimizer", choices=METHODS, default=METHODS[0],
                   help="optimiser (default %(default)s)")  # fmt: skip
    p.add_argument("--learning-rate", type=_positive_float,
                   default=OptimizerSettings.learning_rate, metavar="LR",
                   help="step size of adam and gd, in pixel units (default %(default)s)")  # fmt: skip
    p.add_argument("--beta1", type=_adam_beta, default=OptimizerSettings.beta1,
                   help="Adam's beta1, in [0, 1) (default %(default)s)")  # fmt: skip
    p.add_argument("--beta2", type=_adam_beta, default=OptimizerSettings.beta2,
                   help="Adam's beta2, in [0, 1) (default %(default)s)")  # fmt: skip
    p.add_argument("--alpha", "--content-weight", dest="alpha", metavar="ALPHA",
                   type=_non_negative_float, default=DEFAULT_ALPHA,
                   help="content weight α (default %(default)s)")  # fmt: skip
    p.add_argument("--beta", "--style-weight", dest="beta", metavar="BETA",
                   type=_non_negative_float, default=DEFAULT_BETA,
                   help="style weight β (default %(default)s)")  # fmt: skip
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
    p.add_argument("--seed", type=_seed, default=0, metavar="N",
                   help="seed of the noise, 0 or more (default 0)")  # fmt: skip
    p.add_argument("--color", choices=COLOR_MODES, default=None,
                   help="colour control (Gatys et al. 2017): luminance-only transfer, "
                   "style recoloured to the content's colour histogram, or the "
                   "result given the content's colours (default: the style's)")  # fmt: skip
    p.add_argument("--color-match", choices=MATCH_MODES, default="pca",
                   help="linear map of --color histogram (default %(default)s)")  # fmt: skip
    p.add_argument("--backend", choices=BACKENDS, default=BACKENDS[0],
                   help="how graphs run: see naah.compile; jax for GPUs (default %(default)s)")  # fmt: skip
    p.add_argument("--save-every", type=_positive_int, metavar="N",
                   help="also write the image every N iterations (and at the start), "
                   "beside OUT as OUT_stem.iterNNNN.EXT: NNNN is the iteration, "
                   "4 digits or more")  # fmt: skip
    p.add_argument("--print-every", type=_non_negative_int, default=0, metavar="N",
                   help="print the losses every N iterations, one line on stdout "
                   "(default 0: never; the progress bar only)")  # fmt: skip
    p.add_argument("--plot", action="store_true",
                   help="plot the losses per iteration as OUT_stem.loss.png")  # fmt: skip
    p.add_argument("--plot-path", metavar="PATH",
                   help="plot the losses per iteration to PATH (.png, .pdf, .svg…) "
                   "instead")  # fmt: skip
    p.add_argument("--history", metavar="PATH",
                   help="write the losses per iteration as .csv or .json")  # fmt: skip
    p.add_argument("--web", action="store_true",
                   help="watch the run in a browser: a live page on "
                   "http://127.0.0.1:PORT/ with the image, the losses and a Stop "
                   "button that works like Ctrl-C")  # fmt: skip
    p.add_argument("--port", type=_port, metavar="N",
                   help="port of the --web page (default: a free one); implies --web")  # fmt: skip
    p.add_argument("--host", metavar="H",
                   help="address the --web page listens on (default 127.0.0.1: this "
                   "machine only; 0.0.0.0 lets anyone who reaches the port watch "
                   "and stop the run); implies --web")  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar or messages: only errors, warnings and "
                   "--print-every lines")  # fmt: skip
    p.set_defaults(handler=_stylize, stylize_parser=p)


# -- stylize ---------------------------------------------------------------------------
def _stylize(args: argparse.Namespace) -> int:
    """Check everything, then load, compile, optimise and write."""
    if args.resume is not None:
        return _resume(args)
    if args.content is None:
        raise UsageError("give CONTENT and STYLE images (or --resume CKPT)")
    if args.output is None:
        raise UsageError("give the result's file name with -o OUT")
    _iteration_plan(args)
    _style_plan(args)
    output = _writable_file(args.output, "output image", SAVE_FORMATS)
    plot = _plot_path(args.plot, args.plot_path, output)
    history = _writable(args.history, "--history", HISTORY_FORMATS)
    checkpoint = _checkpoint_path(args, output)
    outputs = {
        "output image": output,
        "loss plot": plot,
        "history file": history,
        "checkpoint": checkpoint,
    }
    _distinct(outputs)
    if args.save_every is not None:
        _not_snapshots(outputs, output, args.save_every, args.total)
    transfer, weights = _style_transfer(args)
    inputs = {"content image": args.content, **_style_inputs(args)}
    if args.init not in INITS:
        inputs["--init image"] = args.init
    if weights is not None:
        inputs["weights file"] = str(weights)
    _inputs_kept(inputs, outputs, args)
    content = _read_image(args.content, "content image")
    style_images = [_read_image(path, what) for what, path in _style_files(args)]
    init = args.init if args.init in INITS else _read_image(args.init, "--init")
    if args.size == "auto":
        args.size = _auto_size(args, transfer, content, style_images)
    # Before any resizing: a --size too large for memory must stop here.
    estimate = _memory_check(args, transfer, content, style_images)
    sized = _sized_images(content, style_images, args, transfer)
    if args.scales is None:  # with scales, each is resized from the originals
        content = sized
    regions = _regions(args, sized.shape[:2])
    _normalized_defaults(args, transfer, weights, sized.shape[:2])
    # Styles go to the run as paths: it resizes them as checked here, and its
    # checkpoint can then name them for --resume.
    style: list[str] | str | None = None
    if not regions:
        style = args.styles if len(args.styles) > 1 else args.styles[0]

    say = printer(args.quiet)
    if weights is None:  # every check is done: fetch them, then go on
        weights = _download_weights_now(args)
    if args.dry_run:
        return _dry_run(args, transfer, estimate, content, style, regions)
    say(f"{PROG}: weights {weights}")
    files = _Outputs(output, history, plot, checkpoint)
    view = _web_view(args)
    return _finish(
        args,
        transfer,
        files,
        _closing(view, lambda: transfer.run(
            content,
            style,
            iterations=args.iterations,
            scales=args.scales,
            size=args.size,
            style_scale=args.style_scale,
            style_blend=args.style_blend,
            regions=regions,
            guide_mode=args.guide_mode,
            init=init,
            callback=chain(_on_iteration(args, output), view),
            progress=not args.quiet,
            checkpoint=checkpoint,
            checkpoint_every=args.checkpoint_every,
            checkpoint_info=files.info(args.content),
        )),
    )  # fmt: skip


def _normalized_defaults(
    args: argparse.Namespace,
    transfer: StyleTransfer,
    weights: Path | None,
    shape: tuple[int, ...],
) -> None:
    """With normalised weights and no --alpha/--beta, use Gatys' loss weights for
    them (naah.normalize): the defaults suit the original network only."""
    from naah.normalize import is_normalized, normalized_loss_weights

    given = _given_options(args)
    if weights is None or {"alpha", "beta"} & given or not is_normalized(weights):
        return
    content_layer = transfer.loss_weights.content_layers[:1] or ("conv4_2",)
    alpha, beta = normalized_loss_weights(
        (shape[0], shape[1]), content_layer=content_layer[0]
    )
    transfer.loss_weights = dataclasses.replace(
        transfer.loss_weights, alpha=alpha, beta=beta
    )
    printer(args.quiet)(
        f"{PROG}: normalised weights: alpha {alpha:g}, beta {beta:.3g} (Gatys' "
        "settings for them; --alpha/--beta override)"
    )


def _iteration_plan(args: argparse.Namespace) -> None:
    """Check --iterations against --scales; set ``args.iterations`` to what
    StyleTransfer.run takes and ``args.total`` to the iterations in all."""
    counts = args.iterations
    if args.scales is None:
        if len(counts) != 1:
            raise UsageError(
                f"--iterations has {len(counts)} values; give one (or --scales with "
                "one value per scale)"
            )
        args.iterations = args.total = counts[0]
        return
    scales = args.scales
    if any(b <= a for a, b in itertools.pairwise(scales)) or 0 in scales:
        raise UsageError(
            f"--scales {','.join(map(str, scales))}: give positive long edges that "
            "increase, coarse to fine, e.g. 256,512,1024"
        )
    if len(counts) not in (1, len(scales)):
        raise UsageError(
            f"--iterations has {len(counts)} values for {len(scales)} --scales; give "
            "one value for every scale, or one per scale"
        )
    args.iterations = counts if len(counts) > 1 else counts * len(scales)
    args.total = sum(args.iterations)
    args.size = scales[0]  # the size checks hold for the smallest scale
