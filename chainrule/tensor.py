"""The PyTorch-style ``Tensor``: an array that records the operations applied to it.

Invariant: a Tensor is the level-0 tracer (``interpreters.tape``). Its ``data`` is a backend array; ``_ref`` is
its position in the graph: None for a Tensor that does not require grad, a leaf node (``AccumulateGrad``) for a
leaf that does, and a recorded node, or ``(node, i)``, for a computed Tensor. So ``requires_grad`` is exactly
``_ref is not None``. In-place operations compute out of place, then rebind ``data`` and ``_ref``, bump
``_version`` and stamp the Tensor (NOTE: [in-place detection by node keys] in ``interpreters/tape.py``).

NOTE: [Tensor fast paths]
Every operator and method works through ``bind`` like any traced value. The hottest ones (unary math,
arithmetic with a Tensor or a Python scalar, comparisons) first try a shortcut that is only taken when its
answer is certain: nothing to record -> the NumPy call and one ``_wrap``; recording with operands of one shape
and dtype (or a Python scalar that keeps the dtype) -> ``tape.record`` directly, skipping ``bind``,
``prepare_operands`` and ``TapeTrace.process``. Anything else (a traced value of a transform, broadcasting,
promotion, a list) takes the general path, so the two can never disagree.

NOTE: [no views]
NumPy's reshape and slicing may return views, but no Tensor ever writes into its array: in-place operations
rebind ``data`` to a new array. So, unlike PyTorch, an in-place change to a Tensor is not seen through Tensors
made from it by ``view``/``reshape``/indexing/``detach`` (nor through an array returned by ``numpy()``).
"""
import numpy as np

from .core.primitive import Primitive, def_linear
from .core.trace import Tracer
from .interpreters import tape as _tape
from .interpreters.batching import def_vectorized
from .interpreters.reverse import _keys
from .interpreters.tape import TAPE, leaf_node, modes, record
from .ops import elementwise as E
from .ops import indexing as _I
from .ops import linalg as _L
from .ops import shape as _S
from .ops import special as SP
from .ops.methods import Size

# clone(): a copy that stays in the graph.
copy_p = Primitive("copy", np.copy)
def_linear(copy_p, lambda g, x: g)
def_vectorized(copy_p)

__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace",
           "eye", "rand", "randn", "randint", "randperm", "zeros_like", "ones_like", "full_like", "empty_like",
           "rand_like", "randn_like", "randint_like", "manual_seed", "Generator", "default_generator", "stack",
           "cat", "concat", "is_tensor", "get_rng_state", "set_rng_state"]

_new = object.__new__
_EMPTY = {}


def _wrap(data, ref=None):
    t = _new(Tensor)
    t.data = data
    t.grad = None
    t._ref = ref
    t._version = 0
    return t


