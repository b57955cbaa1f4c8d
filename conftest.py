"""Test-session settings (tests and doctests): PyTensor's compile cache and temporary
files in .cache/, C code compiled quickly.

Set before naah (and so PyTensor) is imported: PyTensor reads PYTENSOR_FLAGS once.
The JAX and Numba linkers leave generated source files in the temp folder, so the
tests point it at a scratch folder inside the checkout.
"""

import os
import tempfile
from pathlib import Path

_CACHE = Path(__file__).resolve().parent / ".cache"
_SCRATCH = _CACHE / "tmp"
_SCRATCH.mkdir(parents=True, exist_ok=True)
os.environ["TMPDIR"] = str(_SCRATCH)
tempfile.tempdir = str(_SCRATCH)
_FLAGS = {
    "base_compiledir": str(_CACHE / "pytensor"),
    # PyTensor's own Ops (naah's have no C code) compiled at -O0, not -O3: compiling
    # is most of a cold run's time (CI's is always cold), and the tests' tiny images
    # do not feel the slower code. On 2 cores: compiling for test_style_transfer,
    # test_problem and test_checkpointing took 108 s at -O3, 57 s at -O0.
    "gcc__cxxflags": "-O0",
}
_given = os.environ.get("PYTENSOR_FLAGS", "")
os.environ["PYTENSOR_FLAGS"] = ",".join(
    [_given] * bool(_given)
    + [f"{k}={v}" for k, v in _FLAGS.items() if f"{k}=" not in _given]
)

# Tests never download the real weights (naah fetches them on first use): the
# tests of that path unset this and serve files from 127.0.0.1.
os.environ["NAAH_NO_DOWNLOAD"] = "1"

# naah's docstring examples run as doctests (setup.cfg); the JAX backend's module
# imports JAX, an optional extra.
collect_ignore = []
try:
    import jax  # noqa: F401
except ImportError:
    collect_ignore.append("naah/ops/jax_backend.py")
