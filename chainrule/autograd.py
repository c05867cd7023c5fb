"""PyTorch-style autograd functions: ``backward``, ``grad``, grad-mode switches, anomaly detection and custom
``Function`` classes. All of it drives the one ``backward_pass`` of ``interpreters.reverse``.

Invariant: a backward pass runs with grad mode set to ``create_graph``: without it every rule computes on raw
arrays (fast, and nothing is recorded); with it rules receive Tensors and their operations are recorded, so the
gradients are themselves differentiable. ``.grad`` is only ever written by ``backward``, never by ``grad``.
"""
import functools
import traceback

import numpy as np

from .core.primitive import SAVE_OUT, Primitive
from .core.trace import Tracer
from .interpreters import tape as _tape
from .interpreters.reverse import backward_pass
from .interpreters.tape import modes
from .tensor import Tensor, _wrap

__all__ = ["backward", "grad", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
           "is_inference_mode_enabled", "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "Function",
           "FunctionCtx", "once_differentiable"]


# ---------------------------------------------------------------------------------------------------------
# Grad mode (per thread: ``modes`` is a threading.local)
# ---------------------------------------------------------------------------------------------------------

class _GradMode:
    """A context manager that is also a decorator (with or without parentheses)."""

    def __new__(cls, *args, **kwargs):
        if len(args) == 1 and not kwargs and callable(args[0]) and not isinstance(args[0], bool):
            return cls()(args[0])  # used as ``@no_grad`` without parentheses
        return super().__new__(cls)

    def _clone(self):
        return type(self)()

    def _apply(self):
        raise NotImplementedError

    def __enter__(self):
        self._prev = (modes.grad, modes.inference)
        self._apply()
        return self

    def __exit__(self, *exc):
        modes.grad, modes.inference = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():  # a fresh manager per call: safe under recursion and threads
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Disable recording, as a context manager or a decorator.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     y = x * 2
    >>> y.requires_grad
    False
    """

    def _apply(self):
        modes.grad = False


class enable_grad(_GradMode):
    """Enable recording (inside a ``no_grad`` region, say), as a context manager or a decorator.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with no_grad(), enable_grad():
    ...     (x * 2).requires_grad
    True
    """

    def _apply(self):
        modes.grad = True


class set_grad_enabled(_GradMode):
    """Turn grad mode on or off: as a plain call (takes effect at once), a context manager or a decorator.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with set_grad_enabled(False):
    ...     (x * 2).requires_grad
    False
    >>> is_grad_enabled()
    True
    """

    def __new__(cls, mode):
        return object.__new__(cls)

    def __init__(self, mode):
        self._mode = bool(mode)
        self._prev = (modes.grad, modes.inference)
        modes.grad = self._mode

    def _clone(self):
        return set_grad_enabled(self._mode)

    def _apply(self):
        modes.grad = self._mode

    def __enter__(self):
        return self  # already applied by __init__; __exit__ restores the state from before the call

    def __call__(self, fn):
        modes.grad, modes.inference = self._prev  # as a decorator it must not change the mode now
        return super().__call__(fn)


class inference_mode(_GradMode):
    """Like ``no_grad`` (nothing is recorded); ``inference_mode(False)`` changes nothing.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with inference_mode():
    ...     (x * 2).requires_grad
    False
    """

    def __init__(self, mode=True):
        self._mode = bool(mode)

    def _clone(self):
        return inference_mode(self._mode)

    def _apply(self):
        if self._mode:
            modes.grad = False
            modes.inference = True


def is_grad_enabled():
    """Whether operations are being recorded in this thread.

    >>> is_grad_enabled()
    True
    """
    return modes.grad


def is_inference_mode_enabled():
    """Whether this thread is inside ``inference_mode()``.

    >>> with inference_mode():
    ...     is_inference_mode_enabled()
    True
    """
    return modes.inference


# ---------------------------------------------------------------------------------------------------------
# Anomaly mode
# ---------------------------------------------------------------------------------------------------------

class detect_anomaly:
    """Record where each operation is created and raise when the backward pass produces NaN: the error names
    the operation and shows the lines of the forward pass that created it. A context manager or a decorator.

    >>> import numpy as np, chainrule as cr
    >>> x = cr.tensor([0.0], requires_grad=True)
    >>> with detect_anomaly(), np.errstate(invalid="ignore", divide="ignore"):  # doctest: +ELLIPSIS
    ...     y = (x.sqrt() * 0.0).sum()
    ...     y.backward()  # d sqrt(x)/dx = inf at 0, times 0 -> nan
    Traceback (most recent call last):
    ...
    RuntimeError: Function 'SqrtBackward0' returned nan values in its 0th output...
    """

    def __init__(self, check_nan=True):
        self.check_nan = bool(check_nan)

    def __enter__(self):
        self._prev = modes.anomaly
        _tape.set_anomaly(True)
        return self

    def __exit__(self, *exc):
        _tape.set_anomaly(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)
        return wrapper


class set_detect_anomaly:
    """Turn anomaly detection on or off for this thread (a plain call, or a context manager that restores).

    >>> with set_detect_anomaly(True):
    ...     is_anomaly_enabled()
    True
    """

    def __init__(self, mode, check_nan=True):
        self._prev = modes.anomaly
        _tape.set_anomaly(mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _tape.set_anomaly(self._prev)
        return False


def is_anomaly_enabled():
    """Whether anomaly detection is on in this thread.

    >>> is_anomaly_enabled()
    False
    """
    return bool(modes.anomaly)


def _anomaly_check(node, c):
    data = c.data if isinstance(c, Tensor) else c
    if isinstance(data, Tracer) or not hasattr(data, "dtype") or data.dtype.kind not in "fc":
        return
    if not np.isnan(data).any():
        return
    index = 0
    for i, p in enumerate(node.parents):
        if p is not None:
            index = i
            break
    where = ("\nThe forward operation was created at (most recent call last):\n"
             + "".join(traceback.format_list(node.stack[-8:]))) if node.stack else (
        "\n(It was created outside detect_anomaly(); run the forward pass under detect_anomaly() to see where.)")
    raise RuntimeError(f"Function '{node.name()}' returned nan values in its {index}th output (the gradient "
                       f"with respect to an input of the forward operation '{node.prim.name}').{where}")


# ---------------------------------------------------------------------------------------------------------
# backward / grad
# ---------------------------------------------------------------------------------------------------------

def _as_list(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _seeds(tensors, grad_tensors, create_graph, what):
    seeds = []
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    if len(grad_tensors) != len(tensors):
        raise RuntimeError(f"{what}: got {len(grad_tensors)} gradients for {len(tensors)} tensors")
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: element {i} is a {type(t).__name__}, not a Tensor")
        if t._ref is None:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
        data = t.data
        if g is None:
            if data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs (tensor {i} has shape "
                                   f"{tuple(data.shape)}); pass the gradient of the same shape explicitly")
            g = np.ones(data.shape, data.dtype)
        elif isinstance(g, Tensor):
            if g.shape != data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {tuple(g.shape)} and "
                                   f"output[{i}] has a shape of {tuple(data.shape)}.")
            if g.dtype != data.dtype:
                g = g.to(data.dtype)
            if not create_graph:
                g = g.data
        else:
            g = np.asarray(g, dtype=data.dtype)
            if g.shape != data.shape:
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {g.shape} and output[{i}] "
                                   f"has a shape of {tuple(data.shape)}.")
        if create_graph and not isinstance(g, Tensor):
            g = _wrap(g)
        seeds.append((t._ref, g))
    return seeds


def _check_versions(node, saved):
    key = node.key
    for i, p in enumerate(saved):
        stamp = getattr(p, "_stamp", None) if isinstance(p, Tensor) and p._version else None
        if stamp is not None and stamp[0] < key:
            raise RuntimeError(
                f"one of the variables needed for gradient computation has been modified by an inplace operation: "
                f"input {i} of {node.name()} (a Tensor of shape {tuple(p.shape)} and dtype {p.dtype}) was changed "
                f"by '{stamp[1]}' after '{node.prim.name}' saved it; it is now at version {p._version}. Compute "
                f"the new value out of place (x = x + 1 rather than x += 1), or modify a clone().")


def _unpacker(create_graph, free):
    if not create_graph:
        def unpack(node):
            saved = node.saved
            if saved is not None:
                if _tape.last_inplace < node.key:
                    _check_versions(node, saved)
                if free:
                    node.saved = None
            return node.out, node.primals
        return unpack

    def unpack_graph(node):
        saved = node.saved
        if saved is not None:
            if _tape.last_inplace < node.key:
                _check_versions(node, saved)
            primals = saved
            if free:
                node.saved = None
        else:
            primals = node.primals
        out = node.out
        if node.prim.saves & SAVE_OUT:
            # The output as a Tensor in the graph, so rules that read it are differentiated through it.
            if node.prim.multiple_results:
                out = [_wrap(o, (node, i)) for i, o in enumerate(out)]
            else:
                out = _wrap(out, node)
        return out, primals
    return unpack_graph


def _run(seeds, retain_graph, create_graph, leaf_hook, capture=None):
    if retain_graph is None:
        retain_graph = create_graph
    free = not retain_graph
    check = _anomaly_check if modes.anomaly else None
    prev = modes.grad
    modes.grad = bool(create_graph)
    try:
        return backward_pass(seeds, free=free, leaf_hook=leaf_hook, capture=capture,
                             unpack=_unpacker(create_graph, free), check=check)
    finally:
        modes.grad = prev


def _as_grad(g, like, create_graph):
    """A gradient as a Tensor of ``like``'s dtype; detached unless ``create_graph``."""
    if not isinstance(g, Tensor):
        g = _wrap(np.asarray(g))
    elif not create_graph and g._ref is not None:
        g = _wrap(g.data)
    if g.data.dtype != like.data.dtype:
        g = g.to(like.data.dtype) if create_graph else _wrap(g.data.astype(like.data.dtype))
    return g


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Accumulate the gradients of ``tensors`` into the ``.grad`` of the leaves they depend on.

    ``grad_tensors`` gives the gradient with respect to each tensor (needed for non-scalars); ``inputs``
    restricts accumulation to those Tensors (non-leaf ones included). The graph is freed unless
    ``retain_graph`` (which defaults to ``create_graph``).

    >>> import chainrule as cr
    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> backward([x * x])
    >>> x.grad
    tensor(6.)
    """
    if grad_variables is not None and grad_tensors is None:
        grad_tensors = grad_variables
    tensors = _as_list(tensors)
    seeds = _seeds(tensors, _as_list(grad_tensors), create_graph, "backward")
    inputs = _as_list(inputs)
    if inputs is not None and not inputs:
        raise RuntimeError("backward: inputs= was given but is empty")
    only = None if inputs is None else {id(t) for t in inputs}

    def accumulate(node, g):
        t = node.tensor()
        if t is None or t._ref is not node or (only is not None and id(t) not in only):
            return
        gt = _as_grad(g, t, create_graph)
        t.grad = gt if t.grad is None else t.grad + gt
        post = node.post_hooks
        if post:
            for h in list(post):
                h(t)

    capture = None
    nonleaf = {}
    if inputs is not None:
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor) or t._ref is None:
                raise RuntimeError(f"backward: inputs[{i}] does not require grad")
            if not t.is_leaf:
                nonleaf.setdefault(t._node(), []).append(t)
        capture = set(nonleaf) or None
    prev = modes.accumulate
    modes.accumulate = True
    try:
        res = _run(seeds, retain_graph, create_graph, accumulate, capture)
    finally:
        modes.accumulate = prev
    for node, ts in nonleaf.items():
        g = res.get(node)
        if g is None:
            continue
        for t in ts:
            gi = g[t._ref[1]] if type(t._ref) is tuple else g
            gt = _as_grad(gi, t, create_graph)
            t.grad = gt if t.grad is None else t.grad + gt


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of ``outputs`` with respect to ``inputs`` (a tuple with one entry per input), without
    touching any ``.grad``.

    An input the outputs do not depend on raises unless ``allow_unused=True`` (then its entry is None) or
    ``materialize_grads=True`` (zeros). ``create_graph=True`` makes the result differentiable (higher-order
    derivatives); ``is_grads_batched=True`` treats the first axis of every ``grad_outputs`` entry as a batch of
    separate cotangents (one backward pass each).

    >>> import chainrule as cr
    >>> x = cr.tensor(2.0, requires_grad=True)
    >>> grad(x ** 3, x)
    (tensor(12.),)
    """
    outputs = _as_list(outputs)
    inputs = _as_list(inputs)
    grad_outputs = _as_list(grad_outputs)
    if allow_unused is None:
        allow_unused = materialize_grads
    if not allow_unused and materialize_grads:
        raise ValueError("grad: materialize_grads=True requires allow_unused to be True or None")
    if is_grads_batched:
        return _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused,
                             materialize_grads)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"grad: input {i} is a {type(t).__name__}, not a Tensor")
        if t._ref is None:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    seeds = _seeds(outputs, grad_outputs, create_graph, "grad")
    refs = [t._ref for t in inputs]
    nodes = {r[0] if type(r) is tuple else r for r in refs}
    res = _run(seeds, retain_graph, create_graph, _ignore_leaf, capture=nodes)
    out = []
    for i, (t, r) in enumerate(zip(inputs, refs)):
        node, idx = (r if type(r) is tuple else (r, None))
        g = res.get(node)
        if g is not None and idx is not None:
            g = g[idx]
        if g is None:
            if materialize_grads:
                out.append(_wrap(np.zeros(t.shape, t.dtype)))
                continue
            if not allow_unused:
                raise RuntimeError(f"One of the differentiated Tensors (input {i}, shape {tuple(t.shape)}) appears "
                                   f"to not have been used in the graph. Set allow_unused=True if this is the "
                                   f"desired behavior.")
            out.append(None)
            continue
        out.append(_as_grad(g, t, create_graph))
    return tuple(out)


