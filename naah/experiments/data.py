"""The report's input images, kept in the repository's ``data/`` folder.

``data/SOURCES.md`` credits each image; the Tübingen photograph (Andreas Praefcke,
CC BY 3.0) must be credited when redistributed. Picasso's "Femme nue assise" (1910),
which the report also used, is under copyright and not included: give its path in
``$NAAH_PICASSO``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the folder of the images (default: the checkout's
#: ``data/``).
DATA_ENV = "NAAH_DATA"
#: Environment variable naming a user-supplied image of Picasso's "Femme nue assise".
PICASSO_ENV = "NAAH_PICASSO"

#: Short names of the bundled images and their files.
IMAGES = {
    "tubingen": "tubingen.jpg",
    "starry_night": "starry_night.jpg",
    "shipwreck": "shipwreck.jpg",
    "composition_vii": "composition_vii.jpg",
}
# The checkout's data/ folder: naah/experiments/data.py -> ../../data.
_CHECKOUT_DATA = Path(__file__).resolve().parents[2] / "data"


def data_dir() -> Path:
    """The folder holding the images: ``$NAAH_DATA``, else the checkout's ``data/``."""
    folder = Path(os.environ.get(DATA_ENV) or _CHECKOUT_DATA)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"image folder {str(folder)!r} not found: the report's images live in the "
            f"data/ folder of naah's source checkout; install from a checkout "
            f"(pip install -e .) or set ${DATA_ENV} to a copy of that folder"
        )
    return folder


def image_path(name: str) -> Path:
    """Path of a bundled image by short name (see :data:`IMAGES`).

    Examples
    --------
    >>> image_path("tubingen").name
    'tubingen.jpg'
    """
    try:
        filename = IMAGES[name]
    except KeyError:
        raise ValueError(
            f"no bundled image {name!r}; choose one of {', '.join(IMAGES)}"
        ) from None
    return data_dir() / filename


def picasso_path() -> Path | None:
    """The user's Picasso image from ``$NAAH_PICASSO``, or None when unset.

    Raises
    ------
    FileNotFoundError
        If ``$NAAH_PICASSO`` names a file that does not exist.
    """
    value = os.environ.get(PICASSO_ENV)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"${PICASSO_ENV} is set to {value!r}, which is not a file; fix or unset it"
        )
    return path


def picasso_message() -> str:
    """Why the Picasso figure is skipped and how to include it."""
    return (
        'Picasso\'s "Femme nue assise" (1910) is under copyright, so naah does not '
        f"ship it. To include this figure, set ${PICASSO_ENV} to the path of your "
        "own image of the painting and run the notebook again."
    )
