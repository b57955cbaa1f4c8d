"""naah.tiled: the loss and gradient block by block equal the whole image's.

Every term, alone and together, against the untiled StyleProblem at sizes where
both fit: the images are odd-sized, so that blocks end at the image's edge with a
rest that is not a multiple of the stride, and the tile sizes put block edges
inside every pooling level. Tolerances are the issue's: the loss to 1e-5
relative, the gradient to 1e-4 of its largest magnitude.
"""

import numpy as np
import pytest

from naah import StyleTransfer
from naah.blocks import layout
from naah.models import LuminanceView
from naah.problem import StyleProblem
from naah.regions import Region
from naah.terms import LossWeights, TemporalTargets, terms_for
from naah.testing import write_vgg19_mat
from naah.tiled import TiledProblem, check_tile_size

SHAPE = (100, 133, 3)
STYLE_SHAPE = (70, 90, 3)
LOSS_RTOL = 1e-5
GRAD_ATOL = 1e-4  # of the gradient's largest magnitude


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    return write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")


@pytest.fixture(scope="module")
def nets(weights):
    return {
        pooling: StyleTransfer(weights, pooling=pooling).net
        for pooling in ("max", "avg")
    }


def images(seed=0):
    rng = np.random.default_rng(seed)
    content = rng.uniform(0, 255, SHAPE).astype(np.float32)
    style = rng.uniform(0, 255, STYLE_SHAPE).astype(np.float32)
    other = rng.uniform(0, 255, (60, 75, 3)).astype(np.float32)
    image = rng.uniform(0, 255, SHAPE).astype(np.float32)
    return content, style, other, image


def assert_same(whole, tiled, image):
    loss, grad = whole.loss_and_grad(image)
    tiled_loss, tiled_grad = tiled.loss_and_grad(image)
    assert abs(tiled_loss - loss) <= LOSS_RTOL * abs(loss)
    scale = np.abs(grad).max()
    assert scale > 0
    assert np.abs(tiled_grad - grad).max() <= GRAD_ATOL * scale
    whole_terms, _ = whole.evaluate()
    tiled_terms, _ = tiled.evaluate()
    for name in ("content", "style", "tv_raw"):
        a, b = getattr(whole_terms, name), getattr(tiled_terms, name)
        assert b == pytest.approx(a, rel=LOSS_RTOL, abs=1e-30), name
    assert tiled_terms.style_layers.keys() == whole_terms.style_layers.keys()
    for layer, value in whole_terms.style_layers.items():
        assert tiled_terms.style_layers[layer] == pytest.approx(value, rel=1e-4)


WEIGHTS = {
    "content": LossWeights(alpha=1.0, beta=0.0),
    "style": LossWeights(alpha=0.0, beta=1e3),
    "total variation": LossWeights(alpha=0.0, beta=0.0, tv_weight=1.0),
    "all": LossWeights(alpha=1.0, beta=1e3, tv_weight=1e-2),
    "shallow": LossWeights(
        style_layers=("conv1_1", "conv2_1"), content_layers=("conv2_2",)
    ),
}


@pytest.mark.parametrize(
    ("terms", "pooling", "tile_size"),
    [
        ("content", "max", 48),
        ("style", "max", 48),
        ("total variation", "max", 48),
        ("all", "max", 32),
        ("all", "avg", 48),
        ("shallow", "avg", 32),
    ],
)
def test_every_term_tiled_equals_the_whole_image(nets, terms, pooling, tile_size):
    content, style, _, image = images()
    net = nets[pooling]
    whole = StyleProblem(net, content, style, WEIGHTS[terms])
    tiled = TiledProblem(net, content, style, WEIGHTS[terms], tile_size=tile_size)
    assert len(tiled.blocks) > 4
    assert_same(whole, tiled, image)


def test_blended_styles_tiled(nets):
    content, style, other, image = images(1)
    weights = WEIGHTS["all"]
    whole = StyleProblem(nets["max"], content, [style, other], weights, blend=(7, 3))
    tiled = TiledProblem(
        nets["max"], content, [style, other], weights, blend=(7, 3), tile_size=32
    )
    assert_same(whole, tiled, image)


def regions_for(style, other):
    sky = np.zeros(SHAPE[:2], np.float32)
    sky[:45] = 1.0
    soft = np.clip(np.linspace(-1, 2, SHAPE[1]), 0, 1)[None, :] * (1 - sky)
    return [
        Region(sky, style, name="sky"),
        Region(soft.astype(np.float32), other, weight=2.0, name="town"),
    ]


