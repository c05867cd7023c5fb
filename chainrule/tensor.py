"""The PyTorch-style ``Tensor``: an array that records the operations applied to it.

Invariant: a Tensor is the level-0 tracer (``interpreters.tape``). Its ``data`` is a backend array; ``_ref`` is
the graph position of its value (None for a Tensor outside any graph; a leaf node for a leaf that requires grad,
created on first use; a recorded node, or ``(node, i)``, for a computed Tensor). In-place operations compute
out of place and then rebind ``data`` and ``_ref`` and bump ``_version``; nodes that saved the old Tensor
object detect the change at backward time.
"""
import numpy as np

from .core.primitive import Primitive, def_linear
from .core.trace import Tracer
from .interpreters.batching import def_vectorized
from .interpreters.tape import TAPE, TapeNode, leaf_node, modes

# clone(): a copy that stays in the graph.
copy_p = Primitive("copy", np.copy)
def_linear(copy_p, lambda g, x: g)
def_vectorized(copy_p)

__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace",
           "eye", "rand", "randn", "randint", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
           "randn_like", "manual_seed", "Generator", "stack", "cat", "is_tensor"]


class _Size(int):
    """``t.size`` is the element count (NumPy) and ``t.size()`` the shape (PyTorch); ``t.size(d)`` one dim."""

    def __new__(cls, shape):
        n = 1
        for d in shape:
            n *= d
        obj = super().__new__(cls, n)
        obj._shape = tuple(shape)
        return obj

    def __call__(self, dim=None):
        return self._shape if dim is None else self._shape[dim]


def _wrap(data, ref=None):
    t = Tensor.__new__(Tensor)
    t.data = data
    t.grad = None
    t._ref = ref
    t._requires_grad = ref is not None
    t._version = 0
    t._hooks = None
    return t


