"""Linear algebra: the ``matmul`` and ``einsum`` primitives, and dot, tensordot, inner, outer, vdot, trace,
diagonal and diag built on them and on the shape/indexing primitives.

Invariants of the two primitives (their faces establish them; their rules rely on them and preserve them):

- ``matmul_p(a, b)``: both operands have rank >= 2, one dtype, and identical batch (leading) dimensions. The face
  promotes 1-D operands to 2-D and broadcasts the batch dimensions explicitly, so no rule has to un-broadcast.
- ``einsum_p(*operands, subscripts, optimize)``: ``subscripts`` is a *clean* spec, ``"ab,bc->ac"``: explicit
  output, letters only (no ``...``), each letter at most once per operand and once in the output, one size per
  letter across the operands (no size-1 broadcasting), and every letter of an operand also in the output or in
  another operand. At least two operands, of one dtype when traced. The face reduces NumPy's general subscripts to
  this form with differentiable ops (see NOTE: [einsum reduction]).
"""
import functools
import string

import numpy as np

from ..core.primitive import SAVE_INPUTS, Primitive
from ..core.trace import Tracer
from ..interpreters.batching import move_to_front
from . import shape as S
from ._util import as_operand, dtype_of, normalize_axis, shape_of

__all__ = ["matmul", "einsum", "dot", "tensordot", "inner", "outer", "vdot", "trace", "diagonal", "diag"]


def _astype(x, dtype):
    from .elementwise import astype
    return astype(x, dtype)


def _sum(x, axis):
    from .reduction import sum as sum_
    return sum_(x, axis=axis)


def _any_traced(*xs):
    return any(isinstance(x, Tracer) for x in xs)


def _raw(x):
    """A raw (untraced) operand as an array, so Python scalars promote like NumPy arrays do."""
    x = as_operand(x)
    return x if isinstance(x, Tracer) else np.asarray(x)


# ---------------------------------------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------------------------------------

def _swap(x):
    return S.swapaxes(x, -1, -2)


matmul_p = Primitive("matmul", np.matmul)


def _matmul_jvp(primals, tangents):
    a, b = primals
    ta, tb = tangents
    out = matmul_p.bind(a, b)
    t = None if ta is None else matmul_p.bind(ta, b)
    if tb is not None:
        tb = matmul_p.bind(a, tb)
        t = tb if t is None else t + tb
    return out, t


matmul_p.jvp = _matmul_jvp
matmul_p.vjp = (lambda g, out, a, b: matmul_p.bind(g, _swap(b)),
                lambda g, out, a, b: matmul_p.bind(_swap(a), g))
matmul_p.saves = SAVE_INPUTS


def _matmul_batch(size, vals, dims):
    """Batch rule. Logical operands are ``(*batch, m, k)`` and ``(*batch, k, n)`` with one ``batch`` (the
    invariant), so the logical rank ``r`` is the same for both.

    - Both mapped: move both batch axes to the front; the result is batched at axis 0.
    - Only ``a`` mapped: fold the batch axis into the rows, ``(*batch, size*m, k) @ (*batch, k, n)``, so the
      whole batch is one matrix product (the common ``vmap(lambda x: x @ W)`` case costs one GEMM).
    - Only ``b`` mapped: fold it into the columns, ``(*batch, m, k) @ (*batch, k, size*n)``.
    """
    a, b = vals
    da, db = dims
    if da is not None and db is not None:
        return matmul_p.bind(move_to_front(a, da), move_to_front(b, db)), 0
    if db is None:
        r = a.ndim - 1
        a = S.moveaxis(a, da, r - 2)                      # (*batch, size, m, k)
        lead, (m, k) = tuple(a.shape[:r - 2]), a.shape[r - 1:]
        out = matmul_p.bind(S.reshape(a, lead + (size * m, k)), b)
        return S.reshape(out, lead + (size, m, out.shape[-1])), r - 2
    r = b.ndim - 1
    b = S.moveaxis(b, db, r - 1)                          # (*batch, k, size, n)
    lead, k, n = tuple(b.shape[:r - 2]), b.shape[r - 2], b.shape[r]
    out = matmul_p.bind(a, S.reshape(b, lead + (k, size * n)))
    return S.reshape(out, lead + (out.shape[-2], size, n)), r - 1


matmul_p.batch = _matmul_batch


