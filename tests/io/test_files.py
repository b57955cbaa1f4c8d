"""naah.io.files: files written whole or not at all, stale temporaries, and only
regular files read."""

import os
import re
import socket
import subprocess
import sys
import threading

import pytest

from naah.io import files
from naah.io.files import (
    SpecialFileError,
    check_regular_file,
    open_regular_file,
    remove_stale_temporaries,
    write_atomically,
)
from tests._bounds import deadline
from tests.io import _corpus


def dead_pid():
    """The pid of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_a_write_replaces_the_file_whole_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    assert write_atomically(target, lambda f: f.write(b"new" * 1000)) == target
    assert target.read_bytes() == b"new" * 1000
    assert os.listdir(tmp_path) == ["a.bin"]


def test_a_failing_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")

    def half_then_fail(file):
        file.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        write_atomically(target, half_then_fail)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_a_new_file_gets_the_umask_mode_and_an_old_one_keeps_its_own(tmp_path):
    umask = os.umask(0o027)
    try:
        new = write_atomically(tmp_path / "new", lambda f: f.write(b"x"))
    finally:
        os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o640
    old = tmp_path / "old"
    old.write_bytes(b"x")
    old.chmod(0o604)
    write_atomically(old, lambda f: f.write(b"y"))
    assert old.stat().st_mode & 0o777 == 0o604


def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="folder .*nowhere does not exist"):
        write_atomically(tmp_path / "nowhere" / "a.bin", lambda f: f.write(b"x"))


def test_an_unwritable_folder_is_named(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # (Root may write anywhere: refuse the temporary file the write starts with.)
    monkeypatch.setattr(files, "open", refuse, raising=False)
    with pytest.raises(PermissionError, match=rf"folder .*{tmp_path.name} is not writ"):
        write_atomically(tmp_path / "a.bin", lambda f: f.write(b"x"))
    assert os.listdir(tmp_path) == []


def test_only_the_temporaries_of_dead_writers_of_that_file_are_removed(tmp_path):
    dead = dead_pid()
    stale = [tmp_path / f".a.bin.{dead}.tmp", tmp_path / f".a.bin.{dead}.0f3a.tmp"]
    alive = tmp_path / f".a.bin.{os.getppid()}.beef.tmp"  # a running process's
    other = tmp_path / f".b.bin.{dead}.tmp"  # another file's
    for path in (*stale, alive, other):
        path.write_bytes(b"partial")
    assert sorted(remove_stale_temporaries(tmp_path / "a.bin")) == sorted(stale)
    assert alive.exists() and other.exists()


# -- reading only regular files ----------------------------------------------------------
def without_blocking(call, unblock):
    """``call()``'s outcome (its value or its exception), failing the test if it is
    still blocked after 10 s; ``unblock()`` then frees it."""
    outcome = []

    def attempt():
        try:
            outcome.append(call())
        except BaseException as error:  # handed to the test
            outcome.append(error)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():
        unblock()
        thread.join(10)
        pytest.fail(f"{call} blocked")
    return outcome[0]


def writer_of(fifo):
    """Open ``fifo`` for writing, which frees a reader blocked in open."""
    return lambda: os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("opener", [check_regular_file, open_regular_file])
def test_a_fifo_is_refused_at_once_naming_what_it_is(tmp_path, opener):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    error = without_blocking(lambda: opener(fifo, "checkpoint"), writer_of(fifo))
    assert isinstance(error, SpecialFileError)
    assert str(error) == (
        f"checkpoint {str(fifo)!r} is not a regular file (a FIFO): give a file"
    )


def test_a_fifo_put_in_place_after_the_check_is_refused_without_blocking(
    tmp_path, monkeypatch
):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    monkeypatch.setattr(files, "check_regular_file", lambda path, what: path)
    error = without_blocking(
        lambda: open_regular_file(fifo, "checkpoint"), writer_of(fifo)
    )
    assert isinstance(error, SpecialFileError) and "FIFO" in str(error)


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/dev/zero", "a character device"),
        ("/dev/null", "a character device"),
        ("/proc/self/mem", "a kernel pseudo-file in /proc"),
        ("/proc/self/status", "a kernel pseudo-file in /proc"),
    ],
)
def test_devices_and_kernel_files_are_refused_without_reading_them(path, kind):
    if not os.path.exists(path):
        pytest.skip(f"no {path} here")
    expected = f"checkpoint '{path}' is not a regular file ({kind}): give a file"
    with pytest.raises(SpecialFileError, match=f"^{re.escape(expected)}$"):
        open_regular_file(path, "checkpoint")


def test_a_directory_and_a_socket_are_refused_and_a_missing_file_is_not_found(
    tmp_path,
):
    with pytest.raises(SpecialFileError, match=r"not a regular file \(a directory\)"):
        check_regular_file(tmp_path, "checkpoint")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        with pytest.raises(SpecialFileError, match=r"\(a socket\)"):
            check_regular_file(tmp_path / "sock", "checkpoint")
    with pytest.raises(FileNotFoundError):
        check_regular_file(tmp_path / "missing", "checkpoint")


def test_a_regular_file_or_a_link_to_one_is_opened_for_blocking_reads(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"x" * 100)
    link = tmp_path / "link"
    link.symlink_to(target)
    assert check_regular_file(link, "checkpoint") == link
    with open_regular_file(link, "checkpoint") as file:
        assert os.get_blocking(file.fileno())
        assert file.read() == b"x" * 100


# -- what may be read ----------------------------------------------------------------
def test_a_regular_file_and_a_link_to_one_pass_as_they_are(tmp_path):
    target = tmp_path / "a.png"
    target.write_bytes(b"x")
    (tmp_path / "link.png").symlink_to(target)
    assert files.check_regular_file(str(target), "content image") == target
    assert files.check_regular_file(tmp_path / "link.png", "x") == tmp_path / "link.png"


def test_a_missing_file_is_file_not_found_naming_what_it_is(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"^style image '.*no\.png' does not"):
        files.check_regular_file(tmp_path / "no.png", "style image")


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (_corpus.fifo, "a FIFO"),
        (_corpus.dev_zero, "a character device"),
        (os.mkdir, "a directory"),
    ],
    ids=["fifo", "dev-zero", "directory"],
)
def test_what_is_not_a_regular_file_is_refused_unopened(tmp_path, make, kind):
    path = tmp_path / "input.png"
    make(path)
    with deadline(5):  # a FIFO opened for reading would wait here for a writer
        with pytest.raises(ValueError) as error:
            files.check_regular_file(path, "--init image")
    assert str(error.value) == (
        f"--init image {str(path)!r} is not a regular file ({kind}): give a file"
    )


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="no /proc here")
def test_the_kernels_pseudo_files_are_refused_though_stat_calls_them_regular():
    with pytest.raises(ValueError, match=r"a kernel pseudo-file in /proc\): give"):
        files.check_regular_file("/proc/self/mem", "checkpoint")
