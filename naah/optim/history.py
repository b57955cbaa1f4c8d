"""The record of an optimisation: losses, time and evaluations per iteration."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class IterationRecord:
    """State after ``iteration`` steps (0 is the initial image).

    ``content`` and ``style`` are the losses before α and β; ``tv`` is the
    weighted total-variation term that the total includes (0 with the default
    ``tv_weight`` 0) and ``tv_raw`` the unweighted TV. ``style_layers`` maps each
    style layer to its :math:`E_l` (unweighted); ``time`` is seconds since the
    optimisation started; ``evaluations`` counts loss-and-gradient evaluations;
    ``scale`` is the long edge of a coarse-to-fine run's scale (None otherwise).
    """

    iteration: int
    total: float
    content: float
    style: float
    tv: float
    time: float
    evaluations: int
    style_layers: dict[str, float] = field(default_factory=dict)
    tv_raw: float = 0.0
    scale: int | None = None


# Column order of History.rows: the losses together, then time and evaluations.
_LEADING_COLUMNS = ("iteration", "total", "content", "style", "tv", "tv_raw")


class History(list):
    """A list of :class:`IterationRecord`, one per iteration, with export helpers."""

    def column(self, name: str) -> list[float]:
        """One quantity per iteration: 'total', 'content', 'style', 'time', or
        'E_<layer>' for a style layer's E_l."""
        if name.startswith("E_"):
            return [r.style_layers[name[2:]] for r in self]
        return [getattr(r, name) for r in self]

    def rows(self) -> list[dict]:
        """Flat dictionaries (style layers as ``E_<layer>`` columns; ``scale``
        only in coarse-to-fine runs)."""
        rows = []
        for record in self:
            fields = asdict(record)
            layers = fields.pop("style_layers")
            row = {name: fields.pop(name) for name in _LEADING_COLUMNS}
            if fields["scale"] is None:  # only coarse-to-fine runs have scales
                del fields["scale"]
            row.update(fields)
            row.update({f"E_{k}": v for k, v in layers.items()})
            rows.append(row)
        return rows

    def save(self, path: str | os.PathLike) -> Path:
        """Write the history as CSV (``.csv``) or JSON (``.json``)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".json"):
            raise ValueError(
                f"history file must end in .csv or .json, got {path.name!r}"
            )
        rows = self.rows()
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with open(tmp, "w", newline="") as handle:
                if suffix == ".json":
                    json.dump(rows, handle, indent=1)
                elif rows:
                    writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                    writer.writeheader()
                    writer.writerows(rows)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path
