"""PyTorch-style autograd functions: ``backward``, ``grad``, grad-mode context managers, anomaly detection and
custom ``Function`` classes. All of it drives the one ``backward_pass`` of ``interpreters.reverse``.
"""
import functools
import math

import numpy as np

from .core.primitive import Primitive
from .interpreters.reverse import backward_pass
from .interpreters.tape import TapeNode, modes
from .tensor import Tensor, _wrap

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "detect_anomaly", "set_detect_anomaly", "Function", "FunctionCtx"]


# ---------------------------------------------------------------------------------------------------------
# Grad mode
# ---------------------------------------------------------------------------------------------------------

class _Mode:
    """A context manager that is also a decorator; sets grad mode for the current thread."""

    _enabled = True

    def __enter__(self):
        self._prev = modes.grad
        modes.grad = self._enabled
        return self

    def __exit__(self, *exc):
        modes.grad = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)() if type(self) is not set_grad_enabled else set_grad_enabled(self._enabled):
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_Mode):
    """Disable recording (context manager or decorator).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    _enabled = False


class enable_grad(_Mode):
    """Enable recording inside a ``no_grad`` region."""

    _enabled = True


class set_grad_enabled(_Mode):
    """Set grad mode on or off; works as a function call, a context manager or a decorator."""

    def __init__(self, mode):
        self._enabled = bool(mode)
        self._prev = modes.grad
        modes.grad = self._enabled

    def __enter__(self):
        return self


class inference_mode(_Mode):
    """Like ``no_grad`` (results never record); ``inference_mode(False)`` leaves grad mode unchanged."""

    def __init__(self, mode=True):
        self._enabled = not mode if mode else modes.grad

    def __call__(self, fn):
        if callable(fn) and not isinstance(fn, bool):
            return super().__call__(fn)
        return fn


def is_grad_enabled():
    return modes.grad


# ---------------------------------------------------------------------------------------------------------
# Anomaly mode
# ---------------------------------------------------------------------------------------------------------

class detect_anomaly:
    """Record where each op was created and raise when backward produces NaN (context manager)."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan

    def __enter__(self):
        self._prev = modes.anomaly
        modes.anomaly = True

    def __exit__(self, *exc):
        modes.anomaly = self._prev
        return False


class set_detect_anomaly:
    """Turn anomaly detection on or off (a function call or a context manager)."""

    def __init__(self, mode):
        self._prev = modes.anomaly
        modes.anomaly = bool(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        modes.anomaly = self._prev
        return False


def _anomaly_check(node, cts):
    for c in cts:
        data = c.data if isinstance(c, Tensor) else c
        if data is not None and np.issubdtype(np.asarray(data).dtype, np.inexact) and np.isnan(data).any():
            where = ""
            if node.stack:
                where = "\nThe forward operation was created at:\n" + "".join(
                    __import__("traceback").format_list(node.stack[-6:]))
            raise RuntimeError(f"Function '{node.name()}' returned nan values in its gradient output.{where}")


# ---------------------------------------------------------------------------------------------------------
# backward / grad
# ---------------------------------------------------------------------------------------------------------

def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _seeds(tensors, grad_tensors, create_graph):
    seeds = []
    grad_tensors = grad_tensors or [None] * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"grad_tensors has {len(grad_tensors)} entries but there are {len(tensors)} tensors")
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        if g is None:
            if t.data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs (output {i} has shape "
                                   f"{tuple(t.shape)}); pass gradient= with that shape")
            g = np.ones(t.data.shape, t.data.dtype)
        elif isinstance(g, Tensor):
            if tuple(g.shape) != tuple(t.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                                   f"output[{i}] has a shape of {tuple(t.shape)}")
            g = g if create_graph else g.data
        else:
            g = np.asarray(g, dtype=t.data.dtype)
            if g.shape != t.data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {tuple(t.shape)}")
        if create_graph and not isinstance(g, Tensor):
            g = _wrap(g)
        seeds.append((t._ref, g))
    return seeds