def _matmul_batch_shape(sa, sb):
    """The broadcast batch shape of matmul operands of shapes ``sa`` and ``sb``; a ValueError naming both shapes
    when they do not fit together."""
    if not sa or not sb:
        raise ValueError(f"matmul: input operand does not have enough dimensions (shapes {sa} and {sb}); "
                         f"use multiply for scalars")
    k_b, where = (sb[0], "only") if len(sb) == 1 else (sb[-2], "second-to-last")
    if sa[-1] != k_b:
        raise ValueError(f"matmul: shapes {sa} and {sb} are not aligned: {sa[-1]} (last dim of the first) != "
                         f"{k_b} ({where} dim of the second)")
    try:
        return np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ValueError(f"matmul: batch dimensions of shapes {sa} and {sb} cannot be broadcast together") from None


def matmul(a, b):
    """Matrix product with NumPy's rules (1-D operands promoted, batch dimensions broadcast).

    >>> import numpy as np
    >>> matmul(np.ones((2, 3)), np.ones(3))
    array([3., 3.])
    """
    a, b = as_operand(a), as_operand(b)
    if not _any_traced(a, b):
        try:
            return np.matmul(a, b)
        except ValueError:
            _matmul_batch_shape(np.shape(a), np.shape(b))  # raises the error naming both shapes, if it is that
            raise
    sa, sb = shape_of(a), shape_of(b)
    batch = _matmul_batch_shape(sa, sb)
    dtype = np.result_type(dtype_of(a), dtype_of(b))
    out_shape = batch + sa[-2:-1] + (sb[-1:] if len(sb) > 1 else ())  # a 1-D operand's promoted axis is dropped
    a = S.reshape(a, (1,) + sa) if len(sa) == 1 else a
    b = S.reshape(b, sb + (1,)) if len(sb) == 1 else b
    a = S.broadcast_to(_astype(a, dtype), batch + tuple(a.shape[-2:]))
    b = S.broadcast_to(_astype(b, dtype), batch + tuple(b.shape[-2:]))
    return S.reshape(matmul_p.bind(a, b), out_shape)


# ---------------------------------------------------------------------------------------------------------
# einsum
# ---------------------------------------------------------------------------------------------------------
#
# NOTE: [einsum reduction]
# NumPy's einsum allows ellipses, repeated letters in one operand (diagonals), letters summed within a single
# operand, and size-1 dimensions that broadcast. The face rewrites a call into a clean spec (see the module
# docstring) before binding, with ops that already have rules:
#   1. '...' becomes explicit letters not used elsewhere (right-aligned across operands, as NumPy broadcasts);
#   2. a letter repeated within an operand becomes one axis: its diagonal (moveaxis + integer-array getitem);
#   3. a size-1 axis whose letter is longer elsewhere is reshaped away: the letter then comes from the other
#      operands, which is exactly broadcasting, without materialising a broadcast copy;
#   4. a letter in one operand only and not in the output is summed out of that operand (``sum``).
# A single remaining operand is then just a transpose. The clean form is what makes the rules one-liners: the
# VJP for operand k is the einsum of g with the other operands producing k's letters (each of k's letters is in
# g or another operand, by 4), the JVP is a sum of einsums, and batching adds one fresh letter.
#
# NOTE: [einsum optimize default]
# ``optimize`` defaults to "greedy" rather than NumPy's False. Results agree with NumPy up to rounding, and the
# einsums made by the VJP and batch rules (which a user cannot tune) would otherwise run NumPy's unoptimised
# loop: a three-operand chain of 200x200 matrices takes ~1 s that way and ~10 ms with a contraction path.

_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # NumPy's order: sublist label i is _LETTERS[i]
_MAX_OPERANDS = 64


def _einsum_impl(*operands, subscripts, optimize):
    return np.einsum(subscripts, *operands, optimize=optimize)


einsum_p = Primitive("einsum", _einsum_impl)


def _split_spec(subscripts):
    lhs, out = subscripts.split("->")
    return lhs.split(","), out


def _derived_optimize(optimize):
    """The optimize setting for einsums derived by rules (an explicit path only fits the user's operand order)."""
    return optimize if isinstance(optimize, (bool, str)) else "greedy"


def _einsum_jvp(primals, tangents, subscripts, optimize):
    out = einsum_p.bind(*primals, subscripts=subscripts, optimize=optimize)
    opt = _derived_optimize(optimize)
    t_out = None
    for k, t in enumerate(tangents):
        if t is not None:
            term = einsum_p.bind(*primals[:k], t, *primals[k + 1:], subscripts=subscripts, optimize=opt)
            t_out = term if t_out is None else t_out + term
    return out, t_out


