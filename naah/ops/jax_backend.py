"""JAX implementations of naah's Ops, for PyTensor's JAX linker (``backend="jax"``).

Importing this module registers every Op of :mod:`naah.ops` with
``pytensor.link.jax.dispatch.jax_funcify``; :func:`naah.compile.get_mode` imports it
when the ``"jax"`` backend is chosen. Convolutions are ``lax.conv_general_dilated``
(NCHW input, OIHW kernels, no flip, as :mod:`naah.ops.kernels`), pooling is
``lax.reduce_window``, and the gradient Ops are the exact linear transposes of the
forward functions (:func:`jax.linear_transpose`, :func:`jax.vjp`), so XLA sees the
same transposed convolutions it would build for ``jax.grad``. Max pooling's
gradient of the gradient reads each window at its first maximum, explicitly, so
that ties go where :mod:`naah.ops.kernels` sends them.

JAX traces with static shapes. The gradient Ops take the input's (or kernel's)
spatial size as a graph input, which a strided convolution does not determine; a
rewrite (:func:`static_size_parameter`) hands it to JAX as a tuple of the traced
arrays' shape entries, which are Python ints while tracing. Sizes that only exist at
run time (say, a size computed from another input's values) cannot be traced; they
raise an error saying so.

Precision: float32 products use JAX's default precision, which on recent NVIDIA GPUs
means TF32 tensor cores (about 1e-3 relative error, several times faster). Set
``jax.config.update("jax_default_matmul_precision", "highest")`` for full float32.
"""

from __future__ import annotations

from typing import cast

import jax
import jax.numpy as jnp
import numpy as np
import pytensor.tensor as pt
from jax import lax
from pytensor.compile import optdb
from pytensor.graph.basic import Apply, Constant, Variable
from pytensor.graph.op import Op
from pytensor.graph.replace import clone_replace
from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
from pytensor.graph.traversal import apply_ancestors, toposort
from pytensor.link.jax.dispatch import jax_funcify
from pytensor.link.jax.dispatch.shape import JAXShapeTuple
from pytensor.tensor.basic import Alloc, AllocEmpty, MakeVector
from pytensor.tensor.elemwise import Elemwise
from pytensor.tensor.shape import Reshape, Shape, Shape_i

from naah.ops.activation import Relu, ReluGrad
from naah.ops.conv import Conv2d, Conv2dGradInput, Conv2dGradKernel
from naah.ops.geometry import output_size
from naah.ops.linalg import Gram, MatMul
from naah.ops.pool import MaxPool2dGradGrad, Pool2d, Pool2dGrad

# Layouts of lax.conv_general_dilated: input, kernel and output dimension orders.
DIMENSION_NUMBERS = ("NCHW", "OIHW", "NCHW")


# -- static shapes -------------------------------------------------------------------
class ShapeExpression(Op):
    """Integer arithmetic on array shapes, evaluated in Python while JAX traces.

    PyTensor replaces ``y.shape`` by the shape its Ops infer, such as
    ``(h + 2 - 3) // 1 + 1`` for a convolution's output. JAX traces that arithmetic
    into arrays, whose values cannot size an array (``reshape``, ``broadcast_to``,
    a transposed convolution). This Op holds such a graph with each ``Shape`` of an
    array replaced by an input vector; its inputs are the arrays and its JAX
    implementation evaluates the graph on their shapes, which are Python ints while
    JAX traces. Each output is one scalar.
    """

    def __init__(self, arrays, outputs):
        self.shapes = [pt.lvector(f"shape_{i}") for i in range(len(arrays))]
        self.outputs = _replace_shape_reads(outputs, arrays, self.shapes)

    def make_node(self, *arrays):
        return Apply(self, list(arrays), [o.type() for o in self.outputs])

    def evaluate(self, shapes) -> list[int]:
        """The outputs as Python ints for the arrays' ``shapes`` (tuples of ints)."""
        shapes = (np.asarray(s, "int64") for s in shapes)
        values = dict(zip(self.shapes, shapes, strict=True))
        for node in toposort(self.outputs, blockers=self.shapes):
            # Inputs not computed from the shapes are constants.
            args = [
                values[v] if v in values else cast(Constant, v).data
                for v in node.inputs
            ]
            for out, value in zip(node.outputs, _perform(node, args), strict=True):
                values[out] = np.asarray(value, dtype=out.type.dtype)
        return [int(values[o] if o in values else o.data) for o in self.outputs]

    def perform(self, node, inputs, output_storage):
        values = self.evaluate([a.shape for a in inputs])
        for storage, value, out in zip(
            output_storage, values, node.outputs, strict=True
        ):
            storage[0] = np.asarray(value, dtype=out.type.dtype)


