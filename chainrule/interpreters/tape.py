"""The Tensor face's always-on tape: level 0, below every transform.

Invariant: an operation on Tensors records a ``TapeNode`` (the same ``Node`` format the functional transforms
use, walked by the same ``backward_pass``) exactly when grad mode is on, the primitive is differentiable and some
input Tensor requires grad (has a graph reference, ``_ref``). A node keeps what the primitive's VJP reads
(``Primitive.saves``): the raw input arrays in ``primals`` plus the input *Tensors* in ``saved`` (so a
``create_graph`` backward can differentiate through them and in-place changes are caught), and the output's raw
array (never the output Tensor, so a node does not keep its own output alive). What the VJP does not read is
replaced by an ``Aval`` once it is large (``reverse.DROP_THRESHOLD``), as reverse mode does.

Grad mode and anomaly mode are per thread.

NOTE: [in-place detection by node keys]
PyTorch stores, per saved tensor, the version it had when saved, and compares at backward time. Here node keys
already order every node by creation time, so an in-place operation stamps the Tensor it modifies with a fresh
key (``Tensor._stamp``) and bumps ``Tensor._version``. A saved Tensor was modified after the node saved it exactly
when ``_version`` is non-zero and its stamp is newer (smaller) than the node's key. Recording therefore stores
nothing per input for the check, and the check itself is skipped for every node created after the most recent
in-place operation anywhere (``last_inplace``): in a training loop whose in-place updates happen between
iterations, no node is ever checked one input at a time.
"""
import os
import threading
import traceback
import weakref

from numpy import ndarray

from ..core.primitive import Aval, SAVE_INPUTS, SAVE_OUT
from ..core.trace import Trace
from . import reverse as _reverse
from .reverse import Node, _keys

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Modes(threading.local):
    """Per-thread switches: grad mode, anomaly mode, inference mode, and whether ``.grad`` is being filled."""

    def __init__(self):
        self.grad = True
        self.anomaly = False
        self.inference = False
        self.accumulate = False
        self.collect = None     # a list while chainrule.utils.checkpoint runs its forward pass
        self.extra = False      # anomaly or collect: the one flag the recording hot path reads


modes = _Modes()

# Key of the most recent in-place operation on a Tensor (keys decrease: 1 is "never").
last_inplace = 1

# Primitives whose ``impl`` runs user code (custom_vjp, custom_jvp, checkpoint, Function): evaluated without
# recording, they receive the Tensors themselves rather than raw arrays, so user code can call Tensor methods.
call_prims = set()

# PyTorch's names for the grad_fn of common operations (``MulBackward0`` rather than ``MultiplyBackward0``).
_TORCH_NAMES = {"multiply": "Mul", "subtract": "Sub", "divide": "Div", "negative": "Neg", "power": "Pow",
                "integer_pow": "Pow", "absolute": "Abs", "broadcast_to": "Expand", "getitem": "Index",
                "astype": "ToCopy", "copy": "Clone", "concatenate": "Cat", "reshape": "View",
                "transpose": "Permute", "maximum": "Maximum", "minimum": "Minimum", "where": "Where",
                "clip": "Clamp", "index_update": "IndexPut", "index_add": "IndexPut", "reduce_sum": "Sum"}