def _ignore_leaf(node, g):
    return None


def _batched_grad(outputs, inputs, grad_outputs, retain_graph, create_graph, allow_unused, materialize_grads):
    if grad_outputs is None:
        raise RuntimeError("grad: is_grads_batched=True needs grad_outputs")
    n = {int(np.shape(g.data if isinstance(g, Tensor) else g)[0]) for g in grad_outputs if g is not None}
    if len(n) != 1:
        raise RuntimeError("grad: with is_grads_batched=True every grad_outputs entry needs the same first "
                           "dimension")
    n = n.pop()
    rows = []
    for k in range(n):
        gk = [None if g is None else g[k] for g in grad_outputs]
        rows.append(grad(outputs, inputs, gk, retain_graph=True if k < n - 1 else retain_graph,
                         create_graph=create_graph, allow_unused=allow_unused, materialize_grads=materialize_grads))
    from .tensor import stack
    return tuple(None if rows[0][i] is None else stack([r[i] for r in rows]) for i in range(len(inputs)))


# ---------------------------------------------------------------------------------------------------------
# Custom Function classes
# ---------------------------------------------------------------------------------------------------------
#
# NOTE: [Function as one primitive]
# ``Function.apply`` binds one primitive, ``function_call_p``, whose parameter ``spec`` carries the class and the
# non-array arguments. Its rules call the class's static methods: reverse mode runs ``forward`` (keeping the
# ``ctx``) and later ``backward``; forward mode runs the class's ``jvp`` if it has one, else transposes
# ``backward`` (which must then be written with chainrule operations); ``vmap`` re-binds the primitive with a
# spec whose methods run the original ones under ``vmap`` (PyTorch's ``generate_vmap_rule``), carrying each
# example's ``ctx`` contents through as batched arrays. ``forward`` always receives Tensors (or traced values,
# which have the same methods): raw arrays are wrapped on the way in and unwrapped on the way out.
# A Tensor that ``forward`` saves and also returns is handed back to ``backward`` as the recorded output, so a
# double backward differentiates through it.

