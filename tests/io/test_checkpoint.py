"""The checkpoint file: a zip of .npy arrays and JSON, atomic, strictly checked.

Checkpoints are untrusted input: the crafted ones come from tests/io/_corpus.py,
and each lie is refused naming the file and what lied, having allocated little
(tracemalloc), before any member is inflated.
"""

import dataclasses
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from naah.io.checkpoint import (
    CheckpointError,
    StoredArray,
    open_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from naah.io.files import remove_stale_temporaries
from tests.io import _corpus

ARRAYS = {
    "image": np.random.default_rng(0).normal(size=(1, 3, 4, 5)).astype(np.float32),
    "lbfgs.wa": np.linspace(0, 1, 17),
    "lbfgs.task": np.array([1, 0], np.int32),
    "lbfgs.f": np.array(2.5),  # 0-d
}
METADATA = {"iteration": 12, "settings": {"alpha": 1.0, "layers": ["conv4_2"]}}


@pytest.fixture
def checkpoint(tmp_path):
    return write_checkpoint(tmp_path / "run.ckpt", ARRAYS, METADATA)


def test_round_trip_keeps_every_array_bit_for_bit_and_the_metadata(checkpoint):
    loaded = read_checkpoint(checkpoint)
    assert loaded.metadata == METADATA
    assert set(loaded.arrays) == set(ARRAYS)
    for name, array in ARRAYS.items():
        assert loaded.arrays[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded.arrays[name], array)


def test_the_file_is_a_plain_zip_of_npy_members_and_json(checkpoint):
    with zipfile.ZipFile(checkpoint) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("checkpoint.json"))
        with archive.open("arrays/image.npy") as f:
            image = np.load(f, allow_pickle=False)
    assert names == {"checkpoint.json", *(f"arrays/{n}.npy" for n in ARRAYS)}
    assert manifest["format"] == "naah-checkpoint"
    assert manifest["arrays"]["image"] == {"dtype": "float32", "shape": [1, 3, 4, 5]}
    np.testing.assert_array_equal(image, ARRAYS["image"])


def test_object_arrays_and_non_finite_metadata_are_refused(tmp_path):
    with pytest.raises(ValueError, match="dtype object"):
        write_checkpoint(tmp_path / "a.ckpt", {"x": np.array([{}], object)}, {})
    with pytest.raises(ValueError):
        write_checkpoint(tmp_path / "b.ckpt", {}, {"loss": float("nan")})
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary left


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, 0.9])
def test_a_truncated_checkpoint_is_a_clear_error(checkpoint, tmp_path, keep):
    data = checkpoint.read_bytes()
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(data[: int(keep * len(data)) if keep < 1 else keep])
    with pytest.raises(CheckpointError, match="cut.ckpt"):
        read_checkpoint(cut)


def test_a_flipped_byte_in_an_array_fails_the_crc(checkpoint, tmp_path):
    data = bytearray(checkpoint.read_bytes())
    start = data.index(b"\x93NUMPY", data.index(b"arrays/image.npy"))
    data[start + 200] ^= 0xFF
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="bad.ckpt"):
        read_checkpoint(bad)


def test_other_files_are_refused_naming_them(tmp_path):
    png = tmp_path / "image.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(CheckpointError, match="image.png is not a complete"):
        read_checkpoint(png)
    other_zip = tmp_path / "other.zip"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(CheckpointError, match="not a naah checkpoint"):
        read_checkpoint(other_zip)
    with pytest.raises(CheckpointError, match=r"not a regular file \(a directory\)"):
        read_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / "missing.ckpt")


def test_a_pickled_array_member_is_refused(tmp_path):
    path = tmp_path / "evil.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        manifest = {
            "format": "naah-checkpoint",
            "format_version": 1,
            "arrays": {"x": {"dtype": "float64", "shape": [1]}},
            "metadata": {},
        }
        archive.writestr("checkpoint.json", json.dumps(manifest))
        with archive.open("arrays/x.npy", "w") as f:
            np.lib.format.write_array(f, np.array([None, 1.0], object))
    with pytest.raises(CheckpointError, match="array 'x'"):
        read_checkpoint(path)


