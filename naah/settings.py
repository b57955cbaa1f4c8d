"""One description of a run's settings, and everything made from it.

:class:`Settings` is every setting of a style-transfer run, as frozen dataclasses
grouped by concern:

=============  =========================================  ========================
group          fields                                     owned by
=============  =========================================  ========================
``loss``       alpha, beta, style_layers, content_layers,  :class:`naah.terms.
               tv_weight (style_weights)                   LossWeights`
``optimizer``  optimizer, learning_rate, beta1, beta2,     :class:`naah.optim.
               bounds, momentum                            OptimizerSettings`
``network``    pooling                                     :class:`NetworkSettings`
``color``      color, color_match                          :class:`ColorSettings`
``images``     size, style_scale, style_blend, guide_mode, :class:`ImageSettings`
               init, seed
``schedule``   iterations, scales, checkpoint_every        :class:`ScheduleSettings`
``compute``    backend, threads                            :class:`ComputeSettings`
=============  =========================================  ========================

Each field is written once, with its type, default, check and help
(:func:`naah.checks.setting`); the rest is made from the fields:

- the keywords of :class:`naah.StyleTransfer` (``scope="transfer"``) and of its
  ``run`` (``scope="run"``), with their defaults and checks (:meth:`Settings.of`);
- :attr:`naah.StyleTransfer.settings` and a checkpoint's settings
  (:meth:`Settings.to_json`, :meth:`Settings.from_json`);
- the options of ``naah stylize`` and ``naah batch``, with the same names, choices
  and help (:func:`add_options`, :func:`given`);
- the keys of batch job files and ``--grid`` axes (:func:`setting_key`,
  :func:`parse_text`);
- what ``--resume`` keeps (:func:`kept_differences`).

A small generator over the fields' metadata does this, not a library that builds
argparse from dataclasses (tyro, simple-parsing, jsonargparse). Those choose the
options' names, types and help themselves, and a front end must then fit its
options to theirs. naah's option names are fixed, because scripts use them
(``--alpha`` with its alias ``--content-weight``, ``--iterations 500,200`` per
scale, ``--size N|auto``). The same metadata also makes TOML keys, grid axes and a
checkpoint's schema, and those libraries do not. The generator is about a hundred
lines here and adds no dependency.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import inspect
import itertools
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from naah.checks import (
    PrintSize,
    Setting,
    SettingError,
    as_bytes,
    as_floats,
    as_int,
    as_ints,
    as_path,
    blend_weights,
    check_fields,
    choice,
    non_negative_int,
    optional,
    positive_float,
    positive_int,
    print_size,
    seed,
    setting,
    setting_fields,
)
from naah.color import COLOR_MODES, MATCH_MODES
from naah.compile import BACKENDS
from naah.ops.pool import POOL_MODES, check_pool_mode
from naah.optim import OptimizerSettings
from naah.regions import GUIDE_MODES
from naah.terms import LossWeights

__all__ = [
    "ARRAY_INIT",
    "AUTO",
    "DEFAULT_SIZE",
    "INITS",
    "ColorSettings",
    "ComputeSettings",
    "ImageSettings",
    "NetworkSettings",
    "ScheduleSettings",
    "SettingAttribute",
    "SettingError",
    "Settings",
    "add_group_options",
    "add_options",
    "check_value",
    "default",
    "describe",
    "document",
    "flag",
    "given",
    "given_of",
    "graph_key",
    "help_text",
    "jsonable",
    "kept_differences",
    "keywords_of",
    "names",
    "option_type",
    "parameters",
    "parse_text",
    "setting_key",
    "specs",
    "tupled",
]

#: Start images by name: white noise (Gatys et al.), the content or the style image.
INITS = ("noise", "content", "style")
#: What a checkpoint records as ``init`` for a start image given as an array.
ARRAY_INIT = "image"
#: A long edge of "auto": the largest that fits in memory (naah.plan).
AUTO = "auto"
#: The long edge of a result, by default: the 512 px of Gatys et al.'s figures.
DEFAULT_SIZE = 512
#: The smallest tile: the stride of conv5_1, the deepest default layer
#: (naah.blocks).
TILE_STRIDE = 16


# -- checks that only these settings need ----------------------------------------------
def _pooling(value: object) -> str:
    try:
        return check_pool_mode(value)  # type: ignore[arg-type]
    except ValueError as error:
        raise ValueError(str(error).removeprefix("pooling ")) from None


def _color(value: object) -> str | None:
    if value is not None and value not in COLOR_MODES:
        raise ValueError(f"must be None or one of {COLOR_MODES}, got {value!r}")
    return None if value is None else str(value)


def _size(value: object) -> int | str | None:
    if isinstance(value, str) and value != AUTO:  # "30cm@300dpi" from Python
        value = _size_text(value)
    if isinstance(value, PrintSize):  # an int that keeps its dpi
        return value
    return value if value is None or value == AUTO else positive_int(value)


def _size_text(text: str) -> int | str:
    if text.strip() == AUTO:
        return AUTO
    printed = print_size(text)
    if printed is not None:
        return printed
    try:
        return as_int(text)
    except ValueError:
        raise ValueError(
            "must be pixels (512), auto, or a print's length at a resolution, "
            f"such as 30cm@300dpi, 20in@150dpi or 300mm@300dpi; got {text!r}"
        ) from None


def _tile_size(value: object) -> int | str:
    if value == AUTO:
        return AUTO
    size = positive_int(value)
    if size < TILE_STRIDE:
        raise ValueError(
            f"must be auto or at least {TILE_STRIDE} pixels (the stride of conv5_1), "
            f"got {value!r}"
        )
    return size


def _memory(value: object) -> int | None:
    if value is None:
        return None
    return as_bytes(value) if isinstance(value, str) else positive_int(value)


def _tile_size_text(text: str) -> int | str:
    return AUTO if text.strip() == AUTO else as_int(text)


def _one_or_tuple(values: tuple[Any, ...]) -> Any:
    """One value for ``N``, a tuple for ``N1,N2`` (per style, per scale)."""
    return values[0] if len(values) == 1 else values


def _style_scale(value: object) -> float | tuple[float, ...]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(positive_float(v) for v in value)
    return positive_float(value)


def _iterations(value: object) -> int | tuple[int, ...]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        counts = tuple(non_negative_int(v) for v in value)
        return _one_or_tuple(counts) if counts else non_negative_int(value)
    return non_negative_int(value)


def _scales(value: object) -> tuple[int, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"must be long edges such as (256, 512), got {value!r}")
    if not value or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise ValueError(f"must be positive ints, got {value!r}")
    if any(b <= a for a, b in itertools.pairwise(value)):
        raise ValueError(
            "must increase, coarse to fine (increasing long edges such as "
            f"256,512,1024); got {tuple(value)!r}"
        )
    return tuple(value)


def _init(value: object) -> str:
    """A start image by name, or an image file (kept as its absolute path)."""
    if isinstance(value, str) and value in (*INITS, ARRAY_INIT):
        return value
    if isinstance(value, str | os.PathLike) and os.path.isfile(value):
        return as_path(os.fspath(value))
    raise ValueError(f"must be one of {INITS} or an image file, got {value!r}")


# -- the groups naah.settings owns ---------------------------------------------------
@dataclass(frozen=True)
class NetworkSettings:
    """How VGG-19 is built."""

    pooling: str = setting(
        "max",
        check=_pooling,
        choices=POOL_MODES,
        help="VGG pooling: max as trained, avg as Gatys et al. suggest",
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class ColorSettings:
    """Colour control (Gatys et al. 2017, section 5; :mod:`naah.color`)."""

    color: str | None = setting(
        None,
        check=_color,
        choices=COLOR_MODES,
        shown="the style's",
        help="colour control (Gatys et al. 2017): luminance-only transfer, style "
        "recoloured to the content's colour histogram, or the result given the "
        "content's colours",
    )
    color_match: str = setting(
        "pca",
        check=choice(MATCH_MODES),
        choices=MATCH_MODES,
        help="linear map of {color} histogram",
    )

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class ImageSettings:
    """The images: the result's size, the styles' scale and blend, regions' guides,
    and the start image."""

    size: int | str | None = setting(
        DEFAULT_SIZE,
        scope="run",
        check=_size,
        text=_size_text,
        metavar="N|auto|LENGTH@DPI",
        help="long edge of the result in pixels; auto: the largest that fits in "
        "memory, at most the content's own (None: the content's own size); or as "
        "printed, 30cm@300dpi (also mm, in): round(30 / 2.54 * 300) pixels",
    )
    style_scale: float | tuple[float, ...] = setting(
        1.0,
        scope="run",
        check=_style_scale,
        text=lambda text: _one_or_tuple(as_floats(text)),
        metavar="S",
        help="style image's long edge relative to {size}: one value, or one per "
        "style S1,S2",
    )
    style_blend: tuple[float, ...] | None = setting(
        None,
        scope="run",
        check=optional(blend_weights),
        text=as_floats,
        metavar="W1,W2",
        shown="equal",
        help="weights of several style images, normalised to sum 1",
    )
    guide_mode: str = setting(
        "simple",
        scope="run",
        check=choice(GUIDE_MODES),
        choices=GUIDE_MODES,
        help="region masks at each layer: resized (simple) or eroded to the "
        "positions whose receptive field is inside",
    )
    init: str = setting(
        "noise",
        scope="run",
        check=_init,
        metavar="|".join((*INITS, "PATH")),
        help="initial image: white noise, the content or style image, or a file",
    )
    seed: int = setting(0, check=seed, metavar="N", help="seed of the noise, 0 or more")

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class ScheduleSettings:
    """How long a run goes: iterations, coarse-to-fine scales, checkpoints."""

    iterations: int | tuple[int, ...] = setting(
        500,
        scope="run",
        check=_iterations,
        text=lambda text: _one_or_tuple(as_ints(text)),
        metavar="N",
        resume="new",
        help="optimiser iterations; with {scales}, N at every scale, or N1,N2,… "
        "one per scale (the run's iterations are their sum)",
    )
    scales: tuple[int, ...] | None = setting(
        None,
        scope="run",
        check=optional(_scales),
        text=as_ints,
        metavar="S1,S2",
        help="coarse to fine (Gatys et al. 2017): long edges, increasing, e.g. "
        "256,512,1024; each starts from the last, upsampled; replaces {size}",
    )
    checkpoint_every: int = setting(
        50,
        scope="run",
        check=positive_int,
        metavar="N",
        record=False,
        resume="new",
        help="write the checkpoint every N iterations and at least once a minute",
    )

    def __post_init__(self) -> None:
        check_fields(self)
        counts = self.iterations
        if self.scales is None:
            if isinstance(counts, tuple):
                raise SettingError(
                    "{iterations} has {n} values; give one (or {scales} with one "
                    "value per scale)",
                    "iterations",
                    "scales",
                    n=len(counts),
                )
            return
        if isinstance(counts, tuple) and len(counts) != len(self.scales):
            raise SettingError(
                "{iterations} has {n} values for {m} {scales}; give one value for "
                "every scale, or one per scale",
                "iterations",
                "scales",
                n=len(counts),
                m=len(self.scales),
            )

    @property
    def per_scale(self) -> tuple[int, ...]:
        """The iterations of each scale (one entry without scales)."""
        counts = self.iterations
        count = len(self.scales) if self.scales else 1
        return counts if isinstance(counts, tuple) else (counts,) * count

    @property
    def total(self) -> int:
        """The iterations of the whole run, over all its scales."""
        return sum(self.per_scale)


@dataclass(frozen=True)
class ComputeSettings:
    """Where and how the graphs run (they do not change the result)."""

    backend: str = setting(
        "c",
        check=choice(BACKENDS),
        choices=BACKENDS,
        help="how graphs run: see naah.compile; jax for GPUs",
    )
    threads: int | None = setting(
        None,
        scope="runtime",
        check=optional(positive_int),
        text=as_int,
        metavar="N",
        record=False,
        resume="new",
        shown="every core",
        help="worker threads of each run (naah.Runtime)",
    )

    tile_size: int | str = setting(
        AUTO,
        scope="run",
        check=_tile_size,
        text=_tile_size_text,
        metavar="N|auto",
        resume="new",
        help="evaluate the image in blocks of N px (plus margins), exactly "
        "(naah.tiled); auto: whole when it fits in --max-memory, else the largest "
        "block that fits",
    )
    max_memory: int | None = setting(
        None,
        scope="run",
        check=_memory,
        text=as_bytes,
        metavar="SIZE",
        resume="new",
        shown="the memory available",
        help="memory budget of the run, e.g. 6G (bytes, or a text such as '6G' in "
        "Python): blocks and the optimiser's state are sized to fit it",
    )

    def __post_init__(self) -> None:
        check_fields(self)


# -- one run's settings --------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """Every setting of a run, by concern (see the module docstring).

    Examples
    --------
    >>> settings = Settings.of({"beta": 1e4, "optimizer": "adam", "size": 256})
    >>> settings.loss.beta, settings.optimizer.method, settings.images.size
    (10000.0, 'adam', 256)
    >>> settings.to_json(scope="run")
    {'size': 256, 'style_scale': 1.0, 'style_blend': None, 'guide_mode': 'simple', 'init': 'noise', 'iterations': 500, 'scales': None, 'tile_size': 'auto', 'max_memory': None}
    """

    loss: LossWeights = field(default_factory=LossWeights)
    optimizer: OptimizerSettings = field(default_factory=OptimizerSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    color: ColorSettings = field(default_factory=ColorSettings)
    images: ImageSettings = field(default_factory=ImageSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    compute: ComputeSettings = field(default_factory=ComputeSettings)

    @classmethod
    def of(cls, values: Mapping[str, Any], base: Settings | None = None) -> Settings:
        """Settings from values by keyword (``alpha``, ``optimizer`` …), the others
        from ``base`` (default: the defaults).

        Raises
        ------
        TypeError
            For a name that is no setting (as for an unexpected keyword).
        SettingError
            For a value its check refuses, naming the setting.
        """
        groups = _GROUP_OF
        unknown = [name for name in values if name not in groups]
        if unknown:
            raise TypeError(f"got an unexpected keyword argument {unknown[0]!r}")
        current = base or cls()
        changes: dict[str, dict[str, Any]] = {}
        for name, value in values.items():
            group, attribute = groups[name]
            changes.setdefault(group, {})[attribute] = value
        updated = {
            group: dataclasses.replace(getattr(current, group), **fields)
            for group, fields in changes.items()
        }
        return dataclasses.replace(current, **updated)

    def value(self, name: str) -> Any:
        """The value of the setting ``name`` (``'alpha'``)."""
        group, attribute = _GROUP_OF[name]
        return getattr(getattr(self, group), attribute)

    def values(
        self, scope: str | None = None, *, recorded: bool = False
    ) -> dict[str, Any]:
        """Every setting's value by name (of one ``scope`` only, or only those a
        run's description records)."""
        return {
            name: self.value(name)
            for name, spec in specs().items()
            if (scope is None or spec.scope == scope) and (spec.record or not recorded)
        }

    def to_json(self, scope: str | None = None) -> dict[str, Any]:
        """The recorded settings as plain JSON values (lists, not tuples)."""
        return {k: jsonable(v) for k, v in self.values(scope, recorded=True).items()}

    @classmethod
    def from_json(
        cls, values: Mapping[str, Any], base: Settings | None = None
    ) -> Settings:
        """The inverse of :meth:`to_json` (settings it lacks keep ``base``'s)."""
        return cls.of({k: tupled(v) for k, v in values.items()}, base)