def _einsum_vjp_rule(k):
    """The VJP for operand ``k``: contract g with the other operands to operand k's letters. One rule per
    operand, so the backward pass computes only the cotangents of the operands that are traced."""
    def vjp(g, out, *operands, subscripts, optimize):
        ins, out_subs = _split_spec(subscripts)
        spec = ",".join([out_subs] + ins[:k] + ins[k + 1:]) + "->" + ins[k]
        return einsum_p.bind(g, *operands[:k], *operands[k + 1:], subscripts=spec,
                             optimize=_derived_optimize(optimize))
    return vjp


def _einsum_batch(size, vals, dims, subscripts, optimize):
    free = [c for c in _LETTERS if c not in subscripts]
    if not free:
        raise ValueError(f"einsum: cannot batch {subscripts!r}: all 52 index letters are in use")
    b = free[0]
    ins, out = _split_spec(subscripts)
    ins = [s if d is None else s[:d] + b + s[d:] for s, d in zip(ins, dims)]
    return einsum_p.bind(*vals, subscripts=",".join(ins) + "->" + b + out, optimize=optimize), 0


einsum_p.jvp = _einsum_jvp
einsum_p.vjp = tuple(_einsum_vjp_rule(k) for k in range(_MAX_OPERANDS))
einsum_p.batch = _einsum_batch


def _parse_operand(k, spec, ndim, shape):
    if spec.count("...") > 1 or "." in spec.replace("...", ""):
        raise ValueError(f"einsum: subscripts {spec!r} of operand {k}: '.' may only appear as one '...'")
    letters = spec.replace("...", "")
    bad = [c for c in letters if c not in _LETTERS]
    if bad:
        raise ValueError(f"einsum: invalid subscript {bad[0]!r} in operand {k}; use letters a-z, A-Z and '...'")
    n_ell = ndim - len(letters)
    if n_ell < 0 or ("..." not in spec and n_ell != 0):
        raise ValueError(f"einsum: operand {k} has shape {shape} ({ndim} dimensions) but its subscripts {spec!r} "
                         f"name {len(letters)}" + ("" if "..." in spec else " and have no '...'"))
    return n_ell


def _parse(subscripts, shapes):
    """Subscripts with '...' replaced by explicit letters: ``(list of operand subscripts, output subscripts,
    the letters standing for '...')``; ValueErrors for malformed subscripts."""
    s = subscripts.replace(" ", "")
    if "->" in s:
        lhs, out = s.split("->", 1)
    else:
        lhs, out = s, None
    specs = lhs.split(",")
    if len(specs) != len(shapes):
        raise ValueError(f"einsum: subscripts {subscripts!r} name {len(specs)} operand(s) but {len(shapes)} "
                         f"were given")
    n_ells = [_parse_operand(k, spec, len(shape), shape) for k, (spec, shape) in enumerate(zip(specs, shapes))]
    pool = [c for c in _LETTERS if c not in s]
    n_ell = max(n_ells)
    if n_ell > len(pool):
        raise ValueError(f"einsum: too many dimensions under '...' ({n_ell}) for the unused index letters")
    ell = "".join(pool[:n_ell])
    ins = [spec.replace("...", ell[n_ell - n:]) for spec, n in zip(specs, n_ells)]
    if out is None:
        letters = lhs.replace("...", "").replace(",", "")
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    else:
        if out.count("...") > 1 or "." in out.replace("...", "") or "-" in out or ">" in out:
            raise ValueError(f"einsum: invalid output subscripts {out!r}")
        out = out.replace("...", ell)
        seen = "".join(ins)
        for c in out:
            if c not in _LETTERS:
                raise ValueError(f"einsum: invalid subscript {c!r} in the output; use letters a-z, A-Z and '...'")
            if out.count(c) > 1:
                raise ValueError(f"einsum: output subscript {c!r} appears more than once in {subscripts!r}")
            if c not in seen:
                raise ValueError(f"einsum: output subscript {c!r} does not appear in any input of {subscripts!r}")
    return ins, out, ell


def _describe(letter, ell):
    return "a '...' dimension" if letter in ell else f"index {letter!r}"