def _is_value(x):
    return isinstance(x, (Tracer, np.ndarray, np.generic))


def _wrap_in(x):
    return _wrap(x) if isinstance(x, (np.ndarray, np.generic)) else x


def _unwrap_out(x):
    if isinstance(x, Tensor) and x._ref is None:
        return x.data
    if not _is_value(x) and x is not None:
        return np.asarray(x)
    return x


def _inexact(x):
    dt = getattr(x, "dtype", None)
    return dt is not None and np.dtype(dt).kind in "fc"


class FunctionCtx:
    """The ``ctx`` passed to ``Function.forward``/``backward``: ``save_for_backward`` / ``saved_tensors``,
    ``needs_input_grad``, ``mark_non_differentiable``, ``set_materialize_grads``. Other attributes may be set
    freely to carry values from ``forward`` to ``backward``."""

    _internal = ("_saved", "_versions", "_outs", "_nondiff_ids", "needs_input_grad", "materialize_grads",
                 "saved_for_forward", "_out_ids")

    def __init__(self, needs_input_grad=()):
        self._saved = ()
        self._versions = ()
        self._outs = None
        self._nondiff_ids = ()
        self.needs_input_grad = tuple(needs_input_grad)
        self.materialize_grads = True
        self.saved_for_forward = ()

    def save_for_backward(self, *tensors):
        """Keep ``tensors`` (inputs, outputs or None) for ``backward``; in-place changes to them are caught."""
        for i, t in enumerate(tensors):
            if t is not None and not _is_value(t):
                raise TypeError(f"save_for_backward can only save Tensors or None, but argument {i} is a "
                                f"{type(t).__name__}")
        self._saved = tensors
        self._versions = tuple(t._version if isinstance(t, Tensor) else None for t in tensors)

    def save_for_forward(self, *tensors):
        self.saved_for_forward = tensors

    @property
    def saved_tensors(self):
        """The values given to ``save_for_backward`` (outputs of ``forward`` as recorded in the graph)."""
        out = []
        for i, (t, v) in enumerate(zip(self._saved, self._versions)):
            if isinstance(t, _SavedOutput):
                o = self._outs[t.index]
                out.append(_wrap_in(o))
                continue
            if isinstance(t, Tensor) and v is not None and t._version != v:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified by an inplace "
                    f"operation: saved tensor {i} (shape {tuple(t.shape)}) is at version {t._version}; expected "
                    f"version {v} instead.")
            out.append(_wrap_in(t))
        return tuple(out)

    def mark_non_differentiable(self, *tensors):
        """Declare outputs of ``forward`` that have no gradient (they will not require grad)."""
        self._nondiff_ids = tuple(self._nondiff_ids) + tuple(id(t) for t in tensors)

    def set_materialize_grads(self, value):
        """With ``False``, ``backward`` receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors):
        """Accepted for compatibility; in-place changes inside ``forward`` rebind Tensors (NOTE: [no views])."""

    def _link_outputs(self, outs):
        """Replace saved Tensors that are also outputs by markers (see NOTE: [Function as one primitive])."""
        ids = {id(o): i for i, o in enumerate(outs)}
        self._outs = outs
        if self._saved:
            self._saved = tuple(_SavedOutput(ids[id(t)]) if id(t) in ids and t is not None else t
                                for t in self._saved)
        return tuple(ids[k] for k in self._nondiff_ids if k in ids)


class _SavedOutput:
    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index


class _Spec:
    """Parameters of one ``Function.apply`` call (identity-hashed): the class and the non-array arguments."""

    def __init__(self, cls, static, positions, n_args):
        self.cls = cls
        self.static = static          # ((position, value), ...) for non-array arguments
        self.positions = positions    # positions of the array arguments
        self.n_args = n_args
        self.name = f"{cls.__name__}Backward"
        self.nondiff_out = ()
        self.single = True
        self.has_jvp = getattr(cls, "jvp", Function.jvp) is not Function.jvp

    def merge(self, dyn):
        args = [None] * self.n_args
        for p, v in self.static:
            args[p] = v
        for p, v in zip(self.positions, dyn):
            args[p] = v
        return args

    def needs(self, dyn):
        # On the tape (Tensor inputs) a raw array is a constant; below a transform every input arrives as its
        # value one level down, so any floating input may be the one being differentiated.
        on_tape = any(isinstance(v, Tensor) for v in dyn)
        needs = [False] * self.n_args
        for p, v in zip(self.positions, dyn):
            if isinstance(v, Tensor):
                needs[p] = v._ref is not None
            else:
                needs[p] = _inexact(v) and (isinstance(v, Tracer) or not on_tape)
        return needs

    def forward(self, ctx, dyn):
        """Run the user's forward; returns the list of outputs (Tensors / traced values)."""
        cls = self.cls
        args = self.merge([_wrap_in(v) for v in dyn])
        if _overrides(cls, "setup_context"):
            out = cls.forward(*args)
            cls.setup_context(ctx, tuple(args), out)
        else:
            out = cls.forward(ctx, *args)
        self.single = not isinstance(out, tuple)
        outs = [out] if self.single else list(out)
        for i, o in enumerate(outs):
            if not _is_value(o):
                raise TypeError(f"{cls.__name__}.forward must return Tensors (or a tuple of them); output {i} is a "
                                f"{type(o).__name__}")
        self.nondiff_out = ctx._link_outputs(outs)
        return outs

    def backward(self, ctx, gs, dyn_like):
        """The user's backward; returns one cotangent (or None) per array argument."""
        cls = self.cls
        if not ctx.materialize_grads:
            gs = [None if _all_zero(g) else g for g in gs]
        res = cls.backward(ctx, *[None if g is None else _wrap_in(g) for g in gs])
        res = list(res) if isinstance(res, (tuple, list)) else [res]
        if len(res) < self.n_args or any(r is not None for r in res[self.n_args:]):
            raise RuntimeError(f"function {cls.__name__}Backward returned an incorrect number of gradients "
                               f"(expected {self.n_args}, got {len(res)})")
        cts = []
        for k, (p, like) in enumerate(zip(self.positions, dyn_like)):
            r = res[p]
            if r is None:
                cts.append(None)
                continue
            if not _is_value(r):
                r = np.asarray(r)
            if tuple(r.shape) != tuple(like.shape):
                raise RuntimeError(f"function {cls.__name__}Backward returned an invalid gradient at index {p} - "
                                   f"got shape {tuple(r.shape)} but expected shape {tuple(like.shape)}")
            if r.dtype != like.dtype and _inexact(like):
                from .ops.elementwise import astype
                r = astype(r, like.dtype)
            cts.append(_unwrap_out(r))
        return cts

    def jvp(self, ctx, ts):
        res = self.cls.jvp(ctx, *self.merge([_wrap_in(t) for t in ts]))
        res = list(res) if isinstance(res, (tuple, list)) else [res]
        return [None if r is None else _unwrap_out(r) for r in res]