class TapeNode(Node):
    """A recorded Tensor operation, or a leaf (``prim is None``; ``tensor`` is a weak reference to the leaf).

    ``saved`` holds the input Tensors for ops whose VJP reads its inputs (None otherwise); ``post_hooks`` the
    leaf's post-accumulate hooks; ``stack`` where the op was created (anomaly mode only).
    """

    __slots__ = ("saved", "tensor", "stack", "post_hooks")

    def name(self):
        """PyTorch-style name: ``MulBackward0`` for a recorded op, ``AccumulateGrad`` for a leaf."""
        prim = self.prim
        if prim is None:
            return "AccumulateGrad"
        custom = getattr(self.params.get("spec"), "name", None) if self.params else None
        if custom is not None:
            return custom
        base = _TORCH_NAMES.get(prim.name)
        if base is None:
            base = "".join(part.capitalize() for part in prim.name.split("_"))
        return base + "Backward0"

    @property
    def next_functions(self):
        """``((node, output_index), ...)`` per input, ``(None, 0)`` for inputs outside the graph."""
        out = []
        for p in self.parents:
            if p is None:
                out.append((None, 0))
            elif type(p) is tuple:
                out.append(p)
            else:
                out.append((p, 0))
        return tuple(out)

    @property
    def variable(self):
        """For a leaf (``AccumulateGrad``): the leaf Tensor."""
        return None if self.prim is not None or self.tensor is None else self.tensor()

    def register_hook(self, fn):
        """Call ``fn(grad_output)`` when this node's output gradient is computed (a non-None result replaces it).

        ``grad_output`` is a raw array in an ordinary backward and a Tensor under ``create_graph=True``; for a
        node with several outputs it is the list of their gradients.
        """
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)
        return _NodeHandle(self, fn)

    def __repr__(self):
        return f"<{self.name()}>"


class _NodeHandle:
    __slots__ = ("node", "fn")

    def __init__(self, node, fn):
        self.node, self.fn = node, fn

    def remove(self):
        hooks = self.node.hooks
        if hooks and self.fn in hooks:
            hooks.remove(self.fn)


def leaf_node(tensor):
    """The graph position of a leaf Tensor that requires grad (``AccumulateGrad``)."""
    node = TapeNode(None, None, (), (), None)
    node.tensor = weakref.ref(tensor)
    node.saved = None
    node.stack = None
    node.post_hooks = None
    return node


def user_stack():
    """The current call stack without chainrule's own frames at its end: where the user created an op."""
    stack = traceback.extract_stack()
    end = len(stack)
    while end > 1 and (stack[end - 1].filename.startswith(_PACKAGE_DIR)
                       or stack[end - 1].filename.startswith("<frozen")):
        end -= 1
    return stack[:end]


def _drop(d, limit):
    if type(d) is ndarray and d.size > limit:
        return Aval(d.shape, d.dtype)
    return d


def _dropped(values, limit):
    """``values`` with the arrays larger than ``limit`` elements replaced by Avals (the same list if none is)."""
    for d in values:
        if type(d) is ndarray and d.size > limit:
            return [_drop(v, limit) for v in values]
    return values


_new = object.__new__


def record(prim, args, datas, params):
    """Evaluate ``prim`` on ``datas`` (the raw values of ``args``) and record a node; returns the output Tensor(s).

    The caller has established that grad mode is on, ``prim`` is differentiable and some Tensor in ``args``
    requires grad. Fast paths (Tensor methods) call this directly, skipping ``bind`` and ``process``.

    NOTE: [building nodes by hand]
    This is the hottest function of the Tensor face, so it fills a ``TapeNode``'s slots itself rather than
    calling ``Node.__init__``: every slot that ``backward_pass`` reads (prim, params, parents, primals, out, key,
    hooks) is set here, with ``key`` drawn from the same counter. A slot added to ``Node`` must be added here.
    """
    if modes.extra:
        if modes.collect is not None:
            # A checkpointed segment's forward pass: note the graph inputs it reads, record nothing.
            modes.collect.extend(a for a in args if isinstance(a, _Tensor) and a._ref is not None)
            return evaluate(prim, args, datas, params)
        stack = user_stack()
    else:
        stack = None
    if prim.reverse_fwd is not None:
        return _record_custom(prim, args, params, stack)
    Tensor = _Tensor
    out = prim.impl(*datas, **params)
    saves = prim.saves
    limit = _reverse.DROP_THRESHOLD
    if saves & SAVE_INPUTS:
        primals, saved = datas, args
    else:
        primals, saved = _dropped(datas, limit), None
    if saves & SAVE_OUT:
        kept = out
    elif prim.multiple_results:
        kept = _dropped(out, limit)
    elif type(out) is ndarray and out.size > limit:
        kept = Aval(out.shape, out.dtype)
    else:
        kept = out
    n = len(args)
    if n == 1:
        parents = [args[0]._ref]    # the one argument is the Tensor that requires grad
    elif n == 2:
        a, b = args
        parents = [a._ref if isinstance(a, Tensor) else None, b._ref if isinstance(b, Tensor) else None]
    else:
        parents = [a._ref if isinstance(a, Tensor) else None for a in args]
    node = _new(TapeNode)
    node.prim = prim
    node.params = params
    node.parents = parents
    node.primals = primals
    node.out = kept
    node.key = next(_keys)
    node.hooks = None
    node.saved = saved
    node.stack = stack
    if prim.multiple_results:
        return [_wrap(o, (node, i)) for i, o in enumerate(out)]
    t = _new(Tensor)
    t.data = out
    t.grad = None
    t._ref = node
    t._version = 0
    return t


