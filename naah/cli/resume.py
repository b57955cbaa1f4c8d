"""``naah stylize --resume CHECKPOINT``: continuing a run with the settings it was
started with (options that would change them are refused, naming them)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from naah.checkpointing import read_run
from naah.cli.arguments import _given_options
from naah.cli.common import PROG, UsageError
from naah.cli.paths import (
    HISTORY_FORMATS,
    _distinct,
    _inputs_kept,
    _plot_path,
    _writable,
    _writable_file,
)
from naah.cli.running import (
    _closing,
    _finish,
    _on_iteration,
    _Outputs,
    _style_transfer,
    _web_view,
)
from naah.cli.weights import _find_weights
from naah.io.checkpoint import CheckpointError
from naah.io.images import SAVE_FORMATS
from naah.live import chain
from naah.progress import printer
from naah.runtime import Runtime
from naah.style_transfer import StyleResult, StyleTransfer

# Options a resumed run takes from its checkpoint: given anyway, they must agree.
# dest -> where the checkpoint keeps it.
_RESUME_KEEPS = {
    "alpha": ("settings", "alpha"),
    "beta": ("settings", "beta"),
    "tv_weight": ("settings", "tv_weight"),
    "content_layers": ("settings", "content_layers"),
    "style_layers": ("settings", "style_layers"),
    "style_weights": ("settings", "style_layers"),
    "pooling": ("settings", "pooling"),
    "optimizer": ("settings", "optimizer"),
    "learning_rate": ("settings", "learning_rate"),
    "beta1": ("settings", "beta1"),
    "beta2": ("settings", "beta2"),
    "seed": ("settings", "seed"),
    "backend": ("settings", "backend"),
    "color": ("settings", "color"),
    "color_match": ("settings", "color_match"),
    "size": ("run", "size"),
    "style_scale": ("run", "style_scale"),
    "init": ("run", "init"),
}
_OPTION_NAMES = {
    "alpha": "--alpha",
    "beta": "--beta",
    "style_weights": "--style-weights",
}


def _resume(args: argparse.Namespace) -> int:
    """``naah stylize --resume CKPT``: check it all, then continue the run."""
    ckpt = Path(args.resume).expanduser()
    try:
        saved, _ = read_run(ckpt)
    except FileNotFoundError:
        raise UsageError(f"--resume: no checkpoint at {str(ckpt)!r}") from None
    except CheckpointError as error:
        raise UsageError(f"--resume: {error}") from None
    meta = saved.metadata
    info = meta.get("info", {})
    _same_settings_as(args, meta, ckpt)
    done = int(meta["iteration"])
    given = _given_options(args)
    run_meta = meta["run"]
    if "scales" in run_meta:  # coarse to fine: iterations per scale
        counts = (
            args.iterations if "iterations" in given else run_meta["scale_iterations"]
        )
        if len(counts) == 1:
            counts = tuple(counts) * len(run_meta["scales"])
        if len(counts) != len(run_meta["scales"]):
            raise UsageError(
                f"--iterations: give one value, or one per scale of the run "
                f"({','.join(map(str, run_meta['scales']))})"
            )
        iterations: int | tuple[int, ...] = tuple(counts)
        total = sum(counts)
    else:
        if "iterations" in given and len(args.iterations) != 1:
            raise UsageError("--iterations: give one value (the run has one scale)")
        iterations = total = (
            args.iterations[0] if "iterations" in given else run_meta["iterations"]
        )
        if total < done:
            raise UsageError(
                f"--iterations {total}: the checkpoint is at iteration {done} already; "
                "--iterations is the new total, give more"
            )
    recorded_output = info.get("output")
    if args.output is None and recorded_output is None:
        raise UsageError(f"{ckpt} does not say where the result goes: give -o OUT")
    output = _writable_file(
        args.output or recorded_output, "output image", SAVE_FORMATS
    )
    plot = _plot_path(args.plot, args.plot_path, output)
    if plot is None and info.get("plot") and args.output is None:
        plot = _writable_file(info["plot"], "loss plot", (Path(info["plot"]).suffix,))
    history = _writable(
        args.history or info.get("history"), "--history", HISTORY_FORMATS
    )
    checkpoint = (
        None
        if args.no_checkpoint
        else _writable_file(args.checkpoint or ckpt, "--checkpoint", (".ckpt",))
    )
    outputs = {"output image": output, "loss plot": plot, "history file": history,
               "checkpoint": checkpoint}  # fmt: skip
    _distinct({k: v for k, v in outputs.items() if k != "checkpoint"})
    recorded = meta["inputs"]
    content = args.content or info.get("content") or recorded["content"]["path"]
    # Styles and regions as the checkpoint names them, unless STYLE files are given.
    if args.styles:
        styles: list[str] | None = list(args.styles)
        style_paths = list(args.styles)
    else:
        styles = None
        style_paths = _recorded_style_paths(recorded)
    for what, path in (
        ("content image", content),
        *(("style image", p) for p in style_paths),
    ):
        if path is None or not Path(path).is_file():
            raise UsageError(
                f"the run's {what} {path!r} is not there any more: give its new path "
                "(CONTENT STYLE after --resume)"
            )
    weights = _find_weights(args.weights or recorded["weights"]["path"])
    inputs = {
        "content image": content,
        **{f"style image {k + 1}": p for k, p in enumerate(style_paths)},
        "weights file": str(weights),
    }
    _inputs_kept(inputs, {**outputs, "checkpoint": None}, args)

    say = printer(args.quiet)
    say(
        f"{PROG}: resuming {ckpt} at iteration {done} of {total}; loading and compiling..."
    )
    transfer = StyleTransfer.from_settings(meta["settings"], weights=weights)
    files = _Outputs(output, history, plot, checkpoint)
    args.total = total  # for --print-every and snapshot names
    view = _web_view(args)

    def run() -> StyleResult:
        return StyleTransfer.resume(
            ckpt,
            iterations=iterations,
            weights=weights,
            content=content,
            style=styles[0] if styles and len(styles) == 1 else styles,
            save_to=checkpoint or ckpt,
            checkpoint_every=args.checkpoint_every,
            checkpoint_info=files.info(content),
            callback=chain(_on_iteration(args, output), view),
            progress=not args.quiet,
            runtime=Runtime(keep_freed_memory=True),
        )

    return _finish(args, transfer, files, _closing(view, run))


def _recorded_style_paths(recorded: dict[str, Any]) -> list[str]:
    """The style files a checkpoint names: its styles', or its regions' and masks."""
    if "regions" in recorded:
        paths = []
        for region in recorded["regions"]:
            paths += [region["guide"], region["style"]["path"]]
            if region.get("style_guide"):
                paths.append(region["style_guide"])
        return paths
    return [
        identity["path"] for identity in recorded.get("styles", [recorded["style"]])
    ]


def _same_settings_as(
    args: argparse.Namespace, meta: dict[str, Any], ckpt: Path
) -> None:
    """Refuse options given with --resume that differ from the run's."""
    given = _given_options(args)
    if not given & set(_RESUME_KEEPS):
        return
    asked = _style_transfer(args, find=False)[0]
    scale = (
        args.style_scale[0] if len(args.style_scale) == 1 else list(args.style_scale)
    )
    run = {"size": args.size, "style_scale": scale, "init": args.init}
    for dest in sorted(given & set(_RESUME_KEEPS)):
        section, key = _RESUME_KEEPS[dest]
        mine = asked.settings[key] if section == "settings" else run[key]
        theirs = meta[section][key]
        if mine != theirs:
            option = _OPTION_NAMES.get(dest, "--" + dest.replace("_", "-"))
            raise UsageError(
                f"{option} differs from the run of {ckpt} ({_show(mine)} here, "
                f"{_show(theirs)} there); a resumed run keeps its settings: leave "
                f"{option} out, or start a new run"
            )


def _show(value: object) -> str:
    if isinstance(value, dict):
        return ",".join(f"{k}:{v:g}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)
