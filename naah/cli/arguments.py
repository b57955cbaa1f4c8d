"""Option values as the command line spells them (the argparse types), and which
options a command line gave explicitly."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

_T = TypeVar("_T")
_UNSET = object()


def _given_options(args: argparse.Namespace) -> set[str]:
    """The dests of the stylize options that the command line (``args.argv``)
    gives explicitly, parsed again by the stylize parser with every default unset."""
    parser: argparse.ArgumentParser = args.stylize_parser
    argv = list(args.argv)
    # An "append" option starts from None (it appends to what is there).
    appended = {
        a.dest for a in parser._actions if isinstance(a, argparse._AppendAction)
    }
    namespace = argparse.Namespace(
        **{
            a.dest: None if a.dest in appended else _UNSET
            for a in parser._actions
            if a.dest != "help"
        }
    )
    start = argv.index("stylize") + 1 if "stylize" in argv else 0
    parser.parse_args(argv[start:], namespace=namespace)
    return {
        dest
        for dest, value in vars(namespace).items()
        if value is not _UNSET and not (dest in appended and value is None)
    }


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


def _seed(text: str) -> int:
    value = _non_negative_int(text)
    try:
        np.random.default_rng(value)
    except (ValueError, TypeError, OverflowError) as error:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a seed numpy takes: {error}"
        ) from None
    return value


def _finite_float(text: str) -> float:
    value = _number(text, float, "a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _finite_float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    value = _finite_float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _adam_beta(text: str) -> float:
    value = _finite_float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text!r}")
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


def _size(text: str) -> int | str:
    return "auto" if text == "auto" else _positive_int(text)


def _port(text: str) -> int:
    value = _non_negative_int(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be a port, 0–65535, got {text!r}")
    return value


def _counts(text: str) -> tuple[int, ...]:
    """One or more comma-separated non-negative integers."""
    return tuple(_non_negative_int(n.strip()) for n in text.split(","))


def _positive_floats(text: str) -> tuple[float, ...]:
    return tuple(_positive_float(n.strip()) for n in text.split(","))


def _region_spec(text: str) -> tuple[str, str, str | None]:
    """MASK=STYLE[:STYLE_MASK]: the style mask only if that part is a file."""
    mask, sep, rest = text.partition("=")
    if not sep or not mask or not rest:
        raise argparse.ArgumentTypeError(
            f"expected MASK=STYLE or MASK=STYLE:STYLE_MASK, got {text!r}"
        )
    style, colon, style_mask = rest.rpartition(":")
    if colon and style and Path(style_mask).is_file():
        return mask, style, style_mask
    return mask, rest, None


def _floats(text: str) -> tuple[float, ...]:
    return tuple(_non_negative_float(n.strip()) for n in text.split(","))