def _record_custom(prim, args, params, stack):
    """Record a primitive with a ``reverse_fwd`` rule (custom_vjp, checkpoint, Function): it runs without
    recording and returns the residuals its VJP will receive."""
    Tensor = _Tensor
    prev = modes.grad
    modes.grad = False
    try:
        out, primals = prim.reverse_fwd(list(args), params)
    finally:
        modes.grad = prev
    if prim.multiple_results:
        out = [o.data if isinstance(o, Tensor) else o for o in out]
    elif isinstance(out, Tensor):
        out = out.data
    node = TapeNode(prim, params, [a._ref if isinstance(a, Tensor) else None for a in args], primals, out)
    node.saved = None
    node.stack = stack
    if prim.multiple_results:
        return [_wrap(o, (node, i)) for i, o in enumerate(out)]
    return _wrap(out, node)


def set_anomaly(flag):
    """Turn anomaly mode on or off in this thread (``autograd.detect_anomaly`` and friends call this)."""
    modes.anomaly = bool(flag)
    modes.extra = modes.anomaly or modes.collect is not None


def set_collect(collected):
    """Start (a list) or stop (None) collecting graph inputs instead of recording (``utils.checkpoint``)."""
    modes.collect = collected
    modes.extra = modes.anomaly or collected is not None


class TapeTrace(Trace):
    """The single level-0 trace. Its ``process`` is the whole of PyTorch-style eager autograd."""

    __slots__ = ()

    def __init__(self):
        self.level = 0
        self.alive = True
        self.transform = "Tensor"

    def process(self, prim, args, params):
        Tensor = _Tensor
        datas = []
        needs = False
        for a in args:
            if isinstance(a, Tensor):
                datas.append(a.data)
                if a._ref is not None:
                    needs = True
            else:
                datas.append(a)
        if needs and modes.grad and not prim.nondiff:
            return record(prim, args, datas, params)
        return evaluate(prim, args, datas, params)


def evaluate(prim, args, datas, params):
    """Evaluate ``prim`` without recording; the output Tensor(s) do not require grad."""
    if prim in call_prims:
        # User code inside: let it see Tensors (it records nothing unless it closes over a Tensor that requires
        # grad, which is then recorded as it should be).
        Tensor = _Tensor
        out = prim.impl(*args, **params)
        return [o if isinstance(o, Tensor) else _wrap(o) for o in out] if prim.multiple_results else (
            out if isinstance(out, Tensor) else _wrap(out))
    out = prim.impl(*datas, **params)
    if prim.multiple_results:
        return [_wrap(o) for o in out]
    return _wrap(out)


TAPE = TapeTrace()

_Tensor = None   # chainrule.tensor.Tensor and its constructor, filled in by chainrule.tensor (import order)
_wrap = None


def _bind_tensor(tensor_cls, wrap):
    global _Tensor, _wrap
    _Tensor, _wrap = tensor_cls, wrap