def test_a_declared_shape_larger_than_its_member_is_refused_before_allocating(
    tmp_path,
):
    path = tmp_path / "huge.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        manifest = {
            "format": "naah-checkpoint",
            "format_version": 1,
            "arrays": {"x": {"dtype": "float64", "shape": [10**6, 10**6]}},
            "metadata": {},
        }
        archive.writestr("checkpoint.json", json.dumps(manifest))
        with archive.open("arrays/x.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(2))
    with pytest.raises(CheckpointError, match="declares shape"):
        read_checkpoint(path)


def test_a_newer_format_version_is_named(tmp_path):
    path = tmp_path / "future.ckpt"
    with zipfile.ZipFile(path, "w") as archive:
        manifest = {"format": "naah-checkpoint", "format_version": 99}
        archive.writestr("checkpoint.json", json.dumps(manifest | {"arrays": {}}))
    with pytest.raises(CheckpointError, match="format version 99"):
        read_checkpoint(path)


def test_rewriting_replaces_the_old_checkpoint_whole(checkpoint):
    write_checkpoint(checkpoint, {"x": np.ones(2)}, {"iteration": 13})
    loaded = read_checkpoint(checkpoint)
    assert loaded.metadata == {"iteration": 13} and set(loaded.arrays) == {"x"}
    assert [p.name for p in checkpoint.parent.iterdir()] == ["run.ckpt"]


def test_the_temporary_file_of_a_dead_writer_is_removed_by_the_next(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f".run.ckpt.{int(dead.stdout)}.tmp"
    stale.write_bytes(b"half a checkpoint")
    alive = tmp_path / f".run.ckpt.{os.getppid()}.tmp"  # a running process's
    alive.write_bytes(b"in progress")
    other = tmp_path / f".other.ckpt.{int(dead.stdout)}.tmp"
    other.write_bytes(b"someone else's")
    write_checkpoint(tmp_path / "run.ckpt", ARRAYS, METADATA)
    assert not stale.exists()
    assert alive.exists() and other.exists()
    assert remove_stale_temporaries(tmp_path / "run.ckpt") == []


# -- untrusted checkpoints: every lie refused before anything is inflated -------------
# Bytes a refused or unread checkpoint may cost (tracemalloc): the manifest, the
# reader's buffers.
SMALL_BYTES = 1_000_000


@pytest.fixture
def data(checkpoint):
    return checkpoint.read_bytes()


def crafted(tmp_path, data, name="crafted.ckpt"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(call, match, *, path):
    """``call()`` raises a CheckpointError naming ``path`` and matching ``match``,
    having allocated little; the error is returned."""
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match=match) as error:
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(error.value)
    assert peak < SMALL_BYTES, peak
    return error.value


def test_a_checkpoint_bomb_is_listed_without_inflating_its_member(tmp_path, data):
    """1.2 GB of image in a 1.2 MB file: opened, its size is known and nothing is
    inflated until a reader asks for it."""
    shape = (1, 3, 10_000, 10_000)
    path = crafted(tmp_path, _corpus.checkpoint_bomb(data, "image", shape))
    assert path.stat().st_size < 2_000_000
    tracemalloc.start()
    try:
        stored = open_checkpoint(path).arrays["image"]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SMALL_BYTES, peak
    assert isinstance(stored, StoredArray)
    assert (stored.shape, stored.dtype, stored.nbytes) == (
        shape,
        np.float32,
        12 * 10**8,
    )
    with pytest.raises(ValueError, match=r"into a float32\[1, 3, 4, 5\] array"):
        stored.read(out=np.empty((1, 3, 4, 5), np.float32))


def test_an_npy_header_claiming_another_shape_is_refused_before_allocating(
    tmp_path, data
):
    """numpy's reader believed the header: "Unable to allocate 3.64 TiB"."""
    path = crafted(
        tmp_path, _corpus.checkpoint_with_npy_header(data, "image", (10**6, 10**6))
    )
    refused(
        lambda: read_checkpoint(path),
        r"array 'image' is float32\[1000000, 1000000\] in its member, listed as "
        r"float32\[1, 3, 4, 5\]",
        path=path,
    )


def test_an_npy_header_longer_than_numpy_writes_is_refused_before_it_is_read(
    tmp_path, data
):
    manifest, members = _corpus.checkpoint_parts(data)
    # Version 2.0: the header's length in 4 bytes, here 4 GiB - 1.
    members["image"] = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**32 - 1) + bytes(468)
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, members))
    refused(lambda: read_checkpoint(path), "header claims 4294967295 bytes", path=path)