def _unpacker(create_graph):
    def unpack(node):
        saved = node.primals
        versions = node.versions
        if versions is not None:
            for i, (p, v) in enumerate(zip(saved, versions)):
                if v is not None and p._version != v:
                    raise RuntimeError(
                        f"one of the variables needed for gradient computation has been modified by an inplace "
                        f"operation: input {i} of '{node.prim.name}' (a Tensor of shape {tuple(p.shape)}) is at "
                        f"version {p._version}; expected version {v} instead.")
        if create_graph:
            out = node.out
            if node.prim.multiple_results:
                out = [_wrap(o, (node, i)) for i, o in enumerate(out)]
            else:
                out = _wrap(out, node)
            return out, saved
        if versions is None:
            return node.out, saved
        return node.out, tuple(p.data if isinstance(p, Tensor) else p for p in saved)
    return unpack


def _run(seeds, retain_graph, create_graph, leaf_hook, capture=None):
    if retain_graph is None:
        retain_graph = create_graph
    unpack = _unpacker(create_graph)
    check = (lambda node, c: _anomaly_check(node, [c])) if modes.anomaly else None
    prev = modes.grad
    modes.grad = bool(create_graph)
    try:
        return backward_pass(seeds, free=not retain_graph, leaf_hook=leaf_hook, capture=capture, unpack=unpack,
                             check=check)
    finally:
        modes.grad = prev


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> backward([x * x])
    >>> x.grad
    tensor(6.)
    """
    tensors = _as_list(tensors)
    seeds = _seeds(tensors, _as_list(grad_tensors), create_graph)
    only = None if inputs is None else {id(t) for t in _as_list(inputs)}

    def accumulate(node, g):
        t = node.tensor
        if only is not None and id(t) not in only:
            return
        hooks = t._hooks
        if hooks:
            for h in hooks["pre"]:
                new = h(g if isinstance(g, Tensor) else _wrap(g))
                if new is not None:
                    g = new
        gt = g if isinstance(g, Tensor) else _wrap(g)
        if not create_graph and gt._ref is not None:
            gt = _wrap(gt.data)
        t.grad = gt if t.grad is None else t.grad + gt
        if hooks:
            for h in hooks["post"]:
                h(t)

    if inputs is not None:
        # Non-leaf inputs also accumulate: capture their cotangents.
        nonleaf = {t._ref: t for t in _as_list(inputs) if isinstance(t, Tensor) and not t.is_leaf}
        res = _run(seeds, retain_graph, create_graph, accumulate, capture=set(nonleaf) or None)
        for ref, t in nonleaf.items():
            if ref in res:
                g = res[ref]
                gt = g if isinstance(g, Tensor) else _wrap(g)
                t.grad = gt if t.grad is None else t.grad + gt
        return
    _run(seeds, retain_graph, create_graph, accumulate)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False,
         materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs`` (a tuple), without touching any ``.grad``.

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> grad(x ** 3, x)
    (tensor(12.),)
    """
    outputs = _as_list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = _as_list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    seeds = _seeds(outputs, _as_list(grad_outputs), create_graph)
    refs = [t._graph_ref() for t in inputs]
    nodes = {r[0] if type(r) is tuple else r for r in refs}
    res = _run(seeds, retain_graph, create_graph, lambda node, g: None, capture=nodes)
    out = []
    for i, (t, r) in enumerate(zip(inputs, refs)):
        node, idx = (r if type(r) is tuple else (r, None))
        g = res.get(node)
        if g is not None and idx is not None:
            g = g[idx]
        if g is None:
            if materialize_grads:
                g = np.zeros(t.shape, t.dtype)
            elif not allow_unused:
                raise RuntimeError(f"One of the differentiated Tensors (input {i}, shape {tuple(t.shape)}) appears "
                                   f"to not have been used in the graph. Set allow_unused=True if this is the "
                                   f"desired behavior.")
            else:
                out.append(None)
                continue
        out.append(g if isinstance(g, Tensor) else _wrap(g))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------
# Custom Function classes
# ---------------------------------------------------------------------------------------------------------

class FunctionCtx:
    """The ``ctx`` object passed to ``Function.forward`` / ``backward``."""

    def __init__(self, needs_input_grad=()):
        self.saved_tensors = ()
        self.needs_input_grad = tuple(needs_input_grad)
        self.non_differentiable = set()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def save_for_forward(self, *tensors):
        self.saved_for_forward = tensors

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        pass


def _as_tensor_arg(x):
    from .core.trace import Tracer
    if isinstance(x, Tracer):
        return x
    if isinstance(x, (np.ndarray, np.generic)):
        return _wrap(x)
    return x


