"""The settings of a batch job: ``naah stylize``'s options, by name, with their checks.

A setting is a keyword of :class:`naah.StyleTransfer` (``alpha``, ``beta``,
``pooling``, ``style_layers`` …) or of :meth:`naah.StyleTransfer.run` that shapes the
result (``iterations``, ``size``, ``style_scale``, ``init``), plus ``style_weights``
(the w_l of ``--style-weights``). Names are those of ``naah stylize``'s options, with
``-`` or ``_`` (``learning-rate`` = ``learning_rate``); ``content-weight`` and
``style-weight`` are ``alpha`` and ``beta``, as there. Defaults are read from the
signatures of :class:`naah.StyleTransfer` and :meth:`~naah.StyleTransfer.run`, so
they are the library's own.

Values come as text (the command line, ``--grid KEY=V1,V2``) or typed (TOML job
files, Python); :func:`convert` checks and normalises both. A list of layers or
weights is written ``a,b`` as one option's value and ``a+b`` inside a grid, whose
values are separated by commas.
"""

from __future__ import annotations

import difflib
import inspect
import itertools
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from naah.architecture import FEATURE_LAYERS
from naah.compile import BACKENDS
from naah.models import POOL_MODES
from naah.optim import METHODS
from naah.style_transfer import INITS, StyleTransfer

#: Keywords of StyleTransfer.run that shape the result (the others, callbacks,
#: checkpoints and live views, only watch it).
RUN_KEYS = ("iterations", "size", "style_scale", "init", "scales")
#: StyleTransfer keywords that are no setting of a job: the engine provides them.
NOT_SETTINGS = ("self", "weights", "runtime")
#: Other names of settings, as naah stylize spells them.
ALIASES = {"content_weight": "alpha", "style_weight": "beta"}
#: Keys a grid or base settings must not set: a job's inputs, not its settings.
INPUT_KEYS = ("content", "style")


class SettingError(ValueError):
    """A setting or value that naah cannot use; the message is one line naming it."""


@dataclass(frozen=True)
class Setting:
    """One setting: its name, how a value is checked, and its help text."""

    key: str
    convert: Callable[[object], Any]
    metavar: str
    help: str

    @property
    def flag(self) -> str:
        """The command-line option, ``--learning-rate``."""
        return "--" + self.key.replace("_", "-")


# -- value checks ------------------------------------------------------------------
def _number(value: object, kind: type, what: str) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"must be {what}, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value) if kind is float else int(value, 10)
        except ValueError:
            raise ValueError(f"must be {what}, got {value!r}") from None
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int | float) or (kind is int and isinstance(value, float)):
        raise ValueError(f"must be {what}, got {value!r}")
    number = kind(value)
    if kind is float and not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value!r}")
    return number


def positive_int(value: object) -> int:
    number = _number(value, int, "an integer")
    if number <= 0:
        raise ValueError(f"must be a positive integer, got {value!r}")
    return number


def non_negative_int(value: object) -> int:
    number = _number(value, int, "an integer")
    if number < 0:
        raise ValueError(f"must be 0 or more, got {value!r}")
    return number


def seed(value: object) -> int:
    number = non_negative_int(value)
    if number >= 2**128:
        raise ValueError(f"must be below 2**128 (numpy's seeds), got {value!r}")
    return number


def positive_float(value: object) -> float:
    number = _number(value, float, "a number")
    if not number > 0:
        raise ValueError(f"must be a positive number, got {value!r}")
    return number


def non_negative_float(value: object) -> float:
    number = _number(value, float, "a number")
    if not number >= 0:
        raise ValueError(f"must be 0 or more, got {value!r}")
    return number


def adam_beta(value: object) -> float:
    number = _number(value, float, "a number")
    if not 0 <= number < 1:
        raise ValueError(f"must be in [0, 1), got {value!r}")
    return number


def boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"must be true or false, got {value!r}")


def choice(choices: Iterable[str]) -> Callable[[object], str]:
    options = tuple(choices)

    def check(value: object) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {value!r}")
        return str(value)

    return check


def _items(value: object) -> list[Any]:
    """A list given as a list, or as text ``a,b`` or ``a+b``."""
    if isinstance(value, str):
        return [v.strip() for v in value.replace("+", ",").split(",")]
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError(f"must be a list, got {value!r}")


