"""PyTorch-style utilities: ``checkpoint`` (recompute a segment in the backward pass instead of storing it).

Invariant: a checkpointed segment leaves exactly one node on the tape, whose inputs are every Tensor requiring
grad that the segment read (its arguments *and* Tensors it closes over, such as a layer's parameters) and whose
saved values are those inputs only. Its VJP runs the segment again with recording on, from fresh leaves standing
in for those inputs, and backpropagates through the recomputation to them.

NOTE: [checkpoint on the tape]
The forward pass runs in "collect" mode (``tape.modes.collect``): operations evaluate without recording, and
every graph input they read is noted, which is how closed-over parameters become inputs of the node and receive
their gradients through the normal backward pass (``backward()`` and ``autograd.grad`` alike). During the
recomputation each input's ``_ref`` is swapped for a fresh leaf so the nested backward pass stops there. With
``create_graph=True`` those fresh leaves are afterwards turned into identity nodes pointing at the real inputs,
so the returned gradients stay connected to them and can be differentiated again. Under the functional
transforms (or with plain arrays) the work is done by ``chainrule.custom.checkpoint``.
"""
from .core.primitive import SAVE_INPUTS, Primitive
from .core.trace import Tracer
from .core.tree import tree_flatten, tree_unflatten
from .interpreters.tape import TapeNode, modes, set_collect
from .tensor import Tensor, _wrap, copy_p, default_generator

__all__ = ["checkpoint", "checkpoint_sequential"]


def _no_impl(*args, **params):
    raise RuntimeError("the checkpoint node is created by chainrule.utils.checkpoint, never bound")


checkpoint_p = Primitive("checkpoint", _no_impl, multiple_results=True)
checkpoint_p.saves = SAVE_INPUTS


class _Segment:
    """The recorded parameters of one checkpointed call (identity-hashed)."""

    def __init__(self, function, args, kwargs, rng_state, out_tree, tensor_positions):
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.rng_state = rng_state
        self.out_tree = out_tree
        self.tensor_positions = tensor_positions


def checkpoint(function, *args, use_reentrant=None, preserve_rng_state=True, **kwargs):
    """``function(*args, **kwargs)``, storing only its inputs: its intermediates are recomputed during the
    backward pass (memory for time). Gradients reach the arguments and any Tensor the function closes over.

    ``preserve_rng_state`` replays the default generator's state during the recomputation, so random draws
    (dropout) come out the same. ``use_reentrant`` is accepted for compatibility and ignored.

    >>> import numpy as np, chainrule as cr
    >>> w = cr.tensor([2.0], requires_grad=True)
    >>> x = cr.tensor([0.5], requires_grad=True)
    >>> y = checkpoint(lambda x: (x * w).sin() * w, x)   # w is closed over: it gets its gradient too
    >>> y.sum().backward()
    >>> bool(np.allclose(x.grad.numpy(), np.cos(1.0) * 4)), bool(np.allclose(w.grad.numpy(), np.cos(1.0) + np.sin(1.0)))
    (True, True)
    """
    leaves = tree_flatten((args, kwargs))[0]
    if any(isinstance(a, Tracer) and not isinstance(a, Tensor) for a in leaves):
        from .autograd import _strip, _wrap_in
        from .core.tree import tree_map
        from .custom import checkpoint as functional_checkpoint

        def segment(*a):
            # The functional checkpoint hands the function raw arrays when it evaluates below every transform:
            # give it Tensors (whose methods it may use) and return arrays.
            return tree_map(_strip, function(*tree_map(_wrap_in, a), **kwargs))
        return functional_checkpoint(segment)(*args)
    if not modes.grad or modes.collect is not None:
        # Nothing is recorded, or we are inside another checkpoint's forward pass (which collects for us).
        return function(*args, **kwargs)
    rng_state = default_generator.get_state() if preserve_rng_state else None
    collected = []
    set_collect(collected)
    try:
        out = function(*args, **kwargs)
    finally:
        set_collect(None)
    inputs = []
    seen = set()
    for t in [a for a in leaves if isinstance(a, Tensor) and a._ref is not None] + collected:
        if id(t) not in seen:
            seen.add(id(t))
            inputs.append(t)
    out_leaves, out_tree = tree_flatten(out)
    positions = [i for i, o in enumerate(out_leaves) if isinstance(o, Tensor) and o.dtype.kind in "fc"]
    if not inputs or not positions:
        return out
    segment = _Segment(function, args, kwargs, rng_state, out_tree, positions)
    node = TapeNode(checkpoint_p, {"segment": segment}, [t._ref for t in inputs], tuple(inputs),
                    [out_leaves[i].data for i in positions])
    node.saved = tuple(inputs)
    node.stack = None
    for k, i in enumerate(positions):
        out_leaves[i] = _wrap(out_leaves[i].data, (node, k))
    return tree_unflatten(out_tree, out_leaves)


def _checkpoint_vjp(g, out, *inputs, segment):
    from .autograd import _run
    create_graph = modes.grad
    fresh = []
    originals = []
    for t in inputs:
        f = TapeNode(None, None, (), (), None)
        f.tensor = None
        f.saved = None
        f.stack = None
        f.post_hooks = None
        fresh.append(f)
        originals.append(t._ref)
    current_rng = default_generator.get_state() if segment.rng_state is not None else None
    for t, f in zip(inputs, fresh):
        t._ref = f
    try:
        if segment.rng_state is not None:
            default_generator.set_state(segment.rng_state)
        prev = modes.grad
        modes.grad = True
        try:
            again = segment.function(*segment.args, **segment.kwargs)
        finally:
            modes.grad = prev
    finally:
        for t, r in zip(inputs, originals):
            t._ref = r
        if current_rng is not None:
            default_generator.set_state(current_rng)
    again = tree_flatten(again)[0]
    seeds = []
    for k, i in enumerate(segment.tensor_positions):
        o = again[i]
        if g[k] is not None and isinstance(o, Tensor) and o._ref is not None:
            seeds.append((o._ref, g[k]))
    res = _run(seeds, retain_graph=create_graph, create_graph=create_graph, leaf_hook=_ignore,
               capture=set(fresh)) if seeds else {}
    if create_graph:
        for f, t, r in zip(fresh, inputs, originals):
            f.prim = copy_p
            f.params = {}
            f.parents = [r]
            f.primals = (t.data,)
            f.out = t.data
    return [res.get(f) for f in fresh]


def _ignore(node, g):
    return None


checkpoint_p.vjp = _checkpoint_vjp


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run ``functions`` (callables or a module with children) one after another, checkpointing them in
    ``segments`` groups (the last group runs normally, as in PyTorch).

    >>> import chainrule as cr
    >>> x = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> y = checkpoint_sequential([lambda t: t * 2, lambda t: t.exp(), lambda t: t.sum()], 2, x)
    >>> y.backward()
    >>> bool(cr.numpy.allclose(x.grad.numpy(), 2 * cr.numpy.exp(2 * x.detach().numpy())))
    True
    """
    if hasattr(functions, "children") and callable(functions.children):
        functions = list(functions.children())
    functions = list(functions)
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be at least 1, got {segments}")
    per = max(1, len(functions) // segments)

    def run(fs):
        def seg(x):
            for f in fs:
                x = f(x)
            return x
        return seg

    end = 0
    for start in range(0, per * (segments - 1), per):
        end = start + per
        input = checkpoint(run(functions[start:end]), input, **kwargs)
    return run(functions[end:])(input)
