"""Modules loaded on first use, so that ``import naah`` stays cheap.

Numba (for naah's kernels), h5py (for MATLAB v7.3 and Keras files) and
scipy.optimize together took longer to import than PyTensor's tensor module, and
building a graph or reading a MAT v5 file needs none of them.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def lazy_import(name: str) -> ModuleType:
    """The module ``name``, loaded on first attribute access.

    Any attribute access loads it, ``from package import module`` included, so
    bind the result to a name and use that.

    Examples
    --------
    >>> json = lazy_import("json")
    >>> json.dumps([1])
    '[1]'
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}")
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module