class Tensor(Tracer):
    """An array with PyTorch's autograd: ``requires_grad``, ``.backward()``, ``.grad``, hooks.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y
    tensor(5., grad_fn=<SumBackward0>)
    >>> y.backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ("data", "grad", "_ref", "_version", "_stamp", "__weakref__")
    _trace = TAPE

    def __init__(self, data, dtype=None, requires_grad=False):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ref = None
        self._version = 0
        if requires_grad:
            self.requires_grad_(True)

    # --- introspection ---------------------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def size(self):
        return Size(self.data.shape)

    @property
    def device(self):
        return "cpu"

    def numel(self):
        """The number of elements."""
        return int(self.data.size)

    def dim(self):
        """The number of dimensions."""
        return self.data.ndim

    def element_size(self):
        return self.data.itemsize

    def concrete_value(self):
        return self.data

    def numpy(self, force=False):
        """The data as a NumPy array (no copy). Like PyTorch, refuses a Tensor that requires grad unless
        ``force=True`` (or use ``t.detach().numpy()``)."""
        if self._ref is not None and not force:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        return np.asarray(self.data)

    def item(self):
        """The value of a one-element Tensor as a Python number."""
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.item()

    def tolist(self):
        """The data as (nested) Python lists of Python numbers."""
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if self._ref is not None:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        return np.asarray(self.data, dtype=dtype)

    def __repr__(self):
        data = np.asarray(self.data)
        body = np.array2string(data, separator=", ", prefix="tensor(")
        extra = ""
        if data.dtype not in (np.float32, np.int64, np.bool_) or (data.size == 0 and data.dtype != np.float32):
            extra += f", dtype={data.dtype}"
        node = self.grad_fn
        if node is not None:
            extra += f", grad_fn=<{node.name()}>"
        elif self._ref is not None:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __format__(self, spec):
        if self.data.ndim == 0 and spec:
            return format(self.data.item(), spec)
        return format(repr(self), spec)

    def __bool__(self):
        return bool(self.data)

    def __hash__(self):
        return id(self)

    def __reduce_ex__(self, protocol):
        if not self.is_leaf:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                               "and pickle protocols; call .detach() first.")
        return _rebuild, (self.data, self._ref is not None, self.grad)

    # --- autograd state --------------------------------------------------------------------------------------
    @property
    def requires_grad(self):
        """Whether operations on this Tensor are recorded for differentiation."""
        return self._ref is not None

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        """Set whether autograd records operations on this (leaf) Tensor; returns self.

        >>> zeros(2).requires_grad_().requires_grad
        True
        """
        ref = self._ref
        if requires_grad:
            if ref is None:
                if self.data.dtype.kind not in "fc":
                    raise RuntimeError(f"only Tensors of floating point and complex dtype can require gradients "
                                       f"(this one has dtype {self.data.dtype})")
                self._ref = leaf_node(self)
        elif ref is not None:
            if not self.is_leaf:
                raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use "
                                   "a computed variable in a subgraph that doesn't require differentiation use "
                                   "var_no_grad = var.detach().")
            self._ref = None
        return self

    @property
    def is_leaf(self):
        """True for Tensors made by the user (or under no_grad) rather than by a recorded operation."""
        ref = self._ref
        return ref is None or (type(ref) is not tuple and ref.prim is None)

    @property
    def grad_fn(self):
        """The node that made this Tensor (``None`` for a leaf): ``.name()``, ``.next_functions``."""
        ref = self._ref
        if ref is None:
            return None
        node = ref[0] if type(ref) is tuple else ref
        return None if node.prim is None else node

    @property
    def output_nr(self):
        ref = self._ref
        return ref[1] if type(ref) is tuple else 0

    def _node(self):
        ref = self._ref
        return ref[0] if type(ref) is tuple else ref

    @property
    def retains_grad(self):
        node = self._node()
        return bool(node is not None and node.hooks and any(getattr(h, "_retains", None) is self._ref
                                                             for h in node.hooks))

    def retain_grad(self):
        """Keep this non-leaf Tensor's gradient in ``.grad`` after ``backward()`` (a no-op on a leaf).

        >>> x = tensor([1.0, 2.0], requires_grad=True)
        >>> y = x * 3
        >>> y.retain_grad()
        >>> y.sum().backward()
        >>> y.grad
        tensor([1., 1.])
        """
        if self._ref is None:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.is_leaf or self.retains_grad:
            return
        import weakref
        me = weakref.ref(self)
        ref = self._ref
        index = ref[1] if type(ref) is tuple else None

        def store(g):
            t = me()
            if t is not None and modes.accumulate and t._ref is ref:
                gi = g if index is None else g[index]
                gt = gi if isinstance(gi, Tensor) else _wrap(gi)
                t.grad = gt if t.grad is None else t.grad + gt
        store._retains = ref
        self._node().register_hook(store)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when the gradient with respect to this Tensor is computed; a non-None result
        replaces the gradient. Returns a handle with ``remove()``.

        >>> x = tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward()
        >>> x.grad
        tensor([20., 40.])
        """
        ref = self._ref
        if ref is None:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        index = ref[1] if type(ref) is tuple else None
        shape, dtype = self.data.shape, self.data.dtype

        def run(g):
            gi = g if index is None else g[index]
            raw = not isinstance(gi, Tensor)
            new = hook(_wrap(gi) if raw else gi)
            if new is None:
                return None
            if not isinstance(new, Tensor):
                new = _wrap(np.asarray(new, dtype))
            if tuple(new.shape) != tuple(shape):
                raise RuntimeError(f"hook {getattr(hook, '__name__', hook)!r} returned a gradient of shape "
                                   f"{tuple(new.shape)} for a Tensor of shape {tuple(shape)}")
            if raw:
                new = new.data
            if index is None:
                return new
            g = list(g)
            g[index] = new
            return g
        return self._node().register_hook(run)

    def register_post_accumulate_grad_hook(self, hook):
        """On a leaf that requires grad: call ``hook(tensor)`` after ``backward()`` has updated its ``.grad``.

        >>> x = tensor([1.0], requires_grad=True)
        >>> seen = []
        >>> h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.item()))
        >>> (x * 5).sum().backward()
        >>> seen
        [5.0]
        """
        if self._ref is None:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if not self.is_leaf:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        node = self._ref
        if node.post_hooks is None:
            node.post_hooks = []
        node.post_hooks.append(hook)
        return _Handle(node.post_hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``chainrule.autograd.backward``)."""
        from .autograd import backward
        backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs=inputs)

    def detach(self):
        """The same data, outside the graph (shares the array)."""
        return _wrap(self.data)

    def detach_(self):
        """Take this Tensor out of the graph, in place: it becomes a leaf that does not require grad."""
        self._ref = None
        return self

    def clone(self):
        """A copy that stays in the graph (its gradient flows back to ``self``).

        >>> x = tensor([1.0], requires_grad=True)
        >>> x.clone()
        tensor([1.], grad_fn=<CloneBackward0>)
        """
        if self._ref is not None and modes.grad:
            return record(copy_p, (self,), [self.data], _EMPTY)
        return copy_p.bind(self)

    # --- in-place operations ---------------------------------------------------------------------------------
    def _inplace(self, name, compute):
        recording = modes.grad
        ref = self._ref
        if recording and ref is not None and type(ref) is not tuple and ref.prim is None:
            raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation "
                               f"({name}).")
        old = _wrap(self.data, ref)
        new = compute(old)
        if not isinstance(new, Tensor):
            new = _wrap(np.asarray(new))
        data = new.data
        mine = self.data
        if data.dtype != mine.dtype:
            if not np.can_cast(data.dtype, mine.dtype, "same_kind"):
                raise RuntimeError(f"{name}: result type {data.dtype} can't be cast to the desired output type "
                                   f"{mine.dtype}")
            new = new.to(mine.dtype)
            data = new.data
        if data.shape != mine.shape:
            raise RuntimeError(f"{name}: output with shape {tuple(mine.shape)} doesn't match the broadcast "
                               f"shape {tuple(data.shape)}")
        if type(data) is not type(mine):
            data = np.asarray(data)
        self.data = data
        if recording:
            self._ref = new._ref
        self._version += 1
        key = next(_keys)
        self._stamp = (key, name)
        _tape.last_inplace = key
        return self

    def __iadd__(self, other):
        return self._inplace("add_", lambda t: t + other)

    def __isub__(self, other):
        return self._inplace("sub_", lambda t: t - other)

    def __imul__(self, other):
        return self._inplace("mul_", lambda t: t * other)

    def __itruediv__(self, other):
        return self._inplace("div_", lambda t: t / other)

    def __ipow__(self, other):
        return self._inplace("pow_", lambda t: t ** other)

    def __setitem__(self, idx, value):
        from .ops.indexing import index_update
        self._inplace("setitem", lambda t: index_update(t, idx, value))

    def add_(self, other, *, alpha=1):
        """``self += alpha * other``, in place."""
        return self._inplace("add_", lambda t: t + (other if alpha == 1 else other * alpha))

    def sub_(self, other, *, alpha=1):
        """``self -= alpha * other``, in place."""
        return self._inplace("sub_", lambda t: t - (other if alpha == 1 else other * alpha))

    def mul_(self, other):
        return self._inplace("mul_", lambda t: t * other)

    def div_(self, other):
        return self._inplace("div_", lambda t: t / other)

    def pow_(self, exponent):
        return self._inplace("pow_", lambda t: t ** exponent)

    def neg_(self):
        return self._inplace("neg_", lambda t: -t)

    def _constant_fill(self, name, value):
        # A Tensor in the graph stays in it (with a zero gradient), as in PyTorch; otherwise a constant.
        def compute(t):
            if t._ref is not None and modes.grad or isinstance(value, Tracer):
                return E.where(np.True_, value, t)
            return np.full_like(t.data, value)
        return self._inplace(name, compute)

    def zero_(self):
        """Fill with zeros, in place.

        >>> ones(3).zero_()
        tensor([0., 0., 0.])
        """
        return self._constant_fill("zero_", 0)

    def fill_(self, value):
        """Fill with ``value``, in place.

        >>> zeros(2).fill_(7)
        tensor([7., 7.])
        """
        return self._constant_fill("fill_", value)

    def copy_(self, src):
        """Copy ``src`` (broadcast to this shape) into this Tensor, in place; differentiable with respect to
        ``src``."""
        from .ops.shape import broadcast_to
        if isinstance(src, Tracer):
            return self._inplace("copy_", lambda t: broadcast_to(src, self.shape))
        return self._inplace("copy_", lambda t: np.broadcast_to(np.asarray(src, self.dtype), self.shape).copy())

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda t: E.clip(t, min, max))

    clip_ = clamp_

    def masked_fill_(self, mask, value):
        return self._inplace("masked_fill_", lambda t: E.where(mask, value, t))

    def uniform_(self, a=0.0, b=1.0, *, generator=None):
        """Fill with samples from U[a, b), in place (used to initialise parameters under ``no_grad``)."""
        return self._inplace("uniform_", lambda t: _rng(generator).uniform(a, b, t.shape).astype(t.dtype))

    def normal_(self, mean=0.0, std=1.0, *, generator=None):
        """Fill with samples from N(mean, std^2), in place."""
        return self._inplace("normal_", lambda t: (_rng(generator).standard_normal(t.shape) * std + mean)
                             .astype(t.dtype))

    # --- conversions -----------------------------------------------------------------------------------------
    def to(self, *args, dtype=None, **kwargs):
        """Convert to a dtype (``t.to(cr.float64)``, ``t.to(other_tensor)``); only the 'cpu' device exists."""
        for a in args:
            if isinstance(a, str):
                if a != "cpu":
                    raise NotImplementedError(f"Tensor.to: device {a!r} is not supported (CPU only)")
            elif isinstance(a, Tensor):
                dtype = a.dtype
            else:
                dtype = a
        if dtype is None or np.dtype(dtype) == self.data.dtype:
            return self
        return E.astype(self, dtype)

    def type_as(self, other):
        return self.to(other.dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def half(self):
        return self.to(np.float16)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    def type(self, dtype=None):
        return str(self.dtype) if dtype is None else self.to(dtype)

    def cpu(self):
        return self

    def contiguous(self):
        return self

    def is_floating_point(self):
        return self.data.dtype.kind == "f"

    def is_complex(self):
        return self.data.dtype.kind == "c"

    def new_tensor(self, data, dtype=None, requires_grad=False):
        return tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        return full(size, fill_value, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False):
        return zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)


def _rebuild(data, requires_grad, grad):
    t = _wrap(np.array(data))
    if requires_grad:
        t.requires_grad_(True)
    t.grad = grad
    return t


class _Handle:
    """What hook registration returns: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def is_tensor(obj):
    """Whether ``obj`` is a Tensor.

    >>> is_tensor(zeros(1)), is_tensor([0.0])
    (True, False)
    """
    return isinstance(obj, Tensor)


