"""Value checks of naah's settings, and how a setting is declared.

Every setting of a run is a field of a frozen dataclass, declared once with
:func:`setting`: its default, its check, how text spells a value, its help, and
where it belongs (:class:`Setting`). :mod:`naah.settings` gathers the groups into one
description of a run and makes the rest from their fields: the keywords of
:class:`naah.StyleTransfer`, the options of ``naah stylize`` and ``naah batch``,
TOML and grid keys, and a checkpoint's settings. Groups owned by the layers below
it (:class:`naah.terms.LossWeights`, :class:`naah.optim.OptimizerSettings`) declare
their fields with this module too, which is why it sits this low and imports
nothing of naah but the layer table.

A check takes a typed value (a Python keyword, a TOML value, a value parsed from
text) and returns it in canonical form, or raises ``ValueError("must be ..., got
...")``; :func:`check_fields`, called from a group's ``__post_init__``, runs them
and names the setting. Text is parsed first (:attr:`Setting.text`), so that
``"10"`` is an iteration count on the command line but not in Python.

Messages name settings through :class:`SettingError`, whose template refers to them
as ``{name}``: Python shows ``alpha``, the command line ``--alpha``.

Examples
--------
>>> non_negative_float(0.5)
0.5
>>> positive_int(0)
Traceback (most recent call last):
...
ValueError: must be a positive int, got 0
>>> str(SettingError("{alpha} and {beta} are both 0", "alpha", "beta"))
'alpha and beta are both 0'
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from naah.architecture import FEATURE_LAYERS

__all__ = [
    "Check",
    "PrintSize",
    "Setting",
    "SettingError",
    "Spelled",
    "as_float",
    "as_floats",
    "as_int",
    "as_ints",
    "as_names",
    "as_text",
    "blend_weights",
    "boolean",
    "check_fields",
    "choice",
    "finite_float",
    "layer_names",
    "non_negative_float",
    "non_negative_floats",
    "non_negative_int",
    "optional",
    "positive_float",
    "positive_int",
    "print_size",
    "seed",
    "setting",
    "setting_fields",
    "style_layer_weights",
    "unit_interval",
]

Check = Callable[[Any], Any]
Parse = Callable[[str], Any]
#: Where a setting is given: to StyleTransfer(...), to its run(...), or (not a
#: keyword of either) to the naah.Runtime a run gets.
SCOPES = ("transfer", "run", "runtime")


class Spelled(Exception):
    """An error whose one-line message names settings (or options) as ``{name}`` in
    its ``template``, so that each front end spells them its own way
    (:meth:`spelled`); ``values`` fill the template's other fields."""

    def __init__(self, template: str, *settings: str, **values: object) -> None:
        self.template = template
        self.settings = settings
        self.values = values
        super().__init__(self.spelled())

    def spelled(self, spell: Callable[[str], str] = str) -> str:
        """The message with each setting's name as ``spell`` writes it (a message
        given whole, naming nothing, is taken as it is: braces and all)."""
        if not self.settings and not self.values:
            return self.template
        names = {name: spell(name) for name in self.settings}
        return self.template.format(**names, **self.values)


class SettingError(Spelled, ValueError):
    """A setting or a combination of settings that naah cannot use (see
    :class:`Spelled`)."""

    @classmethod
    def of(cls, name: str, error: ValueError) -> SettingError:
        """``error`` of a check, about setting ``name``."""
        if isinstance(error, SettingError):
            return error
        detail = " ".join(str(error).split())
        # "unknown optimizer 'bfgs'; …" names it (as a word: not "flow" in "deepflow")
        if re.search(rf"\b{re.escape(name.replace('_', ' '))}\b", detail):
            return cls("{detail}", detail=detail)
        # Checks say "must be …" of the setting; other messages follow a colon.
        joint = " " if detail.startswith(("must ", "has ", "gives ", "is ")) else ": "
        return cls("{" + name + "}" + joint + "{detail}", name, detail=detail)


@dataclasses.dataclass(frozen=True)
class Setting:
    """What a dataclass field's metadata says of a setting (see :func:`setting`)."""

    help: str
    check: Check | None
    text: Parse
    metavar: str | None
    name: str | None
    aliases: tuple[str, ...]
    choices: tuple[Any, ...] | None
    scope: str
    record: bool
    resume: str
    folds_into: str | None
    shown: str | None


