"""Where a batch's files go: a local folder, or an fsspec URL every worker reaches.

A :class:`Folder` is a batch's ``--out-dir``. A local path is used as it is. A URL
(``s3://bucket/run``, ``gs://…``, ``abfs://…``, ``file:///shared/run``, any
protocol `fsspec <https://filesystem-spec.readthedocs.io>`_ knows) is reached
through fsspec, with the protocol's own package installed (``s3fs``, ``gcsfs``,
``adlfs`` …): then the workers need no shared file system, only the URL.

A job writes its files (image, checkpoints) in the folder's :meth:`Folder.workspace`:
the folder itself when it is local, a private temporary folder of the process when
it is remote. :meth:`Folder.publish` copies a finished file to the folder (for a
remote one: uploaded under a temporary name and moved into place, so that a reader
never sees half a file), and :meth:`Folder.fetch` brings one back to the workspace
(a checkpoint left by a worker that died). For a local folder both do nothing.

The manifest's rows are appended where the file system can append; object stores
cannot, so there the manifest is rewritten whole, in one request, at each row (a
job takes minutes; one small upload per job costs nothing beside it).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

from naah.io.files import sha256_of_file, write_atomically

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

# A URL's protocol, as fsspec parses it ("s3://", "file://", "simplecache::s3://").
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*(://|::)")


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a URL (``s3://bucket/run``) rather than a path.

    Examples
    --------
    >>> is_url("s3://bucket/run"), is_url("out/run"), is_url("C:/out")
    (True, False, False)
    """
    return isinstance(location, str) and bool(_URL.match(location))


class StorageError(RuntimeError):
    """An output URL that cannot be used (no fsspec, or its protocol's package
    missing)."""


