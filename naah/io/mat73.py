"""A reader for MATLAB v7.3 MAT-files (HDF5), producing the values of :mod:`.matv5`.

MATLAB's ``save -v7.3`` writes an HDF5 file behind a 512-byte header. Each variable
is an HDF5 object carrying a ``MATLAB_class`` attribute: a struct is a group of its
fields, a cell is a dataset of object references into the ``#refs#`` group, a char
array is ``uint16`` UTF-16 code units, and every array is stored with its dimensions
reversed (HDF5 is row-major, MATLAB column-major), so transposing an HDF5 array gives
MATLAB's. Empty arrays are datasets holding their dimensions, flagged
``MATLAB_empty``.

Values are returned exactly as :func:`naah.io.matv5.read_variables` returns them
(numeric arrays in MATLAB's shape, ``str``, ``dict``, object arrays and
:class:`~naah.io.matv5.Skipped`), so code interpreting a MAT-file works on either.
Datasets are read lazily: arrays ``keep`` declines are never read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from naah._lazy import lazy_import
from naah.io.matv5 import KeepPredicate, Path, Skipped

if TYPE_CHECKING:  # the real module, for annotations
    import h5py
else:
    h5py = lazy_import("h5py")  # MATLAB v7.3 and Keras files only
# Names MATLAB reserves at the root of the file for its own bookkeeping.
RESERVED_PREFIX = "#"
_NUMERIC_CLASSES = {
    "double",
    "single",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
}


def read_variables(file: h5py.File, *, keep: KeepPredicate | None = None) -> dict:
    """Read the variables of an open v7.3 MAT-file.

    Parameters
    ----------
    file : h5py.File
        The open file.
    keep : callable, optional
        ``keep(path) -> bool``, asked before each numeric array is read; see
        :mod:`naah.io.matv5` for paths. Default: keep everything.

    Returns
    -------
    dict
        Variable name to value.
    """
    decoder = _Decoder(file, keep or (lambda path: True))
    return {
        name: decoder.value(file[name], (name,))
        for name in file
        if not name.startswith(RESERVED_PREFIX)
    }


def _attribute(obj: Any, name: str) -> str | None:
    value = obj.attrs.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tobytes()
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


class _Decoder:
    def __init__(self, file: h5py.File, keep: KeepPredicate):
        self._file = file
        self._keep = keep

    def value(self, obj: Any, path: Path) -> Any:
        mat_class = _attribute(obj, "MATLAB_class")
        if isinstance(obj, h5py.Group):
            return self._struct(obj, path)
        if obj.attrs.get("MATLAB_empty", 0):
            return self._empty(obj, mat_class)
        if obj.dtype == h5py.ref_dtype:
            return self._cell(obj, path)
        if mat_class == "char":
            return _text(obj[()])
        shape = tuple(reversed(obj.shape))
        if not self._keep(path):
            return Skipped(shape, mat_class or obj.dtype.name)
        array = np.asarray(obj[()]).T
        return array.astype(bool) if mat_class == "logical" else array

    def _struct(self, group: h5py.Group, path: Path) -> dict:
        fields = group.attrs.get("MATLAB_fields")
        if fields is None:
            names = list(group)
        else:
            names = [b"".join(np.asarray(f).tolist()).decode("latin-1") for f in fields]
        return {name: self.value(group[name], (*path, name)) for name in names}

    def _cell(self, dataset: h5py.Dataset, path: Path) -> np.ndarray:
        refs = dataset[()]
        flat = refs.reshape(-1)  # row-major over HDF5 = column-major over MATLAB
        values = np.empty(flat.size, dtype=object)
        for index, ref in enumerate(flat):
            values[index] = self.value(self._file[ref], (*path, index))
        return values.reshape(tuple(reversed(refs.shape)), order="F")

    @staticmethod
    def _empty(dataset: h5py.Dataset, mat_class: str | None) -> Any:
        dims = tuple(int(d) for d in np.asarray(dataset[()]).reshape(-1))
        if mat_class == "char":
            return ""
        if mat_class in _NUMERIC_CLASSES:
            return np.zeros(dims, dtype=mat_class)
        return np.empty(dims, dtype=object)


def _text(codes: np.ndarray) -> str | tuple[str, ...]:
    """Decode a char array (UTF-16 code units, HDF5 shape = MATLAB's reversed)."""
    grid = np.asarray(codes, dtype="<u2").T  # MATLAB shape: rows x columns
    if grid.ndim < 2:
        grid = grid.reshape(1, -1)
    rows = tuple(
        np.ascontiguousarray(row).tobytes().decode("utf-16-le", errors="surrogatepass")
        for row in grid.reshape(grid.shape[0], -1)
    )
    return rows[0] if len(rows) == 1 else rows