# ---------------------------------------------------------------------------------------------------------
# Fast paths (NOTE: [Tensor fast paths])
# ---------------------------------------------------------------------------------------------------------

def _unary_method(prim, name):
    impl = prim.impl

    def method(self):
        if self._ref is not None and modes.grad:
            return record(prim, (self,), [self.data], _EMPTY)
        r = _new(Tensor)   # _wrap, inlined
        r.data = impl(self.data)
        r.grad = None
        r._ref = None
        r._version = 0
        return r
    method.__name__ = name
    method.__doc__ = f"Elementwise ``{prim.name}`` (differentiable)."
    return method


def _nondiff_unary_method(prim, name):
    impl = prim.impl

    def method(self):
        return _wrap(impl(self.data))
    method.__name__ = name
    method.__doc__ = f"Elementwise ``{prim.name}`` (not differentiable: the result does not require grad)."
    return method


def _binary_method(prim, face, name, reflected=False):
    """An arithmetic operator with fast paths for a Tensor, a NumPy array or a Python-scalar operand."""
    impl = prim.impl

    def method(self, other):
        t = type(other)
        if t is Tensor:
            if (self._ref is None and other._ref is None) or not modes.grad:
                r = _new(Tensor)   # _wrap, inlined
                r.data = impl(other.data, self.data) if reflected else impl(self.data, other.data)
                r.grad = None
                r._ref = None
                r._version = 0
                return r
            return _record_binary(prim, face, self, other, reflected)
        if t is float or t is int:
            if self._ref is None or not modes.grad:
                r = _new(Tensor)
                r.data = impl(other, self.data) if reflected else impl(self.data, other)
                r.grad = None
                r._ref = None
                r._version = 0
                return r
            if self.data.dtype.kind in "fc":  # a Python scalar keeps a float dtype (NumPy 2 promotion)
                if reflected:
                    return record(prim, (other, self), [other, self.data], _EMPTY)
                return record(prim, (self, other), [self.data, other], _EMPTY)
        elif isinstance(other, Tensor):   # a subclass (nn.Parameter)
            if (self._ref is None and other._ref is None) or not modes.grad:
                return _wrap(impl(other.data, self.data) if reflected else impl(self.data, other.data))
            return _record_binary(prim, face, self, other, reflected)
        elif t is np.ndarray and (self._ref is None or not modes.grad):
            return _wrap(impl(other, self.data) if reflected else impl(self.data, other))
        return face(other, self) if reflected else face(self, other)
    method.__name__ = name
    return method


