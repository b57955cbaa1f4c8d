"""Continuing a run with the settings it was started with: ``naah stylize --resume
CHECKPOINT``, and ``naah stylize`` run again.

Options that would change a setting the run keeps are refused, naming them
(:func:`naah.settings.kept_differences` says which differ). Every file a resumed
run writes is checked as a new run's are, never an input (the checkpoint it
continues included); a path the checkpoint records is used only beside the
checkpoint or where no file is yet, so that a checkpoint from elsewhere cannot
steer writes over other files.

A ``naah stylize`` whose checkpoint (``OUT_stem.ckpt``, or ``--checkpoint``) is
there already continues it when it is the same run: the same inputs (their
pixels' checksums) and settings, but for those a resumed run may change (the total
of iterations …). Another run's checkpoint is refused before any work, saying how
to continue it, unless ``--overwrite``: no rerun discards a run's work silently
(:func:`earlier_run`).
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from naah.checkpointing import COMPUTED_AS, RunDescription, SavedRun, load_run
from naah.cli.common import PROG, UsageError, usage_error
from naah.cli.paths import (
    HISTORY_FORMATS,
    distinct,
    image_format,
    inputs_kept,
    plot_formats,
    plot_path,
    recorded_file,
    same_file,
    writable,
    writable_file,
)
from naah.cli.running import (
    Outputs,
    closing,
    command_runtime,
    dask_client,
    finish,
    on_iteration,
    web_view,
)
from naah.cli.weights import find_weights_file
from naah.io.checkpoint import CheckpointError
from naah.io.images import SAVE_FORMATS
from naah.live import chain
from naah.progress import printer
from naah.request import StyleInput, StyleInputs, check_weights
from naah.runtime import DEFAULT as DEFAULT_RUNTIME
from naah.session import Session
from naah.settings import (
    ARRAY_INIT,
    INITS,
    Settings,
    flag,
    given,
    kept_differences,
    specs,
)
from naah.style_transfer import StyleResult, StyleTransfer

__all__ = ["continue_run", "earlier_run", "resume"]


def resume(args: argparse.Namespace) -> int:
    """``naah stylize --resume CKPT``: check it all, then continue the run."""
    if args.overwrite:
        raise UsageError(
            "--overwrite starts a new run, discarding its checkpoint; --resume "
            "continues one: give either"
        )
    saved = _read(Path(args.resume).expanduser())
    described = saved.description
    values = given(args)
    settings = _resumed_settings(described.settings, values, saved)
    files = _outputs(args, described, saved.path)
    content, styles = _inputs(args, described)
    weights = find_weights_file(args.weights or described.inputs.weights["path"])
    inputs = {
        "content image": content,
        **{f"style image {k + 1}": p for k, p in enumerate(styles)},
        "weights file": str(weights),
    }
    total = settings.schedule.total
    outputs = files.named()
    inputs_kept(inputs, outputs, args.save_every, total)
    # The checkpoint it continues is an input too, but for the checkpoint output.
    others = {k: v for k, v in outputs.items() if k != "checkpoint"}
    inputs_kept({"checkpoint": str(saved.path)}, others, args.save_every, total)
    given_styles = list(args.styles) or None
    return continue_run(
        args,
        saved,
        settings,
        files,
        content=content,
        style=given_styles[0]
        if given_styles and len(given_styles) == 1
        else given_styles,
        weights=weights,
        computed=[k for k in COMPUTED_AS if k in values],
        new_total="iterations" in values,
        said=f"resuming {saved.path} at iteration {saved.iteration} of {total}",
    )


def continue_run(
    args: argparse.Namespace,
    saved: SavedRun,
    settings: Settings,
    files: Outputs,
    *,
    content: str,
    style: StyleInput,
    weights: Path | None,
    computed: list[str],
    new_total: bool,
    said: str,
) -> int:
    """Continue the run of ``saved`` (checked) with ``settings``, writing ``files``
    and watched as ``args`` says; ``computed`` names the settings of how it is
    computed (:data:`naah.checkpointing.COMPUTED_AS`) that were given anew, and
    ``new_total`` whether the total of iterations was."""
    printer(args.quiet)(f"{PROG}: {said}")
    view = web_view(args.web, args.host, args.port)
    watch = on_iteration(files, args.save_every, args.print_every, settings)
    callback = chain(watch, view)

    def run() -> StyleResult:
        with dask_client(args.dask, args.quiet) as client:
            return StyleTransfer.resume(
                saved.path,
                iterations=settings.schedule.iterations if new_total else None,
                weights=weights,
                content=content,
                style=style,
                save_to=files.checkpoint or saved.path,
                checkpoint_every=settings.schedule.checkpoint_every,
                checkpoint_info=files.info(content),
                callback=callback,
                progress=not args.quiet,
                runtime=command_runtime(settings),
                client=client,
                **{k: settings.value(k) for k in computed},
            )

    return finish(closing(view, run), files, settings.loss, args.quiet, watch)


def earlier_run(
    checkpoint: Path | None,
    content: str,
    styles: StyleInputs,
    settings: Settings,
    weights: Path | None,
) -> SavedRun | None:
    """The run of ``checkpoint``, which a ``naah stylize`` of these inputs and
    ``settings`` is about to write, if this command is that run again: None when
    there is no file there. Another run's checkpoint, one that has done more than
    ``settings``' iterations, or a file that is no checkpoint is a
    :class:`UsageError` that says how to continue it or start again
    (``--overwrite``)."""
    if checkpoint is None or not os.path.lexists(checkpoint):
        return None
    again = "pass --overwrite to discard it and start again"
    try:
        saved = load_run(checkpoint)
    except (CheckpointError, OSError) as error:
        raise UsageError(
            f"checkpoint {str(checkpoint)!r} is there already and naah cannot "
            f"continue it ({error}); move it away, or pass --overwrite to write over it"
        ) from None
    done = saved.iteration
    differs = _setting_difference(saved.description.settings, settings)
    differs = differs or _input_difference(saved, content, styles, weights)
    if differs is not None:
        raise UsageError(
            f"checkpoint {str(checkpoint)!r} holds {done} iterations of another run: "
            f"{differs}; continue that run with '{PROG} stylize --resume "
            f"{shlex.quote(str(checkpoint))}', or {again}"
        )
    total = _scale_total(saved, settings)
    if total < done:
        raise UsageError(
            f"checkpoint {str(checkpoint)!r} holds {done} iterations of this run, "
            f"more than --iterations {total}: give --iterations {done} or more to "
            f"continue it, or {again}"
        )
    return saved


def _setting_difference(recorded: Settings, settings: Settings) -> str | None:
    """The first setting that a resumed run keeps in which ``settings`` differ from
    the ``recorded`` run's, as ``--beta 5 here, 1000 there``; None if none."""
    values = settings.values(recorded=True)
    if settings.schedule.scales is not None:
        del values["size"]  # the run records the size of the scale it is at
    init = settings.images.init
    if init not in INITS and (
        recorded.images.init == ARRAY_INIT or same_file(init, recorded.images.init)
    ):
        values["init"] = recorded.images.init  # a start file moved, or named anew
    try:
        for name, mine, theirs in kept_differences(recorded, values):
            return f"{flag(name)} {_show(mine)} here, {_show(theirs)} there"
    except ValueError:  # scales of another count than the run's iterations
        return "--scales " + (
            f"{_show(settings.schedule.scales)} here, "
            f"{_show(recorded.schedule.scales)} there"
        )
    return None