def layers(value: object) -> tuple[str, ...]:
    names = _items(value)
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"must be layer names like conv1_1+conv2_1, got {value!r}")
    for name in names:
        if name not in FEATURE_LAYERS:
            raise ValueError(
                f"has unknown layer {name!r}; VGG-19's layers up to pool5 are "
                f"{', '.join(FEATURE_LAYERS)}"
            )
    return tuple(names)


def style_layers(value: object) -> tuple[str, ...] | dict[str, float]:
    """Layer names, or (TOML, Python) a mapping of layer to its weight w_l."""
    if isinstance(value, Mapping):
        names = layers(list(value))
        return {n: non_negative_float(value[n]) for n in names}
    return layers(value)


def floats(value: object) -> tuple[float, ...]:
    items = _items(value)
    if not items:
        raise ValueError(f"must be numbers like 0.5+0.5, got {value!r}")
    return tuple(non_negative_float(v) for v in items)


def init(value: object) -> str:
    """'noise', 'content', 'style', or an image file (kept as its absolute path)."""
    if not isinstance(value, str | os.PathLike):
        raise ValueError(f"must be {', '.join(INITS)} or an image file, got {value!r}")
    text = os.fspath(value)
    if text in INITS:
        return text
    if not os.path.isfile(text):
        raise ValueError(f"must be {', '.join(INITS)} or an image file, got {text!r}")
    return os.path.abspath(text)


def scales(value: object) -> tuple[int, ...]:
    """Coarse-to-fine long edges, increasing: ``256+512`` or a list."""
    edges = tuple(positive_int(v) for v in _items(value))
    if not edges or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"must be increasing long edges like 256+512, got {value!r}")
    return edges


def _by_default(default: object) -> Callable[[object], Any]:
    """A check for a keyword this table does not know, from its default's type."""
    if isinstance(default, bool):
        return boolean
    if isinstance(default, int):
        return lambda v: _number(v, int, "an integer")
    if isinstance(default, float):
        return lambda v: _number(v, float, "a number")
    if isinstance(default, str):
        return str
    return lambda v: v


_KNOWN: tuple[Setting, ...] = (
    Setting("iterations", non_negative_int, "N", "optimiser iterations, in all"),
    Setting("size", positive_int, "N", "long edge of the result in pixels"),
    Setting("style_scale", positive_float, "S", "style image's long edge relative to --size"),
    Setting("init", init, "|".join((*INITS, "PATH")), "initial image"),
    Setting("scales", scales, "S1,S2", "coarse to fine: long edges, increasing (--size is then unused)"),
    Setting("optimizer", choice(METHODS), "|".join(METHODS), "optimiser"),
    Setting("learning_rate", positive_float, "LR", "step size of adam and gd"),
    Setting("beta1", adam_beta, "B1", "Adam's beta1, in [0, 1)"),
    Setting("beta2", adam_beta, "B2", "Adam's beta2, in [0, 1)"),
    Setting("alpha", non_negative_float, "ALPHA", "content weight α"),
    Setting("beta", non_negative_float, "BETA", "style weight β"),
    Setting("content_layers", layers, "L1,L2", "content layers"),
    Setting("style_layers", style_layers, "L1,L2", "style layers"),
    Setting("style_weights", floats, "W1,W2", "weight w_l of each style layer"),
    Setting("tv_weight", non_negative_float, "W", "total-variation weight"),
    Setting("pooling", choice(POOL_MODES), "|".join(POOL_MODES), "VGG pooling"),
    Setting("seed", seed, "N", "seed of the noise"),
    Setting("backend", choice(BACKENDS), "|".join(BACKENDS), "how graphs run"),
)  # fmt: skip


@cache
def _signatures() -> dict[str, inspect.Parameter]:
    init_ = inspect.signature(StyleTransfer.__init__).parameters
    run = inspect.signature(StyleTransfer.run).parameters
    found = {k: p for k, p in init_.items() if k not in NOT_SETTINGS}
    found.update({k: run[k] for k in RUN_KEYS if k in run})
    return found


@cache
def transfer_keys() -> tuple[str, ...]:
    """The keywords of :class:`naah.StyleTransfer` that are settings."""
    return tuple(k for k in _signatures() if k not in RUN_KEYS)


@cache
def settings_table() -> dict[str, Setting]:
    """Every setting, by key: the table above, then any other StyleTransfer keyword
    (checked by its default's type)."""
    known = {
        s.key: s for s in _KNOWN if s.key in _signatures() or s.key == "style_weights"
    }
    for key, parameter in _signatures().items():
        if key not in known:
            default = parameter.default
            known[key] = Setting(
                key, _by_default(default), key.upper(), f"{key} of StyleTransfer"
            )
    return known  # fmt: skip


