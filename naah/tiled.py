r"""The exact loss and gradient of an image of any size, block by block
(Galerne et al. 2024, "Scaling Painting Style Transfer", EGSR).

:class:`TiledProblem` is a :class:`naah.problem.StyleProblem` whose evaluation never
runs the network on the whole image. The image is cut into blocks
(:mod:`naah.blocks`: inner areas that partition it, margins that cover the deepest
layer's receptive field), and one evaluation makes two passes over them:

Pass 1, statistics
    The network runs forward on each block, and each term's statistics
    (:meth:`naah.terms.LossTerm.statistics`: the Gram matrices :math:`G^l`, guided
    :math:`G^l_r` and masses, the positions :math:`M_l`) are taken over the block's
    inner positions and summed over the blocks: the whole image's statistics.
Pass 2, gradients
    Each block is evaluated again: the terms with statistics take their value
    from the global statistics :math:`S`, and the gradient of the block's pixels
    is the derivative of the loss through the block's inner features alone, by
    the chain rule through the block's own statistics :math:`S_b` (the
    statistics are sums, so :math:`\partial S / \partial S_b` is the identity):
    :math:`\partial \mathcal{L} / \partial S` evaluated at :math:`S`, pulled back
    through :math:`S_b`. Terms without statistics (content, total
    variation) add their block's share of the loss. The gradients of the blocks,
    margins included, are added into the image's gradient; since every feature of
    the image is the inner feature of exactly one block, the sum is the whole
    image's gradient.

The result equals the untiled loss and gradient up to float32 rounding (the tests
compare them for every term, with regions, blended styles and both poolings). A
block's features and its gradient are as large as the block, so the memory of an
evaluation is that of one block, plus image-sized arrays: the image, its gradient
and the content targets :math:`P^l`.

Shapes: the compiled functions take any block shape (PyTensor's graphs here have no
fixed sizes), so the edge blocks, smaller than the others, are neither padded nor
compiled again: three functions (statistics, gradient, targets) serve every block
of every image.

Targets are computed block by block too: the content targets :math:`P^l` are the
blocks' inner features put together, the style targets :math:`A^l` the sums of the
blocks' Gram matrices, so a style image as large as the content image never runs
whole either. (The regions' style targets, :math:`\hat A^l_r`, are still computed
on each region's whole style image.)

Examples
--------
>>> problem = TiledProblem(net, content, style, LossWeights(),
...                        tile_size=512)  # doctest: +SKIP
>>> loss, grad = problem.loss_and_grad(content)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.compile import Function
from pytensor.tensor.variable import TensorVariable

from naah.blocks import IMAGE, Block, layer_positions, layout
from naah.compile import function
from naah.models import VGG_19
from naah.problem import Evaluation, StyleProblem
from naah.runtime import Runtime
from naah.terms import LossTerm, Window

__all__ = ["BlockGraph", "TiledProblem", "check_tile_size"]


def check_tile_size(tile_size: object) -> int:
    """``tile_size`` once it is a positive integer (pixels).

    Raises
    ------
    ValueError
        Saying what was given.
    """
    if (
        isinstance(tile_size, bool)
        or not isinstance(tile_size, int | np.integer)
        or tile_size < 1
    ):
        raise ValueError(
            f"tile_size must be a positive number of pixels (the inner edge of a "
            f"block), got {tile_size!r}"
        )
    return int(tile_size)


@dataclass(frozen=True)
class _Spatial:
    """A target or guide with a value per position of ``layer``: each block gets
    its slice through ``variable``, the graph's input in its place."""

    key: str
    layer: str
    shared: Any
    variable: TensorVariable

    def slice(self, block: Block) -> np.ndarray:
        rows, cols = block.cells(self.layer)
        value = self.shared.get_value(borrow=True)
        return np.ascontiguousarray(value[..., rows, cols])