@pytest.mark.parametrize("guide_mode", ["simple", "inside"])
def test_guided_regions_tiled(nets, guide_mode):
    content, style, other, image = images(2)
    weights = WEIGHTS["all"]
    regions = regions_for(style, other)
    whole = StyleProblem(
        nets["max"], content, None, weights, regions=regions, guide_mode=guide_mode
    )
    tiled = TiledProblem(
        nets["max"],
        content,
        None,
        weights,
        regions=regions,
        guide_mode=guide_mode,
        tile_size=48,
    )
    assert_same(whole, tiled, image)


def test_luminance_only_tiled(nets):
    content, style, _, image = images(3)
    grey = lambda x: np.repeat(x.mean(axis=2, keepdims=True), 3, axis=2)  # noqa: E731
    view = LuminanceView(nets["max"])
    weights = WEIGHTS["all"]
    whole = StyleProblem(view, grey(content), grey(style), weights)
    tiled = TiledProblem(view, grey(content), grey(style), weights, tile_size=32)
    assert_same(whole, tiled, grey(image))


def test_content_targets_are_put_together_from_the_blocks(nets):
    content, style, _, _ = images(4)
    weights = WEIGHTS["all"]
    whole = StyleProblem(nets["max"], content, style, weights)
    tiled = TiledProblem(nets["max"], content, style, weights, tile_size=32)
    for key, variable in whole.targets.items():
        expected = variable.get_value()
        got = tiled.targets[key].get_value()
        assert got.shape == expected.shape, key
        np.testing.assert_allclose(
            got, expected, rtol=1e-5, atol=1e-5 * abs(expected).max()
        )


def test_one_compiled_graph_serves_every_block_shape(nets):
    content, style, _, image = images(5)
    tiled = TiledProblem(nets["max"], content, style, WEIGHTS["all"], tile_size=48)
    shapes = {block.shape for block in tiled.blocks}
    assert len(shapes) > 2  # edge blocks are smaller: not padded
    graph = tiled.graph
    tiled.tile_size = 32  # another tiling: the same functions
    tiled.loss_and_grad(image)
    assert tiled.graph is graph


def test_a_tile_larger_than_the_image_is_one_block_and_exact(nets):
    content, style, _, image = images(6)
    weights = WEIGHTS["all"]
    whole = StyleProblem(nets["max"], content, style, weights)
    tiled = TiledProblem(nets["max"], content, style, weights, tile_size=4096)
    assert len(tiled.blocks) == 1
    assert_same(whole, tiled, image)


@pytest.mark.parametrize("bad", [0, -16, 2.5, "512", True])
def test_a_bad_tile_size_is_refused_with_what_was_given(bad):
    with pytest.raises(ValueError, match="tile_size must be a positive number"):
        check_tile_size(bad)


def test_prepare_and_run_take_a_tile_size(weights):
    content, style, _, image = images(7)
    st = StyleTransfer(weights, alpha=1.0, beta=1e3)
    whole = st.prepare(content, style)
    loss, grad = whole.loss_and_grad(image)
    tiled = st.prepare(content, style, tile_size=32)
    assert isinstance(tiled, TiledProblem) and len(tiled.blocks) == len(
        layout(SHAPE, 32, tiled.layers)
    )
    tiled_loss, tiled_grad = tiled.loss_and_grad(image)
    assert tiled_loss == pytest.approx(loss, rel=LOSS_RTOL)
    assert np.abs(tiled_grad - grad).max() <= GRAD_ATOL * np.abs(grad).max()
    first = st.run(content, style, iterations=3, init="content", progress=False)
    second = st.run(
        content, style, iterations=3, init="content", progress=False, tile_size=32
    )
    assert len(second.history) == len(first.history) == 4
    assert [r.total for r in second.history] == pytest.approx(
        [r.total for r in first.history], rel=1e-4
    )


@pytest.mark.slow
def test_blocks_on_a_local_dask_cluster_give_the_local_losses_exactly(nets):
    distributed = pytest.importorskip("distributed")
    from naah.runtime import Runtime

    content, style, other, image = images(8)
    one_thread = Runtime(threads=1)  # as each worker: the same sums, in order
    options = dict(blend=(2, 1), tile_size=48, runtime=one_thread)
    local = TiledProblem(
        nets["max"], content, [style, other], WEIGHTS["all"], **options
    )
    expected_loss, expected_grad = local.loss_and_grad(image)
    expected_terms, _ = local.evaluate()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = TiledProblem(
            nets["max"],
            content,
            [style, other],
            WEIGHTS["all"],
            client=client,
            **options,
        )
        loss, grad = remote.loss_and_grad(image)
        terms, _ = remote.evaluate()
        sent = remote._sent[0]
        remote.set_loss_weights(beta=2e3)  # new weights: the functions go again
        local.set_loss_weights(beta=2e3)
        assert remote.loss_and_grad(image)[0] == local.loss_and_grad(image)[0]
        assert remote._sent[0] is not sent
        worked = client.run(lambda: True)
    assert len(worked) == 2
    assert loss == expected_loss
    np.testing.assert_array_equal(grad, expected_grad)
    assert terms == expected_terms