def _record_binary(prim, face, self, other, reflected):
    """Record ``prim`` on two Tensors of one dtype, broadcasting explicitly as the general path does."""
    a, b = self.data, other.data
    x, y = (other, self) if reflected else (self, other)
    if a.dtype != b.dtype:
        return face(x, y)   # promotion: the general path inserts the casts
    if a.shape != b.shape:
        shape = _broadcast_shape(a.shape, b.shape)
        if shape is None:
            return face(x, y)   # the general path raises the error naming both shapes
        x, y = _broadcast(x, shape), _broadcast(y, shape)
    return record(prim, (x, y), [x.data, y.data], _EMPTY)


def _broadcast_shape(s1, s2):
    """NumPy's broadcast of two shapes, or None when they do not fit."""
    n = len(s1) - len(s2)
    if n > 0:
        s2 = (1,) * n + s2
    elif n < 0:
        s1 = (1,) * -n + s1
    out = []
    for d1, d2 in zip(s1, s2):
        if d1 == d2 or d2 == 1:
            out.append(d1)
        elif d1 == 1:
            out.append(d2)
        else:
            return None
    return tuple(out)


def _broadcast(t, shape):
    """``t`` broadcast to ``shape`` by an explicit, recorded ``broadcast_to`` when it requires grad (as the
    general path does); a Tensor that needs no cotangent is left for NumPy to broadcast."""
    if t._ref is None or t.data.shape == shape:
        return t
    return record(_S.broadcast_to_p, (t,), [t.data], {"shape": shape})


