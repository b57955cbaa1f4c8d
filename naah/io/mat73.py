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

As in :mod:`.matv5`, no declared size is believed before it is checked: a dataset
is read only if its storage in the file can hold what it declares (see
:func:`stored_size_problem`) and the caller's :class:`~naah.io.matv5.Limits`
allow its size, and a cell or struct that contains itself is reported, not
followed round.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np

from naah._lazy import lazy_import
from naah.io.matv5 import (
    CHARACTER_BYTES,
    ELEMENT_BYTES,
    MAX_DEFLATE_RATIO,
    MAX_DIMENSIONS,
    NO_LIMITS,
    KeepPredicate,
    Limits,
    MatFileError,
    Path,
    Skipped,
    describe_path,
)

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


def read_variables(
    file: h5py.File,
    *,
    keep: KeepPredicate | None = None,
    limits: Limits = NO_LIMITS,
    variables: Collection[str] | None = None,
) -> dict:
    """Read the variables of an open v7.3 MAT-file.

    Parameters
    ----------
    file : h5py.File
        The open file.
    keep : callable, optional
        ``keep(path) -> bool``, asked before each numeric array is read; see
        :mod:`naah.io.matv5` for paths. Default: keep everything.
    limits : naah.io.matv5.Limits, optional
        The largest arrays to accept, and what all values read may take.
    variables : collection of str, optional
        The variables to read; the others are not looked at. Default: all.

    Returns
    -------
    dict
        Variable name to value.

    Raises
    ------
    naah.io.matv5.MatFileError
        If a dataset declares more than its storage holds or ``limits`` allow, or
        a cell or struct contains itself or nests deeper than ``limits`` allow.
    """
    decoder = _Decoder(file, keep or (lambda path: True), limits)
    return {
        name: decoder.value(file[name], (name,))
        for name in file
        if not name.startswith(RESERVED_PREFIX)
        and (variables is None or name in variables)
    }


def stored_size_problem(dataset: h5py.Dataset) -> str | None:
    """What is wrong with the size ``dataset`` declares, or None if it can be read.

    HDF5 returns the fill value for storage that was never written, so a dataset of
    a few bytes of file can declare terabytes. It must not declare more bytes than
    its storage holds (deflate's best ratio times that when it is compressed:
    MATLAB compresses, Keras does not).

    Examples
    --------
    >>> import h5py, numpy as np
    >>> with h5py.File("lie.h5", "w", driver="core", backing_store=False) as file:
    ...     print(stored_size_problem(file.create_dataset("a", data=np.zeros(4))))
    ...     lie = file.create_dataset("b", shape=(10**6,), dtype="f4")
    ...     print(stored_size_problem(lie))
    None
    declares 4,000,000 bytes ((1000000,) float32) but the file stores 0 bytes of it
    """
    nbytes = int(dataset.size) * dataset.dtype.itemsize
    stored = dataset.id.get_storage_size()
    compressed = dataset.id.get_create_plist().get_nfilters() > 0
    if nbytes > stored * (MAX_DEFLATE_RATIO if compressed else 1):
        how = f" (deflated: at most {MAX_DEFLATE_RATIO}-fold)" if compressed else ""
        return (
            f"declares {nbytes:,} bytes ({dataset.shape} {dataset.dtype}) but the "
            f"file stores {stored:,} bytes of it{how}"
        )
    return None


def _attribute(obj: Any, name: str) -> str | None:
    value = obj.attrs.get(name)
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tobytes()
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