@dataclass
class BlockFunctions:
    """What a worker needs to evaluate blocks: the two compiled functions of
    :class:`BlockGraph` (with the network's weights, the terms' weights and
    targets as their values were when sent). Pickles as PyTensor's functions do."""

    statistics: Function | None
    gradient: Function
    backend: str
    runtime: Runtime

    def run(self, kind: str, *args: Any) -> list[np.ndarray]:
        compiled = self.statistics if kind == "statistics" else self.gradient
        assert compiled is not None
        # Arrays that arrive over the network may sit at unaligned addresses,
        # which PyTensor's C code refuses.
        aligned = [np.require(a, requirements=["A", "C"]) for a in args]
        with self.runtime.activate(self.backend):
            return [np.asarray(v) for v in compiled(*aligned)]


class BlockGraph:
    """The compiled functions of one block, shared by every block of any size.

    Parameters
    ----------
    net : VGG_19
    terms : sequence of LossTerm
    layers : sequence of str
        The feature layers the terms read.
    backend : str

    Attributes
    ----------
    names : list of str
        ``"image"`` and the layers: the rows of a block's crops.
    term_names : list of str
        The keys of the values that :meth:`gradient` returns, as
        :attr:`naah.problem.StyleProblem.terms`'s.
    """

    def __init__(
        self,
        net: VGG_19,
        terms: Sequence[LossTerm],
        layers: Sequence[str],
        backend: str,
    ) -> None:
        self.terms = list(terms)
        self.layers = list(layers)
        self.names = [IMAGE, *self.layers]
        block = pt.tensor4("block", dtype="float32")
        crop = pt.matrix("crop", dtype="int64")
        window = Window(crop, self.names)
        features = net.features(block, self.layers) if self.layers else {}
        inner = window.features(features)
        self.spatial = _spatial_inputs(self.terms)
        givens = {s.shared: s.variable for s in self.spatial}
        inputs = [block, crop, *(s.variable for s in self.spatial)]
        compile_ = _compiler(backend, givens)

        self.backend = backend
        self._compile_statistics(inner, inputs, compile_)
        self._compile_gradient(block, features, window, inputs, compile_)
        self._compile_targets(inner, [block, crop], compile_)

    def _compile_statistics(
        self,
        inner: Mapping[str, TensorVariable],
        inputs: list[TensorVariable],
        compile_: Callable[..., Function],
    ) -> None:
        """Pass 1: each term's statistics over a block's inner positions."""
        self.per_term = [term.statistics(inner) for term in self.terms]
        self.stat_keys = [
            (i, k) for i, stats in enumerate(self.per_term) for k in stats
        ]
        self.stat_values = [
            pt.as_tensor_variable(self.per_term[i][k]) for i, k in self.stat_keys
        ]
        self.statistics = (
            compile_(inputs, self.stat_values) if self.stat_values else None
        )
        self.stat_dtypes = [v.dtype for v in self.stat_values]
        #: Whether each term is a sum over positions (it has no statistics).
        self.local = [not stats for stats in self.per_term]

    def _compile_gradient(
        self,
        block: TensorVariable,
        features: Mapping[str, TensorVariable],
        window: Window,
        inputs: list[TensorVariable],
        compile_: Callable[..., Function],
    ) -> None:
        """Pass 2: every term's value (from the whole image's statistics, given
        as inputs) and the block's gradient."""
        totals = [
            v.type(name=f"sum_{k}")
            for v, (_, k) in zip(self.stat_values, self.stat_keys, strict=True)
        ]
        given: list[dict[str, Any]] = [{} for _ in self.terms]
        for (i, k), total in zip(self.stat_keys, totals, strict=True):
            given[i][k] = total
        local_loss = global_loss = pt.constant(np.float32(0))
        outputs: dict[str, TensorVariable] = {}
        #: The values that are sums over the blocks (every block gives the
        #: others whole).
        self.summed: set[str] = set()
        for term, stats, local in zip(self.terms, given, self.local, strict=True):
            value, parts = term.window_value(block, features, stats, window)
            named = {term.name: value, **{f"E_{n}": e for n, e in parts.items()}}
            outputs.update(named)
            if local:
                local_loss = local_loss + term.weight * value
                self.summed.update(named)
            else:
                global_loss = global_loss + term.weight * value
        self.term_names = list(outputs)
        grad = _block_gradient(block, local_loss, global_loss, self.stat_values, totals)
        self.gradient = compile_([*inputs, *totals], [*outputs.values(), grad])

    def _compile_targets(
        self,
        inner: Mapping[str, TensorVariable],
        inputs: list[TensorVariable],
        compile_: Callable[..., Function],
    ) -> None:
        """Every term's targets from a block's inner features."""
        targets = {
            key: value
            for term in self.terms
            for key, value in term.target_outputs(inner).items()
        }
        self.target_keys = list(targets)
        self.spatial_targets = {
            key: layer for term in self.terms for key, layer in term.spatial.items()
        }
        self.targets = compile_(inputs, list(targets.values())) if targets else None

    def functions(self, runtime: Runtime) -> BlockFunctions:
        """The block functions, to send to other processes, where they run with
        ``runtime``'s threads."""
        return BlockFunctions(self.statistics, self.gradient, self.backend, runtime)

    def state(self) -> list[np.ndarray]:
        """The values of the terms' weights and (non-spatial) targets, which the
        functions hold: when they change, workers need the functions anew."""
        spatial = {id(s.shared) for s in self.spatial}
        return [
            np.asarray(variable.get_value(borrow=True))
            for term in self.terms
            for variable in (
                term.weight,
                *term.region_weights,
                *term.targets.values(),
                *term.guides.values(),
            )
            if id(variable) not in spatial
        ]