@functools.lru_cache(maxsize=512)
def _plan(subscripts, shapes):
    """How to reduce an einsum to a clean spec (NOTE: [einsum reduction]): ``(steps, spec)`` where ``steps[k]``
    lists ``("diagonal", axes)``, ``("reshape", shape)`` and ``("sum", axes)`` to apply to operand k, and
    ``spec`` is the clean spec of the reduced operands, or a permutation when one operand remains."""
    ins, out, ell = _parse(subscripts, shapes)
    steps, subs, dims = [], [], []
    for k, (spec, shape) in enumerate(zip(ins, shapes)):
        st, spec, shape = [], list(spec), list(shape)
        for c in dict.fromkeys(spec):                     # 2. repeated letters -> diagonals
            axes = [i for i, x in enumerate(spec) if x == c]
            if len(axes) > 1:
                sizes = [shape[i] for i in axes]
                if len(set(sizes)) > 1:
                    raise ValueError(f"einsum: index {c!r} is repeated in operand {k} (shape {tuple(shapes[k])}) "
                                     f"with different sizes {sizes}")
                keep = [i for i in range(len(spec)) if i not in axes]
                st.append(("diagonal", tuple(axes)))
                spec, shape = [spec[i] for i in keep] + [c], [shape[i] for i in keep] + [sizes[0]]
        steps.append(st)
        subs.append(spec)
        dims.append(shape)
    full = {}                                             # the size of each letter, checked across operands
    for k, (spec, shape) in enumerate(zip(subs, dims)):
        for c, n in zip(spec, shape):
            m, j = full.get(c, (1, None))
            if n != 1 and m != 1 and n != m:
                raise ValueError(f"einsum: {_describe(c, ell)} has size {m} in operand {j} (shape {shapes[j]}) "
                                 f"but size {n} in operand {k} (shape {shapes[k]})")
            if m == 1:
                full[c] = (n, k)
    for st, spec, shape in zip(steps, subs, dims):        # 3. size-1 axes that broadcast -> reshaped away
        drop = [i for i, (c, n) in enumerate(zip(spec, shape)) if n == 1 and full[c][0] != 1]
        if drop:
            spec[:] = [c for i, c in enumerate(spec) if i not in drop]
            shape[:] = [n for i, n in enumerate(shape) if i not in drop]
            st.append(("reshape", tuple(shape)))
    for k, (st, spec) in enumerate(zip(steps, subs)):     # 4. letters private to one operand -> summed
        others = set(out).union(*[set(s) for j, s in enumerate(subs) if j != k])
        private = tuple(i for i, c in enumerate(spec) if c not in others)
        if private:
            spec[:] = [c for i, c in enumerate(spec) if i not in private]
            st.append(("sum", private))
    steps = tuple(tuple(st) for st in steps)
    if len(subs) == 1:
        return steps, tuple(subs[0].index(c) for c in out)
    return steps, ",".join("".join(s) for s in subs) + "->" + out


def _take_diagonal(x, axes):
    """The diagonal of ``x`` over ``axes`` (all of one size), as a new last axis."""
    n = len(axes)
    x = S.moveaxis(x, axes, tuple(range(-n, 0)))
    i = np.arange(x.shape[-1])
    return x[(Ellipsis,) + (i,) * n]


def _sublists_to_subscripts(args):
    """NumPy's interleaved form ``einsum(op0, sublist0, op1, sublist1, ..., [sublist_out])`` as a string."""
    def letters(sub):
        try:
            return "".join("..." if i is Ellipsis else _LETTERS[int(i)] for i in sub)
        except (IndexError, TypeError, ValueError):
            raise ValueError(f"einsum: sublist {sub!r} must hold ints in [0, 52) or Ellipsis") from None
    operands = list(args[0::2])
    subs = [letters(s) for s in args[1::2]]
    if len(args) % 2:
        out = letters(args[-1])
        return ",".join(subs) + "->" + out, operands[:-1]
    return ",".join(subs), operands


