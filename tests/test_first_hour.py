"""A new user's first hour: the installed command is found, notebooks show their
progress bars, and ``import naah`` stays cheap (issue 21, item 16)."""

import configparser
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Each 0.05-0.3 s to import, and needed only by some runs: `import naah` must leave
# them to their first use (benchmarks/bench_import.py times the import).
HEAVY = (
    "scipy.ndimage",
    "scipy.optimize",
    "numba",
    "h5py",
    "matplotlib",
    "tqdm",
    "cv2",
)


def test_import_naah_leaves_the_heavy_modules_to_their_first_use():
    code = (
        "import sys, naah\n"
        f"print(*(m for m in {HEAVY!r} if type(sys.modules.get(m)).__name__ == "
        "'module'))"
    )
    result = subprocess.run(
        [sys.executable, "-P", "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_the_experiments_extra_installs_the_widgets_of_the_notebooks_bars():
    # tqdm.auto draws an ipywidgets widget in Jupyter; without the package it warns
    # (TqdmWarning: IProgress not found) in every notebook.
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extra = setup["options.extras_require"]["experiments"].split()
    assert any(line.startswith("ipywidgets>=") for line in extra)


def test_the_readme_says_how_to_call_naah_after_its_install_command():
    readme = (ROOT / "README.md").read_text()
    install = readme.index('.venv/bin/pip install -e ".[test]"')
    first_use = readme.index("naah weights fixture")
    between = readme[install:first_use]
    assert "source .venv/bin/activate" in between and ".venv/bin/naah" in between
