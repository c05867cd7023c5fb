"""Convolution and pooling primitives (channels-first, any number of spatial dimensions).

Invariant: arrays are laid out ``(N, C, *spatial)``; spatial parameters are tuples with one entry per spatial
dimension (``strides``, ``dilation``, ``window``) and ``padding`` is a tuple of ``(lo, hi)`` pairs. Windows are
strided *views* of the (padded) input and contractions are single matrix products, so no impl ever loops in Python
over positions or batch elements (see NOTE: [overlap-add] for the one loop there is, over kernel taps).

The primitives come in closed families, so every derivative rule is another member of the family and the rules
differentiate again to any order:

- ``conv_p(x, w[, b])``, ``conv_transpose_p(g, w)`` (the adjoint in ``x``, also the transposed convolution) and
  ``conv_weight_p(x, g)`` (the adjoint in ``w``). All are bilinear; each one's VJPs are the other two.
- ``max_pool_p(x)``, ``max_pool_gather_p(v, x)`` (``v`` read at the positions where ``x`` has its window maxima)
  and ``max_pool_scatter_p(g, x)`` (its adjoint in ``v``). The routing operand ``x`` gets no gradient (the
  routing is piecewise constant).
- ``window_sum_p(x)`` (sum over every window) and ``window_spread_p(g)`` (its adjoint: overlap-add).

NOTE: [channel-major convolution]
``conv_p`` forms its im2col matrix as ``(C * prod(K), N * prod(out))``: the innermost copied axis is then a
spatial row, so the copy out of the window view runs over long strided rows instead of 3-element kernel rows
(about 5x faster than the ``(N*out, C*K)`` order). The product ``w @ cols`` comes out as ``(O, N, *out)``, which
is returned as a transposed *view* ``(N, O, *out)``. Elementwise ops keep that memory order, so the next layer reads
it as cheaply again (pooling follows the layout of its input), and the backward products need no transposing copies.

NOTE: [overlap-add]
The adjoint of taking windows adds every window back at its place. It runs one strided slice-add per kernel tap
(``k_h * k_w`` whole-array operations, independent of image size and batch); the max-pool gradient likewise finds
each window's first maximum tap by tap. This measured faster than the loop-free alternatives tried (an
``as_strided`` view with negative tap strides summed over the taps: ~1.3x slower, with a 9x larger temporary;
a transposed convolution through im2col of the cotangent: ~1.2x slower), because NumPy's reductions over short
strided axes and scattered writes are slow while whole-array slice operations stream.
"""
import functools
import itertools
import threading
import weakref

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..core.primitive import SAVE_INPUTS, Primitive
from ..core.trace import Tracer
from ..interpreters.batching import move_to_front
from . import shape as S
from ._util import as_operand

__all__ = ["conv_general", "conv_transpose_general", "max_pool", "avg_pool", "conv_output_shape"]


def _prod(xs):
    n = 1
    for v in xs:
        n *= v
    return n


def conv_output_shape(spatial, kernel, strides, padding, dilation):
    """Output spatial shape of a convolution or pooling window sweep (PyTorch's floor formula).

    >>> conv_output_shape((28, 28), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1))
    (28, 28)
    """
    return tuple((n + lo + hi - d * (k - 1) - 1) // s + 1
                 for n, k, s, (lo, hi), d in zip(spatial, kernel, strides, padding, dilation))


# ---------------------------------------------------------------------------------------------------------
# Array helpers (raw arrays only: used inside impls)
# ---------------------------------------------------------------------------------------------------------

def _nopad(padding):
    return all(lo == 0 and hi == 0 for lo, hi in padding)


def _spatial_perm(nd, first):
    """Axes ``first`` then the rest in order (a permutation of ``range(nd)``)."""
    return tuple(first) + tuple(i for i in range(nd) if i not in first)


def _pad_to(x, padding, fill, lead_perm=None):
    """``x`` ``(A, B, *S)`` with its spatial axes padded by ``fill``; ``lead_perm=(1, 0)`` also swaps the two
    leading axes (the copy into the padded array does the transposition for free)."""
    r = x.ndim - 2
    perm = (lead_perm or (0, 1)) + tuple(range(2, 2 + r))
    xt = x.transpose(perm) if lead_perm else x
    if _nopad(padding):
        return xt
    shape = xt.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(xt.shape[2:], padding))
    out = np.full(shape, fill, dtype=x.dtype) if fill != 0 else np.zeros(shape, dtype=x.dtype)
    out[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for n, (lo, _) in zip(xt.shape[2:], padding))] = xt
    return out


def _strided(a, shape, strides, offset=0, writeable=False):
    """A view of ``a``'s memory with the given shape, byte strides and byte offset from ``a``'s first element.
    (``np.ndarray(buffer=...)`` is ~7x cheaper than ``as_strided``; it needs a contiguous ``a``.)"""
    if a.flags.c_contiguous:
        v = np.ndarray(shape, a.dtype, buffer=a, offset=offset, strides=strides)
        if not writeable:
            v.flags.writeable = False
        return v
    if offset:
        raise ValueError("_strided: an offset needs a contiguous array")
    return as_strided(a, shape, strides, writeable=writeable)