def _overrides(cls, name):
    return getattr(cls, name, None) is not getattr(Function, name, None)


def _all_zero(g):
    return g is None or (isinstance(g, np.ndarray) and not g.any())


class _BatchedSpec(_Spec):
    """A spec whose forward/backward/jvp run the inner spec's under ``vmap`` (the batch rule)."""

    def __init__(self, inner, size, dims):
        self.inner = inner
        self.size = size
        self.dims = tuple(dims)
        self.cls = inner.cls
        self.static = ()
        self.positions = tuple(range(len(dims)))
        self.n_args = len(dims)
        self.name = inner.name
        self.nondiff_out = ()
        self.single = inner.single
        self.has_jvp = inner.has_jvp

    def forward(self, ctx, dyn):
        from .transforms import vmap
        inner = self.inner
        meta = {}

        def per_example(*xs):
            ictx = FunctionCtx(inner.needs(list(xs)))
            outs = inner.forward(ictx, list(xs))
            arrays, meta["ctx"] = _ctx_split(ictx)
            return outs, arrays

        outs, arrays = vmap(per_example, in_axes=self.dims, axis_size=self.size)(*dyn)
        ctx._batched = (arrays, meta["ctx"])
        self.single = inner.single
        self.nondiff_out = inner.nondiff_out
        ctx._outs = outs
        return list(outs)

    def backward(self, ctx, gs, dyn_like):
        from .transforms import vmap
        from .ops import reduction as R
        from .ops import shape as S
        inner = self.inner
        arrays, meta = ctx._batched
        like = [_example_like(x, d) for x, d in zip(dyn_like, self.dims)]
        gs = [_zeros(o) if g is None else g for g, o in zip(gs, ctx._outs)]

        def per_example(arrays, outs, gs):
            ictx = _ctx_join(arrays, meta, outs)
            cts = inner.backward(ictx, gs, like)
            return [_zeros(lk) if c is None else c for c, lk in zip(cts, like)]

        cts = vmap(per_example, in_axes=(0, 0, 0), axis_size=self.size)(arrays, list(ctx._outs), gs)
        out = []
        for c, d in zip(cts, self.dims):
            if d is None:
                out.append(R.sum(c, axis=0))
            elif d != 0:
                out.append(S.moveaxis(c, 0, d))
            else:
                out.append(c)
        return out

    def jvp(self, ctx, ts):
        from .transforms import vmap
        inner = self.inner

        def per_example(xs, ts):
            ictx = FunctionCtx(inner.needs(list(xs)))
            inner.forward(ictx, list(xs))
            return inner.jvp(ictx, list(ts))

        dims = self.dims
        return vmap(per_example, in_axes=(list(dims), list(dims)), axis_size=self.size)(
            list(ctx._primals), list(ts))


