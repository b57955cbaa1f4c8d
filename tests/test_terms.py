"""naah.terms: the loss terms as objects behind one interface, and their weights."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from naah import StyleTransfer
from naah.checks import SettingError
from naah.compile import function
from naah.io.images import preprocess
from naah.problem import StyleProblem
from naah.settings import flag
from naah.terms import LossTerm, LossWeights, StyleTerm, TemporalTargets, terms_for
from naah.testing import write_vgg19_mat

SHAPE = (20, 28, 3)
SHALLOW = LossWeights(style_layers=("conv1_1", "conv2_1"), content_layers=("conv2_1",))


# -- the weights -------------------------------------------------------------------------
def test_loss_weights_keep_their_positional_order():
    weights = LossWeights(2.0, 1e3, {"conv1_1": 1.0}, ("conv4_2",), 0.5)
    assert (weights.alpha, weights.beta, weights.tv_weight) == (2.0, 1e3, 0.5)
    assert weights.layers == ("conv4_2", "conv1_1")


@pytest.mark.parametrize(
    ("given", "python", "command_line"),
    [
        ({"alpha": 0, "beta": 0}, "alpha 0, beta 0 and tv_weight 0",
         "--alpha 0, --beta 0 and --tv-weight 0"),
        ({"alpha": 0, "style_layers": {"conv1_1": 0.0}}, "alpha 0, style_weights all 0",
         "--alpha 0, --style-weights all 0"),
        ({"content_layers": (), "beta": 0}, "no content layers, beta 0",
         "no content layers, --beta 0"),
    ],
)  # fmt: skip
def test_nothing_to_minimise_names_the_settings_as_each_front_end_spells_them(
    given, python, command_line
):
    with pytest.raises(SettingError) as error:
        LossWeights(**given)
    assert str(error.value).startswith(f"nothing to minimise: {python}")
    assert error.value.spelled(flag).startswith(f"nothing to minimise: {command_line}")


def test_terms_for_composes_the_papers_terms_and_the_guided_one_for_regions():
    assert [type(t).__name__ for t in terms_for(SHALLOW)] == [
        "ContentTerm", "StyleTerm", "TotalVariationTerm",
    ]  # fmt: skip
    guided = terms_for(SHALLOW, region_count=2)
    assert type(guided[1]).__name__ == "GuidedStyleTerm"
    assert guided[1].region_count == 2 and len(guided[1].region_weights) == 2
    assert [t.weight_name for t in guided] == ["alpha", "beta", "tv_weight"]


# -- statistics: sums over positions, so that blocks can add them up ---------------------
def numpy_style_value(features, target):
    n, m = features.shape[1], features.shape[2] * features.shape[3]
    f = features[0].reshape(n, m).astype(np.float64)
    return np.sum((f @ f.T - target) ** 2) / (4.0 * n**2 * m**2)


def test_a_style_terms_value_from_statistics_summed_over_blocks_is_the_wholes():
    rng = np.random.default_rng(0)
    whole = rng.uniform(0, 2, (1, 6, 8, 5)).astype(np.float32)
    target = rng.uniform(0, 5, (6, 6)).astype(np.float32)
    term = StyleTerm({"conv1_1": 1.0}, weight=1.0)
    term.targets["A_conv1_1"].set_value(target)
    features = pt.tensor4("F", dtype="float32")
    layer = {"conv1_1": features}
    blocks = [
        term.statistics({"conv1_1": features[:, :, :3]}),
        term.statistics({"conv1_1": features[:, :, 3:]}),
    ]
    summed = {key: blocks[0][key] + blocks[1][key] for key in blocks[0]}
    value_whole, parts = term.value(None, layer, term.statistics(layer))
    value_blocks, _ = term.value(None, layer, summed)
    compiled = function([features], [value_whole, value_blocks, parts["conv1_1"]])

    got_whole, got_blocks, e_l = compiled(whole)
    expected = numpy_style_value(whole, target)
    np.testing.assert_allclose([got_whole, got_blocks, e_l], expected, rtol=1e-5)


# -- a term of one's own composes without changing the problem ----------------------------
class PullTowards(LossTerm):
    """γ Σ (x - t)² over the preprocessed image: a term on the image itself, as a
    temporal-consistency term would be."""

    name = "pull"
    weight_name = "gamma"

    def __init__(self, target, weight):
        super().__init__(weight)
        self.target = pytensor.shared(np.asarray(target, np.float32), name="t")

    def value(self, image, features, statistics):
        return pt.sum(pt.sqr(image - self.target)), {}


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    weights = write_vgg19_mat(tmp_path_factory.mktemp("weights") / "vgg19.mat")
    return StyleTransfer(weights).net


def test_a_term_of_ones_own_adds_its_weighted_value_and_gradient(net):
    rng = np.random.default_rng(1)
    content, style, image = (rng.uniform(0, 255, SHAPE) for _ in range(3))
    target = rng.normal(0, 20, (1, 3, *SHAPE[:2]))
    plain = StyleProblem(net, content, style, SHALLOW)
    pulled = StyleProblem(
        net,
        content,
        style,
        SHALLOW,
        terms=[*terms_for(SHALLOW), PullTowards(target, 0.5)],
    )
    loss, grad = plain.loss_and_grad(image)
    loss_pulled, grad_pulled = pulled.loss_and_grad(image)

    x = preprocess(image, net.mean_pixel).astype(np.float64)
    pull = np.sum((x - target) ** 2)
    np.testing.assert_allclose(loss_pulled, loss + 0.5 * pull, rtol=1e-5)
    d_pull = (2 * (x - target))[0].transpose(1, 2, 0)
    np.testing.assert_allclose(
        grad_pulled,
        grad + 0.5 * d_pull,
        rtol=1e-4,
        atol=1e-4 * np.abs(grad_pulled).max(),
    )
    assert "pull" in pulled.terms and pulled.evaluations == 1

    compiled = pulled._evaluate
    pulled.weight("gamma").set_value(np.float32(0.0))  # no recompiling
    assert pulled.loss_and_grad(image)[0] == pytest.approx(loss, rel=1e-6)
    assert pulled._evaluate is compiled


# -- the temporal term of a video frame (Ruder et al. 2016) -------------------------------
def temporal_case(net, frames=2, seed=2):
    rng = np.random.default_rng(seed)
    content, style, image = (rng.uniform(0, 255, SHAPE) for _ in range(3))
    warped = tuple(rng.uniform(0, 255, SHAPE) for _ in range(frames))
    weights = tuple(
        (rng.uniform(size=SHAPE[:2]) > 0.3).astype(np.float32) for _ in range(frames)
    )
    problem = StyleProblem(
        net, content, style, SHALLOW, terms=terms_for(SHALLOW, temporal_frames=frames)
    )
    problem.set_images(content, style, temporal=TemporalTargets(warped, weights))
    return problem, image, warped, weights


def test_the_temporal_term_is_rueders_weighted_mean_squared_difference(net):
    problem, image, warped, weights = temporal_case(net)
    problem.set_loss_weights(temporal_weight=7.0)
    evaluation, _ = problem.evaluate(preprocess(image, net.mean_pixel))

    d = image.size  # D = W x H x C
    expected = sum(
        np.sum(c[..., None] * (image.astype(np.float64) - w) ** 2) / d
        for w, c in zip(warped, weights, strict=True)
    )
    np.testing.assert_allclose(evaluation.temporal, expected, rtol=1e-5)
    problem.set_loss_weights(temporal_weight=0.0)
    plain, _ = problem.evaluate()
    np.testing.assert_allclose(
        evaluation.total - plain.total, 7.0 * expected, rtol=1e-4
    )


def test_the_temporal_terms_gradient_matches_finite_differences(net):
    problem, image, _, _ = temporal_case(net, frames=1, seed=3)
    value = problem.terms["temporal"]
    compiled = function([], [value, pytensor.grad(value, problem.image)])
    x = preprocess(image, net.mean_pixel)
    problem.set_image(x)
    _, grad = compiled()
    rng = np.random.default_rng(4)
    h = np.float32(8.0)  # exact for a quadratic, far above float32's rounding
    for _ in range(12):
        k = tuple(rng.integers(0, n) for n in x.shape)
        plus, minus = x.copy(), x.copy()
        plus[k] += h
        minus[k] -= h
        problem.set_image(plus)
        up = compiled()[0]
        problem.set_image(minus)
        down = compiled()[0]
        # float32 sums of the loss round at about 1e-7 of it: tolerances above that
        np.testing.assert_allclose(
            (up - down) / (2 * h), grad[k], rtol=1e-3, atol=1e-3 * np.abs(grad).max()
        )


def test_a_frame_without_earlier_frames_has_no_temporal_term(net):
    problem, _, _, _ = temporal_case(net, frames=2)
    rng = np.random.default_rng(5)
    content, style = rng.uniform(0, 255, (2, 12, 16, 3))
    problem.set_images(content, style)  # another size, no temporal targets
    problem.set_loss_weights(temporal_weight=100.0)
    evaluation, _ = problem.evaluate()
    assert evaluation.temporal == 0.0


def test_temporal_targets_of_the_wrong_shape_or_count_change_nothing(net):
    problem, _, warped, weights = temporal_case(net, frames=1)
    before = problem.targets["omega[0]"].get_value().copy()
    content = problem.content_image
    style = problem.style_image
    with pytest.raises(ValueError, match=r"warped has shape \(5, 5, 3\)"):
        problem.set_images(
            content, style, temporal=TemporalTargets((np.zeros((5, 5, 3)),), weights)
        )
    with pytest.raises(ValueError, match="compares a frame with 1 earlier frames"):
        problem.set_images(
            content, style, temporal=TemporalTargets(warped * 2, weights * 2)
        )
    with pytest.raises(ValueError, match="one weight map per frame"):
        problem.set_images(content, style, temporal=TemporalTargets(warped, ()))
    np.testing.assert_array_equal(problem.targets["omega[0]"].get_value(), before)
