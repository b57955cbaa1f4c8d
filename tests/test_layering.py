"""Each part of naah imports only the parts below it, read from the source.

The layers, lowest first; a module may import its own unit (package or module) and
any unit of a lower layer, never one of its own layer or above::

    0  naah._runtime, naah._lazy,           facts and set-up; import nothing of naah
       naah._version, naah.architecture
    1  naah.ops, naah.io, naah.color,       Ops and kernels; file formats (I/O at the
       naah.testing, naah.progress,         edge, beside the Ops); colour spaces;
       naah.checks, naah.blocks,            stand-in files; what a person watching a
       naah.flow                            run sees; the value checks of settings;
                                            where an image's blocks lie; optical flow
    2  naah.layers, naah.estimate,          symbolic layers over the Ops; memory
       naah.metrics                         estimates from the layer table; measures
                                            of results (the warping error)
    3  naah.models                          networks of layers: symbolic, no compiling
    4  naah.losses, naah.compile,           losses over features; compiling and
       naah.runtime, naah.regions           running functions; spatial guides
    5  naah.terms                           the loss terms as objects, their weights
    6  naah.problem                         the terms composed and compiled
    7  naah.optim, naah.tiled               optimisers of a problem; a problem
                                            evaluated block by block
    8  naah.settings                        every setting of a run, and what is made
                                            from them
    9  naah.checkpointing, naah.live        what a run's checkpoint holds; live
                                            views of a run (records, images)
   10  naah.request                         one run, asked for: images, settings
   11  naah.plan                            the checks before a run (sizes, memory,
                                            blocks)
   12  naah.session                         the network and its problems
   13  naah.runs                            one optimiser run (a stage) and its result
   14  naah.pyramid                         coarse to fine: the stages of scales
   15  naah.video_transfer                  a video: one run per frame and pass
   16  naah.style_transfer, naah.classify,  applications of the models
       naah.plotting, naah.normalize
   17  naah.batch                           many style transfers: jobs, manifest,
                                            local and Dask engines, contact sheets
   18  naah.cli, naah.experiments           front ends (both run batches)
   19  naah (the package's __init__),       the public facade, which imports from
       naah.__main__                        everything

A private module (``naah.ops._common``) is imported only inside its package.
Imports under ``if TYPE_CHECKING:`` and inside functions count too: a layer that
needs a higher one only for a type or only lazily still depends on it.

The check is static (``ast``) because importing any ``naah.x`` runs
``naah/__init__.py``, which imports every layer; the one runtime check loads
naah.models under a stand-in for that ``__init__``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "naah"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("naah._runtime", "naah._lazy", "naah._version", "naah.architecture"),
    (
        "naah.ops",
        "naah.io",
        "naah.color",
        "naah.testing",
        "naah.progress",
        "naah.checks",
        "naah.blocks",
        "naah.flow",
    ),
    ("naah.layers", "naah.estimate", "naah.metrics"),
    ("naah.models",),
    ("naah.losses", "naah.compile", "naah.runtime", "naah.regions"),
    ("naah.terms",),
    ("naah.problem",),
    ("naah.optim", "naah.tiled"),
    ("naah.settings",),
    ("naah.checkpointing", "naah.live"),
    ("naah.request",),
    ("naah.plan",),
    ("naah.session",),
    ("naah.runs",),
    ("naah.pyramid",),
    ("naah.video_transfer",),
    ("naah.style_transfer", "naah.classify", "naah.plotting", "naah.normalize"),
    ("naah.batch",),
    ("naah.cli", "naah.experiments"),
    ("naah", "naah.__main__"),
)
LAYER_OF = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}

# Imports that break the order, in files whose owners are fixing them: module ->
# the reason. strict xfail: the entry must go once the import is gone.
KNOWN_VIOLATIONS: dict[str, str] = {}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def unit_of(module: str) -> str:
    """The package or top-level module ``module`` belongs to (naah.ops.conv ->
    naah.ops, naah.compile -> naah.compile)."""
    return ".".join(module.split(".")[:2])


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom) -> list[str]:
    """The naah modules ``from ... import ...`` loads (a name that is a submodule
    counts as that submodule, any other name as the module it comes from)."""
    if node.level:
        base = module.split(".")
        keep = len(base) - node.level + (1 if _is_package(module) else 0)
        source = ".".join(base[:keep] + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source != "naah" and not source.startswith("naah."):
        return []
    targets = []
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        targets.append(submodule if submodule in MODULES else source)
    return targets


@cache
def imports_of(module: str) -> frozenset[str]:
    """Every naah module that ``module``'s source imports, anywhere in the file."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "naah")
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, node))
    return frozenset(found)


