"""The whole checkout, Markdown included, passes ruff's lint and format checks.

tests/test_lint.py checks the Python packages; this covers everything ruff finds from
the repository root (setup.py, README.md, CHANGELOG.md, docs/ …). Ruff formats the
Python code blocks of Markdown files itself from 0.16 on, the floor in the test extra.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNFORMATTED_MARKDOWN = '# Example\n\n```python\nx = {  "a":1 }\n```\n'


def _ruff(*args, stdin=None):
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    return subprocess.run(
        [ruff, *args], cwd=ROOT, input=stdin, capture_output=True, text=True
    )


def test_ruff_finds_no_lint_errors_in_the_checkout():
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_checkout_is_ruff_formatted():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_checks_python_blocks_in_markdown():
    # Without this, a ruff older than 0.16 would pass the test above while never
    # looking inside README.md and docs/.
    result = _ruff(
        "format",
        "--check",
        "--stdin-filename",
        "example.md",
        "-",
        stdin=UNFORMATTED_MARKDOWN,
    )
    assert result.returncode == 1, (
        "ruff does not format Markdown code blocks; upgrade it (ruff>=0.16):\n"
        + result.stdout
        + result.stderr
    )