def einsum(subscripts, *operands, optimize="greedy"):
    """Einstein summation with NumPy's semantics: explicit or implicit output, '...' with broadcasting,
    repeated indices (diagonals), indices summed within one operand, any number of operands; the sublist form
    ``einsum(x, [0, 1], y, [1, 2])`` too. ``optimize`` is passed to ``numpy.einsum`` (see NOTE above). An
    explicit output without '...' sums over the '...' dimensions, as ``numpy.einsum`` does when optimizing.

    >>> import numpy as np
    >>> einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
    (2, 4)
    >>> float(einsum("ii", np.arange(4.0).reshape(2, 2)))  # the trace
    3.0
    """
    if isinstance(optimize, list):
        optimize = tuple(optimize)
    if not isinstance(subscripts, str):
        subscripts, operands = _sublists_to_subscripts((subscripts,) + operands)
    operands = [_raw(x) for x in operands]
    if len(operands) > _MAX_OPERANDS:
        raise ValueError(f"einsum: at most {_MAX_OPERANDS} operands are supported, got {len(operands)}")
    if not _any_traced(*operands):
        try:
            return np.einsum(subscripts, *operands, optimize=optimize)
        except ValueError:
            _plan(subscripts, tuple(shape_of(x) for x in operands))  # raises a clearer error, if it is that
            raise
    steps, spec = _plan(subscripts, tuple(shape_of(x) for x in operands))
    dtype = np.result_type(*[dtype_of(x) for x in operands])
    reduced = []
    for x, st in zip(operands, steps):
        if isinstance(x, Tracer):
            x = _astype(x, dtype)
        for kind, arg in st:
            if kind == "diagonal":
                x = _take_diagonal(x, arg)
            elif kind == "reshape":
                x = S.reshape(x, arg)
            else:
                x = _sum(x, arg)
        reduced.append(x)
    if isinstance(spec, tuple):
        return S.transpose(reduced[0], spec)
    return einsum_p.bind(*reduced, subscripts=spec, optimize=optimize)


# ---------------------------------------------------------------------------------------------------------
# Compositions
# ---------------------------------------------------------------------------------------------------------

def _axes_list(ax):
    return [ax] if isinstance(ax, (int, np.integer)) else list(ax)


def _size(shape, axes):
    n = 1
    for i in axes:
        n *= shape[i]
    return n


def _contract(name, a, b, ax_a, ax_b):
    """Sum of products of ``a`` and ``b`` over the paired axes, the free axes of ``a`` then of ``b`` in order:
    one 2-D matmul between a transposed and reshaped ``a`` and ``b``."""
    sa, sb = shape_of(a), shape_of(b)
    ax_a = [normalize_axis(x, len(sa)) for x in ax_a]
    ax_b = [normalize_axis(x, len(sb)) for x in ax_b]
    if len(set(ax_a)) != len(ax_a) or len(set(ax_b)) != len(ax_b):
        raise ValueError(f"{name}: duplicate axes are not allowed (axes {ax_a} and {ax_b})")
    if len(ax_a) != len(ax_b) or any(sa[i] != sb[j] for i, j in zip(ax_a, ax_b)):
        raise ValueError(f"{name}: shape-mismatch for sum: shapes {sa} and {sb} with axes {ax_a} and {ax_b}")
    free_a = [i for i in range(len(sa)) if i not in ax_a]
    free_b = [i for i in range(len(sb)) if i not in ax_b]
    k = _size(sa, ax_a)
    ma = S.reshape(S.transpose(a, free_a + ax_a), (_size(sa, free_a), k))
    mb = S.reshape(S.transpose(b, ax_b + free_b), (k, _size(sb, free_b)))
    return S.reshape(matmul(ma, mb), tuple(sa[i] for i in free_a) + tuple(sb[i] for i in free_b))


