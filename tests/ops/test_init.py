"""Tests for naah.ops' package namespace: public names loaded on first use."""

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from naah import ops

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize("name", ops.__all__)
def test_every_public_name_is_its_defining_modules_object(name):
    value = getattr(ops, name)
    module = importlib.import_module(ops._SOURCES[name])
    assert value is getattr(module, name)
    assert name in dir(ops)


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="naah.ops.*no attribute 'conv3d'"):
        ops.conv3d  # noqa: B018


def test_output_size_loads_neither_pytensor_nor_numba():
    # A stand-in for naah/__init__.py (which imports everything) lets
    # ``import naah.ops`` load only what the package itself needs.
    code = (
        "import sys, types\n"
        "naah = types.ModuleType('naah')\n"
        f"naah.__path__ = [{str(ROOT / 'naah')!r}]\n"
        "sys.modules['naah'] = naah\n"
        "from naah.ops import output_size\n"
        "assert output_size(37, 2, 2, 0, 0, ceil_mode=True) == 19\n"
        "heavy = [m for m in ('pytensor', 'numba', 'scipy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from naah.ops import Conv2d\n"
        "assert 'pytensor' in sys.modules\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