def _spatial_inputs(terms: Sequence[LossTerm]) -> list[_Spatial]:
    found = []
    for term in terms:
        variables = {**term.targets, **term.guides}
        for key, layer in term.spatial.items():
            shared = variables[key]
            found.append(_Spatial(key, layer, shared, shared.type(name=key)))
    return found


def _compiler(backend: str, givens: Mapping[Any, Any]) -> Callable[..., Function]:
    def compile_(inputs: list[Any], outputs: list[Any]) -> Function:
        used = {k: v for k, v in givens.items() if v in inputs}
        return function(
            inputs, outputs, backend=backend, givens=used, on_unused_input="ignore"
        )

    return compile_


def _block_gradient(
    block: TensorVariable,
    local_loss: TensorVariable,
    global_loss: TensorVariable,
    own: Sequence[TensorVariable],
    totals: Sequence[TensorVariable],
) -> TensorVariable:
    """The derivative of the loss through this block's inner features: of the
    terms that are sums over positions directly, and of the others through the
    block's statistics, whose gradient is the loss's gradient with respect to
    the whole image's (the chain rule, as the statistics are sums)."""
    floats = [(s, t) for s, t in zip(own, totals, strict=True) if s.dtype[0] == "f"]
    upstream = (
        pytensor.grad(
            global_loss,
            [t for _, t in floats],
            disconnected_inputs="ignore",
            return_disconnected="zero",
        )
        if floats
        else []
    )
    known: dict[Any, Any] = dict(
        zip((s for s, _ in floats), cast(list, upstream), strict=True)
    )
    gradient = pytensor.grad(
        local_loss,
        block,
        known_grads=known,
        disconnected_inputs="ignore",
        return_disconnected="zero",
    )
    return cast(TensorVariable, gradient)