def _group_classes() -> dict[str, type]:
    return {
        "loss": LossWeights,
        "optimizer": OptimizerSettings,
        "network": NetworkSettings,
        "color": ColorSettings,
        "images": ImageSettings,
        "schedule": ScheduleSettings,
        "compute": ComputeSettings,
    }


def _index() -> tuple[dict[str, tuple[str, str]], dict[str, Setting]]:
    groups: dict[str, tuple[str, str]] = {}
    found: dict[str, Setting] = {}
    for group, cls in _group_classes().items():
        for name, f, spec in setting_fields(cls):
            if name in groups:
                raise TypeError(f"two settings are named {name!r}")
            groups[name] = (group, f.name)
            found[name] = spec
    return groups, found


_GROUP_OF, _SPECS = _index()


def graph_key(settings: Settings) -> str:
    """What a compiled problem depends on, as one text: two settings of the same key
    share a compiled loss. α, β and the TV weight are shared variables of the
    graph; the optimiser, the seed, the images and their sizes are not in it; the
    colour modes but luminance change only the images.

    Examples
    --------
    >>> graph_key(Settings.of({"beta": 10.0})) == graph_key(Settings())
    True
    >>> graph_key(Settings.of({"pooling": "avg"})) == graph_key(Settings())
    False
    """
    loss = settings.loss
    return repr(
        (
            tuple(loss.content_layers),
            tuple(loss.style_layers.items()),
            settings.network.pooling,
            settings.compute.backend,
            settings.color.color == "luminance",
        )
    )


