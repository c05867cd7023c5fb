"""The Tensor face's always-on tape: level 0, below every transform.

Invariant: an operation on Tensors records a ``TapeNode`` (the same ``Node`` format the functional transforms
use, walked by the same ``backward_pass``) exactly when grad mode is on, the primitive is differentiable, its
output is floating point, and some input Tensor requires grad. Nodes save the input *Tensors* (so a
``create_graph`` backward can differentiate through them, and in-place changes are caught by version counters)
and the output's raw data (so a node never keeps its output Tensor alive).

Grad mode and anomaly mode are per thread.
"""
import threading
import traceback

from ..core.trace import Trace
from .reverse import Node


class _Modes(threading.local):
    def __init__(self):
        self.grad = True
        self.anomaly = False
        self.inference = False


modes = _Modes()


class TapeNode(Node):
    """A recorded Tensor operation. For a leaf (``prim is None``) ``tensor`` is the leaf Tensor itself."""

    __slots__ = ("versions", "tensor", "stack")

    def name(self):
        """PyTorch-style name: ``MulBackward0`` for a recorded op, ``AccumulateGrad`` for a leaf."""
        if self.prim is None:
            return "AccumulateGrad"
        return "".join(part.capitalize() for part in self.prim.name.split("_")) + "Backward0"

    @property
    def next_functions(self):
        out = []
        for p in self.parents:
            if p is None:
                out.append((None, 0))
            elif type(p) is tuple:
                out.append(p)
            else:
                out.append((p, 0))
        return tuple(out)

    def register_hook(self, fn):
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(fn)

    def __repr__(self):
        return f"<{self.name()}>"


def leaf_node(tensor):
    node = TapeNode(None, None, (), (), None)
    node.tensor = tensor
    node.versions = None
    node.stack = None
    return node


class TapeTrace(Trace):
    """The single level-0 trace. Its ``process`` is the whole of PyTorch-style eager autograd."""

    __slots__ = ()

    def __init__(self):
        self.level = 0
        self.alive = True
        self.transform = "Tensor"

    def process(self, prim, args, params):
        from ..tensor import Tensor, _wrap
        datas = []
        refs = []
        record = False
        for a in args:
            if isinstance(a, Tensor):
                datas.append(a.data)
                if a.requires_grad:
                    record = True
                    refs.append(a._graph_ref())
                else:
                    refs.append(None)
            else:
                datas.append(a)
                refs.append(None)
        record = record and modes.grad and not prim.nondiff
        if not record:
            out = prim.impl(*datas, **params)
            if prim.multiple_results:
                return [_wrap(o) for o in out]
            return _wrap(out)
        if prim.reverse_fwd is not None:
            from ..autograd import no_grad
            with no_grad():
                out, saved = prim.reverse_fwd(args, params)
            out = [o.data if isinstance(o, Tensor) else o for o in out] if prim.multiple_results else (
                out.data if isinstance(out, Tensor) else out)
        else:
            out = prim.impl(*datas, **params)
            saved = args
        node = TapeNode(prim, params, refs, saved, out)
        node.versions = tuple(a._version if isinstance(a, Tensor) else None for a in saved) \
            if saved is args else None
        node.stack = traceback.extract_stack()[:-4] if modes.anomaly else None
        if prim.multiple_results:
            return [_wrap(o, (node, i)) for i, o in enumerate(out)]
        return _wrap(out, node)


TAPE = TapeTrace()