class TiledProblem(StyleProblem):
    """A :class:`~naah.problem.StyleProblem` evaluated block by block: the same
    loss and gradient (to float32 rounding) in the memory of one block.

    Parameters
    ----------
    net, content, style, weights, terms, backend, runtime, blend, regions, guide_mode
        As :class:`~naah.problem.StyleProblem`.
    tile_size : int
        The inner edge of a block in pixels, rounded down to a multiple of the
        deepest layer's stride (16 at conv5_1).
    client : distributed.Client, optional
        Spread each pass's blocks over the workers of a Dask cluster: pass 1 is a
        map of the blocks' statistics and a reduce of their sums on a worker,
        pass 2 a map of the blocks' gradients. Each task gets its block's pixels
        and slices only; the compiled functions go to every worker once, and
        again when the targets or weights change.

    Attributes
    ----------
    graph : BlockGraph
    tile_size : int
    blocks : list of Block
        The generated image's blocks (:func:`naah.blocks.layout`).

    Examples
    --------
    (Not run here: it needs a network, weights and images, as
    :meth:`naah.StyleTransfer.prepare` makes them with ``tile_size=``;
    ``tests/test_tiled.py`` compares it with the untiled problem.)

    >>> tiled = TiledProblem(net, content, style, LossWeights(),
    ...                      tile_size=256)  # doctest: +SKIP
    >>> tiled.loss_and_grad(content)  # doctest: +SKIP
    """

    def __init__(
        self,
        net: VGG_19,
        content: np.ndarray,
        style: Any,
        weights: Any = None,
        *,
        tile_size: int,
        client: Any = None,
        **options: Any,
    ) -> None:
        self.tile_size = check_tile_size(tile_size)
        self.client = client
        self._sent: tuple[Any, list[np.ndarray]] | None = None
        super().__init__(net, content, style, weights, **options)

    def _compile(self) -> None:
        self.graph = BlockGraph(self.net, self.loss_terms, self.layers, self.backend)
        self._term_names = ["total", *self.graph.term_names]
        self._target_keys = self.graph.target_keys

    @property
    def blocks(self) -> list[Block]:
        return self.blocks_of(self.shape)

    def blocks_of(self, shape: Sequence[int]) -> list[Block]:
        """The blocks of an image of ``shape`` (H, W, ...)."""
        return layout(shape, self.tile_size, self.layers or [IMAGE])

    # -- targets ----------------------------------------------------------------------

    def _targets_by_key(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """Every term's targets for an (H, W, 3) RGB image, block by block: the
        spatial ones put together, the others summed."""
        if self.graph.targets is None:
            return {}
        x = self._context.preprocess(image)
        spatial = self.graph.spatial_targets
        whole: dict[str, np.ndarray] = {}
        for block in self.blocks_of(image.shape):
            values = self._call(
                self.graph.targets, _pixels(x, block), self._crops(block)
            )
            for key, value in zip(self.graph.target_keys, values, strict=True):
                if key in spatial:
                    _place(whole, key, value, block, spatial[key], image.shape)
                elif key in whole:
                    whole[key] += value
                else:
                    whole[key] = value.astype(np.float64)
        return {
            k: v if k in spatial else v.astype(np.float32) for k, v in whole.items()
        }

    def targets_of(self, image: np.ndarray) -> list[np.ndarray]:
        values = self._targets_by_key(np.asarray(image, np.float32))
        return [values[k] for k in self._target_keys]

    # -- evaluation -------------------------------------------------------------------

    def evaluate(
        self, image_nchw: np.ndarray | None = None
    ) -> tuple[Evaluation, np.ndarray]:
        """Loss terms and the gradient (1, 3, H, W), in two passes over the blocks."""
        if image_nchw is not None:
            self.set_image(image_nchw)
        x = self.image.get_value(borrow=True)
        blocks = self.blocks
        totals = self._statistics(x, blocks)
        values, grad = self._gradients(x, blocks, totals)
        self.evaluations += 1
        return self.evaluation_from_terms(values), grad

    def _statistics(self, x: np.ndarray, blocks: Sequence[Block]) -> list[np.ndarray]:
        """Pass 1: every statistic summed over the blocks' inner positions."""
        if self.graph.statistics is None:
            return []
        # One block's inputs at a time here: together they are larger than the
        # image (its pixels with margins and the content targets' slices).
        inputs = (self._block_inputs(x, block) for block in blocks)
        if self.client is not None:
            sums = self._on_cluster("statistics", list(inputs), reduce=True)[0]
        else:
            sums = add_up(self._call(self.graph.statistics, *args) for args in inputs)
        return [
            np.asarray(s, dtype=d)
            for s, d in zip(sums, self.graph.stat_dtypes, strict=True)
        ]

    def _on_cluster(
        self,
        kind: str,
        inputs: list[list[np.ndarray]],
        *shared: Any,
        reduce: bool = False,
    ) -> list[list[np.ndarray]]:
        """Run ``kind`` on every block's inputs on the client's workers (their sum,
        computed on a worker, with ``reduce``)."""
        client = self.client
        functions = self._functions_on_workers()
        extra = client.scatter([list(shared)], broadcast=True) if shared else []
        futures = client.map(
            _block_task,
            [functions] * len(inputs),
            [kind] * len(inputs),
            inputs,
            *[[e] * len(inputs) for e in extra],
            pure=False,
        )
        if reduce:
            return [client.submit(add_up, futures, pure=False).result()]
        return client.gather(futures)

    def _functions_on_workers(self) -> Any:
        """The block functions, scattered to every worker; sent again only when
        the terms' targets or weights have changed since."""
        state = self.graph.state()
        if self._sent is not None and _same(self._sent[1], state):
            return self._sent[0]
        future = self.client.scatter(self.graph.functions(self.runtime), broadcast=True)
        self._sent = (future, [v.copy() for v in state])
        return future

    def _gradients(
        self, x: np.ndarray, blocks: Sequence[Block], totals: Sequence[np.ndarray]
    ) -> tuple[dict[str, float], np.ndarray]:
        """Pass 2: each block's gradient added into the image's, and the values."""
        grad = np.zeros_like(x)
        names = self.graph.term_names
        values = dict.fromkeys(names, 0.0)
        inputs = (self._block_inputs(x, block) for block in blocks)
        if self.client is not None:
            results = iter(self._on_cluster("gradient", list(inputs), *totals))
        else:
            results = (self._call(self.graph.gradient, *a, *totals) for a in inputs)
        for index, (block, result) in enumerate(zip(blocks, results, strict=True)):
            *parts, block_grad = result
            grad[(slice(None), slice(None), *block.outer)] += block_grad
            for name, value in zip(names, parts, strict=True):
                if name in self.graph.summed:
                    values[name] += float(value)
                elif index == 0:
                    values[name] = float(value)
        values["total"] = sum(
            float(term.weight.get_value()) * values[term.name]
            for term in self.loss_terms
        )
        return values, grad

    def _block_inputs(self, x: np.ndarray, block: Block) -> list[np.ndarray]:
        return [
            _pixels(x, block),
            self._crops(block),
            *(s.slice(block) for s in self.graph.spatial),
        ]

    def _crops(self, block: Block) -> np.ndarray:
        return np.asarray(block.crops(self.graph.names), dtype=np.int64)

    def _call(self, compiled: Function, *args: Any) -> list[np.ndarray]:
        with self.runtime.activate(self.backend):
            return compiled(*args)


def _block_task(
    functions: BlockFunctions, kind: str, inputs: list[np.ndarray], *shared: Any
) -> list[np.ndarray]:
    """One block's pass on a worker: ``shared`` holds the statistics' sums."""
    extra = list(shared[0]) if shared else []
    return functions.run(kind, *inputs, *extra)


def add_up(per_block: Any) -> list[Any]:
    """The blocks' statistics summed: float64 for floats, so that many blocks add
    up without float32's rounding."""
    sums: list[Any] | None = None
    for values in per_block:
        wide = [_wide(v) for v in values]
        sums = (
            wide if sums is None else [s + v for s, v in zip(sums, wide, strict=True)]
        )
    return sums or []


def _same(old: Sequence[np.ndarray], new: Sequence[np.ndarray]) -> bool:
    return len(old) == len(new) and all(
        a.shape == b.shape and np.array_equal(a, b)
        for a, b in zip(old, new, strict=True)
    )


def _pixels(x: np.ndarray, block: Block) -> np.ndarray:
    return np.ascontiguousarray(x[(slice(None), slice(None), *block.outer)])


def _wide(value: np.ndarray) -> np.ndarray:
    """A statistic to add up: float64 for floats, so that many blocks add up
    without float32's rounding."""
    value = np.asarray(value)
    return value.astype(np.float64) if value.dtype.kind == "f" else value


def _place(
    whole: dict[str, np.ndarray],
    key: str,
    value: np.ndarray,
    block: Block,
    layer: str,
    shape: Sequence[int],
) -> None:
    """Put a block's inner values of a spatial target where they lie in the
    image's layer."""
    if key not in whole:
        cells = (layer_positions(shape[0], layer), layer_positions(shape[1], layer))
        whole[key] = np.empty((*value.shape[:-2], *cells), value.dtype)
    whole[key][(..., *block.cells(layer))] = value