def _unwrap(x):
    return x.data if isinstance(x, Tensor) and x._ref is None else x


def _fn_impl(*args, cls, static, positions, n_out):
    ctx = FunctionCtx()
    with no_grad():
        out = cls.forward(ctx, *_merge(static, positions, [_as_tensor_arg(a) for a in args]))
    outs = out if isinstance(out, tuple) else (out,)
    return [o.data if isinstance(o, Tensor) else o for o in outs]


def _merge(static, positions, dyn):
    args = list(static)
    for p, v in zip(positions, dyn):
        args.insert(p, v)
    return args


def _fn_fwd(primals, params):
    cls = params["cls"]
    needs = [isinstance(p, Tensor) and p.requires_grad or not isinstance(p, Tensor) and hasattr(p, "_trace")
             for p in primals]
    ctx = FunctionCtx(needs)
    with no_grad():
        out = cls.forward(ctx, *_merge(params["static"], params["positions"], [_as_tensor_arg(p) for p in primals]))
    outs = out if isinstance(out, tuple) else (out,)
    return list(outs), (ctx, len(primals))


def _fn_vjp(g, out, ctx, n_in, cls, static, positions, n_out):
    grads = [(_wrap(gi) if isinstance(gi, (np.ndarray, np.generic)) else gi) for gi in g]
    res = cls.backward(ctx, *grads)
    res = res if isinstance(res, tuple) else (res,)
    res = [r for k, r in enumerate(_pad(res, len(static) + n_in)) if k in positions]
    if len(res) != n_in:
        raise RuntimeError(f"function {cls.__name__}.backward returned an incorrect number of gradients "
                           f"(expected {len(static) + n_in})")
    return [None if r is None else _unwrap(r) for r in res]


def _pad(res, n):
    res = list(res)
    return res + [None] * (n - len(res))


def _fn_jvp(primals, tangents, cls, static, positions, n_out):
    out, (ctx, _) = _fn_fwd(primals, {"cls": cls, "static": static, "positions": positions})
    if hasattr(cls, "jvp") and cls.jvp is not Function.jvp:
        ts = [np.zeros(np.shape(p), np.asarray(p).dtype) if t is None else t for p, t in zip(primals, tangents)]
        t_out = cls.jvp(ctx, *_merge([None] * len(static), positions, [_as_tensor_arg(t) for t in ts]))
        t_out = t_out if isinstance(t_out, tuple) else (t_out,)
        return [_unwrap(o) for o in out], [_unwrap(t) for t in t_out]
    from .custom import _transpose
    ts = [np.zeros(np.shape(p), np.asarray(p).dtype) if t is None else t for p, t in zip(primals, tangents)]
    outs = [_unwrap(o) for o in out]
    t_out = _transpose(lambda *gs: [c if c is not None else np.zeros(np.shape(p), np.asarray(p).dtype)
                                    for c, p in zip(_fn_vjp(gs, outs, ctx, len(primals), cls, static, positions,
                                                            n_out), primals)], outs, ts)
    return outs, list(t_out)


function_call_p = Primitive("function", _fn_impl, multiple_results=True)
function_call_p.reverse_fwd = _fn_fwd
function_call_p.vjp = _fn_vjp
function_call_p.jvp = _fn_jvp


class Function:
    """Base class for custom differentiable operations, as in PyTorch.

    Subclasses define static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` (and optionally
    ``jvp(ctx, *tangents)``); call them with ``apply``. They work on Tensors and under every transform.

    >>> import chainrule as cr
    >>> class Cube(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, g):
    ...         x, = ctx.saved_tensors
    ...         return 3 * x ** 2 * g
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> Cube.apply(x).backward()
    >>> x.grad
    tensor(12.)
    """

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("Function subclasses must define a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function subclasses must define a static backward(ctx, *grad_outputs)")

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        from .core.trace import Tracer
        positions = tuple(i for i, a in enumerate(args) if isinstance(a, (Tracer, np.ndarray)))
        static = tuple(a for i, a in enumerate(args) if i not in positions)
        dyn = [args[i] for i in positions]
        out = function_call_p.bind(*dyn, cls=cls, static=static, positions=positions, n_out=None)
        return out[0] if len(out) == 1 else tuple(out)
