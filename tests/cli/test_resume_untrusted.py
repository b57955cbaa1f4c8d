"""``naah stylize --resume`` given what is not a checkpoint, or a checkpoint that
lies: refused at once in one line naming --resume, at the cost of a glance.

Each case runs in a child process under an address-space limit (setrlimit), with a
timeout: a FIFO that blocked, ``/dev/zero`` read without end or a bomb inflated
would fail the test, not take the machine. The child reports its peak resident
memory (VmHWM).
"""

import json
import os
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.io import _corpus

RELEASE_LBFGS = Path(__file__).resolve().parents[1] / "data" / "release-lbfgs.ckpt"
# The child's address space: naah's imports take about 350 MB of it; the bomb below
# alone would take 2.4 GB (1.2 GB of image, read twice).
ADDRESS_SPACE = 2 << 30
# A refusal at a glance: the interpreter and naah's imports (about 80 MB).
GLANCE_MB = 200

CHILD = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from naah.cli import main

    results = []
    for checkpoint in sys.argv[1:]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            status = main(["stylize", "--resume", checkpoint, "-o", "out.png", "-q"])
        results.append((status, err.getvalue()))
    peak = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(json.dumps({"results": results, "peak_mb": int(peak.split()[1]) // 1024}))
    """
)


def resume_in_a_child(tmp_path, *checkpoints):
    """Each checkpoint given to ``naah stylize --resume`` in one child process:
    ([(status, stderr)], the child's peak resident memory in MB)."""

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    child = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, checkpoints)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        preexec_fn=limited,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report = json.loads(child.stdout.splitlines()[-1])
    return [tuple(r) for r in report["results"]], report["peak_mb"]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux only")
def test_a_fifo_a_device_and_a_kernel_file_are_refused_as_not_regular_files(tmp_path):
    """A FIFO blocked for ever; /dev/zero grew to 24 GB; /proc/self/mem: Errno 5."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    paths = [fifo, Path("/dev/zero"), Path("/proc/self/mem")]
    results, peak = resume_in_a_child(tmp_path, *paths)
    kinds = ["a FIFO", "a character device", "a kernel pseudo-file in /proc"]
    for (status, err), path, kind in zip(results, paths, kinds, strict=True):
        assert status == 2 and err.count("\n") == 1, err
        assert err == (
            f"naah: error: --resume: checkpoint '{path}' is not a regular file "
            f"({kind}): give a file\n"
        )
    assert peak < GLANCE_MB


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux only")
def test_a_checkpoint_bomb_is_refused_at_a_glance(tmp_path):
    """A 2 MB checkpoint whose deflated image and best image list 1.2 GB each: it
    peaked at 2.5 GB before its refusal."""
    data = RELEASE_LBFGS.read_bytes()
    for name in ("image", "best_image"):
        data = _corpus.checkpoint_bomb(data, name, (1, 3, 10_000, 10_000))
    bomb = tmp_path / "bomb.ckpt"
    bomb.write_bytes(data)
    assert bomb.stat().st_size < 3_000_000
    [(status, err)], peak = resume_in_a_child(tmp_path, bomb)
    assert (status, err) == (
        2,
        f"naah: error: --resume: {bomb}: array 'image' is 10000x10000 pixels, larger "
        "than the run's size (16, metadata field run.size)\n",
    )
    assert peak < GLANCE_MB
