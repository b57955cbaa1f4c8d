"""``naah stylize --resume CHECKPOINT``: continuing a run with the settings it was
started with. Options that would change a setting the run keeps are refused,
naming them (:func:`naah.settings.kept_differences` says which differ)."""

from __future__ import annotations

import argparse
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
    plot_path,
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
from naah.settings import Settings, flag, given, kept_differences, specs
from naah.style_transfer import StyleResult, StyleTransfer

__all__ = ["resume"]


def resume(args: argparse.Namespace) -> int:
    """``naah stylize --resume CKPT``: check it all, then continue the run."""
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
    inputs_kept(inputs, {**files.named(), "checkpoint": None})
    total = settings.schedule.total
    printer(args.quiet)(
        f"{PROG}: resuming {saved.path} at iteration {saved.iteration} of {total}"
    )
    view = web_view(args.web, args.host, args.port)
    watch = on_iteration(files, args.save_every, args.print_every, settings)
    callback = chain(watch, view)

    def run() -> StyleResult:
        given_styles = list(args.styles) or None
        computed = {k: settings.value(k) for k in COMPUTED_AS if k in values}
        with dask_client(args.dask, args.quiet) as client:
            return _resumed(client, computed, given_styles)

    def _resumed(
        client: Any, computed: dict[str, Any], given_styles: list[str] | None
    ) -> StyleResult:
        return StyleTransfer.resume(
            saved.path,
            iterations=settings.schedule.iterations if "iterations" in values else None,
            weights=weights,
            content=content,
            style=given_styles[0]
            if given_styles and len(given_styles) == 1
            else given_styles,
            save_to=files.checkpoint or saved.path,
            checkpoint_every=settings.schedule.checkpoint_every,
            checkpoint_info=files.info(content),
            callback=callback,
            progress=not args.quiet,
            runtime=command_runtime(settings),
            client=client,
            **computed,
        )

    return finish(closing(view, run), files, settings.loss, args.quiet, watch)


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
    position = saved.description.run.pyramid
    per_scale = settings.schedule.per_scale
    total = per_scale[position.scale_index] if position else per_scale[0]
    if total < saved.iteration:
        raise UsageError(
            f"--iterations {total}: the checkpoint is at iteration {saved.iteration} "
            "already; --iterations is the new total, give more"
        )
    return settings


def _outputs(
    args: argparse.Namespace, described: RunDescription, ckpt: Path
) -> Outputs:
    """The run's files: those given, else those the checkpoint recorded."""
    info = described.info
    target = args.output or info.get("output")
    if target is None:
        raise UsageError(f"{ckpt} does not say where the result goes: give -o OUT")
    output = writable_file(target, "output image", SAVE_FORMATS)
    plot = plot_path(args.plot, args.plot_path, output)
    if plot is None and info.get("plot") and args.output is None:
        plot = writable_file(info["plot"], "loss plot", (Path(info["plot"]).suffix,))
    history = writable(
        args.history or info.get("history"), "--history", HISTORY_FORMATS
    )
    checkpoint = (
        None
        if args.no_checkpoint
        else writable_file(args.checkpoint or ckpt, "--checkpoint", (".ckpt",))
    )
    bit_depth, dpi = image_format(
        output, args.bit_depth, args.dpi, getattr(args, "size", None)
    )
    files = Outputs(output, history, plot, checkpoint, bit_depth, dpi)
    distinct({k: v for k, v in files.named().items() if k != "checkpoint"})
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
