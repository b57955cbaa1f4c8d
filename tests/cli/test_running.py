"""Writing a run's files: a failed side file warns, a failed image names its
path."""

import errno
import os

from naah.cli import running
from naah.optim import History
from naah.style_transfer import StyleResult
from tests.cli._commands import ITERATIONS, PNG_SIGNATURE, stylize


# -- writing: a failed side file warns, a failed image names its path ----------------------
def test_the_run_gets_the_images_at_the_checked_size(files, tmp_path, fake_run):
    assert stylize(files, tmp_path / "r.png", "--quiet")[0] == 0
    assert fake_run["content_shape"] == (32, 24, 3)


def test_print_every_prints_one_line_of_losses_on_stdout(files, tmp_path, fake_run):
    status, out, err = stylize(
        files, tmp_path / "r.png", "--iterations", 4, "--print-every", 2, "--quiet"
    )
    assert (status, err) == (0, "")
    assert out.splitlines() == [
        "iteration 2/4: weighted total 33.33 (unweighted: content 1.5, style 0.25)",
        "iteration 4/4: weighted total 20 (unweighted: content 1.5, style 0.25)",
    ]
    assert stylize(files, tmp_path / "r.png", "--quiet")[1] == ""  # default: never


def test_a_failed_snapshot_warns_and_the_run_goes_on(
    files, tmp_path, fake_run, monkeypatch
):
    save_image = running.save_image

    def disk_full_for_snapshots(path, image, **options):
        if ".iter" in path.name:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return save_image(path, image, **options)

    monkeypatch.setattr(running, "save_image", disk_full_for_snapshots)
    output = tmp_path / "r.png"
    status, _, err = stylize(
        files, output, "--save-every", 1, "--history", tmp_path / "h.csv", "--quiet"
    )
    assert status == 0
    warnings = err.splitlines()
    assert len(warnings) == ITERATIONS + 1
    assert warnings[1] == (
        f"naah: warning: could not write {tmp_path / 'r.iter0001.png'}: "
        f"{os.strerror(errno.ENOSPC)}"
    )
    assert output.read_bytes()[:8] == PNG_SIGNATURE
    assert (tmp_path / "h.csv").exists()


def test_a_failed_history_or_plot_warns_and_the_image_is_written(
    files, tmp_path, fake_run, monkeypatch
):
    def refuse(self, path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(History, "save", refuse)
    output = tmp_path / "r.png"
    status, _, err = stylize(files, output, "--history", tmp_path / "h.csv", "--plot")
    assert status == 0
    assert (
        f"naah: warning: could not write {tmp_path / 'h.csv'}: Permission denied\n"
        in err
    )
    assert f"wrote {output}" in err and f"wrote {tmp_path / 'r.loss.png'}" in err
    assert f"wrote {tmp_path / 'h.csv'}" not in err
    assert output.exists() and not (tmp_path / "h.csv").exists()


def test_a_failed_image_write_names_the_path_and_exits_1(
    files, tmp_path, fake_run, monkeypatch
):
    def disk_full(self, path, **options):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(StyleResult, "save", disk_full)
    output = tmp_path / "r.png"
    status, _, err = stylize(files, output, "--history", tmp_path / "h.csv", "-q")
    assert status == 1
    assert err == (
        f"naah: error: could not write {output}: {os.strerror(errno.ENOSPC)}\n"
    )
    assert (tmp_path / "h.csv").exists()  # the other files are still written


# -- the live view ---------------------------------------------------------------------
def test_host_for_other_machines_prints_the_url_with_its_token(capsys):
    view = running.web_view(True, "0.0.0.0", None)
    try:
        err = capsys.readouterr().err
        assert f"live view at {view.url} " in err
        assert view.url.endswith(f"/?token={view.token}") and view.token
        assert f"reach it on port {view.port} with this URL's token" in err
    finally:
        view.close()
