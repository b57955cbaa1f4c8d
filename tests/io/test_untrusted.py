"""Weights files that lie: every one is refused at once, naming the file and the lie.

The crafted files come from tests/io/_corpus.py. A reader that believed them would
allocate gigabytes or recurse without end; here each fails with a WeightsError (or,
from the MAT-file reader itself, a MatFileError) whose message says what was
declared and what was expected, and tracemalloc shows nothing large was made.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import random
import struct
import tracemalloc
import zlib

import h5py
import numpy as np
import pytest

from naah import testing
from naah.architecture import CONV_LAYERS
from naah.cli import main
from naah.io import WeightsError, load_weights, mat73, matv5
from naah.io._weights_matconvnet import VGG19_LIMITS
from naah.io.weights import load_meta
from tests._bounds import deadline
from tests.io import _corpus

# Bytes a refused file may cost: the reader's buffers and a few small arrays.
SMALL_BYTES = 1_000_000
# conv1_1's kernel in the fixture network: 4 outputs x 3 inputs x 3 x 3.
CONV1_1_VALUES = 4 * 3 * 3 * 3


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def refused(path, match):
    """load_weights(path) raises a WeightsError naming the file and matching
    ``match``, using little memory; the error is returned."""
    tracemalloc.start()
    try:
        with pytest.raises(WeightsError, match=match) as error:
            load_weights(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(error.value)
    assert peak < SMALL_BYTES, peak
    return error.value


# -- MATLAB v5 files that declare more than they hold ----------------------------------
@pytest.mark.parametrize("rows, cols", [(3000, 3000), (30_000, 30_000), (10**5, 10**5)])
def test_a_cell_claiming_more_elements_than_vgg19_has_is_refused(tmp_path, rows, cols):
    """30000 x 30000 in 192 bytes: believed, 7 GB and 23 s before it failed."""
    path = write(tmp_path, "cell.mat", _corpus.huge_cell(rows, cols))
    refused(
        path,
        rf"layers is a {rows}x{cols} cell of {rows * cols:,} elements; a VGG-19 "
        "weights file has none larger than 1,000",
    )


@pytest.mark.parametrize("rows, cols", [(1, 2), (3000, 3000)])
def test_a_cell_claiming_more_elements_than_the_bytes_left_is_refused(rows, cols):
    """Whatever the limits: each element takes at least an 8-byte tag."""
    tracemalloc.start()
    try:
        with pytest.raises(matv5.MatFileError, match="but only 8 bytes are left"):
            matv5.read_variables(io.BytesIO(_corpus.huge_cell(rows, cols)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < SMALL_BYTES, peak


def test_a_negative_dimension_is_refused(tmp_path):
    path = write(tmp_path, "negative.mat", _corpus.negative_cell())
    refused(path, r"layers has dimensions \(1, -5\); a dimension cannot be negative")


def test_odd_length_utf16_text_is_refused_not_a_unicode_error(tmp_path):
    path = write(tmp_path, "text.mat", _corpus.odd_utf16_text())
    refused(path, r"name is text of 7 bytes stored as 16-bit code units")


def test_text_that_does_not_fill_its_rows_is_refused(tmp_path):
    path = write(tmp_path, "text.mat", _corpus.ragged_text())
    refused(path, r"name is a 2x2 char array holding 3 characters")


def test_cells_nested_deeper_than_any_network_file_are_refused(tmp_path):
    """5000 levels: without a limit, a RecursionError."""
    path = write(tmp_path, "deep.mat", _corpus.deep_cells(5000))
    error = refused(path, rf"nested more than {matv5.MAX_DEPTH} cells or structs")
    assert "layers{1}{1}" in str(error)


def test_an_array_larger_than_vgg19s_largest_is_refused(tmp_path):
    path = write(tmp_path, "double.mat", _corpus.huge_double(20_000, 26_000))
    refused(path, r"meta is a 20000x26000 array of 520,000,000 values; a VGG-19")


def test_an_array_whose_data_is_longer_than_the_file_is_refused(tmp_path):
    path = write(tmp_path, "double.mat", _corpus.huge_double(10_000, 10_000))
    refused(path, r"meta declares 800,000,000 bytes of data where 8 are left")


def test_a_compressed_element_inflating_beyond_what_deflate_can_is_refused(tmp_path):
    path = write(tmp_path, "z.mat", _corpus.inflated_beyond_zlib(2**32 - 1))
    refused(path, r"declares 4,294,967,295 bytes of content, but deflate cannot")


def test_struct_field_names_longer_than_the_file_are_refused(tmp_path):
    path = write(tmp_path, "fields.mat", _corpus.struct_with_many_fields(10**8))
    refused(path, r"meta declares 3,200,000,000 bytes of data where 32 are left")


def test_a_variable_longer_than_the_rest_of_the_file_is_a_truncated_file(tmp_path):
    data = testing.write_vgg19_mat(tmp_path / "raw.mat", compression=False)
    with open(data, "rb") as file:
        cut = file.read()[:-100]
    path = write(tmp_path, "imagenet-vgg-verydeep-19.mat", cut)
    refused(path, r"truncated: the element at byte [\d,]+ declares [\d,]+ bytes, but")


def test_the_vgg19_limits_come_from_the_layer_table():
    fc6 = 4096 * 512 * 7 * 7  # Simonyan & Zisserman's fc6 on pool5's 7x7x512
    assert VGG19_LIMITS.max_values == fc6
    assert VGG19_LIMITS.max_elements == 1000  # the ImageNet classes


def test_limits_refuse_larger_arrays_and_cells_before_reading_them():
    buffer = io.BytesIO(_corpus.mat_file(_corpus.double((4, 5), name=b"x")))
    small = matv5.Limits(max_values=19, kind="this kind of file")
    with pytest.raises(matv5.MatFileError, match="x is a 4x5 array of 20 values; this"):
        matv5.read_variables(buffer, limits=small)
    cell = io.BytesIO(_corpus.huge_cell(1, 3))
    with pytest.raises(matv5.MatFileError, match="1x3 cell of 3 elements; a VGG-19"):
        matv5.read_variables(cell, limits=VGG19_LIMITS._replace(max_elements=2))


def test_a_small_element_claiming_more_than_four_bytes_is_refused():
    flags = struct.pack("<HH", _corpus.MI_UINT32, 8) + bytes(4)  # 8 bytes "packed"
    shape = _corpus.element(_corpus.MI_INT32, struct.pack("<2i", 1, 1))
    variable = _corpus.element(_corpus.MI_MATRIX, flags + shape)
    with pytest.raises(matv5.MatFileError, match="small data element of 8 bytes"):
        matv5.read_variables(io.BytesIO(_corpus.mat_file(variable)))


def test_a_stream_that_cannot_seek_is_read_as_before(tmp_path):
    path = testing.write_vgg19_mat(tmp_path / "w.mat")

    class Pipe(io.RawIOBase):
        """Reads like a pipe: no tell, no seek."""

        def __init__(self, data):
            self._data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self._data.readinto(buffer)

    with open(path, "rb") as file:
        data = file.read()
    piped = matv5.read_variables(io.BufferedReader(Pipe(data)))
    with open(path, "rb") as file:
        seekable = matv5.read_variables(file)
    assert list(piped) == list(seekable)
    np.testing.assert_array_equal(
        piped["layers"][0, 0]["weights"][0, 0],
        seekable["layers"][0, 0]["weights"][0, 0],
    )


@pytest.mark.parametrize("seed", range(4))
def test_randomly_damaged_files_fail_only_with_weights_errors_naming_them(
    tmp_path, seed
):
    """Words overwritten with sizes and bytes at random, in an uncompressed file and
    inside a compressed one: every failure is a WeightsError naming the file."""
    rng = random.Random(seed)
    compressed = seed % 2 == 1
    source = testing.write_vgg19_mat(tmp_path / "w.mat", compression=compressed)
    with open(source, "rb") as file:
        data = file.read()
    for trial in range(40):
        damaged = (
            _damage_inside_compression(data, rng)
            if compressed
            else _damage(data, 128, rng)
        )
        path = write(tmp_path, f"damaged{trial}.mat", damaged)
        try:
            load_weights(path)
        except WeightsError as error:
            assert path in str(error)


LIES = (0, 1, 7, 2**31 - 1, 2**31, 2**32 - 1)


def _damage(data: bytes, start: int, rng: random.Random) -> bytes:
    damaged = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(start, len(damaged) - 4)
        if rng.random() < 0.5:
            damaged[at] = rng.randrange(256)
        else:
            damaged[at : at + 4] = struct.pack("<I", rng.choice(LIES))
    return bytes(damaged)


def _damage_inside_compression(data: bytes, rng: random.Random) -> bytes:
    """``data`` with the inflated bytes of one compressed variable damaged."""
    variables, position = [], 128
    while position < len(data):
        _, nbytes = struct.unpack("<II", data[position : position + 8])
        variables.append(zlib.decompress(data[position + 8 : position + 8 + nbytes]))
        position += 8 + nbytes
    chosen = rng.randrange(len(variables))
    variables[chosen] = _damage(variables[chosen], 0, rng)
    return data[:128] + b"".join(_corpus.compressed(v) for v in variables)


# -- MATLAB v7.3 and Keras files ----------------------------------------------------------
def test_a_v73_cell_that_contains_itself_is_refused_not_a_recursion_error(tmp_path):
    path = _corpus.mat73_self_referencing_cell(str(tmp_path / "self.mat"))
    refused(path, r"layers\{1\}\{1\} refers back to an array that contains it")


def test_a_v73_struct_that_links_to_itself_is_refused(tmp_path):
    path = str(tmp_path / "loop.mat")
    with h5py.File(path, "w", userblock_size=_corpus.MAT73_USERBLOCK) as file:
        meta = file.create_group("meta")
        meta.attrs["MATLAB_class"] = np.bytes_("struct")
        meta["inner"] = meta  # a hard link back to the group
    _corpus.mat73_header(path)
    refused(path, r"meta.inner refers back to an array that contains it")


def test_a_v73_array_larger_than_vgg19s_largest_is_refused(tmp_path):
    path = _corpus.mat73_huge_array(str(tmp_path / "big.mat"), (100_000, 100_000))
    refused(path, r"10,000,000,000 values; a VGG-19 weights file has none larger")


def test_a_v73_array_the_file_does_not_store_is_refused(tmp_path):
    """VGG-sized, but HDF5 would return 8 MB of fill value for it."""
    path = _corpus.mat73_huge_array(str(tmp_path / "hollow.mat"), (1000, 1000))
    refused(path, r"declares 8,000,000 bytes .* but the file stores 0 bytes of it")


def test_a_v73_empty_array_with_no_zero_dimension_is_refused(tmp_path):
    path = _corpus.mat73_huge_empty(str(tmp_path / "empty.mat"), (100_000, 100_000))
    refused(path, r"flagged empty \(MATLAB_empty\) but has dimensions \(100000, 100000")


def test_a_keras_layer_wider_than_vgg19s_is_refused_before_it_is_read(tmp_path):
    path = testing.write_vgg19_keras_h5(tmp_path / "notop.h5", include_top=False)
    _corpus.keras_with_huge_layer(path, "block5_conv4", 10**8)
    refused(path, r"conv5_4 has 100,000,000 output channels, VGG-19's has 512")


def test_a_keras_kernel_the_file_does_not_store_is_refused(tmp_path):
    path = testing.write_vgg19_keras_h5(tmp_path / "k.h5")
    with h5py.File(path, "r+") as file:
        group = file["block2_conv1"]
        shape = group["block2_conv1_W_1:0"].shape
        del group["block2_conv1_W_1:0"]
        group.create_dataset("block2_conv1_W_1:0", shape=shape, dtype="<f4")
    stored = math.prod(shape) * 4
    refused(path, rf"conv2_1\) declares {stored:,} bytes .* stores 0 bytes")


def test_a_mat_layer_wider_than_vgg19s_is_refused(tmp_path):
    wide = np.zeros((1001, testing.DEFAULT_FC_WIDTH, 1, 1), np.float32)
    path = testing.write_vgg19_mat(
        tmp_path / "w.mat",
        kernel_overrides={"fc8": wide},
        bias_overrides={"fc8": np.zeros(1001, np.float32)},
    )
    with pytest.raises(WeightsError, match="fc8 has 1,001 output channels.* 1,000"):
        load_weights(path)


def test_hdf5_sizes_are_checked_against_storage_not_declared_shape(tmp_path):
    with h5py.File(tmp_path / "s.h5", "w") as file:
        written = file.create_dataset("written", data=np.zeros(1000))
        squeezed = file.create_dataset("squeezed", data=np.zeros(10**5), compression=9)
        hollow = file.create_dataset("hollow", shape=(1000,), dtype="f8", chunks=(10,))
        assert mat73.stored_size_problem(written) is None
        assert mat73.stored_size_problem(squeezed) is None  # zeros: ~1000x smaller
        assert "stores 0 bytes" in mat73.stored_size_problem(hollow)


# -- NaN and infinity ---------------------------------------------------------------------
def _nan_kernel():
    kernel = testing.make_vgg19_params()["conv1_1"][0].copy()
    kernel.flat[[0, 5, 9]] = np.nan
    return kernel


@pytest.fixture(scope="module")
def nan_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nan")
    keras = testing.write_vgg19_keras_h5(folder / "nan.h5")
    with h5py.File(keras, "r+") as file:
        file["block1_conv1/block1_conv1_W_1:0"][0, 0, 0, :3] = np.nan
    return {
        "mat": testing.write_vgg19_mat(
            folder / "nan.mat", kernel_overrides={"conv1_1": _nan_kernel()}
        ),
        "v73": testing.write_vgg19_mat73(
            folder / "nan73.mat", kernel_overrides={"conv1_1": _nan_kernel()}
        ),
        "keras": keras,
    }


@pytest.mark.parametrize("key", ["mat", "v73", "keras"])
def test_a_nan_in_a_kernel_is_refused_naming_the_layer(nan_files, key):
    expected = f"conv1_1 kernel (3 NaN of {CONV1_1_VALUES} values)"
    with pytest.raises(WeightsError, match="not finite numbers") as error:
        load_weights(nan_files[key])
    assert expected in str(error.value) and nan_files[key] in str(error.value)


def test_infinite_biases_and_a_nan_mean_pixel_are_refused(tmp_path):
    bias = np.zeros(testing.DEFAULT_WIDTHS[2], np.float32)
    bias[[0, 1]] = np.inf, -np.inf
    path = testing.write_vgg19_mat(
        tmp_path / "w.mat",
        bias_overrides={"conv3_1": bias},
        mean_pixel=(np.nan, 116.779, 103.939),
    )
    with pytest.raises(WeightsError) as error:
        load_weights(path)
    assert "conv3_1 bias (2 infinite of 8 values)" in str(error.value)
    assert "mean pixel (1 NaN of 3 values)" in str(error.value)


def test_check_finite_false_loads_them_and_non_finite_says_where(nan_files):
    weights = load_weights(nan_files["mat"], check_finite=False)
    assert np.isnan(weights.params["conv1_1"].kernel).sum() == 3
    assert weights.non_finite() == (
        f"conv1_1 kernel (3 NaN of {CONV1_1_VALUES} values)",
    )


def test_layers_not_kept_are_not_checked_for_nan(nan_files):
    kept = [name for name in CONV_LAYERS if name != "conv1_1"]
    assert load_weights(nan_files["mat"], layers=kept).non_finite() == ()


# -- naah weights info --------------------------------------------------------------------
def run(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def test_weights_info_reports_non_finite_values_rather_than_failing(nan_files):
    status, out, err = run(["weights", "info", nan_files["mat"]])
    rows = dict(line.split(":", 1) for line in out.splitlines())
    assert rows["values"].strip() == (
        f"NOT FINITE: conv1_1 kernel (3 NaN of {CONV1_1_VALUES} values)"
    )
    assert rows["layers"].strip().startswith("19 weight layers")
    assert status == 1 and "NaN or infinite" in err and nan_files["mat"] in err


def test_weights_info_says_finite_values_are_finite(tmp_path):
    status, out, _ = run(["weights", "info", testing.write_vgg19_mat(tmp_path / "w")])
    assert status == 0 and "values:      all finite" in out


def test_weights_info_on_a_directory_says_it_is_one(tmp_path):
    status, out, err = run(["weights", "info", tmp_path])
    assert status == 2 and out == ""
    assert "is a directory, not a weights file" in err
    assert "imagenet-vgg-verydeep-19.mat" in err


# -- the metadata alone, as naah stylize reads it before the weights -------------------
def meta_refused(path, match):
    """load_meta(path) raises a WeightsError naming the file and matching
    ``match``, using little memory."""
    tracemalloc.start()
    try:
        with pytest.raises(WeightsError, match=match) as error:
            load_meta(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(error.value)
    assert peak < SMALL_BYTES, peak


def layers_alone(tmp_path):
    path = testing.write_vgg19_mat(tmp_path / "layers.mat", drop_variables=("meta",))
    with open(path, "rb") as file:
        return file.read()


def test_meta_is_read_and_the_layers_passed_over_uninflated(tmp_path):
    """The layers' deflate data turns to garbage a block after their name:
    inflating them would fail, so load_meta never inflates them."""
    packer = zlib.compressobj(9)
    start = _corpus.matrix(_corpus.MX_CELL, (1, 43), b"", b"layers")
    data = b"".join(
        [
            packer.compress(start),
            packer.flush(zlib.Z_SYNC_FLUSH),
            packer.compress(bytes(range(256)) * 16),  # a block zlib starts on
            packer.flush(zlib.Z_SYNC_FLUSH),
            b"\xff" * 64,
        ]
    )
    layers = struct.pack("<II", _corpus.MI_COMPRESSED, len(data)) + data
    path = write(tmp_path, "w.mat", _corpus.with_meta_bomb(_corpus.mat_file(layers), 1))
    assert set(load_meta(path)) == {"normalization", "junk"}
    with pytest.raises(WeightsError, match="corrupt"):
        load_weights(path)


def test_a_meta_larger_than_any_networks_is_refused_before_it_is_read(tmp_path):
    layers = layers_alone(tmp_path)
    # 128 MiB of zero doubles in a file of a few hundred kB
    path = write(tmp_path, "w.mat", _corpus.with_meta_bomb(layers, 2**24))
    meta_refused(
        path,
        r"meta\.junk brings what is read to [\d,]+ bytes; the metadata of a VGG-19 "
        r"weights file holds at most 67,108,864 in all",
    )


def test_meta_of_the_published_kinds_is_read_and_of_others_is_none(tmp_path):
    current = load_meta(testing.write_vgg19_mat(tmp_path / "c.mat"))
    v73 = load_meta(testing.write_vgg19_mat73(tmp_path / "v73.mat"))
    np.testing.assert_array_equal(
        current["normalization"]["averageImage"], v73["normalization"]["averageImage"]
    )
    assert (
        load_meta(testing.write_vgg19_mat(tmp_path / "b.mat", release="beta16")) is None
    )
    assert load_meta(testing.write_vgg19_keras_h5(tmp_path / "k.h5")) is None
    assert load_meta(write(tmp_path, "notes.txt", b"not weights")) is None


@pytest.mark.parametrize("writer", ["mat", "mat73"])
def test_a_truncated_file_is_refused_naming_it(tmp_path, writer):
    write_file = getattr(testing, f"write_vgg19_{writer}")
    with open(write_file(tmp_path / "whole.mat"), "rb") as file:
        data = file.read()
    path = write(tmp_path, "cut.mat", data[: len(data) // 2])
    meta_refused(path, "truncated|cannot be (read|opened)")


def test_limits_bound_what_all_values_read_take_together(tmp_path):
    two = _corpus.mat_file(
        _corpus.double((10, 10), b"a"), _corpus.double((10, 10), b"b")
    )
    within = matv5.Limits(max_values=100, max_bytes=1000, kind="this kind of file")
    with pytest.raises(
        matv5.MatFileError, match="^b brings what is read to 1,600 bytes; this kind"
    ):
        matv5.read_variables(io.BytesIO(two), limits=within)
    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as file:
        for name in "ab":
            file.create_dataset(name, data=np.zeros((10, 10)))
    with h5py.File(path, "r") as file, pytest.raises(matv5.MatFileError, match="^b "):
        mat73.read_variables(file, limits=within)


def test_variables_passed_over_still_pass_through_the_hashers(tmp_path):
    path = testing.write_vgg19_mat(tmp_path / "w.mat")
    sha = hashlib.sha256()
    with open(path, "rb") as file:
        read = matv5.read_variables(file, hashers=[sha], variables=("meta",))
    assert list(read) == ["meta"]
    with open(path, "rb") as file:
        assert sha.hexdigest() == hashlib.sha256(file.read()).hexdigest()


@pytest.mark.parametrize("make", [_corpus.fifo, _corpus.dev_zero], ids=["fifo", "zero"])
def test_a_weights_path_that_is_not_a_regular_file_is_refused_unread(tmp_path, make):
    path = make(tmp_path / "imagenet-vgg-verydeep-19.mat")
    with deadline(5):
        for read in (load_weights, load_meta):
            with pytest.raises(WeightsError, match="is not a regular file"):
                read(path)