def _perform(node, args):
    """Outputs of ``node`` for input values ``args``, in numpy.

    Elemwise nodes go through their scalar Op one element at a time: fused
    Composites of many shape entries exceed numpy's 32-operand limit on ufuncs,
    which their ``perform`` needs.
    """
    if isinstance(node.op, Elemwise):
        dtypes = [o.type.dtype for o in node.outputs]
        results = np.vectorize(node.op.scalar_op.impl, otypes=dtypes)(*args)
        return results if len(dtypes) > 1 else [results]
    storage = [[None] for _ in node.outputs]
    node.op.perform(node, args, storage)
    return [cell[0] for cell in storage]


def _replace_shape_reads(outputs, arrays, shapes):
    """Clones of ``outputs`` that read each array's shape from ``shapes`` instead."""
    replacements = {}
    for node in apply_ancestors(outputs):
        if isinstance(node.op, (Shape, Shape_i)):
            shape = shapes[arrays.index(node.inputs[0])]
            replacements[node.outputs[0]] = (
                shape if isinstance(node.op, Shape) else shape[node.op.i]
            )
    return clone_replace(outputs, replace=replacements)


@jax_funcify.register(ShapeExpression)
def jax_funcify_ShapeExpression(op, **kwargs):
    def shape_expression(*arrays):
        values = op.evaluate([a.shape for a in arrays])
        return values[0] if len(values) == 1 else tuple(values)

    return shape_expression


def _shape_leaves(variable, arrays: list) -> bool:
    """Whether ``variable`` is integer arithmetic on constants and array shapes.

    Appends the arrays whose shapes it reads to ``arrays``.
    """
    if isinstance(variable, Constant):
        return True
    owner = variable.owner
    dtype = getattr(variable.type, "dtype", None)
    if owner is None or dtype is None or np.dtype(dtype).kind not in "iub":
        return False
    if isinstance(owner.op, (Shape, Shape_i)):
        if owner.inputs[0] not in arrays:
            arrays.append(owner.inputs[0])
        return True
    return all(_shape_leaves(v, arrays) for v in owner.inputs)


def _traceable(variable) -> bool:
    """Whether JAX sees ``variable`` as Python ints: a constant, a shape, a shape
    entry or a :class:`JAXShapeTuple` of them."""
    if isinstance(variable, Constant):
        return True
    owner = variable.owner
    if owner is None:
        return False
    if isinstance(owner.op, (Shape, Shape_i)):
        return True
    if isinstance(owner.op, JAXShapeTuple):
        return all(_traceable(v) for v in owner.inputs)
    return False


def _static_scalars(variable):
    """Scalar variables for ``variable``'s entries that JAX sees as Python ints,
    or None when its value depends on more than shapes."""
    owner = variable.owner
    if owner is not None and isinstance(owner.op, MakeVector):
        entries = [v if _traceable(v) else _static_scalars(v) for v in owner.inputs]
        if any(e is None for e in entries):
            return None
        return [e if isinstance(e, Variable) else e[0] for e in entries]
    arrays: list[Variable] = []
    if not _shape_leaves(variable, arrays):
        return None
    if variable.type.ndim == 0:
        entries = [variable]
    else:
        length = variable.type.shape[0]
        if length is None:
            return None
        entries = [variable[i] for i in range(length)]
    outputs = ShapeExpression(arrays, entries)(*arrays)
    return list(outputs) if isinstance(outputs, list) else [outputs]


# Ops of which some inputs are shapes: Op -> (first shape input, whether it is one
# vector (True) or each input a scalar).
SHAPE_INPUTS: dict[type[Op], tuple[int, bool]] = {
    Reshape: (1, True),
    Alloc: (1, False),
    AllocEmpty: (0, False),
    Conv2dGradInput: (2, True),
    Conv2dGradKernel: (2, True),
}