def violations(module: str) -> list[str]:
    unit = unit_of(module)
    rank = LAYER_OF[unit]
    bad = []
    for target in sorted(imports_of(module)):
        target_unit = unit_of(target)
        if target_unit == unit:
            continue
        if LAYER_OF[target_unit] >= rank:
            bad.append(f"{target} (layer {LAYER_OF[target_unit]})")
    return bad


def _params():
    for module in MODULES:
        marks = []
        if module in KNOWN_VIOLATIONS:
            marks = [pytest.mark.xfail(reason=KNOWN_VIOLATIONS[module], strict=True)]
        yield pytest.param(module, marks=marks, id=module)


def test_every_module_has_a_layer():
    assert sorted({unit_of(m) for m in MODULES} - set(LAYER_OF)) == []


@pytest.mark.parametrize("module", list(_params()))
def test_module_imports_only_from_layers_below(module):
    rank = LAYER_OF[unit_of(module)]
    assert violations(module) == [], f"{module} (layer {rank}) imports upwards"


def test_the_check_sees_upward_and_sideways_imports():
    # Known edges of the graph: if these are not seen, the check checks nothing.
    assert "naah.layers.base" in imports_of("naah.layers.conv")
    assert "naah.models" in imports_of("naah.classify")
    assert unit_of("naah.ops.conv") == "naah.ops"
    assert LAYER_OF["naah.compile"] > LAYER_OF["naah.models"]
    assert LAYER_OF["naah.losses"] == LAYER_OF["naah.compile"]  # sideways: banned


@pytest.mark.parametrize("module", list(MODULES))
def test_private_modules_are_imported_only_inside_their_package(module):
    # naah.ops._common is the Ops' own; layers use what naah.ops.* makes public.
    def outside(target: str) -> bool:
        package, _, name = target.rpartition(".")
        inside = module == package or module.startswith(package + ".")
        return name.startswith("_") and not inside

    assert [t for t in sorted(imports_of(module)) if outside(t)] == []


def _closure(module: str) -> set[str]:
    """``module`` and every naah module it loads, parent packages' ``__init__``
    included, except the facade ``naah/__init__.py``."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        current = pending.pop()
        if current in seen or current == "naah":
            continue
        seen.add(current)
        parts = current.split(".")
        parents = [".".join(parts[:i]) for i in range(2, len(parts))]
        pending += [p for p in parents if p in MODULES]
        pending += imports_of(current)
    return seen


@pytest.mark.parametrize("package", ["naah.layers", "naah.models"])
def test_models_and_layers_neither_compile_nor_read_images(package):
    loaded = _closure(package)
    assert "naah.compile" not in loaded
    assert "naah.io.images" not in loaded


def test_importing_naah_models_loads_no_compiler_at_runtime():
    # A stand-in for naah/__init__.py (which imports every layer) lets
    # ``import naah.models`` load only what naah.models itself needs.
    code = (
        "import sys, types\n"
        "naah = types.ModuleType('naah')\n"
        f"naah.__path__ = [{str(PACKAGE)!r}]\n"
        "sys.modules['naah'] = naah\n"
        "import naah.models\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('naah.'))\n"
        "assert 'naah.compile' not in loaded, loaded\n"
        "assert 'naah.io.images' not in loaded, loaded\n"
        "assert 'naah.models.vgg19' in loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