class _Example:
    __slots__ = ("shape", "dtype")

    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype


def _example_like(x, d):
    shape = tuple(x.shape)
    return _Example(shape if d is None else shape[:d] + shape[d + 1:], x.dtype)


def _zeros(like):
    from .core import backend
    return backend.zeros(tuple(like.shape), like.dtype)


def _ctx_split(ctx):
    """A ctx's array contents (saved values and array attributes) and the rest, to carry it through vmap."""
    arrays = []
    saved = []
    for t in ctx._saved:
        if isinstance(t, _SavedOutput) or t is None:
            saved.append(t)
        else:
            saved.append(len(arrays))
            arrays.append(t)
    attrs = {}
    arr_attrs = {}
    for k, v in vars(ctx).items():
        if k in FunctionCtx._internal or k.startswith("_"):
            continue
        if _is_value(v):
            arr_attrs[k] = len(arrays)
            arrays.append(v)
        else:
            attrs[k] = v
    return arrays, (saved, attrs, arr_attrs, ctx.materialize_grads, ctx.needs_input_grad)


def _ctx_join(arrays, meta, outs):
    saved, attrs, arr_attrs, materialize, needs = meta
    ctx = FunctionCtx(needs)
    ctx._saved = tuple(arrays[s] if isinstance(s, int) else s for s in saved)
    ctx._versions = (None,) * len(ctx._saved)
    ctx._outs = outs
    ctx.materialize_grads = materialize
    for k, v in attrs.items():
        setattr(ctx, k, v)
    for k, i in arr_attrs.items():
        setattr(ctx, k, arrays[i])
    return ctx


