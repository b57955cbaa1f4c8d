"""``naah stylize``: its options, and the wiring from a command line to a run.

The settings' options are made from :mod:`naah.settings` (one group per concern);
the others (inputs, outputs, how the run is watched) are this module's. A command
line becomes one :class:`Stylize`, checked, before anything is loaded; then the
library plans the run (:mod:`naah.plan`), and :meth:`naah.StyleTransfer.run` does
it. A command whose checkpoint is there already continues that run if it is the
same one, and is refused otherwise unless ``--overwrite`` (:mod:`.resume`).
Nothing here changes the parsed namespace.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from naah.checkpointing import COMPUTED_AS, SavedRun
from naah.checks import SettingError
from naah.cli.arguments import (
    count,
    dask_address,
    dpi,
    port,
    positive_count,
    region_spec,
)
from naah.cli.common import PROG, CommandError, UsageError, spelled, usage_error
from naah.cli.images import (
    check_files,
    input_shapes,
    read_inputs,
    style_files,
    style_inputs,
)
from naah.cli.memory import CALIBRATION_EDGE, dry_run
from naah.cli.paths import (
    HISTORY_FORMATS,
    checkpoint_path,
    distinct,
    image_format,
    inputs_kept,
    not_snapshots,
    plot_path,
    writable,
    writable_file,
)
from naah.cli.resume import continue_run, earlier_run, resume
from naah.cli.running import (
    Outputs,
    check_backend,
    closing,
    dask_client,
    finish,
    on_iteration,
    transfer_for,
    web_view,
)
from naah.cli.weights import (
    add_weights_options,
    download_weights_now,
    find_weights_file,
)
from naah.io.images import BIT_DEPTHS, SAVE_FORMATS, long_edge_size
from naah.live import chain
from naah.plan import (
    NotEnoughMemory,
    auto_size,
    check_memory,
    check_sizes,
    first_edge,
)
from naah.progress import printer
from naah.regions import Region, check_region_count
from naah.request import StyleInputs
from naah.settings import AUTO, INITS, Settings, add_options, given

__all__ = ["Stylize", "add_stylize_parser", "stylize"]


def add_stylize_parser(
    commands: argparse._SubParsersAction, common: argparse.ArgumentParser
) -> argparse.ArgumentParser:
    """Add ``naah stylize`` to the ``naah`` parser's subcommands."""
    p = commands.add_parser(
        "stylize",
        parents=[common],
        help="paint a content image in the style of another",
        description="Paint CONTENT in the style of STYLE (Gatys et al. 2015).",
    )
    p.add_argument(
        "content",
        metavar="CONTENT",
        nargs="?",
        help="content image (with --resume: the run's, by default)",
    )
    p.add_argument(
        "styles",
        metavar="STYLE",
        nargs="*",
        help="style image; several are blended (--style-blend); none with "
        "--region or --resume (the run's)",
    )
    files = p.add_argument_group("inputs and outputs")
    files.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help=f"result image ({', '.join(SAVE_FORMATS)}): the iterate of lowest loss; "
        "required but with --resume",
    )
    files.add_argument(
        "--bit-depth",
        type=int,
        choices=BIT_DEPTHS,
        default=8,
        help="bits per channel of OUT and its snapshots: 16 for print, in a .png "
        "or .tif (default 8)",
    )
    files.add_argument(
        "--dpi",
        type=dpi,
        metavar="N",
        help="resolution OUT records, in dots per inch (default: the dpi of a "
        "--size such as 30cm@300dpi, else none)",
    )
    files.add_argument(
        "--region",
        action="append",
        type=region_spec,
        metavar="MASK=STYLE[:STYLE_MASK]",
        help="spatial control (Gatys et al. 2017): the part of CONTENT where "
        "greyscale MASK is white takes STYLE's style (or that of STYLE_MASK's part "
        "of it); repeat for each region",
    )
    add_weights_options(files)
    files.add_argument(
        "--resume",
        metavar="CKPT",
        help="continue the run of checkpoint CKPT, with its settings; --iterations "
        "is the new total",
    )
    files.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="where to write the run's checkpoint (default OUT_stem.ckpt; with "
        "--resume, CKPT)",
    )
    files.add_argument(
        "--no-checkpoint", action="store_true", help="write no checkpoint"
    )
    files.add_argument(
        "--overwrite",
        action="store_true",
        help="discard the checkpoint of an earlier run and start again (default: "
        "continue it when it is this run's, the same inputs and settings, with "
        "--iterations the new total; refuse another run's, saying what differs)",
    )
    files.add_argument(
        "--save-every",
        type=positive_count,
        metavar="N",
        help="also write the image every N iterations (and at the start), beside OUT "
        "as OUT_stem.iterNNNN.EXT: NNNN is the iteration, 4 digits or more",
    )
    files.add_argument(
        "--plot",
        action="store_true",
        help="plot the losses per iteration as OUT_stem.loss.png",
    )
    files.add_argument(
        "--plot-path",
        metavar="PATH",
        help="plot the losses per iteration to PATH (.png, .pdf, .svg…) instead",
    )
    files.add_argument(
        "--history",
        metavar="PATH",
        help="write the losses per iteration as .csv or .json",
    )
    watch = p.add_argument_group("planning and watching the run")
    watch.add_argument(
        "--dry-run",
        action="store_true",
        help="print the memory estimate and the expected time per iteration (the "
        "run's optimiser timed for a few seconds), then exit",
    )
    watch.add_argument(
        "--dask",
        type=dask_address,
        metavar="local:N|tcp://HOST:PORT",
        help="evaluate the image's blocks on Dask: N local worker processes, or a "
        "scheduler (needs naah[dask]; see docs/tiles.md)",
    )
    watch.add_argument(
        "--force",
        action="store_true",
        help="run even if the memory estimate exceeds the memory available",
    )
    watch.add_argument(
        "--print-every",
        type=count,
        default=0,
        metavar="N",
        help="print the losses every N iterations, one line on stdout (default 0: "
        "never; the progress bar only)",
    )
    watch.add_argument(
        "--web",
        action="store_true",
        help="watch the run in a browser: a live page on http://127.0.0.1:PORT/ "
        "with the image, the losses and a Stop button that works like Ctrl-C",
    )
    watch.add_argument(
        "--port",
        type=port,
        metavar="N",
        help="port of the --web page (default: a free one); implies --web",
    )
    watch.add_argument(
        "--host",
        metavar="H",
        help="address the --web page listens on (default 127.0.0.1: this machine "
        "only; 0.0.0.0 lets others reach it, with the random token in the URL "
        "printed); implies --web",
    )
    watch.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress bar or messages: only errors, warnings and --print-every "
        "lines",
    )
    add_options(p)
    p.set_defaults(handler=stylize)
    return p