def _apply1(prim, t, params):
    """A one-operand primitive on a Tensor: recorded when it requires grad (grad mode is on here)."""
    if t._ref is None:
        return _wrap(prim.impl(t.data, **params))
    return record(prim, (t,), [t.data], params)


def _matmul(self, other, reflected=False):
    """``self @ other`` (``other @ self`` when reflected) with fast paths: nothing to record, or two matrices
    of one dtype (the general path's ``matmul`` would bind ``matmul_p`` on them unchanged)."""
    if isinstance(other, Tensor):
        a, b = (other.data, self.data) if reflected else (self.data, other.data)
        if (self._ref is None and other._ref is None) or not modes.grad:
            if a.ndim and b.ndim and a.shape[-1] == (b.shape[-2] if b.ndim > 1 else b.shape[0]):
                return _wrap(np.matmul(a, b))
        elif 0 < a.ndim <= 2 and 0 < b.ndim <= 2 and a.dtype == b.dtype and a.shape[-1] == b.shape[0]:
            x, y = (other, self) if reflected else (self, other)
            # As the general path: a vector operand becomes a matrix and the result loses that axis again.
            if a.ndim == 1:
                x = _apply1(_S.reshape_p, x, {"shape": (1,) + a.shape})
            if b.ndim == 1:
                y = _apply1(_S.reshape_p, y, {"shape": b.shape + (1,)})
            out = record(_L.matmul_p, (x, y), [x.data, y.data], _EMPTY)
            if a.ndim == 1 or b.ndim == 1:
                out = _apply1(_S.reshape_p, out, {"shape": a.shape[:-1] + b.shape[1:]})
            return out
    elif type(other) is np.ndarray and (self._ref is None or not modes.grad):
        a, b = (other, self.data) if reflected else (self.data, other)
        if a.ndim and b.ndim and a.shape[-1] == (b.shape[-2] if b.ndim > 1 else b.shape[0]):
            return _wrap(np.matmul(a, b))
    return _L.matmul(other, self) if reflected else _L.matmul(self, other)


def _getitem(self, idx):
    """``self[idx]``; a basic index (ints and slices) of a Tensor with nothing to record is one NumPy call."""
    if self._ref is None or not modes.grad:
        data = self.data
        t = type(idx)
        if data.ndim and (t is slice or (t is int and -data.shape[0] <= idx < data.shape[0])):
            return _wrap(data[idx])
        if t is tuple and len(idx) <= data.ndim and all(type(i) is slice for i in idx):
            return _wrap(data[idx])
    return _I.getitem(self, idx)   # everything else, and errors, as for any traced value


def _compare_method(prim, face, name):
    impl = prim.impl

    def method(self, other):
        t = type(other)
        if t is float or t is int or t is np.ndarray:
            return _wrap(impl(self.data, other))
        if t is Tensor or isinstance(other, Tensor):
            return _wrap(impl(self.data, other.data))
        if other is None and name in ("__eq__", "__ne__"):
            return name == "__ne__"
        return face(self, other)
    method.__name__ = name
    return method


def _pow(self, other):
    if type(other) is int:
        if self._ref is None or not modes.grad:
            return _wrap(self.data ** other)
        return record(E.integer_pow_p, (self,), [self.data], {"n": other})
    if type(other) is float and (self._ref is None or not modes.grad):
        return _wrap(np.power(self.data, other))
    return E.power(self, other)


