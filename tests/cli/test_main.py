"""Failures while working: status 1, one line; --debug; interrupts."""

import pytest

from naah.io.images import ImageError
from naah.io.weights import KNOWN_FILES
from naah.style_transfer import StyleTransfer
from tests.cli._commands import run, run_limited, stylize


# -- failures while working: status 1, one line ------------------------------------------
def test_missing_weights_say_which_file_is_needed_and_where_to_put_it(
    files, tmp_path, no_weights
):
    output = tmp_path / "result.png"
    status, _, err = run(["stylize", files["content"], files["style"], "-o", output,
                          "--no-download"])  # fmt: skip
    known = KNOWN_FILES[0]
    assert status == 1 and err.count("\n") == 1
    for expected in (
        known.name,
        f"{known.size:,}",
        known.sha256,
        "naah weights download",
    ):
        assert expected in err
    assert str(tmp_path / "cache") in err
    assert not output.exists()


def test_weights_from_the_environment_are_used(files, tmp_path, monkeypatch):
    monkeypatch.setenv("NAAH_WEIGHTS", files["weights"])
    seen = {}
    monkeypatch.setattr(StyleTransfer, "run", lambda self, *a, **k: _stop(self, seen))
    status, _, _ = run(
        ["stylize", files["content"], files["style"], "-o", tmp_path / "r.png"]
    )
    assert status == 1 and str(seen["weights"]) == files["weights"]


def _stop(transfer, seen):
    seen["weights"] = transfer.session.weights
    raise ImageError("stopped here")


def test_a_broken_weights_file_fails_in_one_line_with_status_1(files, tmp_path):
    broken = tmp_path / "broken.mat"
    broken.write_bytes(b"<html>not found</html>")
    output = tmp_path / "result.png"
    status, _, err = run(
        ["stylize", files["content"], files["style"], "-o", output, "--weights", broken]
    )
    # "weights PATH", "loading and compiling" (once, not a terminal), then the error
    assert status == 1 and err.count("\n") <= 3
    assert err.splitlines()[-1].startswith("naah: error: ") and "HTML" in err
    assert "Traceback" not in err and not output.exists()


def test_debug_shows_the_traceback_of_a_failure(files, tmp_path, monkeypatch):
    monkeypatch.setattr(
        StyleTransfer, "run", lambda *a, **k: (_ for _ in ()).throw(ImageError("x"))
    )
    with pytest.raises(ImageError):
        stylize(files, tmp_path / "r.png", "--debug")


def test_an_unexpected_error_is_named_and_points_to_debug(files, tmp_path, monkeypatch):
    monkeypatch.setattr(
        StyleTransfer, "run", lambda *a, **k: (_ for _ in ()).throw(KeyError("x"))
    )
    status, _, err = stylize(files, tmp_path / "r.png", "--quiet")
    assert status == 1 and err == "naah: error: KeyError: 'x' (--debug shows where)\n"


def test_an_interrupt_exits_with_status_130(files, tmp_path, monkeypatch):
    monkeypatch.setattr(
        StyleTransfer, "run", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    status, _, err = stylize(files, tmp_path / "r.png", "--quiet")
    assert (status, err) == (130, "naah: interrupted\n")


# -- out of memory: what was asked, naah's estimate, what to give instead -------------
def _raise(error):
    def raising(*args, **kwargs):
        raise error

    return raising


@pytest.mark.parametrize(
    "error",
    [MemoryError("Unable to allocate 37.3 GiB for an array"), MemoryError()],
    ids=["numpy", "pillow"],  # numpy says how much; Pillow says nothing
)
def test_a_memory_error_says_the_size_asked_naahs_estimate_and_the_fix(
    files, tmp_path, monkeypatch, error
):
    monkeypatch.setattr(StyleTransfer, "run", _raise(error))
    status, _, err = stylize(files, tmp_path / "r.png", "--quiet")
    assert status == 1 and err.count("\n") == 1
    detail = f" ({error})" if str(error) else ""
    assert err.startswith(
        f"naah: error: out of memory{detail} at --size 32, which naah estimated at "
    )
    assert (
        " available; give a smaller --size (--size auto: the largest that fits)" in err
    )
    assert "--debug" not in err and "MemoryError" not in err


def test_a_memory_error_of_naah_sheet_names_the_cell_asked(monkeypatch, tmp_path):
    monkeypatch.setattr("naah.batch.cli.contact_sheet", _raise(MemoryError()))
    status, _, err = run(["sheet", tmp_path, "-o", tmp_path / "s.png",
                          "--cell", 20000])  # fmt: skip
    assert status == 1 and err.count("\n") == 1
    assert err.startswith("naah: error: out of memory at --cell 20000, with ")
    assert err.endswith(" available; give a smaller --cell\n")


def test_naahs_own_memory_refusals_keep_their_message(files, tmp_path):
    status, _, err = stylize(files, tmp_path / "r.png", "--size", 10**6)
    assert status == 1 and "the largest --size that fits is" in err
    assert "out of memory" not in err


@pytest.mark.slow
def test_a_forced_run_too_large_for_memory_ends_in_that_message_not_a_traceback(
    files, tmp_path
):
    # Under a 3 GB address space: the run's first large allocation fails.
    status, _, err = run_limited(
        ["stylize", files["content"], files["style"], "-o", tmp_path / "r.png",
         "--weights", files["weights"], "--size", 100_000, "--iterations", 1,
         "--force", "--quiet"],
        address_space=3 * 2**30,
    )  # fmt: skip
    assert status == 1 and err.count("\n") == 1, err
    # The first large allocation is the content image's, at the size asked for:
    # the message says that size and what it needs.
    assert "not enough memory to load" in err and "at 75000x100000" in err
    assert "that needs about 180.0 GB; ask for a smaller size" in err
    assert "--debug" not in err