@dataclass(frozen=True)
class Stylize:
    """One ``naah stylize`` command line, checked: what to read, what to write,
    every setting, and how to watch the run."""

    content: str
    styles: tuple[str, ...]
    regions: tuple[Region, ...]
    settings: Settings
    given: frozenset[str]
    files: Outputs
    weights: Path | None
    save_every: int | None
    print_every: int
    quiet: bool

    @classmethod
    def of(cls, args: argparse.Namespace) -> Stylize:
        """The command of a parsed command line, its settings, styles and output
        paths checked (a :class:`UsageError` names what is wrong)."""
        if args.content is None:
            raise UsageError("give CONTENT and STYLE images (or --resume CKPT)")
        if args.output is None:
            raise UsageError("give the result's file name with -o OUT")
        values = given(args)
        specs = tuple(args.region or ())
        try:
            check_region_count(len(specs))
        except ValueError as error:
            raise UsageError(f"--region given {len(specs)} times: {error}") from None
        try:
            settings = Settings.of(values)
            StyleInputs.of(tuple(args.styles) or None, specs or None, settings.images)
        except ValueError as error:
            raise usage_error(error) from None
        output = writable_file(args.output, "output image", SAVE_FORMATS)
        files = Outputs(
            output,
            writable(args.history, "--history", HISTORY_FORMATS),
            plot_path(args.plot, args.plot_path, output),
            checkpoint_path(args.checkpoint, args.no_checkpoint, output),
            *image_format(output, args.bit_depth, args.dpi, settings.images.size),
        )
        distinct(files.named())
        if args.save_every is not None:
            not_snapshots(
                files.named(), output, args.save_every, settings.schedule.total
            )
        weights = find_weights_file(args.weights, download=not args.no_download)
        command = cls(
            content=args.content,
            styles=tuple(args.styles),
            regions=specs,
            settings=settings,
            given=frozenset(values),
            files=files,
            weights=weights,
            save_every=args.save_every,
            print_every=args.print_every,
            quiet=args.quiet,
        )
        inputs_kept(
            command.inputs(), files.named(), args.save_every, settings.schedule.total
        )
        return command

    def inputs(self) -> dict[str, str]:
        """Every input file by what it is, for the never-write-over-an-input check."""
        inputs = {
            "content image": self.content,
            **style_inputs(self.styles, self.regions),
        }
        init = self.settings.images.init
        if init not in INITS:
            inputs["--init image"] = init
        if self.weights is not None:
            inputs["weights file"] = str(self.weights)
        return inputs

    def style_names(self) -> list[str]:
        return [
            f"{what} {path!r}" for what, path in style_files(self.styles, self.regions)
        ]


