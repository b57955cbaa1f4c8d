"""Values of the options that are not settings, as the command line spells them
(the settings' options come from :func:`naah.settings.add_options`)."""

from __future__ import annotations

from naah.batch.settings import dask_address
from naah.checks import (
    as_float,
    as_int,
    non_negative_int,
    positive_float,
    positive_int,
)
from naah.regions import region_from_text
from naah.settings import option_type

__all__ = ["count", "dask_address", "dpi", "port", "positive_count", "region_spec"]


def _port(value: int) -> int:
    if not 0 <= value <= 65535:
        raise ValueError(f"must be a port, 0–65535, got {value}")
    return value


#: ``--print-every N``: 0 or more.
count = option_type(as_int, non_negative_int, name="count")
#: ``--save-every N``: 1 or more.
positive_count = option_type(as_int, positive_int, name="positive count")
#: ``--port N``: 0–65535 (0: a free one).
port = option_type(as_int, _port, name="port")
#: ``--dpi N``: a resolution, positive (300, 72.5).
dpi = option_type(as_float, positive_float, name="dpi")


#: ``--region MASK=STYLE[:STYLE_MASK]``: a Region of the files.
region_spec = option_type(region_from_text, name="region")
