"""The settings of a batch job, by name: those of :mod:`naah.settings`, as ``--grid``
axes, ``KEY=VALUE`` assignments and TOML keys.

A setting is any field of :class:`naah.settings.Settings` that a run's
description records (``alpha``, ``pooling``, ``iterations``, ``style_blend`` …),
plus ``style_weights`` (the w_l of ``--style-weights``); names are those of
``naah stylize``'s options, with ``-`` or ``_`` (``learning-rate`` =
``learning_rate``), and its aliases (``content-weight`` is ``alpha``). Defaults,
checks and help are the model's own.

Values come as text (the command line, ``--grid KEY=V1,V2``) or typed (TOML job
files, Python); both are checked by the setting's own check and kept as given
(lists as tuples), so that a grid point shows what was asked. A list of layers or
weights is written ``a,b`` as one option's value and ``a+b`` inside a grid, whose
values are separated by commas.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from naah.checks import SettingError, as_dask_address, as_text
from naah.estimate import available_memory, format_bytes
from naah.settings import (
    Settings,
    check_value,
    names,
    option_type,
    parse_text,
    specs,
    tupled,
)
from naah.settings import setting_key as model_key

#: Memory a local Dask worker process needs before any image: distributed's
#: worker (about 120 MB), naah and PyTensor loaded (naah.estimate.BASELINE_BYTES,
#: 231 MB) and VGG-19's convolution weights (80 MB), rounded up.
WORKER_MEMORY = 512 * 2**20


def max_local_workers(cores: int | None = None, available: int | None = None) -> int:
    """The most worker processes a ``--dask local:N`` cluster may have: one a core
    (more would only share them), and no more than ``available`` memory holds at
    ``WORKER_MEMORY`` each; at least 1.

    Examples
    --------
    >>> max_local_workers(cores=8, available=64 * 2**30)
    8
    >>> max_local_workers(cores=8, available=2 * 2**30)
    4
    """
    cores = len(os.sched_getaffinity(0)) if cores is None else cores
    available = available_memory() if available is None else available
    return max(1, min(cores, available // WORKER_MEMORY))


def local_workers(address: str) -> int | None:
    """N of a ``local:N`` address (None for a scheduler's), or a ValueError that
    says what to give when N is not a positive integer or is more than
    :func:`max_local_workers`."""
    address = as_dask_address(address)
    if not address.startswith("local:"):
        return None
    digits = address.removeprefix("local:").lstrip("0")
    most = max_local_workers()
    if len(digits) > len(str(most)) or int(digits) > most:
        raise ValueError(
            f"local:{digits} is more worker processes than this machine holds: at "
            f"most local:{most} ({len(os.sched_getaffinity(0))} cores, "
            f"{format_bytes(available_memory())} available at "
            f"{format_bytes(WORKER_MEMORY)} a worker); give local:{most} or fewer"
        )
    return int(digits)


def _dask_address(text: str) -> str:
    local_workers(text)
    return text


#: ``--dask local:N|tcp://HOST:PORT`` of ``naah batch`` and ``naah stylize``.
dask_address = option_type(_dask_address, name="Dask address")

__all__ = [
    "INPUT_KEYS",
    "RUN_KEYS",
    "SettingError",
    "defaults",
    "local_workers",
    "max_local_workers",
    "parse_assignment",
    "parse_axis",
    "parse_grid",
    "resolve",
    "setting_key",
]

#: The settings of a job's run (:meth:`naah.StyleTransfer.run`'s keywords that its
#: description records); the others are :class:`naah.StyleTransfer`'s.
RUN_KEYS = tuple(n for n in names("run") if specs()[n].record)
#: Keys a grid or base settings must not set: a job's inputs, not its settings.
INPUT_KEYS = ("content", "style", "region")


def job_keys() -> tuple[str, ...]:
    """The settings a job may have: those a run's description records, and the
    ones folded into them (``style_weights``)."""
    return tuple(n for n, s in specs().items() if s.record or s.folds_into)


def defaults() -> dict[str, Any]:
    """Each setting's default (the model's)."""
    model = Settings()
    return {name: model.value(name) for name in job_keys()}


def setting_key(name: str) -> str:
    """The key of a setting given by any of its names, else a :class:`SettingError`
    that names the close ones."""
    key = name.strip().lstrip("-").lower().replace("-", "_")
    if key in INPUT_KEYS:
        raise SettingError(f"{name!r} is an input, not a setting: give --{key} PATH")
    found = model_key(name)
    if found not in job_keys():
        raise SettingError(
            f"{name!r} is not a setting of a job: give it as an option of naah batch"
        )
    return found


def check(key: str, value: Any) -> Any:
    """A typed value of setting ``key`` (text too: TOML may quote a number),
    checked and kept as given, lists as tuples."""
    if isinstance(value, str) and specs()[key].text is not as_text:
        return parse_text(key, value, as_written=True)
    check_value(key, value)
    return tupled(value)


def parse_value(key: str, text: str) -> Any:
    """A value of setting ``key`` written as text (``a+b`` for a list), checked and
    kept as written."""
    return parse_text(key, text.replace("+", ","), as_written=True)


def check_value_named(
    name: str, value: Any, where: str, *, text: bool
) -> tuple[str, Any]:
    """(key, value) for a setting given by name, or a one-line :class:`SettingError`
    that starts with ``where`` (``--grid beta=1,x``)."""
    try:
        key = setting_key(name)
    except SettingError as error:
        raise SettingError(f"{where}: {error}") from None
    try:
        return key, parse_value(key, value) if text else check(key, value)
    except ValueError as error:
        detail = " ".join(str(error).split())
        choices = specs()[key].choices
        hint = f"; choose from {', '.join(map(str, choices))}" if choices else ""
        raise SettingError(f"{where}: {key} {detail}{hint}") from None


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
    key = ""
    for item in items:
        key, value = check_value_named(name, item, f"--grid {text}", text=True)
        values.append(value)
    return key, values


def parse_assignment(text: str) -> tuple[str, Any]:
    """One ``KEY=VALUE`` (a setting for every job): (key, value)."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise SettingError(f"{text!r}: expected KEY=VALUE, e.g. pooling=avg")
    return check_value_named(name, value.strip(), text, text=True)


def resolve(values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A job's settings from its given (checked) values, the others the defaults:
    the :class:`naah.StyleTransfer` settings and the run's, each in canonical form.

    Raises
    ------
    SettingError
        If the values do not make a run (style weights that do not match the
        layers, nothing to minimise …).
    """
    try:
        settings = Settings.of(values)
    except (TypeError, ValueError) as error:
        raise SettingError(" ".join(str(error).split())) from None
    return (
        settings.values("transfer", recorded=True),
        settings.values("run", recorded=True),
    )