class Folder:
    """A batch's output folder: a local path or an fsspec URL.

    Parameters
    ----------
    location : path or str
        A folder (made when first written), or a URL such as ``s3://bucket/run``.
    storage_options : dict, optional
        Passed to fsspec for a URL (credentials, endpoint …); by default fsspec's
        own configuration and the protocol's environment variables apply.

    Examples
    --------
    >>> folder = Folder("memory://naah-doc/run")
    >>> folder.write_bytes("hello.txt", b"hi")
    >>> folder.read_bytes("hello.txt"), folder.location_of("hello.txt")
    (b'hi', 'memory://naah-doc/run/hello.txt')
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | Folder,
        storage_options: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(location, Folder):
            storage_options = storage_options or location.storage_options
            location = location.location
        self.remote: bool = is_url(location)
        self.storage_options: dict[str, Any] = dict(storage_options or {})
        #: The folder's absolute path, or its URL.
        self.location: str = (
            str(location).rstrip("/")
            if self.remote
            else os.path.abspath(os.path.expanduser(location))
        )
        self._fs: AbstractFileSystem | None = None
        self._root = ""
        self._workspace: Path | None = None

    def __repr__(self) -> str:
        return f"Folder({self.location!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Folder) and other.location == self.location

    def __hash__(self) -> int:
        return hash(self.location)

    def __getstate__(self) -> dict[str, Any]:
        # The workspace is this process's; a worker that unpickles it makes its own.
        return {**self.__dict__, "_fs": None, "_workspace": None}

    @property
    def root(self) -> Path | str:
        """The folder as a :class:`~pathlib.Path`, or the URL when it is remote."""
        return self.location if self.remote else Path(self.location)

    def location_of(self, name: str) -> Path | str:
        """A file's path, or its URL when the folder is remote."""
        if self.remote:
            return f"{self.location}/{name}"
        return Path(self.location) / name

    # -- fsspec --------------------------------------------------------------------
    @property
    def fs(self) -> AbstractFileSystem:
        """The URL's fsspec file system (remote folders only)."""
        if self._fs is None:
            try:
                from fsspec.core import url_to_fs
            except ImportError:
                raise StorageError(
                    f"--out-dir {self.location!r} is a URL: writing there needs fsspec "
                    "(pip install 'naah[dask]', or pip install fsspec)"
                ) from None
            try:
                self._fs, self._root = url_to_fs(self.location, **self.storage_options)
            except (ImportError, ValueError) as error:
                raise StorageError(
                    f"--out-dir {self.location!r}: {error} (the URL's protocol needs "
                    "its own package, such as s3fs for s3:// or gcsfs for gs://)"
                ) from None
        return self._fs

    def _remote(self, name: str) -> str:
        self.fs  # noqa: B018  (sets _root)
        return f"{self._root.rstrip('/')}/{name}"

    def check(self) -> None:
        """Raise a :class:`StorageError` now if the folder cannot be written: a URL
        without fsspec or its protocol's package, or a path that is a file or
        lies under one."""
        if self.remote:
            self.fs  # noqa: B018  (raises if it cannot be had)
            return
        message = _file_in_the_way(self.location)
        if message is not None:
            raise StorageError(message)

    # -- whole files ---------------------------------------------------------------
    def mkdir(self) -> None:
        """Make the folder if it is not there (object stores have no folders)."""
        if self.remote:
            self.fs.makedirs(self._remote("").rstrip("/"), exist_ok=True)
            return
        try:
            os.makedirs(self.location, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            message = _file_in_the_way(self.location)
            if message is None:
                raise
            raise NotADirectoryError(message) from None

    def exists(self, name: str) -> bool:
        if self.remote:
            return bool(self.fs.exists(self._remote(name)))
        return (Path(self.location) / name).exists()

    def read_bytes(self, name: str) -> bytes:
        """A file's bytes; FileNotFoundError if it is not there."""
        if self.remote:
            return bytes(self.fs.cat_file(self._remote(name)))
        return (Path(self.location) / name).read_bytes()

    def read_text(self, name: str) -> str:
        return self.read_bytes(name).decode("utf-8")

    def sha256(self, name: str) -> str:
        """A file's SHA-256, read in chunks (FileNotFoundError if absent)."""
        if self.remote:
            with self.fs.open(self._remote(name), "rb") as file:
                return hashlib.file_digest(file, "sha256").hexdigest()
        return sha256_of_file(Path(self.location) / name)

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write a file whole or not at all (a temporary file renamed over it
        locally; one request to a remote store)."""
        if self.remote:
            self.fs.pipe_file(self._remote(name), data)
            return
        self.mkdir()
        write_atomically(Path(self.location) / name, lambda file: file.write(data))

    def append_line(self, name: str, line: str) -> None:
        """Add a line to a text file, flushed to disk, after a newline if a crash
        cut the last line short. Remote: the file is rewritten whole."""
        data = line.encode("utf-8")
        if self.remote:
            try:
                old = self.read_bytes(name)
            except FileNotFoundError:
                old = b""
            if old and not old.endswith(b"\n"):
                old += b"\n"
            self.write_bytes(name, old + data)
            return
        self.mkdir()
        with open(Path(self.location) / name, "a+b") as file:
            if file.tell() > 0:
                file.seek(-1, os.SEEK_END)
                if file.read(1) != b"\n":
                    data = b"\n" + data
            file.write(data)
            file.flush()
            os.fsync(file.fileno())

    def remove(self, name: str) -> None:
        """Remove a file if it is there (and its workspace copy)."""
        if self.remote:
            if self._workspace is not None:
                (self._workspace / name).unlink(missing_ok=True)
            try:
                self.fs.rm_file(self._remote(name))
            except FileNotFoundError:
                pass
        else:
            (Path(self.location) / name).unlink(missing_ok=True)

    # -- a job's files -------------------------------------------------------------
    def workspace(self) -> Path:
        """The local folder a job writes its files in before :meth:`publish`: the
        folder itself, or (remote) a temporary folder of this process, removed
        when the Folder is."""
        if not self.remote:
            self.mkdir()
            return Path(self.location)
        if self._workspace is None:
            self._workspace = Path(tempfile.mkdtemp(prefix="naah-batch-"))
            weakref.finalize(self, shutil.rmtree, self._workspace, ignore_errors=True)
        return self._workspace

    def publish(self, name: str, *, keep_local: bool = True) -> None:
        """Copy the workspace's ``name`` into the folder (remote: under a temporary
        name, then moved into place)."""
        if not self.remote:
            return
        local = self.workspace() / name
        temporary = self._remote(f".{name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            self.fs.put_file(str(local), temporary)
            self.fs.mv(temporary, self._remote(name))
        except BaseException:
            try:
                self.fs.rm_file(temporary)
            except (FileNotFoundError, OSError):
                pass
            raise
        if not keep_local:
            local.unlink(missing_ok=True)

    def fetch(self, name: str) -> Path | None:
        """The folder's ``name`` in the workspace (remote: downloaded), or None if
        the folder has no such file."""
        local = self.workspace() / name
        if not self.remote:
            return local if local.is_file() else None
        try:
            self.fs.get_file(self._remote(name), str(local))
        except FileNotFoundError:
            local.unlink(missing_ok=True)
            return None
        return local


def _file_in_the_way(location: str) -> str | None:
    """Why no folder can be at ``location`` (it, or a folder above it, is a file),
    or None."""
    path = Path(location)
    for above in (path, *path.parents):
        if above.is_dir():
            return None
        if os.path.lexists(above):
            if above == path:
                return (
                    f"--out-dir {location!r} is a file, not a folder; give a folder "
                    "(it is made if missing)"
                )
            return (
                f"--out-dir {location!r}: {str(above)!r} is a file, so no folder can "
                "be made there; give another folder"
            )
    return None