def stylize(args: argparse.Namespace) -> int:
    """Check everything, then load, compile, optimise and write."""
    if args.resume is not None:
        return resume(args)
    command = Stylize.of(args)
    check_backend(command.settings)
    check_files(
        command.content, command.styles, command.regions, command.settings.images.init
    )
    content, styles = input_shapes(command.content, command.styles, command.regions)
    settings, estimate = _planned(command, content, styles, args.force)
    args.memory_estimate = estimate  # for the message if memory runs out (--force)
    regions = list(command.regions) or None
    sized = _sized_shape(settings, content)
    # A dry run calibrates at CALIBRATION_EDGE at most: the inputs are checked there.
    checked, shape = settings, sized
    if args.dry_run and max(sized) > CALIBRATION_EDGE:
        checked = Settings.of({"size": CALIBRATION_EDGE, "scales": None}, settings)
        shape = long_edge_size(sized, CALIBRATION_EDGE)
    read_inputs(command.content, command.styles, command.regions, checked, shape)
    settings = _normalized_defaults(command, settings, sized)
    weights = command.weights or download_weights_now(command.quiet)
    transfer = transfer_for(settings, weights)
    style = (
        None
        if regions
        else (list(command.styles) if len(command.styles) > 1 else command.styles[0])
    )
    if args.dry_run:
        return dry_run(transfer, estimate, command.content, style, regions)
    earlier = None if args.overwrite else _earlier_run(command, settings, weights)
    printer(command.quiet)(f"{PROG}: weights {weights}")
    if earlier is not None:
        return continue_run(
            args,
            earlier,
            settings,
            command.files,
            content=command.content,
            style=style,
            weights=weights,
            computed=[k for k in COMPUTED_AS if k in command.given],
            new_total=True,
            said=f"{earlier.path} holds this run at iteration {earlier.iteration}: "
            f"continuing it to {settings.schedule.total} (--overwrite starts again)",
        )
    view = web_view(args.web, args.host, args.port)
    watch = on_iteration(
        command.files, command.save_every, command.print_every, settings
    )
    callback = chain(watch, view)

    def run() -> Any:
        with dask_client(args.dask, command.quiet) as client:
            return transfer.run(
                command.content,
                style,
                regions=regions,
                callback=callback,
                progress=not command.quiet,
                checkpoint=command.files.checkpoint,
                checkpoint_info=command.files.info(command.content),
                client=client,
                **settings.values(scope="run"),
            )

    return finish(
        closing(view, run), command.files, settings.loss, command.quiet, watch
    )


def _earlier_run(
    command: Stylize, settings: Settings, weights: Path
) -> SavedRun | None:
    """The run of the command's checkpoint, if that is there and this command is
    the same run again (:func:`naah.cli.resume.earlier_run`)."""
    try:
        styles = StyleInputs.of(
            list(command.styles) or None, list(command.regions) or None, settings.images
        )
    except ValueError as error:
        raise usage_error(error) from None
    return earlier_run(
        command.files.checkpoint, command.content, styles, settings, weights
    )


def _planned(
    command: Stylize,
    content: tuple[int, ...],
    styles: Sequence[tuple[int, ...]],
    force: bool,
) -> tuple[Settings, Any]:
    """The settings with ``--size auto`` resolved, once the run fits in memory and
    its images are large enough for the deepest layer used."""
    settings = command.settings
    try:
        if settings.images.size == AUTO:
            size = auto_size(settings, content, styles[0])
            own = size == max(content[:2])
            printer(command.quiet)(
                f"{PROG}: --size auto: {size} px ("
                + ("the content image's own size" if own else "the largest that fits")
                + ")"
            )
            settings = Settings.of({"size": size}, settings)
        # Before any resizing: a --size too large for memory must stop here.
        estimate = check_memory(settings, content, styles[0], force=force)
        check_sizes(
            settings,
            content,
            styles,
            content_name=f"content image {command.content!r}",
            names=command.style_names(),
        )
    except NotEnoughMemory as error:
        raise CommandError(spelled(error)) from None
    except SettingError as error:
        raise usage_error(error) from None
    return settings, estimate


def _sized_shape(settings: Settings, shape: tuple[int, ...]) -> tuple[int, int]:
    """The content's (H, W) at the run's first size."""
    size = first_edge(settings)
    return (shape[0], shape[1]) if size is None else long_edge_size(shape, size)


def _normalized_defaults(
    command: Stylize, settings: Settings, shape: tuple[int, int]
) -> Settings:
    """With normalised weights and no --alpha/--beta, Gatys' loss weights for them
    (naah.normalize): the defaults suit the original network only."""
    from naah.normalize import is_normalized, normalized_loss_weights

    weights = command.weights
    if (
        weights is None
        or {"alpha", "beta"} & command.given
        or not is_normalized(weights)
    ):
        return settings
    content_layer = settings.loss.content_layers[:1] or ("conv4_2",)
    alpha, beta = normalized_loss_weights(shape, content_layer=content_layer[0])
    printer(command.quiet)(
        f"{PROG}: normalised weights: alpha {alpha:g}, beta {beta:.3g} (Gatys' "
        "settings for them; --alpha/--beta override)"
    )
    return Settings.of({"alpha": alpha, "beta": beta}, settings)
