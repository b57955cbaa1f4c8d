"""The checkpoint file: a zip of .npy arrays and JSON, atomic, strictly checked."""

import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from naah.io.checkpoint import (
    CheckpointError,
    read_checkpoint,
    write_checkpoint,
)
from naah.io.files import remove_stale_temporaries

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
    with pytest.raises(CheckpointError, match="is a directory"):
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