def _install_fast_paths():
    unary = {"exp": E.exp_p, "expm1": E.expm1_p, "log": E.log_p, "log1p": E.log1p_p, "log2": E.log2_p,
             "log10": E.log10_p, "sqrt": E.sqrt_p, "square": E.square_p, "reciprocal": E.reciprocal_p,
             "sin": E.sin_p, "cos": E.cos_p, "tan": E.tan_p, "arcsin": E.arcsin_p, "asin": E.arcsin_p,
             "arccos": E.arccos_p, "acos": E.arccos_p, "arctan": E.arctan_p, "atan": E.arctan_p,
             "sinh": E.sinh_p, "cosh": E.cosh_p, "tanh": E.tanh_p, "arcsinh": E.arcsinh_p, "asinh": E.arcsinh_p,
             "arccosh": E.arccosh_p, "acosh": E.arccosh_p, "arctanh": E.arctanh_p, "atanh": E.arctanh_p,
             "abs": E.abs_p, "absolute": E.abs_p, "__abs__": E.abs_p, "neg": E.negative_p,
             "negative": E.negative_p, "__neg__": E.negative_p, "sigmoid": SP.sigmoid_p, "relu": SP.relu_p}
    for name, prim in unary.items():
        setattr(Tensor, name, _unary_method(prim, name))
    for name in ("sign", "floor", "ceil", "trunc", "isnan", "isinf", "isfinite", "logical_not", "signbit"):
        setattr(Tensor, name, _nondiff_unary_method(getattr(E, name + "_p"), name))
    Tensor.__invert__ = _nondiff_unary_method(E.logical_not_p, "__invert__")
    binary = {"add": (E.add_p, E.add), "sub": (E.subtract_p, E.subtract), "mul": (E.multiply_p, E.multiply),
              "truediv": (E.divide_p, E.divide)}
    for name, (prim, face) in binary.items():
        setattr(Tensor, f"__{name}__", _binary_method(prim, face, f"__{name}__"))
        setattr(Tensor, f"__r{name}__", _binary_method(prim, face, f"__r{name}__", reflected=True))
    Tensor.multiply = Tensor.mul = Tensor.__mul__
    Tensor.div = Tensor.divide = Tensor.true_divide = Tensor.__truediv__
    Tensor.subtract = lambda self, other, *, alpha=1: self - (other if alpha == 1 else other * alpha)
    Tensor.sub = Tensor.subtract
    Tensor.add = lambda self, other, *, alpha=1: self + (other if alpha == 1 else other * alpha)
    Tensor.maximum = _binary_method(E.maximum_p, E.maximum, "maximum")
    Tensor.minimum = _binary_method(E.minimum_p, E.minimum, "minimum")
    Tensor.__pow__ = _pow
    Tensor.pow = _pow
    Tensor.__matmul__ = Tensor.matmul = Tensor.mm = _matmul
    Tensor.__rmatmul__ = lambda self, other: _matmul(self, other, reflected=True)
    Tensor.__getitem__ = _getitem
    for name, prim, face in (("__lt__", E.less_p, E.less), ("__le__", E.less_equal_p, E.less_equal),
                             ("__gt__", E.greater_p, E.greater), ("__ge__", E.greater_equal_p, E.greater_equal),
                             ("__eq__", E.equal_p, E.equal), ("__ne__", E.not_equal_p, E.not_equal)):
        setattr(Tensor, name, _compare_method(prim, face, name))
    Tensor.lt, Tensor.le, Tensor.gt = Tensor.__lt__, Tensor.__le__, Tensor.__gt__
    Tensor.ge, Tensor.eq, Tensor.ne = Tensor.__ge__, Tensor.__eq__, Tensor.__ne__


_install_fast_paths()
_tape._bind_tensor(Tensor, _wrap)


def _register_call_prims():
    from . import custom
    _tape.call_prims.update({custom.custom_jvp_call_p, custom.custom_vjp_call_p, custom.checkpoint_call_p})


_register_call_prims()


# ---------------------------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------------------------

def _plain(data):
    """Python data with any Tensors inside replaced by their arrays (nested lists are as deep as the data's
    rank)."""
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, (list, tuple)) and any(isinstance(d, (Tensor, list, tuple)) for d in data):
        return [_plain(d) for d in data]
    return data


def _to_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    elif isinstance(data, Tracer):
        raise TypeError("tensor(): cannot make a Tensor from a value traced by a transform (use it directly: "
                        "traced values have the Tensor methods)")
    if dtype is not None:
        return np.array(_plain(data), dtype=np.dtype(dtype))
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    # Python data: floats become float32 (PyTorch's default dtype), ints int64, bools bool, complex complex64.
    arr = np.array(_plain(data))
    kind = arr.dtype.kind
    if kind == "f" and arr.dtype == np.float64 and not _has_numpy_array(data):
        return arr.astype(np.float32)
    if kind == "c" and arr.dtype == np.complex128 and not _has_numpy_array(data):
        return arr.astype(np.complex64)
    if kind == "i" and arr.dtype != np.int64:
        return arr.astype(np.int64)
    if kind == "O":
        raise TypeError(f"tensor(): could not infer a numeric dtype from data of type {type(data).__name__}")
    return arr


