"""``naah`` as a real process: SIGINT, SIGTERM and SIGHUP at any moment, kill -9,
resume; and the same signals in this process, where ``main`` handles them.

The command is this tree's script, bin/naah, run by this Python. Signals go to the
process itself: a background job of a non-interactive shell ignores SIGINT.
Fixture weights and 64 px images keep each run to seconds.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from naah.io.checkpoint import read_checkpoint
from naah.style_transfer import StyleTransfer
from naah.testing import write_vgg19_mat
from tests.cli._commands import run

ROOT = Path(__file__).resolve().parents[2]
NAAH = [sys.executable, str(ROOT / "bin" / "naah")]
IMAGES = ROOT / "data"
if not (IMAGES / "tubingen.jpg").exists():
    IMAGES = Path("/work/shared/images")
#: What a signal to the naah process gives: its exit status, as shells report it.
STATUSES = [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
# Linux's list of the signals a process catches, one bit per signal.
PROC_STATUS = Path("/proc/self/status")


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


@pytest.fixture
def folder(tmp_path):
    for name in ("tubingen.jpg", "starry_night.jpg"):
        shutil.copy(IMAGES / name, tmp_path / name)
    return tmp_path


def start(folder, weights, *options, iterations=100000):
    command = [
        *NAAH, "stylize", "tubingen.jpg", "starry_night.jpg", "-o", "out.png",
        "--weights", str(weights), "--size", "64", "--iterations", str(iterations),
        "--print-every", "1", "-q", *options,
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def wait_until_naah_handles_signals(process, timeout=120):
    """Wait until bin/naah's first lines have run: from then on every signal is
    naah's to report. Before, Python is still starting and a signal kills it as
    it would any program. bin/naah catches SIGHUP last, and Python itself catches
    neither SIGTERM nor SIGHUP: once /proc says both are caught, all three are."""
    wanted = (1 << (signal.SIGTERM - 1)) | (1 << (signal.SIGHUP - 1))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            text = Path(f"/proc/{process.pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            break
        caught = int(re.search(r"^SigCgt:\s*([0-9a-f]+)$", text, re.M)[1], 16)
        if caught & wanted == wanted:
            return
        time.sleep(0.002)
    raise AssertionError(f"naah did not start: {process.poll()}")


def wait_for_iteration(process, iteration):
    """Read --print-every lines until ``iteration`` is done."""
    for line in process.stdout:
        if line.startswith(f"iteration {iteration}/"):
            return
    raise AssertionError(f"ended first: {process.wait()}, {process.stderr.read()}")


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status"), STATUSES)
def test_a_signal_mid_run_writes_everything_and_says_how_to_resume(
    folder, weights, signum, status
):
    process = start(folder, weights, "--history", "out.csv", "--plot")
    wait_for_iteration(process, 3)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    assert process.returncode == status
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert line.startswith("naah: interrupted at iteration ")
    assert line.endswith("resume with: naah stylize --resume out.ckpt")
    for name in ("out.png", "out.csv", "out.loss.png", "out.ckpt"):
        assert (folder / name).stat().st_size > 0, name
    saved = read_checkpoint(folder / "out.ckpt").metadata
    assert saved["status"] == "interrupted"
    done = saved["iteration"]
    assert done >= 3 and f"iteration {done};" in line

    # The same command asking fewer iterations than done discards nothing.
    kept = (folder / "out.ckpt").read_bytes()
    again = start(folder, weights, iterations=2)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 2, err
    assert f"holds {done} iterations of this run, more than --iterations 2" in err
    assert (folder / "out.ckpt").read_bytes() == kept

    resumed = subprocess.run(
        [*NAAH, "stylize", "--resume", "out.ckpt", "--iterations", str(done + 4),
         "-q"], cwd=folder, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    history = np.genfromtxt(folder / "out.csv", delimiter=",", names=True)
    assert list(history["iteration"]) == list(range(done + 5))


@pytest.mark.slow
@pytest.mark.skipif(not PROC_STATUS.exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("delay", [0.05, 0.4, 1.5])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_starting_is_one_line(folder, weights, delay, signum):
    """While Python imports naah, loads the weights or compiles: no traceback."""
    process = start(folder, weights)
    wait_until_naah_handles_signals(process)
    time.sleep(delay)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    if "interrupted at iteration" in err:  # this machine got that far: fine too
        return
    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines() == ["naah: interrupted"]
    assert not (folder / "out.png").exists()


@pytest.mark.slow
def test_kill_9_loses_at_most_checkpoint_every_iterations_and_leaves_no_partial(
    folder, weights
):
    process = start(folder, weights, "--checkpoint-every", "2")
    wait_for_iteration(process, 7)
    process.kill()
    process.communicate()
    saved = read_checkpoint(folder / "out.ckpt")  # complete, whatever the moment
    done = saved.metadata["iteration"]
    assert done >= 7 - 2
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    # A temporary file from the killed writer may remain; the next run removes it.
    stale = folder / f".out.ckpt.{process.pid}.tmp"
    stale.write_bytes(b"partial")
    assert set(leftovers) <= {stale.name}
    # The same command continues the run to its new total.
    again = start(folder, weights, "--checkpoint-every", "1", iterations=done + 2)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert not stale.exists()
    assert (folder / "out.png").exists()
    assert read_checkpoint(folder / "out.ckpt").metadata["iteration"] == done + 2


@pytest.mark.slow
def test_the_web_pages_stop_button_ends_the_run_like_ctrl_c(folder, weights):
    import re
    import urllib.request

    process = start(folder, weights, "--web")
    url = None
    for line in process.stderr:
        match = re.search(r"live view at (http://127\.0\.0\.1:\d+/)", line)
        if match:
            url = match[1]
            break
    assert url is not None
    wait_for_iteration(process, 2)
    with urllib.request.urlopen(url + "state.json", timeout=10) as response:
        assert b'"iteration"' in response.read()
    request = urllib.request.Request(url + "stop", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted at iteration" in err and "Traceback" not in err
    assert (folder / "out.png").exists() and (folder / "out.ckpt").exists()


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["bin/naah", "python -m naah"])
def test_ctrl_c_stops_a_batch_with_status_130_even_if_it_started_ignoring_it(
    folder, weights, launcher
):
    """A background job of a non-interactive shell starts with SIGINT ignored."""
    command = NAAH if launcher == "bin/naah" else [sys.executable, "-m", "naah"]
    process = subprocess.Popen(
        [*command, "batch", "--content", "tubingen.jpg", "--style",
         "starry_night.jpg", "--out-dir", "out", "--weights", str(weights),
         "--size", "64", "--iterations", "100000"],
        cwd=folder, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )  # fmt: skip
    for line in process.stderr:  # naah's handlers are in place once it says this
        if line.startswith("naah: batch of 1 jobs"):
            break
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert err.splitlines()[-1] == "naah: interrupted" and "Traceback" not in err


# -- in this process: main() handles the signals while it runs ---------------------------
@pytest.fixture
def unhandled_sighup():
    """The SIGHUPs that reach this process's own handler: none while naah handles
    them (and a SIGHUP it missed is recorded, not the end of the tests)."""
    seen = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: seen.append(signum))
    yield seen
    signal.signal(signal.SIGHUP, previous)


def hang_up(*args, **kwargs):
    """A run that gets SIGHUP, as when its terminal is closed."""
    os.kill(os.getpid(), signal.SIGHUP)
    time.sleep(10)  # the handler raises here
    raise AssertionError("SIGHUP did not stop the run")


def test_sighup_stops_naah_video_with_status_129(
    files, tmp_path, monkeypatch, unhandled_sighup
):
    monkeypatch.setattr(StyleTransfer, "run_video", hang_up)
    status, _, err = run(
        ["video", files["content"], files["style"], "-o", tmp_path / "v.gif",
         "--weights", files["weights"], "-q"]
    )  # fmt: skip
    assert (status, err) == (129, "naah: interrupted\n")
    assert unhandled_sighup == []
    assert signal.getsignal(signal.SIGHUP) is not signal.SIG_DFL  # this one's back


def test_an_interrupt_inside_an_import_is_an_interrupt_not_a_failure(
    files, tmp_path, monkeypatch
):
    def import_interrupted(*args, **kwargs):
        # pybind11's module initialisation, on Ctrl-C: the interrupt is the cause.
        raise ImportError("initialization failed") from KeyboardInterrupt()

    monkeypatch.setattr(StyleTransfer, "run", import_interrupted)
    status, _, err = run(
        ["stylize", files["content"], files["style"], "-o", tmp_path / "r.png",
         "--weights", files["weights"], "-q"]
    )  # fmt: skip
    assert (status, err) == (130, "naah: interrupted\n")