@node_rewriter(list(SHAPE_INPUTS))
def static_shape_inputs(fgraph, node):
    """Give JAX the shape inputs of ``node`` as Python ints (:class:`ShapeExpression`)."""
    first, is_vector = SHAPE_INPUTS[type(node.op)]
    inputs = list(node.inputs)
    changed = False
    for position in range(first, len(inputs)):
        variable = inputs[position]
        if _traceable(variable):
            continue
        scalars = _static_scalars(variable)
        if scalars is None:
            continue
        inputs[position] = JAXShapeTuple()(*scalars) if is_vector else scalars[0]
        changed = True
    if not changed:
        return None
    return node.op.make_node(*inputs).outputs


# After PyTensor's rewrites (fusion is at 49) and before "merge3" and the "jax"
# rewrites at 100, which would turn a MakeVector shape into a JAXShapeTuple.
optdb.register(
    "naah_jax_static_shape_inputs",
    dfs_rewriter(static_shape_inputs),
    "jax",
    position=99,
)


def _concrete_size(size, op) -> tuple[int, ...]:
    """``size`` as two Python ints, or an error explaining why JAX needs them."""
    try:
        return tuple(int(s) for s in size)
    except (jax.errors.ConcretizationTypeError, TypeError) as error:
        raise NotImplementedError(
            f"the JAX backend needs the size input of {op} to be known when the graph "
            "is traced (a constant or the shape of another array); compute it from "
            "shapes, not from array values, or use the 'c' backend"
        ) from error


# -- convolution ---------------------------------------------------------------------
def _conv_function(op):
    """``conv(x, w)``: naah's Conv2d for the Op's padding and stride."""
    pad_top, pad_bottom, pad_left, pad_right = op.pad
    padding = ((pad_top, pad_bottom), (pad_left, pad_right))

    def conv(x, w):
        return lax.conv_general_dilated(
            x, w, op.stride, padding, dimension_numbers=DIMENSION_NUMBERS
        )

    return conv


@jax_funcify.register(Conv2d)
def jax_funcify_Conv2d(op, node=None, **kwargs):
    conv = _conv_function(op)

    def conv2d_bias(x, w, b):
        return conv(x, w) + b[None, :, None, None]

    return conv2d_bias if node is not None and len(node.inputs) == 3 else conv


@jax_funcify.register(Conv2dGradInput)
def jax_funcify_Conv2dGradInput(op, **kwargs):
    conv = _conv_function(op)

    def conv2d_grad_input(gz, w, size):
        height, width = _concrete_size(size, op)
        x_type = jax.ShapeDtypeStruct(
            (gz.shape[0], w.shape[1], height, width), gz.dtype
        )
        (gx,) = jax.linear_transpose(lambda x: conv(x, w), x_type)(gz)
        return gx

    return conv2d_grad_input


@jax_funcify.register(Conv2dGradKernel)
def jax_funcify_Conv2dGradKernel(op, **kwargs):
    conv = _conv_function(op)

    def conv2d_grad_kernel(x, gz, size):
        kh, kw = _concrete_size(size, op)
        w_type = jax.ShapeDtypeStruct((gz.shape[1], x.shape[1], kh, kw), x.dtype)
        (gw,) = jax.linear_transpose(lambda w: conv(x, w), w_type)(gz)
        return gw

    return conv2d_grad_kernel


# -- pooling -------------------------------------------------------------------------
def _pool_function(op):
    """``pool(x)``: naah's Pool2d for the Op's settings, sizes as kernels.py's."""
    is_max, (kh, kw), (sh, sw), (pad_top, pad_bottom, pad_left, pad_right), ceil = (
        op.settings
    )

    def trailing_padding(size, window, stride, before, after):
        """Input cropped to and padding after the last window kernels.py computes.

        Padding this much makes reduce_window's floor-mode output exactly
        :func:`~naah.ops.geometry.output_size` long, in floor and ceil mode alike; a
        negative value means rows past the last window, which are dropped.
        """
        out = output_size(size, window, stride, before, after, ceil)
        return (out - 1) * stride + window - size - before

    def pool(x):
        h, w = x.shape[2:]
        bottom = trailing_padding(h, kh, sh, pad_top, pad_bottom)
        right = trailing_padding(w, kw, sw, pad_left, pad_right)
        x = x[:, :, : h + min(bottom, 0), : w + min(right, 0)]
        padding = ((0, 0), (0, 0), (pad_top, max(bottom, 0)), (pad_left, max(right, 0)))
        window, strides = (1, 1, kh, kw), (1, 1, sh, sw)
        if is_max:
            return lax.reduce_window(
                x, np.array(-np.inf, x.dtype), lax.max, window, strides, padding
            )
        zero = np.array(0, x.dtype)
        total = lax.reduce_window(x, zero, lax.add, window, strides, padding)
        # In-bounds elements of each window: padding is left out of the average.
        ones = jnp.ones((1, 1, *x.shape[2:]), x.dtype)
        count = lax.reduce_window(ones, zero, lax.add, window, strides, padding)
        return total / jnp.maximum(count, 1)

    return pool