class _Decoder:
    def __init__(self, file: h5py.File, keep: KeepPredicate, limits: Limits):
        self._file = file
        self._keep = keep
        self._limits = limits
        self._open: list[Any] = []  # the objects being decoded, outermost first
        self._spent = 0  # bytes counted against limits.max_bytes

    def _spend(self, nbytes: int, path: Path) -> None:
        """Count ``nbytes`` more against the limits' max_bytes (as matv5 does),
        before they are read."""
        self._spent += nbytes
        limit = self._limits.max_bytes
        if limit is not None and self._spent > limit:
            raise MatFileError(
                f"{describe_path(path)} brings what is read to {self._spent:,} "
                f"bytes; {self._limits.kind} holds at most {limit:,} in all",
                path=path,
            )

    def value(self, obj: Any, path: Path) -> Any:
        if any(obj.id == outer for outer in self._open):
            raise MatFileError(
                f"{describe_path(path)} refers back to an array that contains it "
                f"({obj.name}); a MAT-file's cells and structs form a tree",
                path=path,
            )
        if len(self._open) >= self._limits.max_depth:
            raise MatFileError(
                f"{describe_path(path)} is nested more than "
                f"{self._limits.max_depth} cells or structs deep",
                path=path,
            )
        self._open.append(obj.id)
        try:
            return self._value(obj, path)
        finally:
            self._open.pop()

    def _value(self, obj: Any, path: Path) -> Any:
        mat_class = _attribute(obj, "MATLAB_class")
        if isinstance(obj, h5py.Group):
            return self._struct(obj, path)
        if not isinstance(obj, h5py.Dataset):  # a committed datatype, say
            return Skipped((), f"HDF5 {type(obj).__name__}")
        if obj.attrs.get("MATLAB_empty", 0):
            return self._empty(obj, mat_class, path)
        if obj.dtype == h5py.ref_dtype:
            return self._cell(obj, path)
        if mat_class == "char":
            codes = self._read(obj, self._limits.max_values, path, CHARACTER_BYTES)
            return _text(codes)
        shape = tuple(reversed(obj.shape))
        if not self._keep(path):
            return Skipped(shape, mat_class or obj.dtype.name)
        values = self._read(obj, self._limits.max_values, path, obj.dtype.itemsize)
        array = np.asarray(values).T
        return array.astype(bool) if mat_class == "logical" else array

    def _read(
        self, dataset: h5py.Dataset, limit: int | None, path: Path, cost: int = 0
    ) -> Any:
        """The whole of ``dataset``, if its size is within ``limit`` values, the
        file can hold it and ``cost`` bytes a value are within the limits'
        max_bytes."""
        shown = f"{describe_path(path)} ({dataset.name})"
        if limit is not None and dataset.size > limit:
            raise MatFileError(
                f"{shown} has shape {dataset.shape}, {dataset.size:,} values; "
                f"{self._limits.kind} has none larger than {limit:,}",
                path=path,
            )
        problem = stored_size_problem(dataset)
        if problem:
            raise MatFileError(f"{shown} {problem}", path=path)
        self._spend(cost * int(dataset.size), path)
        return dataset[()]

    def _struct(self, group: h5py.Group, path: Path) -> dict:
        fields = group.attrs.get("MATLAB_fields")
        if fields is None:
            names = list(group)
        else:
            try:
                names = [
                    b"".join(np.asarray(f).tolist()).decode("latin-1") for f in fields
                ]
            except (TypeError, ValueError) as exc:
                raise MatFileError(
                    f"the MATLAB_fields attribute of {describe_path(path)} should list "
                    f"field names as characters ({exc})",
                    path=path,
                ) from exc
        self._spend(ELEMENT_BYTES * len(names), path)
        return {name: self.value(group[name], (*path, name)) for name in names}

    def _cell(self, dataset: h5py.Dataset, path: Path) -> np.ndarray:
        refs = self._read(dataset, self._limits.max_elements, path, ELEMENT_BYTES)
        flat = refs.reshape(-1)  # row-major over HDF5 = column-major over MATLAB
        values = np.empty(flat.size, dtype=object)
        for index, ref in enumerate(flat):
            values[index] = self.value(self._file[ref], (*path, index))
        return values.reshape(tuple(reversed(refs.shape)), order="F")

    def _empty(self, dataset: h5py.Dataset, mat_class: str | None, path: Path) -> Any:
        raw = self._read(dataset, MAX_DIMENSIONS, path)
        dims = tuple(int(d) for d in np.asarray(raw).reshape(-1))
        if 0 not in dims:
            raise MatFileError(
                f"{describe_path(path)} is flagged empty (MATLAB_empty) but has "
                f"dimensions {dims}; an empty array has a zero among them",
                path=path,
            )
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