def tensordot(a, b, axes=2):
    """Sum of products over the given axes of ``a`` and ``b`` (NumPy's ``tensordot``), via one matmul.

    >>> import numpy as np
    >>> tensordot(np.ones((2, 3)), np.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    a, b = _raw(a), _raw(b)
    if not _any_traced(a, b):
        return np.tensordot(a, b, axes)
    if isinstance(axes, (int, np.integer)):
        n, ra, rb = int(axes), a.ndim, b.ndim
        if not 0 <= n <= min(ra, rb):
            raise ValueError(f"tensordot: axes={n} is out of range for shapes {shape_of(a)} and {shape_of(b)}")
        return _contract("tensordot", a, b, range(ra - n, ra), range(n))
    ax_a, ax_b = axes
    return _contract("tensordot", a, b, _axes_list(ax_a), _axes_list(ax_b))


def dot(a, b):
    """NumPy's ``dot``: scalar product, matrix product, or sum over the last axis of ``a`` and the second-to-last
    of ``b``.

    >>> import numpy as np
    >>> float(dot(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    a, b = _raw(a), _raw(b)
    if not _any_traced(a, b):
        return np.dot(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    kb = max(b.ndim - 2, 0)
    if a.shape[-1] != b.shape[kb]:
        raise ValueError(f"dot: shapes {shape_of(a)} and {shape_of(b)} are not aligned: {a.shape[-1]} (last dim "
                         f"of the first) != {b.shape[kb]} (dim {kb} of the second)")
    if b.ndim <= 2 and a.ndim <= 2:
        return matmul(a, b)
    return _contract("dot", a, b, [a.ndim - 1], [kb])


def inner(a, b):
    """Sum of products over the last axes of ``a`` and ``b``.

    >>> import numpy as np
    >>> float(inner(np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    a, b = _raw(a), _raw(b)
    if not _any_traced(a, b):
        return np.inner(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return _contract("inner", a, b, [a.ndim - 1], [b.ndim - 1])


def outer(a, b):
    """Outer product of two vectors (inputs are flattened).

    >>> import numpy as np
    >>> outer(np.array([1.0, 2.0]), np.array([1.0, 0.0, 1.0])).shape
    (2, 3)
    """
    a, b = _raw(a), _raw(b)
    if not _any_traced(a, b):
        return np.outer(a, b)
    return S.expand_dims(S.ravel(a), 1) * S.expand_dims(S.ravel(b), 0)


def vdot(a, b):
    """Dot product of the flattened inputs (of equal sizes), the first one conjugated when complex.

    >>> import numpy as np
    >>> float(vdot(np.ones((2, 2)), np.ones((2, 2))))
    4.0
    >>> complex(vdot(np.array([1j, 2.0]), np.array([1j, 1.0])))
    (3+0j)
    """
    a, b = _raw(a), _raw(b)
    if not _any_traced(a, b):
        return np.vdot(a, b)
    if np.issubdtype(a.dtype, np.complexfloating):
        from .elementwise import conjugate
        a = conjugate(a)
    if a.size != b.size:
        raise ValueError(f"vdot: the inputs have different sizes (shapes {shape_of(a)} and {shape_of(b)})")
    return matmul(S.ravel(a), S.ravel(b))


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The given diagonal of ``a`` (as a new last axis, like NumPy).

    >>> import numpy as np
    >>> diagonal(np.arange(4.0).reshape(2, 2))
    array([0., 3.])
    """
    a = as_operand(a)
    if not isinstance(a, Tracer):
        return np.diagonal(a, offset, axis1, axis2)
    if a.ndim < 2:
        raise ValueError(f"diagonal: requires an array of at least two dimensions, got shape {tuple(a.shape)}")
    axis1, axis2 = normalize_axis(axis1, a.ndim), normalize_axis(axis2, a.ndim)
    if axis1 == axis2:
        raise ValueError("diagonal: axis1 and axis2 cannot be the same")
    x = S.moveaxis(a, (axis1, axis2), (-2, -1))
    n1, n2 = x.shape[-2], x.shape[-1]
    offset = int(offset)
    if offset >= 0:
        k = max(0, min(n1, n2 - offset))
        rows, cols = np.arange(k), np.arange(k) + offset
    else:
        k = max(0, min(n1 + offset, n2))
        rows, cols = np.arange(k) - offset, np.arange(k)
    return x[..., rows, cols]


def trace(a, offset=0, axis1=0, axis2=1):
    """Sum along the given diagonal.

    >>> import numpy as np
    >>> float(trace(np.eye(3)))
    3.0
    """
    a = as_operand(a)
    if not isinstance(a, Tracer):
        return np.trace(a, offset, axis1, axis2)
    return _sum(diagonal(a, offset, axis1, axis2), -1)


def diag(v, k=0):
    """The ``k``-th diagonal of a 2-D ``v``, or a 2-D array with 1-D ``v`` on its ``k``-th diagonal.

    >>> import numpy as np
    >>> diag(np.array([1.0, 2.0]))
    array([[1., 0.],
           [0., 2.]])
    """
    from .indexing import index_update
    v = _raw(v)
    if not isinstance(v, Tracer):
        return np.diag(v, k)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1-d or 2-d, got shape {tuple(v.shape)}")
    k = int(k)
    n = v.shape[0] + abs(k)
    idx = np.arange(v.shape[0])
    rows, cols = (idx, idx + k) if k >= 0 else (idx - k, idx)
    return index_update(np.zeros((n, n), dtype=v.dtype), (rows, cols), v)