def _windows(a, n_lead, kernel, strides, dilation, out):
    """A read-only view of ``a`` ``(*lead, *Sp)`` as ``(*lead, *out, *kernel)``: ``[l, o, k] = a[l, o*s + k*d]``."""
    st = a.strides
    sp = st[n_lead:]
    shape = a.shape[:n_lead] + tuple(out) + tuple(kernel)
    strides_ = st[:n_lead] + tuple(t * s for t, s in zip(sp, strides)) + tuple(t * d for t, d in zip(sp, dilation))
    return _strided(a, shape, strides_)


def _im2col(x, kernel, strides, padding, dilation, out):
    """The channel-major im2col matrix ``(C * prod(kernel), N * prod(out))`` of ``x`` ``(N, C, *S)``."""
    n, c = x.shape[:2]
    r = len(kernel)
    xp = _pad_to(x, padding, 0, (1, 0))                          # (C, N, *Sp)
    win = _windows(xp, 2, kernel, strides, dilation, out)        # (C, N, *out, *K)
    perm = (0,) + tuple(range(2 + r, 2 + 2 * r)) + (1,) + tuple(range(2, 2 + r))
    return win.transpose(perm).reshape(c * _prod(kernel), n * _prod(out))


@functools.lru_cache(maxsize=256)
def _tap_slices(kernel, strides, dilation, out, n_pre=0):
    """Per kernel tap (C order), the index of the padded input that the tap reads across all windows (after
    ``n_pre`` full leading axes)."""
    pre = (slice(None),) * n_pre
    return tuple(pre + tuple(slice(t * d, t * d + (o - 1) * s + 1, s) for t, d, o, s in zip(taps, dilation, out,
                                                                                          strides))
                 for taps in itertools.product(*[range(k) for k in kernel]))


def _overlaps(kernel, strides, dilation):
    return any(s < (k - 1) * d + 1 for s, k, d in zip(strides, kernel, dilation))


def _overlap_add(cols, n_lead, kernel, strides, dilation, spatial):
    """The adjoint of taking windows (NOTE: [overlap-add]).

    ``cols`` is ``(*L, *K, *M, *out)`` (``n_lead`` axes L); returns ``(*L, *M, *spatial)`` with
    ``result[l, m, o*s + k*d] += cols[l, k, m, o]``. ``spatial`` is the padded input extent.
    """
    r = len(kernel)
    out = tuple(cols.shape[cols.ndim - r:])
    lead = cols.shape[:n_lead]
    mid = cols.shape[n_lead + r:cols.ndim - r]
    kp = _prod(kernel)
    taps = cols.reshape(lead + (kp,) + mid + out)
    if n_lead:
        taps = np.moveaxis(taps, n_lead, 0)
    res = np.zeros(lead + mid + tuple(spatial), cols.dtype)
    dsts = _tap_slices(tuple(kernel), tuple(strides), tuple(dilation), out, n_lead + len(mid))
    if _overlaps(kernel, strides, dilation):
        for k in range(kp):
            res[dsts[k]] += taps[k]
    else:
        for k in range(kp):
            res[dsts[k]] = taps[k]
    return res


def _crop(xp, padding, spatial):
    if _nopad(padding) and xp.shape[2:] == tuple(spatial):
        return xp
    return xp[(slice(None), slice(None)) + tuple(slice(lo, lo + n) for (lo, _), n in zip(padding, spatial))]


def _cn(x):
    """``(N, C, *S)`` -> ``(C, N, *S)`` (a view)."""
    return x.transpose((1, 0) + tuple(range(2, x.ndim)))


# ---------------------------------------------------------------------------------------------------------
# Convolution: conv_p, conv_transpose_p, conv_weight_p
# ---------------------------------------------------------------------------------------------------------

def _conv_impl(x, w, b=None, *, strides, padding, dilation, groups):
    return _conv_compute(x, w, b, strides, padding, dilation, groups)[0]