def _has_numpy_array(data):
    """Whether Python data holds NumPy arrays or Tensors (whose dtypes are kept)."""
    if isinstance(data, (np.ndarray, Tensor)):
        return True
    if isinstance(data, (list, tuple)):
        return any(_has_numpy_array(d) for d in data if isinstance(d, (np.ndarray, Tensor, list, tuple)))
    return False


def tensor(data, dtype=None, requires_grad=False):
    """A new Tensor holding a copy of ``data``.

    Python floats become float32 (PyTorch's default), Python ints int64, bools bool; NumPy arrays and Tensors
    keep their dtype unless ``dtype`` is given.

    >>> tensor([1.0, 2.0]).dtype
    dtype('float32')
    >>> tensor([1, 2]).dtype
    dtype('int64')
    >>> import numpy as np
    >>> tensor(np.ones(2)).dtype
    dtype('float64')
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None):
    """``data`` as a Tensor, without copying when it already is one of the right dtype (or a NumPy array).

    >>> t = tensor([1.0])
    >>> as_tensor(t) is t
    True
    """
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or data.dtype == np.dtype(dtype)):
        return _wrap(data)
    return tensor(data, dtype)


def from_numpy(array):
    """A Tensor sharing memory with ``array`` (which keeps its dtype).

    >>> import numpy as np
    >>> from_numpy(np.arange(3)).dtype
    dtype('int64')
    """
    return _wrap(np.asarray(array))


def _dtype(dtype, default=np.float32):
    return np.dtype(default if dtype is None else dtype)


def _make(data, requires_grad):
    t = _wrap(data)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _shape_args(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        return tuple(int(d) for d in size[0])
    return tuple(int(d) for d in size)


def zeros(*size, dtype=None, requires_grad=False):
    """A Tensor of zeros (float32 by default).

    >>> zeros(2, 3).shape
    (2, 3)
    """
    return _make(np.zeros(_shape_args(size), _dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    """A Tensor of ones (float32 by default).

    >>> ones(2)
    tensor([1., 1.])
    """
    return _make(np.ones(_shape_args(size), _dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    """An "uninitialised" Tensor (here filled with zeros, so nothing stale leaks).

    >>> empty(2).shape
    (2,)
    """
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def _fill_dtype(fill_value):
    if isinstance(fill_value, bool):
        return np.bool_
    if isinstance(fill_value, int):
        return np.int64
    if isinstance(fill_value, float):
        return np.float32
    if isinstance(fill_value, complex):
        return np.complex64
    return np.asarray(fill_value).dtype


def full(size, fill_value, dtype=None, requires_grad=False):
    """A Tensor filled with ``fill_value``; the dtype follows the value (float -> float32, int -> int64).

    >>> full((2,), 1.5)
    tensor([1.5, 1.5])
    """
    shape = (int(size),) if isinstance(size, (int, np.integer)) else tuple(size)
    dt = _fill_dtype(fill_value) if dtype is None else dtype
    return _make(np.full(shape, fill_value, dt), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive); float32 if any bound is a float, else int64.

    >>> arange(3)
    tensor([0, 1, 2])
    >>> arange(0, 1, 0.5)
    tensor([0. , 0.5])
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = np.float32 if any(isinstance(v, float) for v in (start, end, step)) else np.int64
    return _make(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive (float32 by default).

    >>> linspace(0, 1, 3)
    tensor([0. , 0.5, 1. ])
    """
    return _make(np.linspace(start, end, steps, dtype=_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """The identity matrix (n x m), float32 by default.

    >>> eye(2)
    tensor([[1., 0.],
            [0., 1.]])
    """
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


class Generator:
    """A seedable random source for ``rand``/``randn``/``randint`` (wraps ``numpy.random.Generator``).

    >>> g = Generator().manual_seed(3)
    >>> bool((randn(4, generator=g) == randn(4, generator=Generator(3))).all())
    True
    """

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def manual_seed(self, seed):
        """Re-seed; returns the generator."""
        self._rng = np.random.default_rng(seed)
        return self

    def get_state(self):
        """The generator's state (pass it to ``set_state`` to replay the same samples)."""
        return self._rng.bit_generator.state

    def set_state(self, state):
        self._rng.bit_generator.state = state
        return self


default_generator = Generator(0)
_default_generator = default_generator  # the name chainrule.nn.init uses


def manual_seed(seed):
    """Seed the default generator used by ``rand``, ``randn``, ``randint`` (and parameter initialisation).

    >>> _ = manual_seed(0)
    >>> a = rand(2)
    >>> _ = manual_seed(0)
    >>> bool((a == rand(2)).all())
    True
    """
    default_generator.manual_seed(seed)
    return default_generator


def get_rng_state():
    """The default generator's state (see ``set_rng_state``).

    >>> state = get_rng_state()
    >>> a = randn(3)
    >>> set_rng_state(state)
    >>> bool((randn(3) == a).all())
    True
    """
    return default_generator.get_state()


def set_rng_state(state):
    """Restore the default generator's state (from ``get_rng_state``)."""
    default_generator.set_state(state)


def _rng(generator):
    return (generator or default_generator)._rng


def _float_dtype(dtype):
    dt = _dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"random floats: dtype must be a floating point dtype, got {dt}")
    return dt


def rand(*size, generator=None, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1) (float32 by default).

    >>> bool((rand(3) < 1).all())
    True
    """
    dt = _float_dtype(dtype)
    shape = _shape_args(size)
    data = _rng(generator).random(shape, dtype=dt) if dt in (np.float32, np.float64) else \
        _rng(generator).random(shape).astype(dt)
    return _make(data, requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False):
    """Standard normal samples (float32 by default).

    >>> randn(2, 3).shape
    (2, 3)
    """
    dt = _float_dtype(dtype)
    shape = _shape_args(size)
    data = _rng(generator).standard_normal(shape, dtype=dt) if dt in (np.float32, np.float64) else \
        _rng(generator).standard_normal(shape).astype(dt)
    return _make(data, requires_grad)


def randint(low, high=None, size=(), *, generator=None, dtype=None, requires_grad=False):
    """Integers in [low, high) (int64 by default).

    >>> randint(0, 3, (4,)).dtype
    dtype('int64')
    """
    if high is None:
        low, high = 0, low
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return _make(_rng(generator).integers(low, high, size=size).astype(_dtype(dtype, np.int64)), requires_grad)


def randperm(n, *, generator=None, dtype=None, requires_grad=False):
    """A random permutation of ``0 .. n-1`` (int64 by default).

    >>> sorted(randperm(4).tolist())
    [0, 1, 2, 3]
    """
    return _make(_rng(generator).permutation(n).astype(_dtype(dtype, np.int64)), requires_grad)


def _shape_dtype_of(input):
    data = input.data if isinstance(input, Tensor) else np.asarray(input)
    return data.shape, data.dtype


def _like(fn):
    def like(input, dtype=None, requires_grad=False, **kw):
        shape, dt = _shape_dtype_of(input)
        return fn(*shape, dtype=dt if dtype is None else dtype, requires_grad=requires_grad, **kw)
    like.__name__ = fn.__name__ + "_like"
    like.__qualname__ = like.__name__
    like.__doc__ = (f"``{fn.__name__}`` with the shape (and by default the dtype) of ``input``.\n\n"
                    f">>> {fn.__name__}_like(zeros(2, 3)).shape\n(2, 3)\n")
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(input, fill_value, dtype=None, requires_grad=False):
    """``full`` with the shape (and by default the dtype) of ``input``.

    >>> full_like(zeros(2), 3.0)
    tensor([3., 3.])
    """
    shape, dt = _shape_dtype_of(input)
    return _make(np.full(shape, fill_value, dt if dtype is None else dtype), requires_grad)


def randint_like(input, low=0, high=None, dtype=None, requires_grad=False, generator=None):
    """``randint`` with the shape (and by default the dtype) of ``input``.

    >>> randint_like(zeros(3, dtype="int64"), 5).shape
    (3,)
    """
    shape, dt = _shape_dtype_of(input)
    if high is None:
        low, high = 0, low
    return randint(low, high, shape, generator=generator, dtype=dt if dtype is None else dtype,
                   requires_grad=requires_grad)


def stack(tensors, dim=0, *, axis=None):
    """Join Tensors along a new dimension ``dim``.

    >>> stack([ones(2), zeros(2)]).shape
    (2, 2)
    """
    from .ops.shape import stack as stack_
    return stack_(list(tensors), axis=dim if axis is None else axis)


def cat(tensors, dim=0, *, axis=None):
    """Join Tensors along an existing dimension ``dim``.

    >>> cat([ones(2), zeros(3)]).shape
    (5,)
    """
    from .ops.shape import concatenate
    return concatenate(list(tensors), axis=dim if axis is None else axis)


concat = cat
