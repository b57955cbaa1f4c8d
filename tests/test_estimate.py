"""Tests of naah.estimate: memory known before the start, from the layer table.

The expected numbers are computed here from VGG-19's table written out by hand, not
from naah.architecture, so that the estimate's arithmetic is checked, not copied.
Nothing here compiles or loads weights.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from naah import estimate
from naah.estimate import (
    MemoryEstimate,
    available_memory,
    estimate_memory,
    largest_size,
    lbfgs_state,
    lbfgs_workspace,
)

ROOT = Path(__file__).resolve().parent.parent

# VGG-19's convolutions: (name, in channels, out channels, poolings before it).
VGG19_CONVS = [
    ("conv1_1", 3, 64, 0), ("conv1_2", 64, 64, 0),
    ("conv2_1", 64, 128, 1), ("conv2_2", 128, 128, 1),
    ("conv3_1", 128, 256, 2), ("conv3_2", 256, 256, 2),
    ("conv3_3", 256, 256, 2), ("conv3_4", 256, 256, 2),
    ("conv4_1", 256, 512, 3), ("conv4_2", 512, 512, 3),
    ("conv4_3", 512, 512, 3), ("conv4_4", 512, 512, 3),
    ("conv5_1", 512, 512, 4), ("conv5_2", 512, 512, 4),
    ("conv5_3", 512, 512, 4), ("conv5_4", 512, 512, 4),
]  # fmt: skip
STYLE = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]


def convs_up_to(deepest):
    names = [c[0] for c in VGG19_CONVS]
    return VGG19_CONVS[: names.index(deepest) + 1]


def relu_bytes(height, width, deepest="conv5_1"):
    """Sum of C * H * W * 4 over the ReLU outputs up to ``deepest``."""
    return sum(
        4 * out * (height >> pools) * (width >> pools)
        for _, _, out, pools in convs_up_to(deepest)
    )


def weight_bytes(deepest="conv5_1"):
    return sum(4 * (out * cin * 9 + out) for _, cin, out, _ in convs_up_to(deepest))


# -- the parts --------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(256, 256), (512, 384), (1000, 750), (33, 47)])
def test_activations_are_the_relu_outputs_up_to_the_deepest_layer(shape):
    parts = estimate_memory(shape).breakdown
    assert parts["activations"] == relu_bytes(*shape)


def test_shallower_layers_keep_fewer_activations_and_load_fewer_weights():
    parts = estimate_memory(
        (512, 512), content_layers=["conv2_2"], style_layers=["conv1_1", "conv2_1"]
    ).breakdown
    assert parts["activations"] == relu_bytes(512, 512, "conv2_2")
    assert parts["weights"] == weight_bytes("conv2_2")


def test_weights_are_the_convolutions_up_to_the_deepest_layer():
    assert estimate_memory((64, 64)).breakdown["weights"] == weight_bytes("conv5_1")
    deep = estimate_memory((64, 64), content_layers=["conv5_4"])
    assert deep.breakdown["weights"] == weight_bytes("conv5_4")
    assert deep.layers == tuple(c[0] for c in VGG19_CONVS)


def test_a_pooling_or_relu_layer_counts_as_its_convolution():
    relu = estimate_memory((128, 128), content_layers=["relu4_2"], style_layers=[])
    conv = estimate_memory((128, 128), content_layers=["conv4_2"], style_layers=[])
    assert relu.breakdown == conv.breakdown
    pool = estimate_memory((128, 128), content_layers=["pool3"], style_layers=[])
    assert pool.layers[-1] == "conv3_4"


def test_lbfgs_state_is_scipys_workspace_plus_the_vectors_around_it():
    h, w = 300, 200
    n, m = 3 * h * w, 10
    scipy_wa = 8 * (2 * m * n + 5 * n + 11 * m * m + 8 * m)
    assert lbfgs_workspace(n) == scipy_wa
    state = estimate_memory((h, w)).breakdown["optimizer"]
    assert state == scipy_wa + estimate.LBFGS_BYTES_PER_VALUE * n


@pytest.mark.parametrize("m", [3, 4, 10])
def test_float32_lbfgs_state_is_its_m_pairs_and_three_vectors(m):
    h, w = 300, 200
    n = 3 * h * w
    state = estimate_memory((h, w), lbfgs_history=m).breakdown["optimizer"]
    assert state == lbfgs_state(n, m) == 4 * (2 * m + 3) * n
    assert state < estimate_memory((h, w)).breakdown["optimizer"] / 2


def test_a_float32_lbfgs_changes_the_optimizer_part_alone():
    scipy, float32 = (
        estimate_memory((512, 512)),
        estimate_memory((512, 512), lbfgs_history=5),
    )
    saved = scipy.breakdown["optimizer"] - float32.breakdown["optimizer"]
    assert scipy.total - float32.total == saved > 0
    others = {k: v for k, v in scipy.breakdown.items() if k != "optimizer"}
    assert others == {k: v for k, v in float32.breakdown.items() if k != "optimizer"}


def test_adam_holds_two_float32_moments_and_gd_nothing_but_a_copy():
    n = 3 * 128 * 128
    adam = estimate_memory((128, 128), optimizer="adam").breakdown["optimizer"]
    gd = estimate_memory((128, 128), optimizer="gd").breakdown["optimizer"]
    assert adam - gd == 2 * 4 * n
    assert gd == 4 * n


def test_momentum_holds_one_float32_velocity_beside_the_copy_gd_holds():
    def state_bytes(optimizer):
        return estimate_memory((128, 128), optimizer=optimizer).breakdown["optimizer"]

    n = 3 * 128 * 128
    state = {
        optimizer: state_bytes(optimizer) for optimizer in ("gd", "momentum", "adam")
    }
    # float32 values per image value: GD a copy of the image; momentum the copy
    # and its velocity (Lasagne's momentum update); Adam the copy and two moments.
    per_value = {"gd": 1, "momentum": 1 + 1, "adam": 1 + 2}
    assert state == {optimizer: 4 * k * n for optimizer, k in per_value.items()}
    assert state["gd"] < state["momentum"] < state["adam"]


def test_every_optimizer_has_its_state_and_its_code_counted():
    for optimizer in estimate.OPTIMIZERS:
        result = estimate_memory((64, 64), optimizer=optimizer)
        assert result.optimizer == optimizer
        assert result.breakdown["optimizer"] > 0
    assert set(estimate.OPTIMIZER_BASELINE_BYTES) == set(estimate.OPTIMIZERS)
    assert set(estimate.STATE_BYTES_PER_VALUE) == set(estimate.OPTIMIZERS) - {"lbfgs"}


def test_lbfgs_needs_more_than_adam_which_needs_more_than_gd():
    totals = [
        estimate_memory((512, 512), optimizer=o).total for o in estimate.OPTIMIZERS
    ]
    assert totals[0] > totals[1] > totals[2]


def test_total_is_the_sum_of_the_parts():
    result = estimate_memory((640, 480), (300, 500), optimizer="adam")
    assert isinstance(result, MemoryEstimate)
    assert result.total == sum(result.breakdown.values())
    assert result.shape == (640, 480) and result.style_shape == (300, 500)


# -- scaling ----------------------------------------------------------------------
def test_size_dependent_parts_grow_with_the_pixels():
    small, large = estimate_memory((256, 256)), estimate_memory((1024, 1024))
    for part in ("activations", "gradients"):
        assert large.breakdown[part] == 16 * small.breakdown[part]
    for part in ("baseline", "weights"):
        assert large.breakdown[part] == small.breakdown[part]
    # Scipy's workspace has a constant 11m² + 8m beside its terms in n.
    growth = large.breakdown["optimizer"] / small.breakdown["optimizer"]
    assert growth == pytest.approx(16, rel=1e-3)


def test_the_total_grows_with_the_size_and_the_depth():
    sizes = [64, 128, 256, 512, 1024, 2048]
    totals = [estimate_memory((s, s)).total for s in sizes]
    assert totals == sorted(totals) and len(set(totals)) == len(totals)
    depths = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1"]
    by_depth = [
        estimate_memory((256, 256), content_layers=[d], style_layers=[]).total
        for d in depths
    ]
    assert by_depth == sorted(by_depth) and len(set(by_depth)) == len(by_depth)


def test_a_style_image_much_larger_than_the_content_sets_the_peak_by_its_pass():
    same = estimate_memory((256, 256))
    huge = estimate_memory((256, 256), (2048, 2048))
    assert huge.breakdown["target_pass"] > 0 == same.breakdown["target_pass"]
    assert huge.total > same.total


def test_the_estimate_prints_in_binary_units_with_its_parts():
    text = str(estimate_memory((512, 512)))
    assert text.split(" (")[0].endswith(("MiB", "GiB"))
    assert "activations" in text and "optimizer" in text


# -- errors -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"backend": "cuda"}, "choose one of c, numba, jax"),
        ({"optimizer": "sgd"}, "choose one of lbfgs, adam, gd, momentum$"),
        ({"content_layers": ["conv6_1"]}, "not a VGG-19 feature layer"),
        ({"style_layers": "conv1_1"}, "sequence of layer names"),
        ({"content_layers": [], "style_layers": []}, "nothing to optimise"),
        ({"lbfgs_history": 0}, "positive int"),
        ({"lbfgs_history": 2.5}, "positive int"),
        ({"optimizer": "adam", "lbfgs_history": 5}, "'adam' has none"),
    ],
)
def test_bad_arguments_say_what_to_choose(kwargs, message):
    with pytest.raises(ValueError, match=message):
        estimate_memory((64, 64), **kwargs)


@pytest.mark.parametrize("shape", [(0, 10), (10,), (1.5, 2), (4, 4, 4)])
def test_a_shape_must_be_two_positive_ints(shape):
    with pytest.raises(ValueError, match="height, width"):
        estimate_memory(shape)


def test_an_image_array_shape_is_accepted():
    assert estimate_memory((64, 80, 3)) == estimate_memory((64, 80))


# -- largest_size -----------------------------------------------------------------
@pytest.mark.parametrize("step", [16, 1])
def test_largest_size_fits_and_one_step_more_does_not(step):
    available = 3 * 2**30
    edge = largest_size(available, (3, 4), step=step)
    assert edge % step == 0
    assert estimate_memory((round(edge * 3 / 4), edge)).total <= available
    bigger = edge + step
    assert estimate_memory((round(bigger * 3 / 4), bigger)).total > available


def test_largest_size_grows_with_the_memory_available():
    edges = [largest_size(gib * 2**30) for gib in (0.5, 1, 2, 4, 8, 16, 32)]
    assert edges == sorted(edges) and len(set(edges)) == len(edges)


def test_largest_size_counts_the_style_image_and_the_optimizer():
    available = 2**31
    assert largest_size(available, style_scale=3.0) < largest_size(available)
    assert largest_size(available, optimizer="gd") > largest_size(available)


def test_largest_size_is_zero_when_nothing_fits():
    assert largest_size(10**6) == 0


def test_largest_size_starts_where_the_poolings_leave_something():
    # conv5_1 is behind four poolings: 16 pixels a side at least.
    available = estimate_memory((16, 16)).total
    assert largest_size(available, step=1) == 16
    assert largest_size(available - 1, step=1) == 0
    assert largest_size(estimate_memory((16, 64)).total, (1, 4), step=1) >= 64


def test_an_image_smaller_than_the_poolings_allow_is_refused():
    with pytest.raises(ValueError, match="at least 16 pixels"):
        estimate_memory((15, 200))
    with pytest.raises(ValueError, match="style_shape"):
        estimate_memory((64, 64), (8, 8))
    assert estimate_memory((4, 4), content_layers=["conv2_2"], style_layers=[])


def test_largest_size_rejects_a_bad_step():
    with pytest.raises(ValueError, match="step"):
        largest_size(2**30, step=0)


# -- available_memory -------------------------------------------------------------
MEMINFO = """\
MemTotal:       24683652 kB
MemFree:        22148736 kB
MemAvailable:   20000000 kB
Buffers:           37792 kB
Cached:          1492724 kB
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def machine(tmp_path):
    """A fake /proc/meminfo, /proc/self/cgroup and cgroup tree in ``tmp_path``."""
    paths = {
        "meminfo": write(tmp_path / "meminfo", MEMINFO),
        "cgroup_root": tmp_path / "cgroup",
        "proc_cgroup": tmp_path / "self_cgroup",
    }
    paths["cgroup_root"].mkdir()
    return paths