@pytest.mark.parametrize(
    "header, match",
    [
        (b"not numpy at all", "not a .npy file"),
        (_corpus.npy_header("float32", (1, 3, 4, 5))[:-9] + b"bad literal\n", "valid"),
        (_corpus.npy_header("<U4", (1, 3, 4, 5)), r"is <U4\[1, 3, 4, 5\]"),
        (_corpus.npy_header(">f4", (1, 3, 4, 5)), r"is >f4\[1, 3, 4, 5\]"),
    ],
)
def test_a_member_that_is_not_the_listed_npy_array_is_refused(
    tmp_path, data, header, match
):
    manifest, members = _corpus.checkpoint_parts(data)
    size = len(members["image"])
    members["image"] = (header + bytes(size))[:size]
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, members))
    refused(lambda: read_checkpoint(path), match, path=path)


def test_a_member_declaring_more_than_its_array_is_refused_before_inflating(
    tmp_path, data
):
    manifest, members = _corpus.checkpoint_parts(data)
    member = _corpus.inflating_zeros(
        "arrays/image.npy", _corpus.npy_header("float32", (1, 3, 4, 5)), 10**9
    )
    members["image"] = member
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, members))
    refused(
        lambda: open_checkpoint(path),
        r"array 'image' declares shape \(1, 3, 4, 5\) \(240 bytes\) but its member "
        "holds 1000000128 bytes",
        path=path,
    )


@pytest.mark.parametrize(
    "change, match",
    [
        ({"size": 10**6}, "stored in 368 bytes but declares 1000000"),
        ({"method": 12}, "compressed with zip method 12; naah reads stored or def"),
        ({"stored_size": 10**6, "size": 10**6}, "declares shape .* holds 1000000"),
    ],
)
def test_a_member_whose_headers_lie_is_refused_before_it_is_read(
    tmp_path, data, change, match
):
    manifest, members = _corpus.checkpoint_parts(data)
    member = _corpus.stored("arrays/image.npy", members["image"])
    members["image"] = dataclasses.replace(member, **change)
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, members))
    refused(lambda: open_checkpoint(path), match, path=path)


def test_a_member_that_ends_past_the_end_of_the_file_is_refused(tmp_path, data):
    manifest, members = _corpus.checkpoint_parts(data)
    shape = (1, 3, 100, 100)  # 120128 bytes with its header
    manifest["arrays"]["image"]["shape"] = list(shape)
    header = _corpus.npy_header("float32", shape)
    members["image"] = dataclasses.replace(
        _corpus.stored("arrays/image.npy", header),
        size=len(header) + 120_000,
        stored_size=len(header) + 120_000,
    )
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, members))
    refused(lambda: open_checkpoint(path), "ends past the end of the file", path=path)


def test_a_deflated_checkpoint_from_any_zip_tool_is_read_bit_for_bit(tmp_path, data):
    manifest, members = _corpus.checkpoint_parts(data)
    deflated = {n: _corpus.deflated(f"arrays/{n}.npy", m) for n, m in members.items()}
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, deflated))
    loaded = read_checkpoint(path)
    for name, array in ARRAYS.items():
        np.testing.assert_array_equal(loaded.arrays[name], array)


def test_a_damaged_deflated_member_fails_its_crc_naming_the_array(tmp_path, data):
    manifest, members = _corpus.checkpoint_parts(data)
    member = _corpus.deflated("arrays/lbfgs.wa.npy", members["lbfgs.wa"])
    members["lbfgs.wa"] = dataclasses.replace(member, crc=member.crc ^ 1)
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, members))
    with pytest.raises(CheckpointError, match=r"'lbfgs.wa' is damaged \(Bad CRC"):
        read_checkpoint(path)