def defaults() -> dict[str, Any]:
    """Each setting's default, from the signatures (``style_weights``: None)."""
    values = {k: p.default for k, p in _signatures().items()}
    values["style_weights"] = None
    return values


def setting_key(name: str) -> str:
    """The key of a setting given by any of its names, else a :class:`SettingError`
    that names the close ones."""
    key = name.strip().lstrip("-").lower().replace("-", "_")
    key = ALIASES.get(key, key)
    table = settings_table()
    if key in table:
        return key
    if key in INPUT_KEYS:
        raise SettingError(f"{name!r} is an input, not a setting: give --{key} PATH")
    close = difflib.get_close_matches(key, [*table, *ALIASES], n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise SettingError(
        f"unknown setting {name!r}{hint}; settings are naah stylize's options: "
        f"{', '.join(sorted(table))}"
    )


def convert(key: str, value: object) -> Any:
    """``value`` checked and normalised for setting ``key`` (a canonical key)."""
    return settings_table()[key].convert(value)


def check_value(name: str, value: object, where: str) -> tuple[str, Any]:
    """(key, value) for a setting given by name, or a one-line :class:`SettingError`
    that starts with ``where`` (``--grid beta=1,x``)."""
    try:
        key = setting_key(name)
    except SettingError as error:
        raise SettingError(f"{where}: {error}") from None
    try:
        return key, convert(key, value)
    except ValueError as error:
        raise SettingError(f"{where}: {key} {error}") from None


def parse_grid(texts: Iterable[str]) -> dict[str, list[Any]]:
    """``KEY=V1,V2`` texts as a dict of key to values (in order).

    Examples
    --------
    >>> parse_grid(["beta=1e2,1e4", "pooling=max,avg", "style-layers=conv1_1+conv2_1"])
    {'beta': [100.0, 10000.0], 'pooling': ['max', 'avg'], 'style_layers': [('conv1_1', 'conv2_1')]}
    """
    grid: dict[str, list[Any]] = {}
    for text in texts:
        key, values = parse_axis(text)
        if key in grid:
            raise SettingError(f"--grid {text}: {key} is given twice; give it once")
        grid[key] = values
    return grid


def parse_axis(text: str) -> tuple[str, list[Any]]:
    """One ``--grid KEY=V1,V2``: (key, values), or a one-line :class:`SettingError`."""
    name, sep, rest = text.partition("=")
    if not sep or not name.strip() or not rest.strip():
        raise SettingError(
            f"--grid {text!r}: expected KEY=V1,V2 (a naah stylize option and its "
            "values, e.g. beta=1e2,1e3)"
        )
    items = [v.strip() for v in rest.split(",")]
    if not all(items):
        raise SettingError(
            f"--grid {text}: an empty value; separate values by one comma"
        )
    values = []
    for item in items:
        key, value = check_value(name, item, f"--grid {text}")
        values.append(value)
    return key, values


def parse_assignment(text: str) -> tuple[str, Any]:
    """One ``KEY=VALUE`` (a setting for every job): (key, value)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SettingError(f"{text!r}: expected KEY=VALUE, e.g. pooling=avg")
    return check_value(name, value.strip(), text)


def resolve(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A job's settings from its given (checked) values: the StyleTransfer
    settings in canonical form (:attr:`naah.StyleTransfer.settings`) and the run's
    (``iterations``, ``size``, ``style_scale``, ``init``).

    Raises
    ------
    SettingError
        If the values do not make a transfer (style weights that do not match the
        layers, nothing to minimise …).
    """
    merged = {**defaults(), **values}
    layers_ = merged["style_layers"]
    weights = merged.pop("style_weights")
    if weights is not None:
        names = list(layers_)
        if len(weights) != len(names):
            raise SettingError(
                f"style_weights gives {len(weights)} weights for {len(names)} style "
                f"layers ({', '.join(names)}); give one per layer"
            )
        merged["style_layers"] = dict(zip(names, weights, strict=True))
    kwargs = {k: merged[k] for k in transfer_keys()}
    try:
        transfer = StyleTransfer(None, **kwargs)
    except (TypeError, ValueError) as error:
        raise SettingError(" ".join(str(error).split())) from None
    return dict(transfer.settings), {k: merged[k] for k in RUN_KEYS if k in merged}