def _on_tape(values):
    """Whether any of ``values`` is, or traces, a Tensor: the Function is then used in the Tensor world."""
    for v in values:
        while isinstance(v, Tracer):
            if isinstance(v, Tensor):
                return True
            v = v.concrete_value()
    return False


def _strip(x):
    """``x`` with a Tensor that requires no grad at the bottom of its tracer stack replaced by its array.

    Raw arrays are wrapped as Tensors on their way into a Function (so its code may call Tensor methods); when
    the Function is used outside the Tensor world, what it returns must not carry those wrappers along.
    """
    from .interpreters.batching import BatchTracer
    from .interpreters.forward import JVPTracer
    from .interpreters.reverse import ReverseTracer
    t = type(x)
    if isinstance(x, Tensor):
        return x.data if x._ref is None else x
    if t is ReverseTracer:
        p = _strip(x.primal)
        return x if p is x.primal else ReverseTracer(x._trace, p, x.ref)
    if t is JVPTracer:
        p, d = _strip(x.primal), _strip(x.tangent)
        return x if p is x.primal and d is x.tangent else JVPTracer(x._trace, p, d)
    if t is BatchTracer:
        v = _strip(x.val)
        return x if v is x.val else BatchTracer(x._trace, v, x.bdim)
    return x


def _out_values(outs, on_tape):
    """Outputs as the primitive returns them (see ``_strip``)."""
    return [_unwrap_out(o) if on_tape else _strip(_unwrap_out(o)) for o in outs]