def test_a_zip_of_sixty_thousand_members_is_refused_before_they_are_parsed(
    tmp_path,
):
    members = [_corpus.stored(f"m{i}", b"") for i in range(60_000)]
    path = crafted(tmp_path, _corpus.zip_archive(members))
    refused(
        lambda: read_checkpoint(path),
        r"is a zip of 60000 members \(.*\); a naah checkpoint has at most 4096",
        path=path,
    )


@pytest.mark.parametrize(
    "text, match",
    [
        ("[" + "[]," * 100_000 + "[]]", r"packs 200002 values into 300004 bytes"),
        ("[" + ("[" + " " * 11) * 5000 + "]" * 5001, "nests deeper than naah's me"),
        ("1" * 5000, "not valid JSON"),
        ('{"format": "naah-checkpoint", "format_version": 1}', "lacks its arrays"),
    ],
)
def test_a_manifest_that_would_cost_more_than_its_size_is_refused(
    tmp_path, text, match
):
    path = crafted(tmp_path, _corpus.checkpoint_file(text, {}))
    refused(lambda: read_checkpoint(path), match, path=path)


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"dtype": "float32", "shape": [-1]}, r"arrays.x.shape must be a list of at"),
        ({"dtype": "float32", "shape": [True]}, "shape must be a list"),
        ({"dtype": "float32", "shape": [1] * 33}, "at most 32 sizes"),
        ({"dtype": "float32", "shape": "big"}, "shape must be a list"),
        ({"dtype": "object", "shape": [1]}, r"arrays.x.dtype is 'object'; a check"),
        ({"dtype": "float32"}, r"arrays.x must be \{dtype, shape\}"),
        (["float32", [1]], r"arrays.x must be \{dtype, shape\}"),
    ],
)
def test_a_listing_of_the_wrong_form_is_refused_naming_the_field(tmp_path, spec, match):
    manifest = {"format": "naah-checkpoint", "format_version": 1,
                "arrays": {"x": spec}, "metadata": {}}  # fmt: skip
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, {"x": b""}))
    refused(lambda: read_checkpoint(path), match, path=path)


def test_an_array_name_that_is_no_member_name_is_refused(tmp_path):
    manifest = {"format": "naah-checkpoint", "format_version": 1,
                "arrays": {"../x": {"dtype": "float32", "shape": [1]}},
                "metadata": {}}  # fmt: skip
    path = crafted(tmp_path, _corpus.checkpoint_file(manifest, {}))
    refused(lambda: read_checkpoint(path), "lists an array named '../x'", path=path)


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "/proc/self/mem", "folder"])
def test_a_special_file_is_refused_at_once_as_not_a_regular_file(tmp_path, kind):
    path = {"fifo": tmp_path / "pipe", "folder": tmp_path}.get(kind, Path(kind))
    if kind == "fifo":
        os.mkfifo(path)
    if not path.exists():
        pytest.skip(f"no {path} here")
    # (A reader that opened the FIFO would wait for a writer: the test would hang.)
    with pytest.raises(CheckpointError, match=f"^checkpoint '{path}' is not a reg"):
        read_checkpoint(path)


def test_arrays_are_read_from_the_file_as_it_was_opened(tmp_path, checkpoint):
    opened = open_checkpoint(checkpoint)
    np.testing.assert_array_equal(np.asarray(opened.arrays["image"]), ARRAYS["image"])
    out = np.empty((1, 3, 4, 5), np.float32)
    assert opened.arrays["image"].read(out=out) is out
    np.testing.assert_array_equal(out, ARRAYS["image"])
    write_checkpoint(checkpoint, ARRAYS, {"iteration": 13})  # another run's
    with pytest.raises(CheckpointError, match="run.ckpt changed since it was opened"):
        opened.arrays["image"].read()


def test_a_fortran_ordered_member_is_read_in_its_order(tmp_path):
    array = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    manifest = {"format": "naah-checkpoint", "format_version": 1,
                "arrays": {"x": {"dtype": "float64", "shape": [3, 4]}},
                "metadata": {}}  # fmt: skip
    path = crafted(
        tmp_path, _corpus.checkpoint_file(manifest, {"x": _corpus.npy(array)})
    )
    np.testing.assert_array_equal(read_checkpoint(path).arrays["x"], array)
    out = np.empty((3, 4))
    open_checkpoint(path).arrays["x"].read(out=out)
    np.testing.assert_array_equal(out, array)