class Tensor(Tracer):
    """An array with PyTorch's autograd: ``requires_grad``, ``.backward()``, ``.grad``, hooks.

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4.])
    """

    __slots__ = ("data", "grad", "_ref", "_requires_grad", "_version", "_hooks", "__weakref__")
    _trace = TAPE

    def __init__(self, data, dtype=None, requires_grad=False):
        self.data = _to_array(data, dtype)
        self.grad = None
        self._ref = None
        self._requires_grad = False
        self._version = 0
        self._hooks = None
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
    def size(self):
        return _Size(self.data.shape)

    def numel(self):
        return int(np.prod(self.data.shape, dtype=np.int64))

    def dim(self):
        return self.data.ndim

    def concrete_value(self):
        return self.data

    def numpy(self):
        """The data as a NumPy array (shares memory; raises if the Tensor requires grad, as PyTorch does)."""
        if self._requires_grad and modes.grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() "
                               "instead.")
        return np.asarray(self.data)

    def item(self):
        if self.data.size != 1:
            raise RuntimeError(f"a Tensor with {self.data.size} elements cannot be converted to Scalar")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if self._requires_grad and modes.grad:
            raise RuntimeError("Can't convert a Tensor that requires grad to a NumPy array. Use "
                               "tensor.detach().numpy() instead.")
        return np.asarray(self.data, dtype=dtype)

    def __repr__(self):
        body = np.array2string(np.asarray(self.data), separator=", ", prefix="tensor(")
        extra = ""
        if self.data.dtype not in (np.float32, np.int64, np.bool_) and self.data.size:
            extra += f", dtype={self.data.dtype}"
        node = self.grad_fn
        if node is not None:
            extra += f", grad_fn=<{node.name()}>"
        elif self._requires_grad:
            extra += ", requires_grad=True"
        return f"tensor({body}{extra})"

    def __bool__(self):
        return bool(self.data)

    def __hash__(self):
        return id(self)

    # --- autograd state --------------------------------------------------------------------------------------
    @property
    def requires_grad(self):
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        """Set whether autograd records operations on this (leaf) Tensor; returns self."""
        if requires_grad and not np.issubdtype(self.data.dtype, np.inexact):
            raise RuntimeError(f"only Tensors of floating point and complex dtype can require gradients "
                               f"(this one has dtype {self.data.dtype})")
        if not requires_grad and not self.is_leaf:
            raise RuntimeError("you can only change requires_grad flags of leaf variables. If you want to use a "
                               "computed variable in a subgraph that doesn't require differentiation use "
                               "var_no_grad = var.detach().")
        self._requires_grad = bool(requires_grad)
        if not requires_grad:
            self._ref = None
        return self

    def _graph_ref(self):
        ref = self._ref
        if ref is None:
            ref = self._ref = leaf_node(self)
        return ref

    @property
    def is_leaf(self):
        ref = self._ref
        return ref is None or (type(ref) is TapeNode and ref.prim is None)

    @property
    def grad_fn(self):
        ref = self._ref
        if ref is None:
            return None
        node = ref[0] if type(ref) is tuple else ref
        return None if node.prim is None else node

    def retain_grad(self):
        """Keep this non-leaf Tensor's gradient in ``.grad`` after backward."""
        if self.is_leaf:
            return
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        import weakref
        me = weakref.ref(self)
        index = self._ref[1] if type(self._ref) is tuple else None

        def store(g):
            t = me()
            if t is not None:
                gi = g if index is None else g[index]
                gt = gi if isinstance(gi, Tensor) else _wrap(gi)
                t.grad = gt if t.grad is None else t.grad + gt
        store._retain = True
        self.grad_fn.register_hook(store)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this Tensor's gradient is computed; a non-None result replaces the gradient."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.is_leaf:
            if self._hooks is None:
                self._hooks = {"pre": [], "post": []}
            self._hooks["pre"].append(hook)
            return _Handle(self._hooks["pre"], hook)
        index = self._ref[1] if type(self._ref) is tuple else None

        def run(g):
            gi = g if index is None else g[index]
            new = hook(gi if isinstance(gi, Tensor) else _wrap(gi))
            if new is None:
                return None
            new = new.data if isinstance(new, Tensor) and not isinstance(gi, Tensor) else new
            if index is None:
                return new
            g = list(g)
            g[index] = new
            return g
        self.grad_fn.register_hook(run)
        return _Handle(self.grad_fn.hooks, run)

    def register_post_accumulate_grad_hook(self, hook):
        """On a leaf: call ``hook(tensor)`` after its ``.grad`` has been updated by backward."""
        if not self.is_leaf:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._hooks is None:
            self._hooks = {"pre": [], "post": []}
        self._hooks["post"].append(hook)
        return _Handle(self._hooks["post"], hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad`` (see ``chainrule.autograd.backward``)."""
        from .autograd import backward
        backward([self], None if gradient is None else [gradient], retain_graph, create_graph, inputs=inputs)

    def detach(self):
        """The same data, outside the graph."""
        return _wrap(self.data)

    def detach_(self):
        self._ref = None
        self._requires_grad = False
        return self

    def clone(self):
        """A copy that stays in the graph (its gradient flows back to ``self``)."""
        return copy_p.bind(self)

    # --- in-place operations ---------------------------------------------------------------------------------
    def _inplace(self, name, compute):
        recording = modes.grad
        if recording and self._requires_grad and self.is_leaf:
            raise RuntimeError(f"a leaf Variable that requires grad is being used in an in-place operation "
                               f"({name}).")
        old = _wrap(self.data, self._ref)
        old._requires_grad = self._requires_grad
        old._version = self._version
        new = compute(old)
        if not isinstance(new, Tensor):
            new = _wrap(new)
        data = new.data
        if data.dtype != self.data.dtype:
            if not np.can_cast(data.dtype, self.data.dtype, "same_kind"):
                raise RuntimeError(f"{name}: result type {data.dtype} can't be cast to the desired output type "
                                   f"{self.data.dtype}")
            new = new.to(self.data.dtype)
            data = new.data
        if data.shape != self.data.shape:
            raise RuntimeError(f"{name}: output with shape {tuple(self.data.shape)} doesn't match the broadcast "
                               f"shape {tuple(data.shape)}")
        self.data = data
        if recording and new._ref is not None:
            self._ref = new._ref
            self._requires_grad = True
        self._version += 1
        return self

    def __iadd__(self, other):
        return self._inplace("add_", lambda t: t + other)

    def __isub__(self, other):
        return self._inplace("sub_", lambda t: t - other)

    def __imul__(self, other):
        return self._inplace("mul_", lambda t: t * other)

    def __itruediv__(self, other):
        return self._inplace("div_", lambda t: t / other)

    def __setitem__(self, idx, value):
        from .ops.indexing import index_update
        self._inplace("setitem", lambda t: index_update(t, idx, value))

    def add_(self, other, alpha=1):
        return self._inplace("add_", lambda t: t + (other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha=1):
        return self._inplace("sub_", lambda t: t - (other if alpha == 1 else other * alpha))

    def mul_(self, other):
        return self._inplace("mul_", lambda t: t * other)

    def div_(self, other):
        return self._inplace("div_", lambda t: t / other)

    def zero_(self):
        """Fill with zeros, in place."""
        return self._inplace("zero_", lambda t: np.zeros_like(t.data))

    def fill_(self, value):
        """Fill with ``value``, in place."""
        return self._inplace("fill_", lambda t: np.full_like(t.data, value))

    def copy_(self, src):
        """Copy ``src`` into this Tensor, in place (differentiable with respect to ``src``)."""
        from .ops.shape import broadcast_to
        return self._inplace("copy_", lambda t: broadcast_to(src, self.shape) if isinstance(src, Tracer)
                             else np.broadcast_to(np.asarray(src, self.dtype), self.shape).copy())

    def clamp_(self, min=None, max=None):
        from .ops.elementwise import clip
        return self._inplace("clamp_", lambda t: clip(t, min, max))

    # --- conversions -----------------------------------------------------------------------------------------
    def to(self, *args, dtype=None, **kwargs):
        """Convert to a dtype (``t.to(cr.float64)``); device strings other than 'cpu' are not supported."""
        for a in args:
            if isinstance(a, str):
                if a != "cpu":
                    raise NotImplementedError(f"Tensor.to: device {a!r} is not supported (CPU only)")
            else:
                dtype = a
        if dtype is None:
            return self
        from .ops.elementwise import astype
        return astype(self, dtype)

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

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


class _Handle:
    """What ``register_hook`` returns: ``handle.remove()`` unregisters the hook."""

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def is_tensor(obj):
    return isinstance(obj, Tensor)


# ---------------------------------------------------------------------------------------------------------
# Construction
# ---------------------------------------------------------------------------------------------------------

def _contains_float(data):
    todo = [data]
    while todo:
        d = todo.pop()
        if isinstance(d, (list, tuple)):
            todo.extend(d)
        elif isinstance(d, float) or (isinstance(d, np.ndarray) and np.issubdtype(d.dtype, np.floating)):
            return True
    return False


def _to_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        return np.array(data, dtype=dtype)
    if isinstance(data, (np.ndarray, np.generic)):
        return np.array(data)
    # Python data: floats become float32 (PyTorch's default dtype); ints int64; bools bool; complex complex64.
    arr = np.array(data)
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.complex128:
        return arr.astype(np.complex64)
    return arr


def tensor(data, dtype=None, requires_grad=False):
    """A new Tensor holding a copy of ``data``. Python floats become float32; NumPy arrays keep their dtype.

    >>> tensor([1.0, 2.0]).dtype
    dtype('float32')
    """
    if isinstance(data, Tracer) and not isinstance(data, Tensor):
        raise TypeError("tensor(): cannot make a Tensor from a traced value inside a transform")
    return Tensor(data, dtype=dtype, requires_grad=requires_grad)


def as_tensor(data, dtype=None):
    """``data`` as a Tensor, without copying when it already is one of the right dtype."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return tensor(data, dtype)


def from_numpy(array):
    """A Tensor sharing memory with ``array``."""
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
        return tuple(size[0])
    return tuple(size)


def zeros(*size, dtype=None, requires_grad=False):
    """A Tensor of zeros (float32 by default).

    >>> zeros(2, 3).shape
    (2, 3)
    """
    return _make(np.zeros(_shape_args(size), _dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    """A Tensor of ones (float32 by default)."""
    return _make(np.ones(_shape_args(size), _dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    """An uninitialised Tensor (here: zeros, so nothing stale leaks)."""
    return zeros(*size, dtype=dtype, requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    """A Tensor filled with ``fill_value``."""
    if dtype is None:
        dtype = np.float32 if isinstance(fill_value, float) else np.asarray(fill_value).dtype
    return _make(np.full(tuple(size) if not isinstance(size, int) else (size,), fill_value, dtype), requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Values from ``start`` to ``end`` (exclusive); float32 if any bound is a float, else int64.

    >>> arange(3)
    tensor([0, 1, 2])
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        dtype = np.float32 if any(isinstance(v, float) for v in (start, end, step)) else np.int64
    return _make(np.arange(start, end, step, dtype=dtype), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    return _make(np.linspace(start, end, steps, dtype=_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """The identity matrix (n x m)."""
    return _make(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


class Generator:
    """A seedable random source for ``rand``/``randn``/``randint`` (wraps ``numpy.random.Generator``)."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)

    def manual_seed(self, seed):
        self._rng = np.random.default_rng(seed)
        return self


_default_generator = Generator(0)


def manual_seed(seed):
    """Seed the default generator used by ``rand``, ``randn``, ``randint`` and ``chainrule.nn.init``."""
    _default_generator.manual_seed(seed)
    return _default_generator


def _rng(generator):
    return (generator or _default_generator)._rng


def rand(*size, generator=None, dtype=None, requires_grad=False):
    """Uniform samples in [0, 1).

    >>> _ = manual_seed(0)
    >>> bool((rand(3) < 1).all())
    True
    """
    return _make(_rng(generator).random(_shape_args(size)).astype(_dtype(dtype)), requires_grad)


def randn(*size, generator=None, dtype=None, requires_grad=False):
    """Standard normal samples."""
    return _make(_rng(generator).standard_normal(_shape_args(size)).astype(_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), generator=None, dtype=None):
    """Integers in [low, high)."""
    if high is None:
        low, high = 0, low
    return _make(_rng(generator).integers(low, high, size=tuple(size)).astype(_dtype(dtype, np.int64)), False)


def _like(fn):
    def like(input, dtype=None, requires_grad=False, **kw):
        return fn(*np.shape(input.data if isinstance(input, Tensor) else input),
                  dtype=dtype if dtype is not None else np.asarray(
                      input.data if isinstance(input, Tensor) else input).dtype, requires_grad=requires_grad, **kw)
    like.__name__ = fn.__name__ + "_like"
    like.__doc__ = f"``{fn.__name__}`` with the shape (and by default the dtype) of ``input``."
    return like


zeros_like = _like(zeros)
ones_like = _like(ones)
empty_like = _like(empty)
rand_like = _like(rand)
randn_like = _like(randn)


def full_like(input, fill_value, dtype=None, requires_grad=False):
    """``full`` with the shape (and by default the dtype) of ``input``."""
    shape = np.shape(input.data if isinstance(input, Tensor) else input)
    dt = dtype if dtype is not None else np.asarray(input.data if isinstance(input, Tensor) else input).dtype
    return _make(np.full(shape, fill_value, dt), requires_grad)


def stack(tensors, dim=0):
    """Join Tensors along a new dimension."""
    from .ops.shape import stack as stack_
    return stack_(tensors, axis=dim)


def cat(tensors, dim=0):
    """Join Tensors along an existing dimension."""
    from .ops.shape import concatenate
    return concatenate(tensors, axis=dim)