def _input_difference(
    saved: SavedRun, content: str, styles: StyleInputs, weights: Path | None
) -> str | None:
    """How the inputs differ from those the run of ``saved`` used (their pixels as
    the network got them, the region masks' files, the weights' checksum); None
    if they do not."""
    recorded = saved.description.inputs
    mine = _counted(len(styles.regions), len(styles.styles))
    theirs = _counted(len(recorded.regions), len(recorded.styles))
    if mine != theirs:
        return f"{mine} here, {theirs} there"
    for k, (region, record) in enumerate(
        zip(styles.regions, recorded.regions, strict=True)
    ):
        masks = [(region.guide, record.guide), (region.style_guide, record.style_guide)]
        for mask, there in masks:
            if not ((mask is None and there is None) or _same_path(mask, there)):
                return f"the masks of region {k + 1} are other files"
    described = saved.description
    try:
        session = Session(None, described.settings, DEFAULT_RUNTIME)
        session.check_recorded(
            content, styles, described.settings, recorded, saved.path
        )
        if weights is not None:
            check_weights(weights, recorded.weights, saved.path)
    except ValueError as error:
        return str(error)
    return None


def _counted(regions: int, styles: int) -> str:
    return f"{regions} regions" if regions else f"{styles} style images"


def _same_path(given: object, recorded: str | None) -> bool:
    """Whether a region's mask (a path) is the recorded file."""
    return (
        isinstance(given, str | os.PathLike)
        and recorded is not None
        and same_file(given, recorded)
    )