def test_available_memory_is_memavailable_without_cgroup_limits(machine):
    write(machine["proc_cgroup"], "0::/user.slice\n")
    write(machine["cgroup_root"] / "user.slice" / "memory.max", "max\n")
    assert available_memory(**machine) == 20000000 * 1024


def test_a_cgroup_v2_limit_counts_its_usage_and_reclaimable_cache(machine):
    write(machine["proc_cgroup"], "0::/box/job\n")
    job = machine["cgroup_root"] / "box" / "job"
    write(job / "memory.max", f"{4 * 2**30}\n")
    write(job / "memory.current", f"{2**30}\n")
    write(job / "memory.stat", f"anon 12345\ninactive_file {2**28}\nactive_file 7\n")
    assert available_memory(**machine) == 3 * 2**30 + 2**28


def test_the_tightest_ancestor_cgroup_wins(machine):
    write(machine["proc_cgroup"], "0::/box/job\n")
    box = machine["cgroup_root"] / "box"
    write(box / "memory.max", f"{2**30}\n")
    write(box / "memory.current", f"{2**29}\n")
    write(box / "job" / "memory.max", "max\n")
    assert available_memory(**machine) == 2**29


def test_a_cgroup_v1_limit_is_read_from_the_memory_hierarchy(machine):
    write(machine["proc_cgroup"], "5:cpu,cpuacct:/\n4:memory:/docker/abc\n")
    group = machine["cgroup_root"] / "memory" / "docker" / "abc"
    write(group / "memory.limit_in_bytes", f"{2 * 2**30}\n")
    write(group / "memory.usage_in_bytes", f"{2**29}\n")
    write(group / "memory.stat", f"cache 1\ntotal_inactive_file {2**20}\n")
    assert available_memory(**machine) == 2 * 2**30 - 2**29 + 2**20


