"""HIPS autograd's differential operators, on chainrule's engine.

A program written for autograd runs after changing its imports::

    import chainrule.numpy as np          # was: import autograd.numpy as np
    from chainrule import grad, elementwise_grad, jacobian, hessian, make_vjp

Every operator takes ``(fun, argnum=0)`` and returns a function of ``fun``'s arguments, as in autograd; ``argnum``
may be an int or a tuple/list (then the derivative is a tuple, one entry per argument). ``grad``,
``value_and_grad``, ``hessian`` and ``checkpoint`` are chainrule's own transforms, which accept autograd's calling
conventions (``grad(fun, 1)``, ``grad(fun, argnum=(0, 1))``); the operators here complete the set.

Behaviour at the edges follows autograd: an output that does not depend on the input gives a ``UserWarning``
("Output seems independent of input.") and zeros of the input's shape and dtype; ``elementwise_grad`` of a
complex output raises ``TypeError``; derivatives keep their primal's shape and dtype. Complex numbers follow
autograd's convention (see docs/complex.md): for a real-valued ``f(z)``, ``grad(f)(z) = df/dx - i df/dy``.
"""
import collections
import functools
import inspect
import warnings

import numpy as np

from .core.trace import Tracer
from .core.tree import tree_leaves, tree_map
from .interpreters.reverse import ReverseTracer
from .transforms import grad, jvp, vjp, vmap

__all__ = ["elementwise_grad", "grad_and_aux", "deriv", "jacobian", "holomorphic_grad", "make_vjp", "make_jvp",
           "make_hvp", "make_ggnvp", "hessian_tensor_product", "hessian_vector_product", "tensor_jacobian_product",
           "vector_jacobian_product", "grad_named", "multigrad_dict"]

_INDEPENDENT = "Output seems independent of input."


def _nums(argnum, name):
    if isinstance(argnum, (int, np.integer)) and not isinstance(argnum, bool):
        return True, (int(argnum),)
    if isinstance(argnum, (tuple, list)) and all(isinstance(a, (int, np.integer)) for a in argnum):
        return False, tuple(int(a) for a in argnum)
    raise TypeError(f"{name}: argnum must be an int or a tuple/list of ints, got {argnum!r}")


def _unary(fun, argnum, args, kwargs, name):
    """``fun`` as a function of the differentiated argument(s) alone (a tuple of them for a tuple ``argnum``),
    and the value of that argument."""
    single, nums = _nums(argnum, name)
    for i in nums:
        if not -len(args) <= i < len(args):
            raise ValueError(f"{name}: argnum {i} is out of range for a function called with {len(args)} positional "
                             f"argument(s)")

    def unary(x):
        full = list(args)
        if single:
            full[nums[0]] = x
        else:
            for i, v in zip(nums, x):
                full[i] = v
        return fun(*full, **kwargs)

    x = args[nums[0]] if single else tuple(args[i] for i in nums)
    return unary, x


def _depends(out, trace_of):
    """Whether any leaf of ``out`` is traced by the reverse trace that recorded the inputs."""
    trace = trace_of[0]
    return trace is not None and any(type(o) is ReverseTracer and o._trace is trace for o in tree_leaves(out))


def _vjp_of(unary, x, name):
    """``(out, vjp_fn, depends)`` for the unary function: reverse mode from chainrule's ``vjp``, plus whether the
    output depends on the input at all (autograd's warning)."""
    trace_of = [None]
    seen = {}

    def recorded(x_traced):
        for leaf in tree_leaves(x_traced):
            if type(leaf) is ReverseTracer:
                trace_of[0] = leaf._trace
                break
        out = unary(x_traced)
        seen["depends"] = _depends(out, trace_of)
        return out

    out, f_vjp = vjp(recorded, x)
    return out, (lambda g: f_vjp(g)[0]), seen["depends"]


def _zeros_like_tree(x):
    return tree_map(lambda v: np.zeros(np.shape(v), np.asarray(v).dtype if not isinstance(v, Tracer) else v.dtype),
                    x)


def _ones_like(v, complex_ones=False):
    dt = v.dtype if hasattr(v, "dtype") else np.result_type(v)
    if complex_ones and np.issubdtype(dt, np.complexfloating):
        return np.full(np.shape(v), 1 + 1j, dt)
    return np.ones(np.shape(v), dt)


def _nary(unary_operator):
    """An autograd-style operator ``op(fun, argnum=0, *extra)`` from a unary one ``op_unary(unary_fun, x, *extra)``."""
    @functools.wraps(unary_operator)
    def operator(fun, argnum=0, *extra, **extra_kw):
        _nums(argnum, unary_operator.__name__)

        @functools.wraps(fun)
        def nary_f(*args, **kwargs):
            unary, x = _unary(fun, argnum, args, kwargs, unary_operator.__name__)
            return unary_operator(unary, x, *extra, **extra_kw)

        return nary_f

    return operator