def _conv_compute(x, w, b, strides, padding, dilation, groups):
    """``(y, cols)``: the convolution and its im2col matrix (kept by reverse mode for the weight gradient)."""
    n = x.shape[0]
    o = w.shape[0]
    kernel = w.shape[2:]
    out = conv_output_shape(x.shape[2:], kernel, strides, padding, dilation)
    cols = _im2col(x, kernel, strides, padding, dilation, out)            # (C*Kp, N*P)
    if groups == 1:
        y = np.matmul(w.reshape(o, -1), cols)
    else:
        y = np.matmul(w.reshape(groups, o // groups, -1), cols.reshape(groups, -1, cols.shape[1]))
        y = y.reshape(o, -1)
    if b is not None:
        y += b.reshape(o, 1)
    return _cn(y.reshape((o, n) + out)), cols


_last_gm = threading.local()


def _g_matrix(g, groups):
    """The cotangent ``g`` ``(N, O, *P)`` as the channel-major matrix ``(G, O/G, N*P)``.

    Both gradients of a convolution need this matrix of the same ``g`` (one call after the other); when ``g`` is
    not channel-major in memory the copy is made once and reused for the second call."""
    n, o = g.shape[:2]
    cached = getattr(_last_gm, "entry", None)
    if cached is not None and cached[0]() is g and cached[1] == groups:
        return cached[2]
    cn = _cn(g)
    gm = np.ascontiguousarray(cn).reshape(groups, o // groups, -1)
    if not cn.flags.c_contiguous:
        _last_gm.entry = (weakref.ref(g), groups, gm)
    return gm


def _conv_transpose_impl(g, w, *, strides, padding, dilation, groups, in_spatial):
    n, o = g.shape[:2]
    out = g.shape[2:]
    kernel = w.shape[2:]
    c = w.shape[1] * groups
    gm = _g_matrix(g, groups)                                              # (G, O/G, N*P)
    wm = w.reshape(groups, o // groups, -1)                                # (G, O/G, C/G*Kp)
    cols = np.matmul(wm.transpose(0, 2, 1), gm)                            # (G, C/G*Kp, N*P)
    cols = cols.reshape((c,) + tuple(kernel) + (n,) + tuple(out))
    spatial = tuple(m + lo + hi for m, (lo, hi) in zip(in_spatial, padding))
    xp = _overlap_add(cols, 1, kernel, strides, dilation, spatial)         # (C, N, *Sp)
    return _crop(_cn(xp), padding, in_spatial)


def _conv_weight_impl(x, g, cols=None, *, strides, padding, dilation, groups, kernel):
    n, o = g.shape[:2]
    out = g.shape[2:]
    c = x.shape[1]
    if cols is None:
        cols = _im2col(x, kernel, strides, padding, dilation, out)        # (C*Kp, N*P)
    gm = _g_matrix(g, groups)                                              # (G, O/G, N*P)
    wbar = np.matmul(gm, cols.reshape(groups, -1, cols.shape[1]).transpose(0, 2, 1))
    return wbar.reshape((o, c // groups) + tuple(kernel))


conv_p = Primitive("conv", _conv_impl)
conv_transpose_p = Primitive("conv_transpose", _conv_transpose_impl)
conv_weight_p = Primitive("conv_weight", _conv_weight_impl)


def _shared(params):
    return {k: params[k] for k in ("strides", "padding", "dilation", "groups")}


def _bias_grad(g):
    from .reduction import sum as sum_
    return sum_(g, axis=(0,) + tuple(range(2, g.ndim)))


def _bias_term(b, out_shape):
    return S.broadcast_to(S.reshape(b, (out_shape[1],) + (1,) * (len(out_shape) - 2)), out_shape)


# NOTE: [residuals as hints]
# Under reverse mode, conv_p keeps its im2col matrix as an extra residual (``reverse_fwd``), so the weight gradient
# is one matrix product instead of a second im2col; max_pool_p passes its forward output to the pooling gradient,
# which then need not recompute the window maxima. Such a residual is only a hint: it goes to the gradient
# primitive as an extra operand that no rule differentiates, while every rule still reads the real inputs, so
# higher derivatives, batching and create_graph are unaffected. When the inputs are traced below reverse mode (or
# are Tensors being recorded), the im2col hint is None and conv_weight_p recomputes the matrix.

def _concrete(values):
    """The arrays behind ``values`` when none is traced (or a Tensor being recorded), plus whether any was a
    Tensor; ``(None, False)`` otherwise."""
    from ..interpreters.tape import modes
    from ..tensor import Tensor
    datas = []
    tensor = False
    for v in values:
        if isinstance(v, Tensor):
            if v.requires_grad and modes.grad:
                return None, False
            datas.append(v.data)
            tensor = True
        elif isinstance(v, Tracer):
            return None, False
        else:
            datas.append(v)
    return datas, tensor


def _conv_reverse_fwd(primals, params):
    primals = tuple(primals)
    datas, tensor = _concrete(primals)
    if datas is None:
        return conv_p.bind(*primals, **params), primals + (None,) * (4 - len(primals))
    y, cols = _conv_compute(*datas, *([None] * (3 - len(datas))), **params)
    if tensor:
        from ..tensor import _wrap
        y = _wrap(y)
    return y, primals + (None,) * (3 - len(primals)) + (cols,)


def _conv_vjp_w(g, out, x, w, b=None, cols=None, **p):
    if cols is None:
        return conv_weight_p.bind(x, g, kernel=tuple(w.shape[2:]), **p)
    return conv_weight_p.bind(x, g, cols, kernel=tuple(w.shape[2:]), **p)


# conv_p: y = conv(x, w) (+ b)
conv_p.vjp = (
    lambda g, out, x, w, b=None, cols=None, **p: conv_transpose_p.bind(g, w, in_spatial=tuple(x.shape[2:]), **p),
    _conv_vjp_w,
    lambda g, out, x, w, b=None, cols=None, **p: _bias_grad(g),
)
conv_p.reverse_fwd = _conv_reverse_fwd
conv_p.saves = SAVE_INPUTS


def _conv_jvp(primals, tangents, **p):
    x, w = primals[:2]
    out = conv_p.bind(*primals, **p)
    tx, tw = tangents[:2]
    t = None
    if tx is not None:
        t = conv_p.bind(tx, w, **p)
    if tw is not None:
        u = conv_p.bind(x, tw, **p)
        t = u if t is None else t + u
    if len(tangents) > 2 and tangents[2] is not None:
        u = _bias_term(tangents[2], out.shape)
        t = u if t is None else t + u
    return out, t


conv_p.jvp = _conv_jvp

# conv_transpose_p: x = conv(., w)^T g. <ct, T(g, w)> = <conv(ct, w), g> = <w, conv_weight(ct, g)>.
conv_transpose_p.vjp = (
    lambda ct, out, g, w, in_spatial, **p: conv_p.bind(ct, w, **p),
    lambda ct, out, g, w, in_spatial, **p: conv_weight_p.bind(ct, g, kernel=tuple(w.shape[2:]), **p),
)


def _bilinear_jvp(prim):
    def jvp(primals, tangents, **p):
        a, b = primals[:2]
        ta, tb = tangents[:2]
        out = prim.bind(a, b, **p)
        t = None if ta is None else prim.bind(ta, b, **p)
        if tb is not None:
            u = prim.bind(a, tb, **p)
            t = u if t is None else t + u
        return out, t
    return jvp


conv_transpose_p.jvp = _bilinear_jvp(conv_transpose_p)

# conv_weight_p: w = conv_weight(x, g). <ct, W(x, g)> = <conv(x, ct), g> = <x, conv_transpose(g, ct)>.
conv_weight_p.vjp = (
    lambda ct, out, x, g, cols=None, *, kernel, **p: conv_transpose_p.bind(g, ct, in_spatial=tuple(x.shape[2:]),
                                                                          **p),
    lambda ct, out, x, g, cols=None, *, kernel, **p: conv_p.bind(x, ct, **p),
    lambda ct, out, x, g, cols=None, *, kernel, **p: None,
)
conv_transpose_p.saves = SAVE_INPUTS
conv_weight_p.saves = SAVE_INPUTS
conv_weight_p.jvp = _bilinear_jvp(conv_weight_p)


# --- batch rules ---------------------------------------------------------------------------------------------
#
# A batch axis on the data operand alone folds into N (one big convolution). A batched weight uses the groups
# trick: the batch becomes B times as many groups, with batch-major channel blocks, so channel b*C + c of the
# folded input meets filter block b.

def _fold_n(x, size):
    """(B, N, ...) -> (B*N, ...)."""
    return S.reshape(x, (size * x.shape[1],) + tuple(x.shape[2:]))


def _unfold_n(y, size):
    return S.reshape(y, (size, y.shape[0] // size) + tuple(y.shape[1:]))


def _to_channels(x, size):
    """(B, N, C, ...) -> (N, B*C, ...)."""
    x = S.moveaxis(x, 0, 1)
    return S.reshape(x, (x.shape[0], size * x.shape[2]) + tuple(x.shape[3:]))


def _from_channels(y, size):
    """(N, B*C, ...) -> (N, B, C, ...), batched at axis 1."""
    return S.reshape(y, (y.shape[0], size, y.shape[1] // size) + tuple(y.shape[2:]))


def _stack_filters(w, size):
    """(B, O, ...) -> (B*O, ...)."""
    return S.reshape(w, (size * w.shape[1],) + tuple(w.shape[2:]))


def _conv_batch(size, vals, dims, **p):
    x, w = vals[:2]
    b = vals[2] if len(vals) > 2 else None
    dx, dw = dims[:2]
    db = dims[2] if len(dims) > 2 else None
    if dw is None and db is None:
        y = conv_p.bind(_fold_n(move_to_front(x, dx), size), w, *vals[2:], **p)
        return _unfold_n(y, size), 0
    x = _to_channels(move_to_front(x, dx, size), size)
    w = _stack_filters(move_to_front(w, dw, size), size)
    extra = ()
    if b is not None:
        extra = (S.reshape(move_to_front(b, db, size), (-1,)),)
    q = dict(p, groups=p["groups"] * size)
    return _from_channels(conv_p.bind(x, w, *extra, **q), size), 1


def _conv_transpose_batch(size, vals, dims, in_spatial, **p):
    g, w = vals
    dg, dw = dims
    if dw is None:
        y = conv_transpose_p.bind(_fold_n(move_to_front(g, dg), size), w, in_spatial=in_spatial, **p)
        return _unfold_n(y, size), 0
    g = _to_channels(move_to_front(g, dg, size), size)
    w = _stack_filters(move_to_front(w, dw, size), size)
    q = dict(p, groups=p["groups"] * size)
    return _from_channels(conv_transpose_p.bind(g, w, in_spatial=in_spatial, **q), size), 1


def _conv_weight_batch(size, vals, dims, kernel, **p):
    x, g = vals[:2]
    dx, dg = dims[:2]
    x = _to_channels(move_to_front(x, dx, size), size)
    g = _to_channels(move_to_front(g, dg, size), size)
    q = dict(p, groups=p["groups"] * size)
    wbar = conv_weight_p.bind(x, g, kernel=kernel, **q)             # (B*O, C/G, *K)
    return S.reshape(wbar, (size, wbar.shape[0] // size) + tuple(wbar.shape[1:])), 0


conv_p.batch = _conv_batch
conv_transpose_p.batch = _conv_transpose_batch
conv_weight_p.batch = _conv_weight_batch


# --- faces ---------------------------------------------------------------------------------------------------

def _tuple(v, r, name, op):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * r
    v = tuple(int(a) for a in v)
    if len(v) != r:
        raise ValueError(f"{op}: {name} must be an int or a tuple of {r} ints, got {v}")
    return v


def _padding(padding, r, kernel, dilation, strides, op):
    """``padding`` as ``((lo, hi), ...)``: an int, a tuple of ints (symmetric), of pairs, 'valid' or 'same'."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * r
        if padding == "same":
            if any(s != 1 for s in strides):
                raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                                 f"(strides {strides})")
            pads = []
            for k, d in zip(kernel, dilation):
                total = d * (k - 1)
                pads.append((total // 2, total - total // 2))
            return tuple(pads)
        raise ValueError(f"{op}: invalid padding string {padding!r}; use 'valid', 'same', an int or a tuple")
    if isinstance(padding, (int, np.integer)):
        p = int(padding)
        return ((p, p),) * r
    padding = tuple(padding)
    if len(padding) != r:
        raise ValueError(f"{op}: padding must have {r} entries (one per spatial dimension), got {padding}")
    out = []
    for p in padding:
        if isinstance(p, (int, np.integer)):
            out.append((int(p), int(p)))
        else:
            lo, hi = p
            out.append((int(lo), int(hi)))
    if any(lo < 0 or hi < 0 for lo, hi in out):
        raise ValueError(f"{op}: negative padding {padding} is not supported")
    return tuple(out)


def _result_dtype(*xs):
    dts = [x.dtype for x in xs if x is not None]
    dt = np.result_type(*dts)
    if not np.issubdtype(dt, np.inexact):
        dt = np.dtype(np.float64)
    return dt


def _cast(x, dt):
    if x is None or x.dtype == dt:
        return x
    from .elementwise import astype
    return astype(x, dt)


def _check_conv(op, x, w, groups, r, transposed=False):
    xs, ws = tuple(x.shape), tuple(w.shape)
    if len(xs) != r + 2:
        raise ValueError(f"{op}: expected input of shape (N, C, {', '.join('*' * r)}) with {r + 2} dimensions, "
                         f"got shape {xs}")
    if len(ws) != r + 2:
        raise ValueError(f"{op}: expected weight with {r + 2} dimensions, got shape {ws}")
    if groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer, got {groups}")
    if transposed:
        if xs[1] != ws[0]:
            raise ValueError(f"{op}: input has {xs[1]} channels but the weight {ws} expects {ws[0]} "
                             f"(weight layout (in_channels, out_channels/groups, *kernel))")
        if ws[0] % groups:
            raise ValueError(f"{op}: in_channels {ws[0]} is not divisible by groups={groups}")
    else:
        if ws[0] % groups:
            raise ValueError(f"{op}: out_channels {ws[0]} (weight shape {ws}) is not divisible by groups={groups}")
        if xs[1] != ws[1] * groups:
            raise ValueError(f"{op}: input of shape {xs} has {xs[1]} channels, but the weight of shape {ws} with "
                             f"groups={groups} expects {ws[1] * groups} channels")


def conv_general(x, w, b=None, strides=1, padding=0, dilation=1, groups=1, *, name="conv"):
    """N-d cross-correlation (what deep learning calls convolution) of ``x`` ``(N, C, *S)`` with filters ``w``
    ``(O, C/groups, *K)`` and optional bias ``b`` ``(O,)``.

    ``padding`` is an int, a tuple of ints or of ``(lo, hi)`` pairs, ``'valid'`` or ``'same'``.

    >>> import numpy as np
    >>> conv_general(np.ones((1, 1, 4, 4)), np.ones((2, 1, 3, 3)), padding=1)[0, 0]
    array([[4., 6., 6., 4.],
           [6., 9., 9., 6.],
           [6., 9., 9., 6.],
           [4., 6., 6., 4.]])
    """
    x, w = as_operand(x), as_operand(w)
    b = None if b is None else as_operand(b)
    r = len(w.shape) - 2
    _check_conv(name, x, w, groups, r)
    strides = _tuple(strides, r, "stride", name)
    dilation = _tuple(dilation, r, "dilation", name)
    kernel = tuple(w.shape[2:])
    padding = _padding(padding, r, kernel, dilation, strides, name)
    if b is not None and tuple(b.shape) != (w.shape[0],):
        raise ValueError(f"{name}: bias must have shape ({w.shape[0]},), got {tuple(b.shape)}")
    out = conv_output_shape(tuple(x.shape[2:]), kernel, strides, padding, dilation)
    if any(o < 1 for o in out):
        raise ValueError(f"{name}: input of spatial shape {tuple(x.shape[2:])} (padding {padding}) is smaller than "
                         f"the dilated kernel {tuple((k - 1) * d + 1 for k, d in zip(kernel, dilation))}")
    dt = _result_dtype(x, w, b)
    x, w, b = _cast(x, dt), _cast(w, dt), _cast(b, dt)
    args = (x, w) if b is None else (x, w, b)
    return conv_p.bind(*args, strides=strides, padding=padding, dilation=dilation, groups=int(groups))


def conv_transpose_general(x, w, b=None, strides=1, padding=0, output_padding=0, groups=1, dilation=1, *,
                           name="conv_transpose"):
    """N-d transposed convolution (the adjoint of ``conv_general`` in its input) of ``x`` ``(N, C_in, *S)`` with
    ``w`` ``(C_in, C_out/groups, *K)`` (PyTorch's layout), bias ``(C_out,)``. Output size per dimension:
    ``(S - 1) * stride - 2 * padding + dilation * (K - 1) + output_padding + 1``.

    >>> import numpy as np
    >>> conv_transpose_general(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), strides=2)[0, 0]
    array([[1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.],
           [1., 1., 1., 1.]])
    """
    x, w = as_operand(x), as_operand(w)
    b = None if b is None else as_operand(b)
    r = len(w.shape) - 2
    _check_conv(name, x, w, groups, r, transposed=True)
    strides = _tuple(strides, r, "stride", name)
    dilation = _tuple(dilation, r, "dilation", name)
    output_padding = _tuple(output_padding, r, "output_padding", name)
    kernel = tuple(w.shape[2:])
    if isinstance(padding, str):
        raise ValueError(f"{name}: string padding ({padding!r}) is not supported for transposed convolutions")
    padding = _padding(padding, r, kernel, dilation, strides, name)
    for op_, s, d in zip(output_padding, strides, dilation):
        if op_ >= max(s, d):
            raise ValueError(f"{name}: output_padding {output_padding} must be smaller than either stride "
                             f"{strides} or dilation {dilation}")
    in_spatial = tuple((n - 1) * s - lo - hi + d * (k - 1) + op_ + 1 for n, s, (lo, hi), d, k, op_
                       in zip(x.shape[2:], strides, padding, dilation, kernel, output_padding))
    if any(n < 1 for n in in_spatial):
        raise ValueError(f"{name}: the output size {in_spatial} would be empty")
    dt = _result_dtype(x, w, b)
    x, w, b = _cast(x, dt), _cast(w, dt), _cast(b, dt)
    y = conv_transpose_p.bind(x, w, strides=strides, padding=padding, dilation=dilation, groups=int(groups),
                              in_spatial=in_spatial)
    if b is not None:
        y = y + S.reshape(b, (-1,) + (1,) * r)
    return y


# ---------------------------------------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------------------------------------

def _lowest(dtype):
    if np.issubdtype(dtype, np.floating):
        return -np.inf
    if np.issubdtype(dtype, np.integer):
        return np.iinfo(dtype).min
    return False


def _channel_major(x):
    """Whether ``x`` ``(N, C, ...)`` is laid out channel-major in memory (as convolution outputs are)."""
    return x.ndim > 2 and x.shape[0] > 1 and x.shape[1] > 1 and x.strides[0] < x.strides[1]


def _tap_cols(x, window, strides, padding, dilation, fill, cm):
    """The windows of ``x`` ``(N, C, *S)`` (padded with ``fill``) as a tap-major contiguous array
    ``(prod(window), A, B, *out)`` with ``(A, B) = (C, N)`` when ``cm`` (channel-major) else ``(N, C)``."""
    r = len(window)
    xp = _pad_to(x, padding, fill, (1, 0) if cm else None)
    out = conv_output_shape(x.shape[2:], window, strides, padding, dilation)
    win = _windows(xp, 2, window, strides, dilation, out)              # (A, B, *out, *K)
    perm = tuple(range(2 + r, 2 + 2 * r)) + tuple(range(2 + r))
    cols = np.ascontiguousarray(win.transpose(perm))
    return cols.reshape((_prod(window),) + cols.shape[r:])


def _lead(y, cm):
    """A pooled ``(A, B, *out)`` array as the logical ``(N, C, *out)``."""
    return _cn(y) if cm else y


def _max_pool_impl(x, *, window, strides, padding, dilation):
    cm = _channel_major(x)
    return _lead(_tap_cols(x, window, strides, padding, dilation, _lowest(x.dtype), cm).max(axis=0), cm)


def _first_hits(x, out, window, strides, padding, dilation):
    """For each kernel tap, ``(slices, mask)``: the strided slice of the padded input the tap reads and where
    it holds the window's *first* maximum (the one PyTorch's gradient goes to; a NaN counts as the maximum).

    The masks are built tap by tap (a loop over the kernel's taps, each step a whole-array comparison),
    tracking which windows already found their maximum.
    """
    cm = _channel_major(x)
    xl = _cn(x) if cm else x
    ol = _cn(out) if cm else out
    xp = _pad_to(xl, padding, _lowest(x.dtype))
    nan = ol.dtype.kind == "f" and np.isnan(ol).any()
    sls = _tap_slices(window, strides, dilation, tuple(ol.shape[2:]), 2)
    taken = None
    for i, sl in enumerate(sls):
        xs = xp[sl]
        hit = xs == ol
        if nan:
            hit |= np.isnan(xs) & np.isnan(ol)
        if taken is None:
            taken = hit
        else:
            hit &= ~taken
            if i < len(sls) - 1:
                taken = taken | hit
        yield sl, hit


def _pool_out(x, out, p):
    return _max_pool_impl(x, **p) if out is None else out


def _gather_impl(v, x, out=None, *, window, strides, padding, dilation):
    p = dict(window=window, strides=strides, padding=padding, dilation=dilation)
    out = _pool_out(x, out, p)
    cm = _channel_major(x)
    vp = _pad_to(_cn(v) if cm else v, padding, 0)
    res = None
    for sl, hit in _first_hits(x, out, window, strides, padding, dilation):
        term = np.where(hit, vp[sl], np.zeros((), vp.dtype))
        res = term if res is None else res + term
    return _lead(res, cm)


def _scatter_impl(g, x, out=None, *, window, strides, padding, dilation):
    p = dict(window=window, strides=strides, padding=padding, dilation=dilation)
    out = _pool_out(x, out, p)
    cm = _channel_major(x)
    gl = _cn(g) if cm else g
    spatial = x.shape[2:]
    res = np.zeros(gl.shape[:2] + tuple(n + lo + hi for n, (lo, hi) in zip(spatial, padding)), g.dtype)
    finite = np.isfinite(gl).all()
    overlap = _overlaps(window, strides, dilation)
    for sl, hit in _first_hits(x, out, window, strides, padding, dilation):
        dst = res[sl]
        if not finite:
            dst += np.where(hit, gl, np.zeros((), gl.dtype))
        elif overlap:
            dst += gl * hit
        else:
            np.multiply(gl, hit, out=dst)     # a product: np.where branches per element and is ~10x slower
    return _crop(_lead(res, cm), padding, spatial)


max_pool_p = Primitive("max_pool", _max_pool_impl)
max_pool_gather_p = Primitive("max_pool_gather", _gather_impl)
max_pool_scatter_p = Primitive("max_pool_scatter", _scatter_impl)

# max_pool's VJP and JVP route through the first maximum of each window; the forward output is passed along as
# a hint (an operand no rule differentiates) so the window maxima are not recomputed.


def _max_pool_jvp(primals, tangents, **p):
    x, = primals
    out = max_pool_p.bind(x, **p)
    return out, max_pool_gather_p.bind(tangents[0], x, out, **p)


max_pool_p.jvp = _max_pool_jvp
max_pool_p.vjp = (lambda g, out, x, **p: max_pool_scatter_p.bind(g, x, out, **p),)


def _routed_jvp(prim):
    def jvp(primals, tangents, **p):
        out = prim.bind(*primals, **p)
        return out, None if tangents[0] is None else prim.bind(tangents[0], *primals[1:], **p)
    return jvp


max_pool_gather_p.jvp = _routed_jvp(max_pool_gather_p)
max_pool_scatter_p.jvp = _routed_jvp(max_pool_scatter_p)
max_pool_gather_p.vjp = (lambda g, out, v, x, hint=None, **p: max_pool_scatter_p.bind(g, x, hint, **p),
                         lambda g, out, v, x, hint=None, **p: None,
                         lambda g, out, v, x, hint=None, **p: None)
max_pool_scatter_p.vjp = (lambda g, out, v, x, hint=None, **p: max_pool_gather_p.bind(g, x, hint, **p),
                          lambda g, out, v, x, hint=None, **p: None,
                          lambda g, out, v, x, hint=None, **p: None)
max_pool_gather_p.saves = SAVE_INPUTS
max_pool_scatter_p.saves = SAVE_INPUTS


def _spread(cols, window, strides, padding, dilation, spatial, cm):
    """Overlap-add of tap-major ``cols`` ``(Kp, A, B, *out)`` back to the logical ``(N, C, *spatial)``."""
    cols = cols.reshape(tuple(window) + cols.shape[1:])
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(spatial, padding))
    xp = _lead(_overlap_add(cols, 0, window, strides, dilation, padded), cm)
    return _crop(xp, padding, spatial)


def _window_sum_impl(x, *, window, strides, padding, dilation):
    cm = _channel_major(x)
    return _lead(_tap_cols(x, window, strides, padding, dilation, 0, cm).sum(axis=0), cm)


def _window_spread_impl(g, *, window, strides, padding, dilation, in_spatial):
    cm = _channel_major(g)
    gl = _cn(g) if cm else g
    cols = np.broadcast_to(gl, (_prod(window),) + gl.shape)
    return _spread(cols, window, strides, padding, dilation, in_spatial, cm)


window_sum_p = Primitive("window_sum", _window_sum_impl)
window_spread_p = Primitive("window_spread", _window_spread_impl)
window_sum_p.jvp = lambda primals, tangents, **p: (window_sum_p.bind(primals[0], **p),
                                                   window_sum_p.bind(tangents[0], **p))
window_sum_p.vjp = (lambda g, out, x, **p: window_spread_p.bind(g, in_spatial=tuple(x.shape[2:]), **p),)
window_spread_p.jvp = lambda primals, tangents, **p: (window_spread_p.bind(primals[0], **p),
                                                      window_spread_p.bind(tangents[0], **p))
window_spread_p.vjp = (lambda g, out, x, in_spatial, **p: window_sum_p.bind(g, **p),)
window_sum_p.saves = window_spread_p.saves = 0     # linear: the VJPs read only shapes


def _fold_batch(prim, n_operands):
    """Batch rule for an op acting on ``(N, C, *S)`` operands with independent N: fold the batch into N (extra
    operands beyond ``n_operands``, residual hints, are dropped)."""
    def batch(size, vals, dims, **p):
        vals = [_fold_n(move_to_front(v, d, size), size) for v, d in zip(vals[:n_operands], dims[:n_operands])]
        return _unfold_n(prim.bind(*vals, **p), size), 0
    prim.batch = batch
    return prim


_fold_batch(max_pool_p, 1)
_fold_batch(max_pool_gather_p, 2)
_fold_batch(max_pool_scatter_p, 2)
_fold_batch(window_sum_p, 1)
_fold_batch(window_spread_p, 1)


def _pool_setup(name, x, window, strides, padding, dilation, ceil_mode):
    x = as_operand(x)
    shape = tuple(x.shape)
    window = tuple(int(k) for k in window)
    r = len(window)
    if len(shape) != r + 2:
        raise ValueError(f"{name}: expected input of shape (N, C, {', '.join('*' * r)}) with {r + 2} dimensions, "
                         f"got shape {shape}")
    strides = window if strides is None else _tuple(strides, r, "stride", name)
    dilation = _tuple(dilation, r, "dilation", name)
    padding = _padding(padding, r, window, dilation, strides, name)
    for (lo, hi), k in zip(padding, window):
        if lo > k // 2 or hi > k // 2:
            raise ValueError(f"{name}: padding {padding} should be at most half of the kernel size {window}")
    if any(k < 1 for k in window) or any(s < 1 for s in strides):
        raise ValueError(f"{name}: kernel size {window} and stride {strides} must be positive")
    if ceil_mode:
        pads = []
        for n, k, s, (lo, hi), d in zip(shape[2:], window, strides, padding, dilation):
            span = n + lo + hi - d * (k - 1) - 1
            out = -(-span // s) + 1
            if (out - 1) * s >= n + lo:        # the last window must start inside the input or left padding
                out -= 1
            pads.append((lo, max(hi, (out - 1) * s + d * (k - 1) + 1 - n - lo)))
        padding_eff = tuple(pads)
    else:
        padding_eff = padding
    out = conv_output_shape(shape[2:], window, strides, padding_eff, dilation)
    if any(o < 1 for o in out):
        raise ValueError(f"{name}: input of spatial shape {shape[2:]} is too small for kernel {window} "
                         f"(padding {padding}, dilation {dilation})")
    return x, window, strides, padding, padding_eff, dilation


def max_pool(x, window, strides=None, padding=0, dilation=1, ceil_mode=False):
    """Maximum over sliding windows of ``x`` ``(N, C, *S)``; the gradient goes to the first maximum of each window
    (as PyTorch's does). ``strides`` defaults to ``window``; padding counts as minus infinity.

    >>> import numpy as np
    >>> max_pool(np.arange(16.0).reshape(1, 1, 4, 4), (2, 2))[0, 0]
    array([[ 5.,  7.],
           [13., 15.]])
    """
    x, window, strides, _, padding, dilation = _pool_setup("max_pool", x, window, strides, padding, dilation,
                                                         ceil_mode)
    return max_pool_p.bind(x, window=window, strides=strides, padding=padding, dilation=dilation)


def avg_pool(x, window, strides=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Mean over sliding windows of ``x`` ``(N, C, *S)`` with PyTorch's divisor rules (``count_include_pad``,
    ``divisor_override``; windows that run past the padding in ``ceil_mode`` count only what they cover).

    >>> import numpy as np
    >>> avg_pool(np.arange(16.0).reshape(1, 1, 4, 4), (2, 2))[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x, window, strides, padding0, padding, dilation = _pool_setup("avg_pool", x, window, strides, padding, 1,
                                                                ceil_mode)
    s = window_sum_p.bind(x, window=window, strides=strides, padding=padding, dilation=dilation)
    if divisor_override is not None:
        return s / divisor_override
    spatial = tuple(x.shape[2:])
    if padding == padding0 and (count_include_pad or _nopad(padding0)):
        return s / _prod(window)
    # Per-window divisors: the window sum of a mask of the positions that count.
    region = np.zeros(tuple(n + lo + hi for n, (lo, hi) in zip(spatial, padding)), dtype=np.float64)
    if count_include_pad:
        region[tuple(slice(0, n + lo + hi) for n, (lo, hi) in zip(spatial, padding0))] = 1
    else:
        region[tuple(slice(lo, lo + n) for n, (lo, _) in zip(spatial, padding))] = 1
    out = conv_output_shape(spatial, window, strides, padding, dilation)
    counts = _windows(region, 0, window, strides, dilation, out).sum(axis=tuple(range(len(out), 2 * len(out))))
    dt = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.float64
    return s / counts.astype(dt)