def setting(
    default: Any,
    *,
    help: str,
    check: Check | None = None,
    text: Parse | None = None,
    metavar: str | None = None,
    name: str | None = None,
    aliases: Sequence[str] = (),
    choices: Sequence[Any] | None = None,
    scope: str = "transfer",
    record: bool = True,
    resume: str = "keep",
    folds_into: str | None = None,
    shown: str | None = None,
) -> Any:
    """A dataclass field that is a setting.

    Parameters
    ----------
    default
        Its default (a dict or list is copied for each instance).
    help : str
        One line for ``--help`` and the docs, without the default.
    check : callable, optional
        Typed value -> canonical value, or ``ValueError("must be ...")``.
    text : callable, optional
        How a value is read from text (the command line, a ``--grid`` axis);
        default: from the default's type.
    metavar, aliases, choices, shown
        For the command line: the value's placeholder, other option names
        (``content_weight`` for ``alpha``), the choices listed, and the default as
        the help shows it.
    name : str, optional
        The keyword and option name when it is not the field's own.
    scope : {'transfer', 'run', 'runtime'}
        A keyword of :class:`naah.StyleTransfer`, of its ``run``, or of the
        :class:`naah.Runtime` a run gets.
    record : bool
        Whether the run's description (checkpoint, batch job) records it; False
        for settings that only change how a run is watched or paced.
    resume : {'keep', 'new'}
        'keep': a resumed run keeps the recorded value (given anyway, it must
        agree); 'new': it may be given anew.
    folds_into : str, optional
        A setting that refines another and is folded into it on checking
        (``style_weights`` into ``style_layers``); it is never recorded itself.

    Examples
    --------
    >>> import dataclasses
    >>> @dataclasses.dataclass(frozen=True)
    ... class Knobs:
    ...     gain: float = setting(1.0, help="gain", check=non_negative_float)
    ...     def __post_init__(self):
    ...         check_fields(self)
    >>> Knobs(gain=-1)
    Traceback (most recent call last):
    ...
    naah.checks.SettingError: gain must be a finite non-negative number, got -1
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    spec = Setting(
        help=help,
        check=check,
        text=text or _text_of(default),
        metavar=metavar,
        name=name,
        aliases=tuple(aliases),
        choices=None if choices is None else tuple(choices),
        scope=scope,
        record=record and folds_into is None,
        resume=resume,
        folds_into=folds_into,
        shown=shown,
    )
    metadata = {"naah": spec}
    if isinstance(default, dict | list):
        return dataclasses.field(
            default_factory=lambda: type(default)(default), metadata=metadata
        )
    return dataclasses.field(default=default, metadata=metadata)


def setting_fields(group: object) -> list[tuple[str, dataclasses.Field, Setting]]:
    """(name, field, spec) of each setting of a group (a dataclass or instance),
    in declaration order; the name is the keyword's (``optimizer`` for the field
    ``method``)."""
    return [
        (f.metadata["naah"].name or f.name, f, f.metadata["naah"])
        for f in dataclasses.fields(group)  # type: ignore[arg-type]
        if "naah" in f.metadata
    ]


def check_fields(instance: object) -> None:
    """Check and normalise every setting of a frozen dataclass in place (from its
    ``__post_init__``); a bad value raises :class:`SettingError` naming it."""
    for name, f, spec in setting_fields(instance):
        if spec.check is None:
            continue
        value = getattr(instance, f.name)
        try:
            checked = spec.check(value)
        except ValueError as error:
            raise SettingError.of(name, error) from None
        object.__setattr__(instance, f.name, checked)


# -- numbers -------------------------------------------------------------------------
def _plain_number(value: object, what: str) -> float | int:
    """A real number that is not a bool (or a ValueError saying what it must be)."""
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise ValueError(f"must be {what}, got {value!r}")
    return value.item() if isinstance(value, np.generic) else value


def finite_float(value: object) -> float:
    """A finite number, as float."""
    number = float(_plain_number(value, "a finite number"))
    if not math.isfinite(number):
        raise ValueError(f"must be a finite number, got {value!r}")
    return number


def non_negative_float(value: object) -> float:
    """A finite number ≥ 0."""
    number = float(_plain_number(value, "a finite non-negative number"))
    if not 0 <= number < math.inf:
        raise ValueError(f"must be a finite non-negative number, got {value!r}")
    return number


def positive_float(value: object) -> float:
    """A finite number > 0."""
    number = float(_plain_number(value, "a positive, finite number"))
    if not 0 < number < math.inf:
        raise ValueError(f"must be positive and finite, got {value!r}")
    return number


def non_negative_floats(value: object) -> tuple[float, ...]:
    """A sequence of finite numbers ≥ 0 (weights, one per layer or style)."""
    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray):
        raise ValueError(f"must be a sequence of numbers, got {value!r}")
    return tuple(non_negative_float(v) for v in value)


def blend_weights(value: object) -> tuple[float, ...]:
    """Weights to be normalised to sum 1 (a blend of styles): finite numbers ≥ 0
    whose sum is finite too.

    Examples
    --------
    >>> blend_weights([3, 1])
    (3.0, 1.0)
    """
    weights = non_negative_floats(value)
    if not math.isfinite(sum(weights)):
        raise ValueError(
            f"must sum to a finite number (they are normalised to sum 1, so 1,1 is "
            f"the same blend as 1e308,1e308), got {value!r}"
        )
    return weights


def unit_interval(value: object) -> float:
    """A number in [0, 1) (Adam's betas, a momentum)."""
    number = float(_plain_number(value, "a number in [0, 1)"))
    if not 0 <= number < 1:
        raise ValueError(f"must be in [0, 1), got {value!r}")
    return number


def positive_int(value: object) -> int:
    """An int > 0 (a float such as 2.0 is not taken: sizes are counts)."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool):
        raise ValueError(f"must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"must be a positive int, got {value!r}")
    return int(value)


def non_negative_int(value: object) -> int:
    """An int ≥ 0."""
    if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
        raise ValueError(f"must be a non-negative int, got {value!r}")
    return int(value)


def seed(value: object) -> int:
    """A seed numpy's generators take: an int ≥ 0."""
    number = non_negative_int(value)
    try:
        np.random.default_rng(number)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(f"is not a seed numpy takes: {error}") from None
    return number


def boolean(value: object) -> bool:
    """True or False."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"must be true or false, got {value!r}")
    return bool(value)


# -- choices and names ----------------------------------------------------------------
def choice(options: Iterable[Any]) -> Check:
    """A check that the value is one of ``options`` (None among them allowed)."""
    values = tuple(options)
    shown = ", ".join("None" if v is None else str(v) for v in values)

    def check(value: object) -> Any:
        if value not in values or isinstance(value, bool):
            raise ValueError(f"must be one of {shown}, got {value!r}")
        return value

    return check


def optional(check: Check) -> Check:
    """``check``, with None let through."""

    def maybe(value: object) -> Any:
        return None if value is None else check(value)

    return maybe


def layer_names(kind: str) -> Check:
    """A check of feature-layer names (``kind``: 'content' or 'style', for the
    message): a tuple of names of VGG-19's layers up to pool5."""

    def check(value: object) -> tuple[str, ...]:
        names = (value,) if isinstance(value, str) else value
        if not isinstance(names, Iterable) or isinstance(names, Mapping):
            raise ValueError(f"must be layer names, got {value!r}")
        names = tuple(names)
        for name in names:
            if name not in FEATURE_LAYERS:
                raise ValueError(
                    f"has an unknown {kind} layer {name!r}; choose from VGG-19's "
                    f"layers up to pool5: {', '.join(FEATURE_LAYERS)}"
                )
        return names

    return check


def style_layer_weights(value: object) -> dict[str, float]:
    """Style layers and their weights :math:`w_l`: names (equal weights summing to 1)
    or a mapping of name to a weight ≥ 0."""
    if isinstance(value, Mapping):
        names = layer_names("style")(list(value))
        weights = {}
        for name in names:
            try:
                weights[name] = non_negative_float(value[name])
            except ValueError:
                raise ValueError(
                    f"gives the weight of {name} as {value[name]!r}; weights must be "
                    "finite and non-negative"
                ) from None
        return weights
    names = layer_names("style")(value)
    return {n: 1.0 / len(names) for n in names}


# -- text ----------------------------------------------------------------------------
def as_int(text: str) -> int:
    """An int written in base 10."""
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise ValueError(f"must be an integer, got {text!r}") from None


#: Units of a memory size: powers of 1024, as ``free -h`` and ``prlimit`` read them.
BYTE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def as_bytes(text: str) -> int:
    """A memory size: bytes, or a number with K, M, G or T (powers of 1024; a
    trailing ``B`` or ``iB`` is allowed).

    Examples
    --------
    >>> as_bytes("6G"), as_bytes("1.5GiB"), as_bytes("512M"), as_bytes("4096")
    (6442450944, 1610612736, 536870912, 4096)
    """
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = cleaned[-1:] if cleaned[-1:] in BYTE_UNITS else ""
    try:
        number = float(cleaned.removesuffix(unit)) if cleaned else -1.0
    except ValueError:
        number = -1.0
    if not (math.isfinite(number) and number > 0):
        raise ValueError(
            f"must be a memory size such as 6G, 1.5G or 512M, got {text!r}"
        )
    return int(number * BYTE_UNITS[unit])


def as_dask_address(text: str) -> str:
    """A Dask cluster: ``local:N`` (N worker processes here) or a scheduler's
    address (``tcp://HOST:PORT``).

    Examples
    --------
    >>> as_dask_address("local:2"), as_dask_address("tcp://10.0.0.1:8786")
    ('local:2', 'tcp://10.0.0.1:8786')
    """
    kind, _, rest = text.partition(":")
    if kind == "local":
        if rest.isascii() and rest.isdigit() and rest.strip("0"):
            return text
        raise ValueError(
            f"local:N must be a positive integer (worker processes), got {text!r}"
        )
    if "://" in text:
        return text
    raise ValueError(
        "give local:N (N worker processes here) or a scheduler address like "
        f"tcp://HOST:8786, got {text!r}"
    )


def as_float(text: str) -> float:
    """A number (``1e3``, ``0.5``)."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"must be a number, got {text!r}") from None


def _items(text: str, what: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise ValueError(f"expected comma-separated {what}, got {text!r}")
    return items


def as_ints(text: str) -> tuple[int, ...]:
    """``N`` or ``N1,N2,…``."""
    return tuple(as_int(item) for item in _items(text, "integers"))


def as_floats(text: str) -> tuple[float, ...]:
    """``X`` or ``X1,X2,…``."""
    return tuple(as_float(item) for item in _items(text, "numbers"))


def as_names(text: str) -> tuple[str, ...]:
    """``conv1_1,conv2_1``."""
    return tuple(_items(text, "layer names like conv1_1,conv2_1"))


def as_boolean(text: str) -> bool:
    """``true``/``false`` (also yes/no, on/off, 1/0)."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    raise ValueError(f"must be true or false, got {text!r}")


def as_path(text: str) -> str:
    """A file's path, absolute (so that a job or a checkpoint names it anywhere)."""
    return os.path.abspath(os.path.expanduser(text))


def as_text(text: str) -> str:
    """Text as it is (a setting whose values are words)."""
    return text


# -- print sizes ---------------------------------------------------------------------
#: Centimetres per unit of a print size; an inch is 2.54 cm exactly (by definition
#: since 1959).
CM_PER_UNIT = {"cm": 1.0, "mm": 0.1, "in": 2.54}
_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_PRINT_SIZE = re.compile(
    rf"\s*{_NUMBER}\s*(cm|mm|in)\s*@\s*{_NUMBER}\s*dpi\s*", re.IGNORECASE
)


class PrintSize(int):
    """A long edge in pixels given as a print's: ``30cm@300dpi`` is the 3543 pixels
    that 30 cm hold at 300 dots per inch. It is that int; :attr:`dpi` keeps the
    resolution, for the file to record (``naah stylize`` does).

    Examples
    --------
    >>> edge = PrintSize(3543, 300.0)
    >>> edge + 1, edge.dpi
    (3544, 300.0)
    """

    dpi: float

    def __new__(cls, pixels: int, dpi: float) -> PrintSize:
        edge = super().__new__(cls, pixels)
        edge.dpi = float(dpi)
        return edge

    def __reduce__(self) -> tuple[type[PrintSize], tuple[int, float]]:
        return PrintSize, (int(self), self.dpi)  # copies and pickles keep the dpi


def print_size(text: str) -> PrintSize | None:
    """The long edge of a print size, ``LENGTH UNIT @ DPI dpi`` with unit cm, mm
    or in: ``round(length_in_inches * dpi)`` pixels. None for text not written so.

    Raises
    ------
    ValueError
        If it is written so but gives no pixel.

    Examples
    --------
    >>> print_size("30cm@300dpi"), print_size("12in@300dpi"), print_size("512")
    (3543, 3600, None)
    >>> print_size("300mm@300dpi").dpi
    300.0
    """
    match = _PRINT_SIZE.fullmatch(text)
    if match is None:
        return None
    length, unit, dpi = float(match[1]), match[2].lower(), float(match[3])
    pixels = round(length * CM_PER_UNIT[unit] / CM_PER_UNIT["in"] * dpi)
    if pixels < 1:
        raise ValueError(
            f"gives {pixels} pixels, less than one: give a longer print or more dpi, "
            f"got {text!r}"
        )
    return PrintSize(pixels, dpi)


def _text_of(default: object) -> Parse:
    if isinstance(default, bool):
        return as_boolean
    if isinstance(default, int):
        return as_int
    if isinstance(default, float):
        return as_float
    return as_text