@_nary
def make_vjp(fun, x):
    """``make_vjp(fun, argnum=0)(*args) -> (vjp_fn, value)``: the output and a function pulling a cotangent of
    the output back to the argument(s) (autograd's order: the function first).

    >>> import numpy as np, chainrule.numpy as cnp
    >>> vjp_fn, value = make_vjp(lambda x: cnp.sin(x) * 2)(np.zeros(2))
    >>> vjp_fn(np.ones(2))
    array([2., 2.])
    """
    out, f_vjp, depends = _vjp_of(fun, x, "make_vjp")
    if not depends:
        warnings.warn(_INDEPENDENT, stacklevel=3)
        return (lambda g: _zeros_like_tree(x)), out
    return f_vjp, out


@_nary
def make_jvp(fun, x):
    """``make_jvp(fun, argnum=0)(*args)(v) -> (value, tangent)``: forward mode along ``v``.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> make_jvp(cnp.sin)(0.0)(3.0)
    (0.0, 3.0)
    """
    def jvp_fn(v):
        return jvp(fun, (x,), (v,))

    return jvp_fn


@_nary
def elementwise_grad(fun, x):
    """The sum of the Jacobian's rows, in one reverse pass: for an elementwise function, its derivative at each
    entry.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> elementwise_grad(cnp.sin)(np.zeros(3))
    array([1., 1., 1.])
    """
    out, f_vjp, depends = _vjp_of(fun, x, "elementwise_grad")
    if any(np.issubdtype(getattr(o, "dtype", np.result_type(o)), np.complexfloating) for o in tree_leaves(out)):
        raise TypeError("Elementwise_grad only applies to real-output functions.")
    if not depends:
        warnings.warn(_INDEPENDENT, stacklevel=3)
        return _zeros_like_tree(x)
    return f_vjp(tree_map(_ones_like, out))


deriv_doc = """The derivative along the all-ones direction, by forward mode (autograd's ``deriv``): for a function
of a scalar, its derivative; elementwise functions give their derivative at each entry.

>>> import chainrule.numpy as cnp
>>> float(deriv(cnp.sin)(0.0))
1.0
"""


@_nary
def deriv(fun, x):
    return jvp(fun, (x,), (tree_map(lambda v: _ones_like(v, complex_ones=True), x),))[1]


deriv.__doc__ = deriv_doc


@_nary
def jacobian(fun, x):
    """The Jacobian by reverse mode, of shape ``out.shape + x.shape`` (a tuple of them for a tuple ``argnum``).

    >>> import numpy as np, chainrule.numpy as cnp
    >>> jacobian(lambda x: x * np.array([1.0, 2.0]))(np.zeros(2))
    array([[1., 0.],
           [0., 2.]])
    """
    out, f_vjp, depends = _vjp_of(fun, x, "jacobian")
    if not depends:
        warnings.warn(_INDEPENDENT, stacklevel=3)
        f_vjp = lambda g: _zeros_like_tree(x)  # noqa: E731
    out_shape = tuple(np.shape(out))
    dt = out.dtype if hasattr(out, "dtype") else np.result_type(out)
    n = int(np.prod(out_shape, dtype=np.int64))
    basis = np.eye(n, dtype=dt).reshape((n,) + out_shape)
    from .ops import shape as S
    rows = vmap(f_vjp)(basis) if n else tree_map(lambda v: np.zeros((0,) + tuple(np.shape(v)), _dtype(v)), x)
    return tree_map(lambda r, v: S.reshape(r, out_shape + tuple(np.shape(v))), rows, x)


def _dtype(v):
    return v.dtype if hasattr(v, "dtype") else np.result_type(v)


@_nary
def holomorphic_grad(fun, x):
    """The complex derivative ``f'(z)`` of a holomorphic scalar function (the gradient of ``Re f``, which for a
    holomorphic ``f`` is ``f'``). Warns when the input is not complex.

    >>> import chainrule.numpy as cnp
    >>> complex(holomorphic_grad(lambda z: z ** 2)(1.0 + 2.0j))
    (2+4j)
    """
    if not any(np.issubdtype(_dtype(v), np.complexfloating) for v in tree_leaves(x)):
        warnings.warn("Input to holomorphic_grad is not complex", stacklevel=3)
    from .ops.elementwise import real
    out, f_vjp, depends = _vjp_of(lambda z: real(fun(z)), x, "holomorphic_grad")
    if np.size(out) != 1:
        raise TypeError("Grad only applies to real scalar-output functions. Try jacobian, elementwise_grad or "
                        "holomorphic_grad.")
    if not depends:
        warnings.warn(_INDEPENDENT, stacklevel=3)
        return _zeros_like_tree(x)
    return f_vjp(_ones_like(out))


@_nary
def grad_and_aux(fun, x):
    """For ``fun`` returning ``(output, aux)``: ``(gradient of output, aux)``.

    >>> import chainrule.numpy as cnp
    >>> grad_and_aux(lambda x: (cnp.sin(x), "aux"))(0.0)
    (1.0, 'aux')
    """
    return grad(fun, has_aux=True)(x)