def test_a_first_order_optimizer_on_blocks_is_refused_with_what_to_do(weights):
    content, style, _, _ = images(9)
    st = StyleTransfer(weights, optimizer="adam")
    with pytest.raises(ValueError, match="adam optimizer needs the image evaluated"):
        st.run(content, style, iterations=2, tile_size=32, progress=False)


# -- runs: coarse to fine, checkpoints, a memory budget ------------------------------
def tiny_run(weights, iterations, **options):
    content, style, _, _ = images(10)
    st = StyleTransfer(weights, alpha=1.0, beta=1e3, seed=3)
    return st.run(content, style, iterations=iterations, progress=False, **options)


def test_coarse_to_fine_tiled_resumes_exactly_mid_scale(weights, tmp_path):
    options = dict(scales=(48, 96), tile_size=32)
    whole = tiny_run(weights, 6, **options)
    assert [r.scale for r in whole.history][-1] == 96
    from naah.style_transfer import StopRun

    seen = []

    def stop_in_the_second_scale(record, image):
        seen.append(record.scale)
        if seen.count(96) == 3:
            raise StopRun

    stopped = tiny_run(
        weights, 6, checkpoint=tmp_path / "t.ckpt",
        callback=stop_in_the_second_scale, **options,
    )  # fmt: skip
    assert stopped.status == "stopped"
    content, style, _, _ = images(10)
    resumed = StyleTransfer.resume(
        tmp_path / "t.ckpt", iterations=6, progress=False, content=content, style=style
    )
    np.testing.assert_array_equal(
        resumed.history.column("total"), whole.history.column("total")
    )


def test_a_budget_too_small_for_scipys_state_runs_the_float32_lbfgs_and_resumes(
    weights, tmp_path
):
    from naah.estimate import estimate_memory
    from naah.optim.lbfgs import lbfgs_implementation

    whole = estimate_memory(SHAPE[:2], (103, 133))  # the style at the content's size
    # 2 MB short of the run with L-BFGS-B's state (8 MB here; float32 with 10 pairs:
    # 3.7 MB): the image still fits whole, with the float32 state.
    budget = whole.total - 2_000_000
    st = StyleTransfer(weights, alpha=1.0, beta=1e3, seed=3)
    content, style, _, _ = images(10)
    run = dict(progress=False, max_memory=budget, init="content", size=SHAPE[1])
    full = st.run(content, style, iterations=6, **run)
    problem = st.session.problem
    assert not isinstance(problem, TiledProblem)
    assert lbfgs_implementation(problem)[0] == "float32"
    scipy = st.run(
        content, style, iterations=6, progress=False, init="content", size=SHAPE[1]
    )
    assert full.history[-1].total == pytest.approx(scipy.history[-1].total, rel=0.5)
    assert full.history[-1].total < 0.5 * full.history[0].total
    st.run(content, style, iterations=3, checkpoint=tmp_path / "f.ckpt", **run)
    resumed = StyleTransfer.resume(
        tmp_path / "f.ckpt", iterations=6, progress=False, content=content, style=style
    )  # under the recorded budget
    np.testing.assert_array_equal(
        resumed.history.column("total"), full.history.column("total")
    )


def test_the_temporal_term_tiled_equals_the_whole_image(nets):
    content, style, _, image = images(5)
    rng = np.random.default_rng(6)
    warped = tuple(rng.uniform(0, 255, SHAPE) for _ in range(2))
    weights = tuple((rng.uniform(size=SHAPE[:2]) > 0.4).astype(float) for _ in range(2))
    temporal = TemporalTargets(warped, weights)
    loss = WEIGHTS["all"]
    problems = [
        cls(nets["max"], content, style, loss, terms=terms_for(loss, temporal_frames=2),
            temporal=temporal, **options)
        for cls, options in ((StyleProblem, {}), (TiledProblem, {"tile_size": 48}))
    ]  # fmt: skip
    for problem in problems:
        problem.set_loss_weights(temporal_weight=50.0)
    assert_same(*problems, image)
    whole, tiled = (p.evaluate()[0].temporal for p in problems)
    assert whole > 0 and tiled == pytest.approx(whole, rel=LOSS_RTOL)