def specs() -> dict[str, Setting]:
    """Every setting's declaration, by name, group by group."""
    return dict(_SPECS)


def default(name: str) -> Any:
    """The default of the setting ``name``."""
    return Settings().value(name)


def jsonable(value: Any) -> Any:
    """Tuples as lists, mappings with str keys: what JSON gives back."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def tupled(value: Any) -> Any:
    """Lists (JSON's, TOML's) as tuples, in mappings too: the form settings take.

    Examples
    --------
    >>> tupled({"scales": [256, 512], "layers": {"conv1_1": [1, 2]}})
    {'scales': (256, 512), 'layers': {'conv1_1': (1, 2)}}
    """
    if isinstance(value, list | tuple):
        return tuple(tupled(v) for v in value)
    if isinstance(value, Mapping):
        return {k: tupled(v) for k, v in value.items()}
    return value


# -- names and text ------------------------------------------------------------------
def setting_key(name: str) -> str:
    """The setting a name means: its own, an alias (``content-weight``), with ``-``
    or ``_`` and leading dashes (``--learning-rate``).

    Raises
    ------
    SettingError
        For an unknown name, naming the close ones.
    """
    key = name.strip().lstrip("-").lower().replace("-", "_")
    if key in _SPECS:
        return key
    for other, spec in _SPECS.items():
        if key in spec.aliases:
            return other
    known = [*_SPECS, *(a for s in _SPECS.values() for a in s.aliases)]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise SettingError(
        f"unknown setting {name!r}{hint}; settings are naah stylize's options: "
        f"{', '.join(sorted(_SPECS))}"
    )


def parse_text(name: str, text: str, *, as_written: bool = False) -> Any:
    """The value of setting ``name`` written as text, checked: in canonical form,
    or ``as_written`` (a ValueError says what is wrong, without the name, quoting
    the text).

    Examples
    --------
    >>> parse_text("style_layers", "conv1_1,conv2_1")
    {'conv1_1': 0.5, 'conv2_1': 0.5}
    >>> parse_text("style_layers", "conv1_1,conv2_1", as_written=True)
    ('conv1_1', 'conv2_1')
    """
    spec = _SPECS[name]
    value = spec.text(text)
    if spec.check is None:
        return value
    try:
        checked = spec.check(value)
    except ValueError as error:
        raise ValueError(
            str(error).replace(f"got {value!r}", f"got {text!r}")
        ) from None
    return value if as_written else checked


def check_value(name: str, value: Any) -> Any:
    """A typed value of setting ``name``, checked."""
    spec = _SPECS[name]
    return value if spec.check is None else spec.check(value)


def flag(name: str) -> str:
    """The command-line option of setting ``name``: ``--learning-rate``."""
    return "--" + name.replace("_", "-")


class _Spelling(dict):
    def __init__(self, spell: Callable[[str], str]) -> None:
        super().__init__()
        self.spell = spell

    def __missing__(self, name: str) -> str:
        return self.spell(name)


def help_text(name: str, spell: Callable[[str], str] = str) -> str:
    """The help of setting ``name``, the settings it mentions (``{size}``) spelled
    by ``spell`` (``--size`` on the command line)."""
    return _SPECS[name].help.format_map(_Spelling(spell))


# -- the command line ----------------------------------------------------------------
def add_options(
    parser: argparse.ArgumentParser,
    *,
    exclude: Sequence[str] = (),
    title: Callable[[str], str] = lambda group: f"{group} settings",
) -> None:
    """Add an option for each setting to ``parser``, in one argument group per
    settings group.

    Options default to nothing (``argparse.SUPPRESS``): :func:`given` then finds
    the settings a command line gave, and the defaults stay the model's. A value is
    parsed and checked by the setting's own check, so a bad one is the parser's
    error naming the option.
    """
    for group, cls in _group_classes().items():
        declared = [(n, s) for n, _, s in setting_fields(cls) if n not in exclude]
        if not declared:
            continue
        section = parser.add_argument_group(
            title(group), (cls.__doc__ or "").split("\n")[0]
        )
        for name, spec in declared:
            shown = spec.shown or _shown(default(name))
            section.add_argument(
                flag(name),
                *(flag(alias) for alias in spec.aliases),
                dest=name,
                type=_argparse_type(name),
                default=argparse.SUPPRESS,
                metavar=spec.metavar
                or (
                    "{" + ",".join(map(str, spec.choices)) + "}"
                    if spec.choices
                    else name.upper()
                ),
                help=f"{help_text(name, flag)} (default {shown})".replace("%", "%%"),
            )


def add_group_options(parser: argparse.ArgumentParser, group: type, title: str) -> None:
    """Add an option for each setting of a settings dataclass that is not one of
    :class:`Settings`' groups (a command's own, such as ``naah video``'s), as
    :func:`add_options` does for those: checked by the setting's own check,
    defaulting to nothing (:func:`given_of`)."""
    section = parser.add_argument_group(title, (group.__doc__ or "").split("\n")[0])
    defaults = group()
    for name, f, spec in setting_fields(group):
        shown = spec.shown or _shown(getattr(defaults, f.name))
        text = spec.help.format_map(_Spelling(flag))
        section.add_argument(
            flag(name),
            *(flag(alias) for alias in spec.aliases),
            dest=name,
            type=option_type(spec.text, spec.check, name=name),
            default=argparse.SUPPRESS,
            metavar=spec.metavar
            or ("{" + ",".join(map(str, spec.choices)) + "}" if spec.choices else None),
            help=f"{text} (default {shown.format_map(_Spelling(flag))})".replace(
                "%", "%%"
            ),
        )


def given_of(namespace: argparse.Namespace, group: type) -> dict[str, Any]:
    """The settings of ``group`` that a command line gave (:func:`add_group_options`)."""
    values = vars(namespace)
    return {
        name: values[name] for name, _, _ in setting_fields(group) if name in values
    }


def given(namespace: argparse.Namespace) -> dict[str, Any]:
    """The settings an argparse namespace holds: those the command line gave (their
    options default to nothing, see :func:`add_options`)."""
    values = vars(namespace)
    return {name: values[name] for name in _SPECS if name in values}


def _argparse_type(name: str) -> Callable[[str], Any]:
    return option_type(functools.partial(parse_text, name), name=name)


def option_type(
    parse: Callable[[str], Any],
    check: Callable[[Any], Any] | None = None,
    *,
    name: str = "value",
) -> Callable[[str], Any]:
    """An argparse type: ``parse`` the text, then ``check`` it; a ValueError of
    either is the parser's error, naming the option."""

    def typed(text: str) -> Any:
        try:
            value = parse(text)
            return value if check is None else check(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    typed.__name__ = name
    return typed


def _shown(value: object) -> str:
    """A default as the command line spells it (``conv1_1,conv2_1``)."""
    if isinstance(value, Mapping):
        return ",".join(map(str, value))
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return (
        "none"
        if value is None
        else f"{value:g}"
        if isinstance(value, float)
        else str(value)
    )


# -- resume --------------------------------------------------------------------------
def kept_differences(
    recorded: Settings, values: Mapping[str, Any]
) -> Iterator[tuple[str, Any, Any]]:
    """The settings in ``values`` that a resumed run keeps but that differ from
    ``recorded``'s: (name, given value, recorded value) each, after checking
    (``style_weights`` is compared as the ``style_layers`` it gives)."""
    kept = {k: v for k, v in values.items() if _SPECS[k].resume == "keep"}
    if not kept:
        return
    asked = Settings.of(kept, recorded)
    for name in kept:
        compared = _SPECS[name].folds_into or name
        mine, theirs = asked.value(compared), recorded.value(compared)
        if jsonable(mine) != jsonable(theirs):
            yield name, mine, theirs


# -- the Python API ------------------------------------------------------------------
class SettingAttribute:
    """An attribute that is one of the settings of its object's ``config``
    (``transfer.pooling`` is ``transfer.config.network.pooling``). Setting it
    checks the value, as the keyword does, and replaces ``config``: a value the
    check refuses is a :class:`SettingError` there, never a failure later."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type) -> Any:
        if instance is None:
            return self
        return instance.config.value(self.name)

    def __set__(self, instance: Any, value: Any) -> None:
        instance.config = Settings.of({self.name: value}, instance.config)


def names(scope: str) -> tuple[str, ...]:
    """The settings of ``scope`` (``transfer``: StyleTransfer's keywords; ``run``:
    its run's), in declaration order."""
    return tuple(n for n, spec in _SPECS.items() if spec.scope == scope)


def keywords_of(values: Mapping[str, Any], scope: str, where: str) -> dict[str, Any]:
    """``values`` once each is a setting of ``scope``, else the TypeError Python
    gives for an unexpected keyword of ``where`` (``StyleTransfer()``)."""
    allowed = names(scope)
    for name in values:
        if name not in allowed:
            raise TypeError(f"{where} got an unexpected keyword argument {name!r}")
    return dict(values)


def parameters(scope: str) -> list[inspect.Parameter]:
    """The settings of ``scope`` as keyword-only parameters with their defaults, for
    the signature that ``help()`` and editors show."""
    defaults = Settings()
    return [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=defaults.value(name)
        )
        for name in names(scope)
    ]


def describe(scope: str, indent: str = "    ") -> str:
    """The settings of ``scope`` as numpydoc parameter entries (docstrings)."""
    lines = []
    defaults = Settings()
    for name in names(scope):
        spec = _SPECS[name]
        shown = spec.shown or _shown(defaults.value(name))
        lines.append(f"{indent}{name} : default {shown}")
        text = help_text(name, lambda n: f"``{n}``")
        lines.append(f"{indent}    {text[0].upper()}{text[1:]}.")
    return "\n".join(lines)


def document(function: Callable[..., Any], scope: str) -> None:
    """Give ``function`` (whose ``**settings`` are those of ``scope``) its settings:
    in its docstring, on the line that says ``{settings}`` (at that line's
    indentation), and in the signature that ``help()`` and editors show."""
    lines = (function.__doc__ or "").split("\n")
    for k, line in enumerate(lines):
        if line.strip() == "{settings}":
            lines[k] = describe(scope, line[: len(line) - len(line.lstrip())])
    function.__doc__ = "\n".join(lines)
    if isinstance(function, type):  # a class: its __init__ has the keywords
        function = function.__init__  # type: ignore[misc]
    signature = inspect.signature(function)
    kept = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    function.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*kept, *parameters(scope)]
    )
