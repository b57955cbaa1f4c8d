"""``naah`` as a real process: SIGINT and SIGTERM at any moment, kill -9, resume.

The command is the installed script (bin/naah, beside this Python). Signals go to
the process itself: a background job of a non-interactive shell ignores SIGINT.
Fixture weights and 64 px images keep each run to seconds.
"""

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from naah.io.checkpoint import read_checkpoint
from naah.testing import write_vgg19_mat

pytestmark = pytest.mark.slow
NAAH = Path(sys.executable).with_name("naah")
IMAGES = Path(__file__).resolve().parents[2] / "data"
if not (IMAGES / "tubingen.jpg").exists():
    IMAGES = Path("/work/shared/images")


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
        str(NAAH), "stylize", "tubingen.jpg", "starry_night.jpg", "-o", "out.png",
        "--weights", str(weights), "--size", "64", "--iterations", str(iterations),
        "--print-every", "1", "-q", *options,
    ]  # fmt: skip
    return subprocess.Popen(command, cwd=folder, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def wait_for_iteration(process, iteration):
    """Read --print-every lines until ``iteration`` is done."""
    for line in process.stdout:
        if line.startswith(f"iteration {iteration}/"):
            return
    raise AssertionError(f"ended first: {process.wait()}, {process.stderr.read()}")


@pytest.mark.skipif(not NAAH.exists(), reason="naah script not installed")
@pytest.mark.parametrize(
    ("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
)
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

    resumed = subprocess.run(
        [str(NAAH), "stylize", "--resume", "out.ckpt", "--iterations", str(done + 4),
         "-q"], cwd=folder, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    history = np.genfromtxt(folder / "out.csv", delimiter=",", names=True)
    assert list(history["iteration"]) == list(range(done + 5))


@pytest.mark.skipif(not NAAH.exists(), reason="naah script not installed")
@pytest.mark.parametrize("delay", [0.05, 0.4, 1.5])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_starting_is_one_line(folder, weights, delay, signum):
    """While Python imports naah, loads the weights or compiles: no traceback."""
    process = start(folder, weights)
    time.sleep(delay)
    process.send_signal(signum)
    _, err = process.communicate(timeout=120)
    if "interrupted at iteration" in err:  # this machine got that far: fine too
        return
    assert process.returncode == 128 + signum, err
    assert err.strip().splitlines() == ["naah: interrupted"]
    assert not (folder / "out.png").exists()


@pytest.mark.skipif(not NAAH.exists(), reason="naah script not installed")
def test_kill_9_loses_at_most_checkpoint_every_iterations_and_leaves_no_partial(
    folder, weights
):
    process = start(folder, weights, "--checkpoint-every", "2")
    wait_for_iteration(process, 7)
    process.kill()
    process.communicate()
    saved = read_checkpoint(folder / "out.ckpt")  # complete, whatever the moment
    assert saved.metadata["iteration"] >= 7 - 2
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    # A temporary file from the killed writer may remain; the next run removes it.
    stale = folder / f".out.ckpt.{process.pid}.tmp"
    stale.write_bytes(b"partial")
    assert set(leftovers) <= {stale.name}
    again = start(folder, weights, "--checkpoint-every", "1", iterations=2)
    again.communicate(timeout=300)
    assert again.returncode == 0
    assert not stale.exists()
    assert (folder / "out.png").exists()


@pytest.mark.skipif(not NAAH.exists(), reason="naah script not installed")
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