def test_a_container_sees_its_own_v1_limit_at_the_root(machine):
    # Inside a container the cgroup path names the host's folder, which is not
    # there; the container's own group is mounted at the root.
    write(machine["proc_cgroup"], "4:memory:/docker/abc\n")
    root = machine["cgroup_root"] / "memory"
    write(root / "memory.limit_in_bytes", f"{2**30}\n")
    write(root / "memory.usage_in_bytes", "0\n")
    assert available_memory(**machine) == 2**30


def test_an_unlimited_v1_cgroup_changes_nothing(machine):
    write(machine["proc_cgroup"], "4:memory:/\n")
    root = machine["cgroup_root"] / "memory"
    write(root / "memory.limit_in_bytes", "9223372036854771712\n")
    write(root / "memory.usage_in_bytes", f"{2**30}\n")
    assert available_memory(**machine) == 20000000 * 1024


def test_old_kernels_without_memavailable_count_free_memory_and_cache(machine):
    lines = [line for line in MEMINFO.splitlines() if "Available" not in line]
    write(machine["meminfo"], "\n".join(lines) + "\n")
    assert available_memory(**machine) == (22148736 + 37792 + 1492724) * 1024


def test_without_proc_the_memory_comes_from_the_system(tmp_path):
    result = available_memory(
        meminfo=tmp_path / "none",
        cgroup_root=tmp_path,
        proc_cgroup=tmp_path / "none",
    )
    assert result > 0