def _fn_impl(*args, spec):
    ctx = FunctionCtx([False] * spec.n_args)
    prev = modes.grad
    modes.grad = False
    try:
        outs = spec.forward(ctx, list(args))
    finally:
        modes.grad = prev
    if any(isinstance(a, Tensor) for a in args):
        return [o if isinstance(o, Tensor) else _wrap(np.asarray(o)) for o in outs]
    return _out_values(outs, False)


def _fn_fwd(primals, params):
    spec = params["spec"]
    ctx = FunctionCtx(spec.needs(primals))
    ctx._primals = list(primals)
    ctx._on_tape = _on_tape(primals)
    outs = spec.forward(ctx, list(primals))
    return _out_values(outs, ctx._on_tape), (ctx, [_example_like(p, None) for p in primals])


def _fn_vjp(g, out, ctx, like, spec):
    ctx._outs = list(out)
    try:
        cts = spec.backward(ctx, list(g), like)
    finally:
        ctx._outs = None   # the recorded outputs refer back to this node: do not keep them in a cycle
    return cts if ctx._on_tape else [_strip(c) for c in cts]


def _fn_jvp(primals, tangents, spec):
    ctx = FunctionCtx(spec.needs(primals))
    ctx._primals = list(primals)
    on_tape = ctx._on_tape = _on_tape(primals)
    outs = _out_values(spec.forward(ctx, list(primals)), on_tape)
    ts = [_zeros(_example_like(p, None)) if t is None else t for p, t in zip(primals, tangents)]
    if spec.has_jvp:
        t_out = spec.jvp(ctx, ts)
        if len(t_out) != len(outs):
            raise RuntimeError(f"{spec.cls.__name__}.jvp returned {len(t_out)} tangents for {len(outs)} outputs")
        return outs, _out_values(t_out, on_tape)
    from .custom import _transpose
    like = [_example_like(p, None) for p in primals]

    def backward_map(*gs):
        ctx._outs = outs
        cts = spec.backward(ctx, list(gs), like)
        return [_zeros(lk) if c is None else c for c, lk in zip(cts, like)]

    return outs, _out_values(_transpose(backward_map, outs, ts), on_tape)