@_nary
def make_hvp(fun, x):
    """``make_hvp(fun, argnum=0)(*args) -> (hvp_fn, gradient)``: Hessian-vector products at one point, reusing
    its forward pass (the VJP of the gradient).

    >>> import numpy as np, chainrule.numpy as cnp
    >>> hvp_fn, g = make_hvp(lambda x: cnp.sum(x ** 3))(np.array([1.0, 2.0]))
    >>> hvp_fn(np.array([1.0, 0.0]))
    array([6., 0.])
    """
    return make_vjp(grad(fun))(x)


def make_ggnvp(f, g=None, f_argnum=0):
    """Generalised-Gauss-Newton-vector products of ``g(f(x))`` at a point: ``J_f^T H_g J_f v``.

    ``g`` defaults to ``0.5 * sum(y ** 2, axis=-1)`` (then the product is ``J_f^T J_f v``).

    >>> import numpy as np
    >>> ggnvp = make_ggnvp(lambda x: x * np.array([1.0, 3.0]))(np.ones(2))
    >>> ggnvp(np.array([1.0, 1.0]))
    array([1., 9.])
    """
    if g is None:
        from .ops.reduction import sum as _sum

        def g(y):
            return 0.5 * _sum(y ** 2, axis=-1)

    @functools.wraps(f)
    def at(*args, **kwargs):
        unary, x = _unary(f, f_argnum, args, kwargs, "make_ggnvp")
        f_vjp, f_x = make_vjp(unary)(x)
        g_hvp, _ = make_vjp(grad(g))(f_x)

        def ggnvp(v):
            return f_vjp(g_hvp(jvp(unary, (x,), (v,))[1]))

        return ggnvp

    return at


def hessian_tensor_product(fun, argnum=0):
    """A function ``(*args, tensor) -> H @ tensor``: the exact Hessian-tensor product, contracting all the
    tensor's axes (the last positional argument is the tensor).

    >>> import numpy as np, chainrule.numpy as cnp
    >>> hessian_tensor_product(lambda x: cnp.sum(x ** 3))(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    from .ops.linalg import tensordot
    fun_grad = grad(fun, argnum)

    def vector_dot_grad(*args, **kwargs):
        args, vector = args[:-1], args[-1]
        return tensordot(fun_grad(*args, **kwargs), vector, np.ndim(vector))

    return grad(vector_dot_grad, argnum)


hessian_vector_product = hessian_tensor_product


def tensor_jacobian_product(fun, argnum=0):
    """A function ``(*args, tensor) -> tensor @ J``: the Jacobian left-multiplied by the tensor (the last
    positional argument), contracting all the tensor's axes.

    >>> import numpy as np
    >>> tensor_jacobian_product(lambda x: x * 2.0)(np.ones(2), np.array([1.0, 3.0]))
    array([2., 6.])
    """
    from .ops.linalg import tensordot

    def vector_dot_fun(*args, **kwargs):
        args, vector = args[:-1], args[-1]
        return tensordot(vector, fun(*args, **kwargs), axes=np.ndim(vector))

    return jacobian(vector_dot_fun, argnum)


vector_jacobian_product = tensor_jacobian_product


def grad_named(fun, argname):
    """The gradient with respect to the argument named ``argname`` (not ``*args``/``**kwargs``).

    >>> grad_named(lambda x, y: x * y, "y")(2.0, 3.0)
    2.0
    """
    names = [p.name for p in inspect.signature(fun).parameters.values()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if argname not in names:
        raise ValueError(f"grad_named: {getattr(fun, '__name__', fun)} has no positional argument named "
                         f"{argname!r} (its positional arguments are {names})")
    return grad(fun, names.index(argname))


def multigrad_dict(fun):
    """A function returning the gradient with respect to every argument, as an ordered dict from argument names
    to gradients (defaults included; ``*args`` and ``**kwargs`` map to their tuple and dict of gradients).

    >>> import chainrule.numpy as cnp
    >>> dict(multigrad_dict(lambda x, y=2.0: x * y)(3.0))
    {'x': 2.0, 'y': 3.0}
    """
    sig = inspect.signature(fun)
    params = sig.parameters

    @functools.wraps(fun)
    def gradfun(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        arguments = collections.OrderedDict(bound.arguments)

        def call(dct):
            pos, kw = [], {}
            for name, p in params.items():
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                    pos.append(dct[name])
                elif p.kind == p.VAR_POSITIONAL:
                    pos.extend(dct[name])
                elif p.kind == p.KEYWORD_ONLY:
                    kw[name] = dct[name]
                else:
                    kw.update(dct[name])
            return fun(*pos, **kw)

        g = grad(call)(dict(arguments))
        return collections.OrderedDict((name, g[name]) for name in arguments)

    return gradfun

