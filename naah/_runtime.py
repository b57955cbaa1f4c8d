"""Import PyTensor's tensor module without its BLAS warning, changing no setting.

On a pip install PyTensor finds no BLAS to link its C code against and warns when
``pytensor.tensor`` is first imported. naah's heavy Ops call BLAS through
numpy/scipy from ``perform``, so the warning does not apply to them; naah hides
that one warning while it imports PyTensor, and sets nothing: ``blas__ldflags``
stays what PyTensor found (a conda install keeps its MKL or OpenBLAS link).
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="PyTensor could not link to a BLAS", category=UserWarning
    )
    import pytensor.tensor  # noqa: F401