def _scale_total(saved: SavedRun, settings: Settings) -> int:
    """The iterations ``settings`` ask of the scale the run of ``saved`` is at."""
    position = saved.description.run.pyramid
    per_scale = settings.schedule.per_scale
    return per_scale[position.scale_index] if position else per_scale[0]


def _read(path: Path) -> SavedRun:
    try:
        return load_run(path)
    except FileNotFoundError:
        raise UsageError(f"--resume: no checkpoint at {str(path)!r}") from None
    except CheckpointError as error:
        raise UsageError(f"--resume: {error}") from None


def _resumed_settings(
    recorded: Settings, values: Mapping[str, Any], saved: SavedRun
) -> Settings:
    """The run's settings, with the options a resumed run may change (the new
    total of iterations, checkpoints, threads); any other option given must agree
    with the run's."""
    try:
        for name, mine, theirs in kept_differences(recorded, values):
            option = flag(name)
            raise UsageError(
                f"{option} differs from the run of {saved.path} ({_show(mine)} here, "
                f"{_show(theirs)} there); a resumed run keeps its settings: leave "
                f"{option} out, or start a new run"
            )
        new = {k: v for k, v in values.items() if specs()[k].resume == "new"}
        settings = Settings.of(new, recorded)
    except ValueError as error:
        raise usage_error(error) from None
    total = _scale_total(saved, settings)
    if total < saved.iteration:
        raise UsageError(
            f"--iterations {total}: the checkpoint is at iteration {saved.iteration} "
            "already; --iterations is the new total, give more"
        )
    return settings


def _outputs(
    args: argparse.Namespace, described: RunDescription, ckpt: Path
) -> Outputs:
    """The run's files: those given, else those the checkpoint recorded, where
    they replace no file but the run's own (:func:`naah.cli.paths.recorded_file`)."""
    info = described.info
    if args.output is not None:
        output = writable_file(args.output, "output image", SAVE_FORMATS)
    elif info.get("output") is None:
        raise UsageError(f"{ckpt} does not say where the result goes: give -o OUT")
    else:
        target = recorded_file(info["output"], "output image", ckpt, "-o OUT")
        output = writable_file(target, "output image", SAVE_FORMATS)
    plot = plot_path(args.plot, args.plot_path, output)
    if plot is None and info.get("plot") and args.output is None:
        target = recorded_file(info["plot"], "loss plot", ckpt, "-o OUT")
        plot = writable_file(target, "loss plot", plot_formats("the loss plot"))
    history = writable(args.history, "--history", HISTORY_FORMATS)
    if history is None and info.get("history"):
        target = recorded_file(info["history"], "history", ckpt, "--history PATH")
        history = writable_file(target, "history", HISTORY_FORMATS)
    checkpoint = (
        None
        if args.no_checkpoint
        else writable_file(args.checkpoint or ckpt, "--checkpoint", (".ckpt",))
    )
    bit_depth, dpi = image_format(
        output, args.bit_depth, args.dpi, getattr(args, "size", None)
    )
    files = Outputs(output, history, plot, checkpoint, bit_depth, dpi)
    distinct(files.named())
    return files


def _inputs(
    args: argparse.Namespace, described: RunDescription
) -> tuple[str, list[str]]:
    """The content image and the style-side files: those given, else the
    checkpoint's; each must be there."""
    recorded = described.inputs
    content = args.content or described.info.get("content") or recorded.content.path
    if args.styles:
        styles = list(args.styles)
    elif recorded.regions:
        styles = []
        for region in recorded.regions:
            styles += [region.guide, region.style.path]
            if region.style_guide:
                styles.append(region.style_guide)
    else:
        styles = [style.path for style in recorded.styles]
    found: list[str] = []
    for what, path in (
        ("content image", content),
        *(("style image", p) for p in styles),
    ):
        if path is None or not Path(path).is_file():
            raise UsageError(
                f"the run's {what} {path!r} is not there any more: give its new path "
                "(CONTENT STYLE after --resume)"
            )
        found.append(str(path))
    return found[0], found[1:]


def _show(value: object) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{k}:{v:g}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)