def test_this_machine_has_some_memory_available():
    assert 0 < available_memory() < 2**50


# -- facts it shares with the rest of naah ----------------------------------------
def test_defaults_are_the_architectures():
    from naah import architecture

    assert estimate.DEFAULT_CONTENT_LAYERS is architecture.DEFAULT_CONTENT_LAYERS
    assert estimate.DEFAULT_STYLE_LAYERS is architecture.DEFAULT_STYLE_LAYERS


def test_defaults_are_the_style_transfers():
    from naah import style_transfer

    assert estimate.DEFAULT_CONTENT_LAYERS == style_transfer.DEFAULT_CONTENT_LAYERS
    assert estimate.DEFAULT_STYLE_LAYERS == style_transfer.DEFAULT_STYLE_LAYERS


def test_winograd_constants_are_the_kernels():
    from naah.ops import winograd

    assert estimate.WINOGRAD_BLOCK_BYTES == winograd.BLOCK_BYTES
    for n in (1, 15, 16, 17, 4096, 512 * 512):
        assert estimate._plane_stride(n) == winograd.plane_stride.py_func(n)


def test_lbfgs_memory_is_the_optimizers():
    from naah.optim.lbfgs import LBFGS_MEMORY

    assert LBFGS_MEMORY == estimate.LBFGS_MEMORY


def test_float32_lbfgs_counts_are_the_solvers():
    from naah.optim import float_lbfgs

    assert estimate.FLOAT_LBFGS_VECTORS == float_lbfgs.VECTORS
    for n, m in ((1000, 3), (3 * 512 * 512, 10)):
        # The solver's own state adds a few hundred bytes of scalars.
        assert 0 < float_lbfgs.state_bytes(n, m) - lbfgs_state(n, m) < 512


def test_importing_the_estimate_loads_no_pytensor_or_numba():
    # A stand-in for naah/__init__.py (which imports everything) lets
    # ``import naah.estimate`` load only what the module itself needs.
    code = (
        "import sys, types\n"
        "naah = types.ModuleType('naah')\n"
        f"naah.__path__ = [{str(ROOT / 'naah')!r}]\n"
        "sys.modules['naah'] = naah\n"
        "import naah.estimate\n"
        "naah.estimate.estimate_memory((512, 512))\n"
        "heavy = [m for m in ('pytensor', 'numba', 'scipy') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
