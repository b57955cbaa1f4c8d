"""History: columns, flat rows, and CSV/JSON files that read back to the same values."""

import csv
import json

import pytest

from naah.optim import History, IterationRecord

LAYERS = ("conv1_1", "conv2_1")


def make_history(iterations=3):
    return History(
        IterationRecord(
            iteration=i,
            total=100.0 / (i + 1) + 0.1,
            content=1.5 * i + 1 / 3,
            style=2.0**-i,
            tv=0.0,
            time=0.25 * i,
            evaluations=2 * i + 1,
            style_layers={"conv1_1": 10.0 - i, "conv2_1": 1e-7 * (i + 1)},
        )
        for i in range(iterations + 1)
    )


def test_column_gives_one_value_per_iteration():
    history = make_history()

    assert history.column("total") == [r.total for r in history]
    assert history.column("time") == [0.0, 0.25, 0.5, 0.75]
    assert history.column("evaluations") == [1, 3, 5, 7]


def test_column_e_layer_gives_that_style_layers_e_l():
    history = make_history()

    assert history.column("E_conv1_1") == [10.0, 9.0, 8.0, 7.0]
    assert history.column("E_conv2_1") == [r.style_layers["conv2_1"] for r in history]


def test_rows_are_flat_with_an_e_column_per_style_layer():
    rows = make_history().rows()

    assert len(rows) == 4
    assert list(rows[0]) == [
        "iteration", "total", "content", "style", "tv", "tv_raw", "time",
        "evaluations", "E_conv1_1", "E_conv2_1",
    ]  # fmt: skip
    assert rows[2]["E_conv1_1"] == 8.0
    assert rows[2]["iteration"] == 2
    assert "style_layers" not in rows[0]


def test_rows_leave_the_records_untouched():
    history = make_history()
    history.rows()

    assert history[1].style_layers == {"conv1_1": 9.0, "conv2_1": 2e-7}


def test_csv_file_reads_back_to_the_same_values(tmp_path):
    history = make_history()

    path = history.save(tmp_path / "history.csv")

    assert path == tmp_path / "history.csv"
    with open(path, newline="") as handle:
        read = list(csv.DictReader(handle))
    expected = history.rows()
    assert [list(row) for row in read] == [list(row) for row in expected]
    for got, want in zip(read, expected, strict=True):
        assert {k: float(v) for k, v in got.items()} == want


def test_json_file_reads_back_to_the_same_rows(tmp_path):
    history = make_history()

    path = history.save(tmp_path / "history.json")

    assert json.loads(path.read_text()) == history.rows()


def test_extension_is_case_insensitive(tmp_path):
    path = make_history().save(tmp_path / "HISTORY.JSON")

    assert json.loads(path.read_text()) == make_history().rows()


def test_saving_leaves_no_temporary_file(tmp_path):
    make_history().save(tmp_path / "history.csv")

    assert [p.name for p in tmp_path.iterdir()] == ["history.csv"]


def test_empty_history_saves_as_an_empty_json_list(tmp_path):
    path = History().save(tmp_path / "history.json")

    assert json.loads(path.read_text()) == []


@pytest.mark.parametrize("name", ["history.txt", "history", "history.csv.gz"])
def test_other_extensions_raise_value_error_naming_the_allowed_ones(tmp_path, name):
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        make_history().save(tmp_path / name)

    assert list(tmp_path.iterdir()) == []