@jax_funcify.register(Pool2d)
def jax_funcify_Pool2d(op, **kwargs):
    return _pool_function(op)


def _first_max_picker(op):
    """``pick(x, g)``: ``g`` at each window's first maximum of ``x`` (row-major),
    the pixel :mod:`naah.ops.kernels` sends a max window's gradient to.

    Each window's taps are stacked on a last axis in row-major order and
    ``jnp.argmax`` takes the first maximum, whatever order XLA reduces in.
    """
    _, (kh, kw), (sh, sw), (pad_top, pad_bottom, pad_left, pad_right), ceil = (
        op.settings
    )

    def spread(a, fill, size, window, stride, before, after, axis):
        """``a`` padded (or cropped) along ``axis`` to exactly cover the windows."""
        out = output_size(size, window, stride, before, after, ceil)
        trailing = (out - 1) * stride + window - size - before
        a = lax.slice_in_dim(a, 0, size + min(trailing, 0), axis=axis)
        widths = [(0, 0)] * a.ndim
        widths[axis] = (before, max(trailing, 0))
        return jnp.pad(a, widths, constant_values=fill), out

    def windows(a, fill):
        h, w = a.shape[2:]
        a, ho = spread(a, fill, h, kh, sh, pad_top, pad_bottom, 2)
        a, wo = spread(a, fill, w, kw, sw, pad_left, pad_right, 3)
        taps = [
            a[:, :, p : p + (ho - 1) * sh + 1 : sh, q : q + (wo - 1) * sw + 1 : sw]
            for p in range(kh)
            for q in range(kw)
        ]
        return jnp.stack(taps, axis=-1)

    def pick(x, g):
        # Padding is -inf: it never wins a max (an in-bounds pixel comes first).
        first = jnp.argmax(windows(x, -jnp.inf), axis=-1)[..., None]
        return jnp.take_along_axis(windows(g, 0), first, axis=-1)[..., 0]

    return pick


@jax_funcify.register(Pool2dGrad)
def jax_funcify_Pool2dGrad(op, **kwargs):
    pool = _pool_function(op)
    pick = _first_max_picker(op)
    is_max, window, stride = op.settings[:3]
    overlapping = any(s < k for s, k in zip(stride, window, strict=True))

    def pool2d_grad(x, gz):
        if is_max and overlapping:
            # XLA's select-and-scatter breaks ties between overlapping windows
            # differently from kernels.py; the transpose of the first-maximum
            # picker sends each window's gradient where kernels.py does.
            x_type = jax.ShapeDtypeStruct(x.shape, gz.dtype)
            (gx,) = jax.linear_transpose(lambda g: pick(x, g), x_type)(gz)
            return gx
        # Elsewhere XLA's max-pool transpose (select-and-scatter with >=) sends
        # each window's gradient to its first maximum in row-major order, as
        # kernels.py does, and is faster.
        _, pullback = jax.vjp(pool, x)
        (gx,) = pullback(gz)
        return gx

    return pool2d_grad


@jax_funcify.register(MaxPool2dGradGrad)
def jax_funcify_MaxPool2dGradGrad(op, **kwargs):
    pick = _first_max_picker(op)

    def max_pool2d_grad_grad(x, gx):
        return pick(x, gx)

    return max_pool2d_grad_grad


# -- matrix products -----------------------------------------------------------------
@jax_funcify.register(MatMul)
def jax_funcify_MatMul(op, **kwargs):
    def matmul(a, b):
        return jnp.matmul(a, b)

    return matmul


@jax_funcify.register(Gram)
def jax_funcify_Gram(op, **kwargs):
    def gram(f):
        return jnp.matmul(f, f.T)

    return gram


@jax_funcify.register(Relu)
def jax_funcify_Relu(op, **kwargs):
    def relu(x):
        return jnp.maximum(x, 0)

    return relu


@jax_funcify.register(ReluGrad)
def jax_funcify_ReluGrad(op, **kwargs):
    def relu_grad(y, gz):
        return jnp.where(y > 0, gz, jnp.zeros_like(gz))

    return relu_grad