def _fn_batch(size, vals, dims, spec):
    new = _BatchedSpec(spec, size, dims)
    out = function_call_p.bind(*vals, spec=new)
    spec.nondiff_out = new.nondiff_out
    spec.single = new.single
    return out, [0] * len(out)


function_call_p = Primitive("function", _fn_impl, multiple_results=True)
function_call_p.reverse_fwd = _fn_fwd
function_call_p.vjp = _fn_vjp
function_call_p.jvp = _fn_jvp
function_call_p.batch = _fn_batch
_tape.call_prims.add(function_call_p)


class Function:
    """Base class for custom differentiable operations, as in PyTorch.

    Subclasses define static ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` (returning one
    gradient, or None, per argument of ``forward``), optionally ``jvp(ctx, *tangents)`` for forward mode, and
    call the operation with ``apply``. It works on Tensors (``.backward()``), under every transform (``grad``,
    ``jvp``, ``vmap``, nested), and to higher order when ``backward`` is written with chainrule operations.

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
    >>> y = Cube.apply(x)
    >>> y
    tensor(8., grad_fn=<CubeBackward>)
    >>> y.backward()
    >>> x.grad
    tensor(12.)
    >>> float(cr.grad(Cube.apply)(2.0))
    12.0
    """

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("Function subclasses must define a static forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("Function subclasses must define a static backward(ctx, *grad_outputs)")

    @staticmethod
    def jvp(ctx, *tangents):
        raise NotImplementedError("this Function defines no jvp")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @classmethod
    def vjp(cls, ctx, *grads):
        return cls.backward(ctx, *grads)

    @classmethod
    def apply(cls, *args, **kwargs):
        if kwargs:
            raise TypeError(f"{cls.__name__}.apply takes positional arguments only")
        positions = tuple(i for i, a in enumerate(args) if _is_value(a))
        static = tuple((i, a) for i, a in enumerate(args) if i not in positions)
        spec = _Spec(cls, static, positions, len(args))
        if not positions:
            out = spec.forward(FunctionCtx([False] * len(args)), [])
            return out[0] if spec.single else tuple(out)
        out = function_call_p.bind(*[args[i] for i in positions], spec=spec)
        out = list(out)
        for i, o in enumerate(out):
            if isinstance(o, Tensor) and o._ref is not None and (i in spec.nondiff_out or not _inexact(o)):
                out[i] = o.detach()
            elif i in spec.nondiff_out and isinstance(o, Tracer):
                from .ops.elementwise import stop_gradient
                out[i] = stop_gradient(o)
        return out[0] if spec.single else tuple(out)


def once_differentiable(backward):
    """Decorator for ``Function.backward`` written with raw NumPy: it runs without recording, so the result is
    correct for a first derivative but cannot be differentiated again (PyTorch's ``once_differentiable``).

    >>> import numpy as np, chainrule as cr
    >>> class NpExp(Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         y = x.exp()
    ...         ctx.save_for_backward(y)
    ...         return y
    ...     @staticmethod
    ...     @once_differentiable
    ...     def backward(ctx, g):
    ...         y, = ctx.saved_tensors
    ...         return cr.tensor(y.detach().numpy() * g.numpy())
    >>> x = cr.tensor([0.0, 1.0], requires_grad=True)
    >>> NpExp.apply(x).sum().backward()
    >>> x.grad
    tensor([1.      , 2.718282])
    """
    @functools.wraps(backward)
    def wrapper(ctx, *grads):
        with no_grad():
            return backward(ctx, *grads)
    return wrapper
