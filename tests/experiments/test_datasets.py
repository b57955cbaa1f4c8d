"""Image sets: class folders, splits and scikit-learn's digits."""

import numpy as np
import pytest

from naah.experiments import (
    ImageSet,
    digits_image_set,
    load_image_folder,
    write_image_folder,
)


def _set(per_class=(3, 5)):
    labels = np.repeat(np.arange(len(per_class)), per_class).astype(np.int32)
    images = np.stack([np.full((8, 8, 3), 30.0 * i) for i in range(len(labels))])
    return ImageSet(images.astype(np.float32), labels, ("cats", "dogs"))


def test_a_folder_written_reads_back_with_the_same_classes(tmp_path):
    original = _set()
    write_image_folder(original, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cats", "dogs"]
    loaded = load_image_folder(tmp_path, size=8)
    assert loaded.class_names == ("cats", "dogs")
    np.testing.assert_array_equal(loaded.labels, original.labels)
    np.testing.assert_allclose(loaded.images, original.images, atol=0.5)


def test_folder_images_are_resized_to_the_square_size(tmp_path):
    write_image_folder(_set(), tmp_path)
    assert load_image_folder(tmp_path, size=32).images.shape == (8, 32, 32, 3)


def test_a_folder_without_class_folders_says_what_layout_is_expected(tmp_path):
    with pytest.raises(ValueError, match="one sub-folder per class"):
        load_image_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_image_folder(tmp_path / "missing")


def test_split_takes_the_same_fraction_of_every_class():
    train, test = _set((10, 20)).split(0.2, seed=0)
    assert np.bincount(test.labels).tolist() == [2, 4]
    assert np.bincount(train.labels).tolist() == [8, 16]


def test_take_per_class_caps_each_class():
    assert np.bincount(_set((10, 2)).take_per_class(3).labels).tolist() == [3, 2]


def test_digits_are_ten_classes_of_rgb_images():
    pytest.importorskip("sklearn")
    digits = digits_image_set(size=32)
    assert digits.images.shape == (1797, 32, 32, 3)
    assert digits.class_names == tuple("0123456789")
    assert 0 <= digits.images.min() and digits.images.max() <= 255
    assert np.bincount(digits.labels).min() > 150
