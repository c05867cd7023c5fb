"""vmap against Python loops.

- The op table of ``test_ops.py`` and a table of the ops it leaves out (non-differentiable, special, linalg,
  integer and boolean ones): mapped along the first, last, a middle and a negative axis, some arguments
  unmapped (``in_axes=None``), stacked at ``out_axes`` 0, -1 or a middle axis, in float64 and float32; nested
  (vmap of vmap); vmap of jvp and vjp (per-example tangents and cotangents); jvp and vjp of vmap.
- Batched indices: ``x[i]``, ``take``, ``index_add``/``index_update`` with index arrays that differ per batch
  element, in every arrangement of slices, ints, ``None``, ``...`` and arrays; batched boolean masks.
- Compositions: per-example gradients of a small model, grad of vmap, vmap of jvp/hessian, jvp of vmap.
- The vmap interface: pytree in_axes/out_axes prefixes, axis_size, outputs that do not depend on the mapped
  inputs, chunk_size, and its errors.
- The loop fallback for a primitive without a batch rule (it warns once per primitive). Everywhere else in this
  file the fallback's warning is an error, so any op without a batch rule fails here.
"""
import itertools
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.primitive import Primitive
from chainrule.core.tree import broadcast_prefix, tree_flatten, tree_map, tree_unflatten
from chainrule.interpreters import batching
from chainrule.ops import special as SP
from chainrule.testing import check_grads, check_vmap

from test_ops import CASES as OP_CASES
from test_ops import Case

pytestmark = pytest.mark.filterwarnings("error:vmap:UserWarning")


@pytest.fixture(autouse=True)
def _fresh_fallback_warnings(monkeypatch):
    # The fallback warns once per primitive per process. Each test starts with a clean slate, so a warning
    # given in an earlier test (of any file) cannot hide a fallback from the filter above.
    monkeypatch.setattr(batching, "_warned", set())


# ---------------------------------------------------------------------------------------------------------
# The reference: a Python loop over the mapped axis, stacked at out_axes (pytrees everywhere)
# ---------------------------------------------------------------------------------------------------------

def loop(f, args, in_axes=0, out_axes=0, size=None):
    """``vmap(f, in_axes, out_axes)(*args)`` computed by calling ``f`` once per batch element."""
    args = tuple(args)
    in_axes = tuple(in_axes) if isinstance(in_axes, list) else in_axes
    prefix = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
    leaves, tree = tree_flatten(args)
    axes = broadcast_prefix(prefix, args)
    if size is None:
        size = next(np.shape(x)[ax] for x, ax in zip(leaves, axes) if ax is not None)
    rows = []
    for i in range(size):
        part = [x if ax is None else np.take(np.asarray(x), i, axis=ax) for x, ax in zip(leaves, axes)]
        rows.append(f(*tree_unflatten(tree, part)))
    out_tree = tree_flatten(rows[0])[1]
    per_row = [tree_flatten(r)[0] for r in rows]
    oaxes = broadcast_prefix(out_axes, rows[0])
    stacked = []
    for k, ax in enumerate(oaxes):
        vals = [np.asarray(r[k]) for r in per_row]
        stacked.append(vals[0] if ax is None else np.stack(vals, axis=ax))
    return tree_unflatten(out_tree, stacked)


def assert_trees_equal(got, want, rtol=1e-9, atol=1e-12):
    """Same structure, shapes and dtypes; values equal (floats to ``rtol``/``atol``, others exactly)."""
    g_leaves, g_tree = tree_flatten(got)
    w_leaves, w_tree = tree_flatten(want)
    assert g_tree == w_tree, (g_tree, w_tree)
    for g, w in zip(g_leaves, w_leaves):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        if np.issubdtype(w.dtype, np.inexact):
            with np.errstate(invalid="ignore"):
                ok = (g == w) | (np.abs(g - w) <= atol + rtol * np.abs(w)) | (np.isnan(g) & np.isnan(w))
            if not ok.all():  # (the quick check above; NumPy's assertion for the report)
                np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)
        elif not np.array_equal(g, w):
            np.testing.assert_array_equal(g, w)


def assert_vmap(f, args, in_axes=0, out_axes=0, rtol=1e-9, atol=1e-12, **kwargs):
    """vmap of ``f`` equals the loop; returns vmap's result."""
    got = cr.vmap(f, in_axes, out_axes, **kwargs)(*args)
    assert_trees_equal(got, loop(f, args, in_axes, out_axes, kwargs.get("axis_size")), rtol, atol)
    return got


# ---------------------------------------------------------------------------------------------------------
# Batched test data: per-example variants of one array that keep it inside its op's domain
# ---------------------------------------------------------------------------------------------------------

_SCALES = (1.0, 0.93, 1.07, 0.97, 1.04, 0.9)


def _variant(a, k):
    """Variant ``k`` of ``a``: its elements rotated by ``k`` (and scaled slightly, for floats)."""
    a = np.asarray(a)
    flat = a.ravel()
    k_ = k % flat.size if flat.size else 0
    v = np.concatenate([flat[flat.size - k_:], flat[:flat.size - k_]]).reshape(a.shape)
    if np.issubdtype(a.dtype, np.floating):
        v = v * a.dtype.type(_SCALES[k % len(_SCALES)])
    return v.astype(a.dtype)


_batched_cache = {}


def batched(a, axis, n=3, offset=0):
    """``n`` variants of ``a`` stacked along ``axis`` (read-only: cached per array for the tables)."""
    key = (id(a), axis, n, offset)
    hit = _batched_cache.get(key)
    if hit is not None and hit[0] is a:
        return hit[1]
    out = np.moveaxis(np.stack([_variant(a, offset + j) for j in range(n)]), 0, axis)
    out.flags.writeable = False
    _batched_cache[key] = (a, out)
    return out


def _axis(kind, a):
    rank = np.ndim(a) + 1  # once batched
    return {"first": 0, "last": -1, "middle": rank // 2, "negative": -min(2, rank)}[kind]


def _in_axes_configs(args):
    """Every arg mapped along its first, last, middle and a negative axis; for several arguments also each
    one mapped alone (the others None) and a mix of axes."""
    configs = [tuple(_axis(kind, a) for a in args) for kind in ("first", "last", "middle", "negative")]
    if len(args) > 1:
        for j in range(len(args)):
            configs.append(tuple(_axis("middle", a) if i == j else None for i, a in enumerate(args)))
        configs.append(tuple(_axis("first" if i % 2 else "last", a) for i, a in enumerate(args)))
    return list(dict.fromkeys(configs))


def _out_axes_options(f, args):
    out = f(*args)
    ranks = [np.ndim(o) for o in tree_flatten(out)[0]]
    options = [0, -1]
    if ranks and min(ranks) >= 1:
        options.append(1)
    return options


def _check_table_case(c):
    options = _out_axes_options(c.f, c.args)
    for k, cfg in enumerate(_in_axes_configs(c.args)):
        args = [a if ax is None else batched(a, ax) for a, ax in zip(c.args, cfg)]
        assert_vmap(c.f, args, cfg, options[k % len(options)])


def _check_nested(c):
    """vmap of vmap, against a loop of loops: (A) every argument mapped by both (inner axis last, outer axis
    first); (B) the first argument mapped only by the outer vmap and the others only by the inner one."""
    inner = tuple(_axis("last", a) for a in c.args)
    args = [np.stack([batched(a, ax, 3, offset=3 * j) for j in range(2)]) for a, ax in zip(c.args, inner)]
    f = cr.vmap(c.f, in_axes=inner, out_axes=-1)
    got = cr.vmap(f, in_axes=0, out_axes=0)(*args)
    want = loop(lambda *a: loop(c.f, a, inner, -1), args, 0, 0)
    assert_trees_equal(got, want)
    if len(c.args) > 1:
        inner = (None,) + tuple(0 for _ in c.args[1:])
        outer = (0,) + tuple(None for _ in c.args[1:])
        args = [batched(c.args[0], 0, 2)] + [batched(a, 0, 3) for a in c.args[1:]]
        got = cr.vmap(cr.vmap(c.f, in_axes=inner, out_axes=0), in_axes=outer, out_axes=-1)(*args)
        want = loop(lambda *a: loop(c.f, a, inner, 0), args, outer, -1)
        assert_trees_equal(got, want)


# ---------------------------------------------------------------------------------------------------------
# The op table of test_ops.py
# ---------------------------------------------------------------------------------------------------------

def _check_derivatives(c):
    """vmap of jvp and of vjp (per-example primals with per-example tangents/cotangents) against the loop, and
    jvp and vjp of vmap against those: the batch rules of every op and of every derivative rule, under and
    over the other transforms."""
    rng = np.random.default_rng(0)
    out = c.f(*c.args)
    tangents = tuple(rng.standard_normal((3,) + np.shape(a)) for a in c.args)
    cts = tree_map(lambda o: rng.standard_normal((3,) + np.shape(o)), out)
    primals = tuple(batched(a, -1) for a in c.args)
    want = assert_vmap(lambda p, t: cr.jvp(c.f, p, t), (primals, tangents), (-1, 0))
    got = cr.jvp(cr.vmap(c.f, in_axes=-1), primals, tuple(np.moveaxis(t, 0, -1) for t in tangents))
    assert_trees_equal(got, want)
    want = assert_vmap(lambda p, u: cr.vjp(c.f, *p)[1](u), (primals, cts), (-1, 0), out_axes=-1)
    _, f_vjp = cr.vjp(cr.vmap(c.f, in_axes=-1), *primals)
    assert_trees_equal(f_vjp(cts), want)
    if len(c.args) > 1:
        # One argument unmapped but differentiated: inside vmap it is a tracer of the outer transform, and its
        # cotangent sums the per-example ones.
        j = len(c.id) % len(c.args)
        cfg = tuple(None if i == j else 0 for i in range(len(c.args)))
        args = tuple(a if ax is None else batched(a, 0) for a, ax in zip(c.args, cfg))
        _, f_vjp = cr.vjp(cr.vmap(c.f, in_axes=cfg), *args)
        got = f_vjp(cts)
        per_example = loop(lambda a, u: cr.vjp(c.f, *a)[1](u), (args, cts), (cfg, 0))
        want = [w.sum(axis=0) if ax is None else w for w, ax in zip(per_example, cfg)]
        assert_trees_equal(list(got), want)
        tans = tuple(rng.standard_normal(np.shape(a)) for a in args)
        got = cr.jvp(cr.vmap(c.f, in_axes=cfg), args, tans)
        assert_trees_equal(got, loop(lambda a, t: cr.jvp(c.f, a, t), (args, tans), (cfg, cfg)))


@pytest.mark.parametrize("c", OP_CASES, ids=[c.id for c in OP_CASES])
def test_op_table_vmap(c):
    """Each case: every axis configuration against the loop, float32, nested vmap, and the compositions with
    jvp and vjp in both orders."""
    _check_table_case(c)
    if c.f32:
        args32 = [np.asarray(a, np.float32) for a in c.args]
        cfg = tuple(_axis("middle", a) for a in args32)
        assert_vmap(c.f, [batched(a, ax) for a, ax in zip(args32, cfg)], cfg, 0, rtol=1e-5, atol=1e-6)
    _check_nested(c)
    _check_derivatives(c)


def test_op_table_is_covered():
    assert len(OP_CASES) > 400  # the import worked and brought the whole table


# ---------------------------------------------------------------------------------------------------------
# The ops the op table leaves out: non-differentiable, boolean/integer, special functions, linalg
# ---------------------------------------------------------------------------------------------------------

_r = np.random.default_rng(42)
_X23 = _r.uniform(-2, 2, (2, 3))
_Y3 = _r.uniform(-2, 2, (3,))
_XN = np.array([[1.5, -np.inf, np.nan], [0.0, 2.25, -0.75]])
_B23 = np.array([[True, False, True], [False, False, True]])
_B3 = np.array([True, True, False])
_I23 = np.array([[3, 12, 5], [7, 0, 9]])
_I3 = np.array([6, 10, 1])
_P23 = _r.uniform(0.1, 0.9, (2, 3))
_X234 = _r.uniform(-1, 1, (2, 3, 4))
_M33 = _r.uniform(-1, 1, (3, 3))
_M34 = _r.uniform(-1, 1, (3, 4))
_M42 = _r.uniform(-1, 1, (4, 2))

EXTRA = []


def extra(id, f, *args):
    EXTRA.append(Case(id, f, None, args))


for _name in ["sign", "floor", "ceil", "trunc", "rint", "fix", "signbit"]:
    extra(_name, getattr(cnp, _name), _X23)
for _name in ["isfinite", "isnan", "isinf"]:
    extra(_name, getattr(cnp, _name), _XN)
extra("logical_not", cnp.logical_not, _B23)
extra("invert-op", lambda b: ~b, _B23)
for _name in ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "floor_divide", "remainder",
              "mod", "maximum"]:
    extra(_name, getattr(cnp, _name), _X23, _Y3)
for _name in ["logical_and", "logical_or", "logical_xor"]:
    extra(_name, getattr(cnp, _name), _B23, _B3)
for _name in ["bitwise_and", "bitwise_or", "bitwise_xor"]:
    extra(_name, getattr(cnp, _name), _I23, _I3)
extra("compare-ops", lambda x, y: (x < y) & (x >= -1.0) | (y == 0.5), _X23, _Y3)
extra("round-decimals", lambda x: cnp.round(x * 10, 1), _X23)
extra("around", lambda x: cnp.around(x, 2), _X23)
for _name in ["argmax", "argmin"]:
    for _ax in (None, 0, -1):
        for _kd in (False, True):
            extra(f"{_name}-axis{_ax}-keepdims{_kd}",
                  lambda x, _n=_name, _ax=_ax, _kd=_kd: getattr(cnp, _n)(x, axis=_ax, keepdims=_kd), _X234)
for _name in ["any", "all"]:
    for _ax in (None, 1, (0, -1)):
        extra(f"{_name}-axis{_ax}", lambda b, _n=_name, _ax=_ax: getattr(cnp, _n)(b, axis=_ax), _B23)
extra("count_nonzero", lambda x: cnp.count_nonzero(x, axis=0), _I23 % 3)
extra("sum-bool", lambda b: cnp.sum(b), _B23)
extra("sum-int-axis", lambda i: cnp.sum(i, axis=1), _I23)
extra("mean-int", lambda i: cnp.mean(i, axis=0), _I23)
extra("cumsum-int", lambda i: cnp.cumsum(i, axis=-1), _I23)
extra("cumprod-int", lambda i: cnp.cumprod(i % 3 + 1), _I23)
extra("max-int", lambda i: cnp.max(i, axis=0), _I23)
extra("astype-int", lambda x: cnp.astype(x * 3, np.int64), _X23)
extra("astype-bool-to-float", lambda b: cnp.astype(b, np.float64) * 2.0, _B23)
extra("stop_gradient", lambda x: cnp.stop_gradient(x) * x, _X23)
extra("where-cond-only", lambda b: cnp.where(b, 1.0, -1.0), _B23)
extra("where-mapped-cond", lambda b, x: cnp.where(b, x, 0.0), _B23, _X23)
extra("where-int", lambda i: cnp.where(i > 4, i, 0), _I23)
extra("zeros_like-ones_like", lambda x: cnp.zeros_like(x) + cnp.ones_like(x) * x, _X23)
extra("shape-queries", lambda x: x * (cnp.size(x) + cnp.ndim(x) + cnp.shape(x)[0]), _X23)
extra("positive", lambda x: cnp.positive(x) * 1.0, _X23)
extra("sigmoid", SP.sigmoid, _X23)
extra("expit", SP.expit, _X23)
extra("relu", SP.relu, _X23)
extra("softplus", SP.softplus, _X23)
extra("logit", SP.logit, _P23)
for _ax in (0, -1):
    extra(f"softmax-axis{_ax}", lambda x, _ax=_ax: SP.softmax(x, axis=_ax), _X234)
    extra(f"log_softmax-axis{_ax}", lambda x, _ax=_ax: SP.log_softmax(x, axis=_ax), _X234)
extra("matmul", cnp.matmul, _M34, _M42)
extra("matmul-vec-mat", cnp.matmul, _Y3, _M34)
extra("matmul-batch", cnp.matmul, _X234, _M42)
extra("matmul-op", lambda a, b: a @ b, _M33, _Y3)
extra("dot", cnp.dot, _M34, _M42)
extra("dot-vec", cnp.dot, _Y3, _Y3 * 2)
extra("tensordot", lambda a, b: cnp.tensordot(a, b, axes=([1, 2], [0, 1])), _X234, _M34)
extra("inner", cnp.inner, _M34, _M34 * 2)
extra("outer", cnp.outer, _Y3, _M42)
extra("vdot", cnp.vdot, _M34, _M34 + 1)
extra("trace", lambda a: cnp.trace(a, offset=1), _M34)
extra("diagonal", lambda a: cnp.diagonal(a, 0, 0, 2), _X234)
extra("diag-of-vector", lambda v: cnp.diag(v, k=1), _Y3)
extra("diag-of-matrix", cnp.diag, _M34)
extra("einsum-matmul", lambda a, b: cnp.einsum("ij,jk->ik", a, b), _M34, _M42)
extra("einsum-diag", lambda a: cnp.einsum("ii->i", a), _M33)
extra("einsum-ellipsis", lambda a, b: cnp.einsum("...j,j->...", a, b), _X234, _M42[:, 0])
extra("einsum-sum", lambda a: cnp.einsum("ijk->j", a), _X234)
extra("take-static", lambda x: cnp.take(x, np.array([[2, 0], [1, 1]]), axis=1), _X234)
extra("concatenate-mixed", lambda x, y: cnp.concatenate([x, np.ones((2, 3)), y[None]]), _X23, _Y3)
extra("stack-mixed", lambda x, y: cnp.stack([x[0], y, np.zeros(3)], axis=1), _X23, _Y3)
extra("split-then-add", lambda x: sum(cnp.split(x, [1, 2], axis=1)[::2]), _X23)
extra("repeat-static", lambda x: cnp.repeat(x, [2, 0, 1], axis=1), _X23)
extra("pad-edge", lambda x: cnp.pad(x, ((0, 1), (2, 0)), mode="edge"), _X23)
extra("index-update-at", lambda x, y: cnp.at(x)[:, 1].set(y[:2]), _X23, _Y3)
extra("clip-mapped-bounds", lambda lo, x: cnp.clip(x, lo, 1.0), _Y3 - 1.0, _X23)

EXTRA_IDS = [c.id for c in EXTRA]
assert len(set(EXTRA_IDS)) == len(EXTRA_IDS)


@pytest.mark.parametrize("c", EXTRA, ids=EXTRA_IDS)
def test_more_ops_vmap(c):
    _check_table_case(c)
    _check_nested(c)


def test_every_primitive_has_a_batch_rule():
    """No primitive of the op modules (all of chainrule.ops) relies on the loop fallback."""
    import importlib
    import pkgutil

    import chainrule.ops as ops
    seen = []
    for info in pkgutil.iter_modules(ops.__path__):
        mod = importlib.import_module(f"chainrule.ops.{info.name}")
        for v in vars(mod).values():
            if isinstance(v, Primitive) and v.name != "nonzero":  # nonzero_p is never bound (nonzero is eager)
                seen.append(v)
                assert v.batch is not None, f"{info.name}: {v.name}"
    assert len(seen) > 60


# ---------------------------------------------------------------------------------------------------------
# Batched indices
# ---------------------------------------------------------------------------------------------------------

_XS = (2, 3, 4)  # the logical shape of the indexed array
_B = 4  # batch size
_ARRAY_SHAPES = {"A": (2,), "C": (3, 1), "Z": ()}  # index arrays: broadcasting shapes and a 0-d one
_ENTRIES = ["s", "i", "n", "e", "A", "C", "Z", "T"]  # a slice, an int, None, ..., arrays, a 0-d mask


def _consumes(e):
    return e in ("s", "s1", "i", "A", "C", "Z")


def _index_patterns():
    """Index patterns of up to three entries with at least one index array, valid for a rank-3 array."""
    for n in (1, 2, 3):
        for pat in itertools.product(_ENTRIES, repeat=n):
            if pat.count("e") > 1 or not any(e in _ARRAY_SHAPES for e in pat):
                continue
            if sum(_consumes(e) for e in pat) <= 3:
                yield pat


def _axes_of(pat):
    """The axis of the indexed array that each entry consumes (None for None, ..., 0-d masks)."""
    n_cons = sum(_consumes(e) for e in pat)
    ax, out = 0, []
    for e in pat:
        if e == "e":
            ax += 3 - n_cons
        out.append(ax if _consumes(e) else None)
        ax += _consumes(e)
    return out


def _make_index(pat, arrays):
    fixed = {"s": slice(None), "s1": slice(1, None), "i": -1, "n": None, "e": Ellipsis, "T": np.array(True)}
    return tuple(arrays[k] if e in _ARRAY_SHAPES else fixed[e] for k, e in enumerate(pat))


_PATTERNS = list(_index_patterns())


def _index_data(pat, mapped, rng):
    axes = _axes_of(pat)
    arrays = {}
    for k, e in enumerate(pat):
        if e in _ARRAY_SHAPES:
            dim = _XS[axes[k]]
            shape = ((_B,) if k in mapped else ()) + _ARRAY_SHAPES[e]
            arrays[k] = rng.integers(-dim, dim, size=shape)  # negative indices included
    return arrays


@pytest.mark.parametrize("pat", _PATTERNS, ids=["".join(p) for p in _PATTERNS])
def test_batched_index_arrays(pat):
    """x[idx], index_add and index_update where some index arrays differ per batch element (every subset of
    them), x and y mapped or not: against a loop of NumPy's own indexing. Ids spell the index: s slice,
    i int, n None, e ..., A/C/Z index arrays of shapes (2,), (3, 1), (), T a 0-d mask."""
    rng = np.random.default_rng(_PATTERNS.index(pat))
    arr_pos = [k for k, e in enumerate(pat) if e in _ARRAY_SHAPES]
    subsets = [m for m in itertools.product([False, True], repeat=len(arr_pos)) if any(m)]
    for n, subset in enumerate(subsets):
        mapped = tuple(k for k, m in zip(arr_pos, subset) if m)
        arrays = _index_data(pat, mapped, rng)
        batched_arrays = [arrays[k] for k in mapped]

        def idx_of(vals):
            return _make_index(pat, {**arrays, **dict(zip(mapped, vals))})

        x = rng.standard_normal((_B,) + _XS)
        x_axis = (0, None, 2)[(n + len(pat)) % 3]
        xin = x[0] if x_axis is None else np.moveaxis(x, 0, x_axis)
        in_axes = (x_axis,) + (0,) * len(mapped)
        got = assert_vmap(lambda x, *iv: cnp.getitem(x, idx_of(iv)), (xin, *batched_arrays), in_axes)
        target = got.shape[1:]
        if n % 2 and n != len(subsets) - 1:
            continue  # the updates for every other subset (and the last), to keep the test fast
        for update, y_mapped in ((cnp.index_add, n % 4 == 0), (cnp.index_update, n % 4 != 0)):
            y = rng.standard_normal(((_B,) if y_mapped else ()) + target)
            assert_vmap(lambda x, y, *iv: update(x, idx_of(iv), y), (xin, y, *batched_arrays),
                        (x_axis, 0 if y_mapped else None) + in_axes[1:], out_axes=-1)


def test_batched_index_patterns_are_many():
    assert len(_PATTERNS) > 300


def test_batched_index_simple_forms():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 3))
    i = rng.integers(0, 4, (5, 2))
    check_vmap(lambda x, i: x[i], (x, i))
    check_vmap(lambda x, i: x[i], (np.moveaxis(x, 0, 2), i), in_axes=(2, 0), out_axes=-1)
    check_vmap(lambda x, i: cnp.getitem(x, i), (x[0], i), in_axes=(None, 0))
    check_vmap(lambda x, i: x[i, -1], (x, rng.integers(-4, 4, (5,))))  # a batched scalar index
    check_vmap(lambda x, i: x[:, i], (x, rng.integers(0, 3, (5, 2, 2))))
    check_vmap(lambda x, i: cnp.at(x)[i].get(), (x, i))
    check_vmap(lambda x, i: cnp.take(x, i, axis=1), (x, rng.integers(0, 3, (5, 7))))
    check_vmap(lambda x, i: cnp.take(x, i), (x, rng.integers(0, 12, (5, 2, 3))))
    check_vmap(lambda i: cnp.index_add(np.zeros(4), i, 1.0), (i,))  # a histogram per batch element
    check_vmap(lambda x, i, y: cnp.at(x)[i].add(y), (x, i, rng.standard_normal((5, 2, 3))))
    check_vmap(lambda x, i, y: cnp.at(x)[:, i].set(y), (x, rng.integers(0, 3, (5, 2)), rng.standard_normal((5, 4, 2))))
    # float32 stays float32, a float64 y is cast to x's dtype
    x32 = x.astype(np.float32)
    assert cr.vmap(lambda x, i: x[i])(x32, i).dtype == np.float32
    assert cr.vmap(lambda x, i: cnp.index_add(x, i, 1.5))(x32, i).dtype == np.float32
    assert cr.vmap(lambda x, i, y: cnp.index_update(x, i, y))(x32, i, np.ones((5, 2, 3))).dtype == np.float32


def test_batched_index_duplicates_accumulate():
    i = np.array([[0, 0, 0], [1, 2, 1]])
    got = cr.vmap(lambda i, y: cnp.index_add(np.zeros(3), i, y))(i, np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    np.testing.assert_array_equal(got, [[6.0, 0.0, 0.0], [0.0, 10.0, 5.0]])
    g = cr.grad(lambda x: cnp.sum(cr.vmap(lambda i: x[i] * np.arange(3.0))(i)))(np.zeros(3))
    # row 0 reads x[0] with weights 0, 1, 2; row 1 reads x[1], x[2], x[1] with weights 0, 1, 2
    np.testing.assert_array_equal(g, [0.0 + 1.0 + 2.0, 0.0 + 2.0, 1.0])


def test_batched_index_derivatives():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5, 3))
    i = rng.integers(-5, 5, (4, 2))
    j = rng.integers(0, 3, (4, 2))
    y = rng.standard_normal((4, 2))
    # gather: both modes, second order, x mapped and x shared
    check_grads(cr.vmap(lambda x, i: cnp.sin(x[i]), in_axes=(0, None)), (x, i), order=2)
    check_grads(lambda x: cr.vmap(lambda x, i, j: x[i, j] ** 2)(x, i, j), (x,), order=2)
    check_grads(lambda x: cr.vmap(lambda i, j: cnp.getitem(x, (i, slice(None), j)) ** 2)(i, j),
                (rng.standard_normal((5, 2, 3)),), order=2)
    # scatters: in x and in y
    check_grads(lambda x, y: cr.vmap(lambda x, i, y: cnp.index_add(x, (i, 0), y * y))(x, i, y), (x, y), order=2)
    check_grads(lambda x, y: cr.vmap(lambda i, y: cnp.index_update(x[0], (i, 1), cnp.sin(y)))(i[:, :1], y[:, :1]),
                (x, y), order=2)
    check_grads(lambda x, y: cr.vmap(lambda x, j, y: x.at[..., j].set(y[:, None] * x[:, :1]))(x, j[:, :1], y),
                (x, rng.standard_normal((4, 5))), order=2)


def test_per_example_gradients_through_batched_indices():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((6, 3))
    idx = rng.integers(0, 6, (5, 4))

    def loss(table, i):
        return cnp.sum(cnp.tanh(cnp.getitem(table, i)) ** 2)

    got = cr.vmap(cr.grad(loss), in_axes=(None, 0))(table, idx)
    assert_trees_equal(got, loop(cr.grad(loss), (table, idx), (None, 0)))
    # vmap over the table, index shared, and jvp through a batched gather
    got = cr.vmap(lambda t, i: cr.jvp(lambda t: loss(t, i), (t,), (t,))[1], in_axes=(None, 0))(table, idx)
    assert_trees_equal(got, loop(lambda t, i: cr.jvp(lambda t: loss(t, i), (t,), (t,))[1], (table, idx), (None, 0)))


def test_nested_vmap_with_batched_indices():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((5, 6, 4))
    i = rng.integers(0, 4, (5, 6, 2))
    # the outer vmap maps the indices, the inner one x: the index is a lower-level tracer for the inner rule
    f = cr.vmap(cr.vmap(lambda x, i: x[i], in_axes=(0, None)), in_axes=(None, 0))
    want = np.stack([np.stack([x[a, b] for b in range(6)]) for a in range(5)])
    got = f(x[:, 0], i[:, 0])
    np.testing.assert_array_equal(got, np.stack([np.stack([xx[ii] for xx in x[:, 0]]) for ii in i[:, 0]]))
    # both vmaps map both
    f = cr.vmap(cr.vmap(lambda x, i: x[i]), in_axes=(1, 1))
    want = np.stack([np.stack([x[a, b][i[a, b]] for a in range(5)]) for b in range(6)])
    np.testing.assert_array_equal(f(x, i), want)
    # index_add whose index is mapped by the outer vmap only
    f = cr.vmap(cr.vmap(lambda x, i: cnp.index_add(x, i, 1.0), in_axes=(0, None)), in_axes=(None, 0))
    got = f(x[0], i[:, 0])
    want = loop(lambda ii: loop(lambda xx: cnp.index_add(xx, ii, 1.0), (x[0],)), (i[:, 0],))
    assert_trees_equal(got, want)


def test_batched_masks_with_equal_counts():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 4, 3))
    m = np.zeros((5, 4), bool)
    for b in range(5):
        m[b, rng.choice(4, 2, replace=False)] = True
    check_vmap(lambda x, m: x[m], (x, m))
    check_vmap(lambda x, m: x[:, m], (np.moveaxis(x, 1, 2), m))
    check_vmap(lambda m: cnp.nonzero(m)[0], (m,))
    check_vmap(lambda m: cnp.flatnonzero(m), (m,))
    check_vmap(lambda m: cnp.argwhere(m), (m,))
    check_vmap(lambda x: cnp.nonzero(x > -np.inf), (x,))  # two index arrays, all selected
    check_vmap(lambda x, m: cnp.index_update(x, m, np.ones((2, 3))), (x, m))
    check_vmap(lambda x, m: cnp.where(m)[0] * 1.0 + cnp.sum(x), (x, m))
    check_grads(lambda x: cr.vmap(lambda x, m: x[m] ** 2)(x, m), (x,), order=2, modes=("fwd", "rev"))


def test_batched_masks_updates_with_a_constant_value():
    """x.at[mask].set(c) needs no equal counts: it is computed with where (as a loop of NumPy would be)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 4, 3))
    check_vmap(lambda x: cnp.index_update(x, x > 0, 0.0), (x,))
    check_vmap(lambda x: cnp.at(x)[x > 0.5].add(2.0), (x,))
    check_vmap(lambda x: cnp.at(x)[..., x[0] > 0].set(np.arange(4.0)[:, None]), (x,))
    check_vmap(lambda x: cnp.at(x)[x[:, 0] > 0, ...].set(np.arange(3.0)), (x,))
    check_vmap(lambda x, y: cnp.at(x)[x < 0].set(y), (x, rng.standard_normal(5)))
    x32 = x.astype(np.float32)
    assert cr.vmap(lambda x: cnp.index_update(x, x > 0, np.float64(1.0)))(x32).dtype == np.float32
    check_grads(cr.vmap(lambda x, y: cnp.at(x)[x < 0].set(y * y)), (x, rng.standard_normal(5)), order=2)


def test_batched_masks_with_different_counts_are_a_clear_error():
    x = np.array([[1.0, -2.0, 3.0], [-1.0, -2.0, 3.0]])
    with pytest.raises(ValueError, match=r"different number of elements in different batch elements "
                                         r"\(counts \[1, 2\]\).*ragged"):
        cr.vmap(lambda x: x[x > 0])(x)
    with pytest.raises(ValueError, match="ragged"):
        cr.vmap(lambda x: cnp.nonzero(x > 0))(x)
    with pytest.raises(ValueError, match="ragged"):  # y varies along the selection: needs equal counts
        cr.vmap(lambda x: cnp.index_update(x, x > 0, np.array([1.0, 2.0])))(x)


def test_batched_float_index_is_an_error():
    with pytest.raises(IndexError, match="must be of integer.*got float64"):
        cr.vmap(lambda x, i: x[i])(np.ones((2, 3)), np.ones((2, 1)))


# ---------------------------------------------------------------------------------------------------------
# Compositions
# ---------------------------------------------------------------------------------------------------------

def _mlp_params(rng):
    return {"W1": rng.standard_normal((4, 8)) * 0.5, "b1": rng.standard_normal(8) * 0.1,
            "W2": rng.standard_normal((8, 2)) * 0.5, "b2": rng.standard_normal(2) * 0.1}


def mlp_loss(params, x, y):
    h = cnp.tanh(x @ params["W1"] + params["b1"])
    out = h @ params["W2"] + params["b2"]
    return cnp.mean((out - y) ** 2)


def test_per_example_gradients_of_an_mlp():
    rng = np.random.default_rng(0)
    params = _mlp_params(rng)
    x, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 2))
    per_example = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0))(params, x, y)
    want = loop(cr.grad(mlp_loss), (params, x, y), (None, 0, 0))
    assert_trees_equal(per_example, want)
    assert set(per_example) == set(params)
    for k in params:
        assert per_example[k].shape == (6,) + params[k].shape
    # Their mean is the gradient of the mean loss.
    mean_grad = cr.grad(lambda p: cnp.mean(cr.vmap(mlp_loss, in_axes=(None, 0, 0))(p, x, y)))(params)
    for k in params:
        np.testing.assert_allclose(per_example[k].mean(axis=0), mean_grad[k], rtol=1e-10, atol=1e-12)
    # ...which is also the gradient of the loop (grad of vmap against a loop of grads).
    loop_grad = cr.grad(lambda p: sum(mlp_loss(p, x[i], y[i]) for i in range(6)) / 6)(params)
    assert_trees_equal(mean_grad, loop_grad, rtol=1e-10)
    # value_and_grad per example, examples along axis 1 and the gradients stacked last
    vals, grads = cr.vmap(cr.value_and_grad(mlp_loss), in_axes=(None, 1, 1), out_axes=-1)(params, x.T, y.T)
    np.testing.assert_allclose(vals, [mlp_loss(params, x[i], y[i]) for i in range(6)], rtol=1e-12)
    np.testing.assert_allclose(grads["W1"], np.moveaxis(want["W1"], 0, -1), rtol=1e-10)
    # in chunks: the same
    chunked = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0), chunk_size=4)(params, x, y)
    assert_trees_equal(chunked, per_example, rtol=1e-13, atol=1e-15)


def test_grad_of_vmap_and_vmap_of_grad():
    rng = np.random.default_rng(1)
    w = rng.standard_normal(3)
    xs = rng.standard_normal((5, 3))

    def f(w, x):
        return cnp.sin(cnp.dot(w, x)) * cnp.sum(w ** 2)

    g = cr.grad(lambda w: cnp.sum(cr.vmap(f, in_axes=(None, 0))(w, xs)))(w)
    want = sum(cr.grad(f)(w, xs[i]) for i in range(5))
    np.testing.assert_allclose(g, want, rtol=1e-12)
    # closed form: d/dw [sin(w.x) |w|^2] = cos(w.x) x |w|^2 + 2 w sin(w.x)
    closed = sum(np.cos(w @ x) * x * (w @ w) + 2 * w * np.sin(w @ x) for x in xs)
    np.testing.assert_allclose(g, closed, rtol=1e-12)
    per_x = cr.vmap(cr.grad(f, argnums=1), in_axes=(None, 0))(w, xs)
    np.testing.assert_allclose(per_x, np.stack([np.cos(w @ x) * w * (w @ w) for x in xs]), rtol=1e-12)


def test_vmap_of_jvp_and_jvp_of_vmap():
    rng = np.random.default_rng(2)
    xs, ts = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))

    def f(x):
        return cnp.tanh(x) * cnp.sum(x ** 2)

    got = cr.vmap(lambda x, t: cr.jvp(f, (x,), (t,)))(xs, ts)
    assert_trees_equal(got, loop(lambda x, t: cr.jvp(f, (x,), (t,)), (xs, ts)))
    got = cr.jvp(cr.vmap(f), (xs,), (ts,))
    assert_trees_equal(got, loop(lambda x, t: cr.jvp(f, (x,), (t,)), (xs, ts)))
    # closed form of the tangent: (1 - tanh^2) t |x|^2 + tanh(x) 2 x.t
    closed = (1 - np.tanh(xs) ** 2) * ts * np.sum(xs ** 2, 1, keepdims=True) + np.tanh(xs) * 2 * np.sum(
        xs * ts, 1, keepdims=True)
    np.testing.assert_allclose(got[1], closed, rtol=1e-12)
    # Jacobian-vector products with many tangents at one point: vmap over the tangents only
    got = cr.vmap(lambda t: cr.jvp(f, (xs[0],), (t,))[1])(ts)
    np.testing.assert_allclose(got, ts @ cr.jacfwd(f)(xs[0]).T, rtol=1e-12)


def test_vmap_of_hessian_and_of_vmap_of_grad():
    rng = np.random.default_rng(3)
    xs = rng.standard_normal((3, 2, 4))

    def f(x):
        return cnp.sum(cnp.sin(x) * x[::-1])

    got = cr.vmap(cr.vmap(cr.hessian(f)))(xs)
    assert got.shape == (3, 2, 4, 4)
    assert_trees_equal(got, loop(lambda x: loop(cr.hessian(f), (x,)), (xs,)))
    got = cr.vmap(cr.vmap(cr.grad(f)), in_axes=1, out_axes=1)(xs)
    assert_trees_equal(got, loop(lambda x: loop(cr.grad(f), (x,)), (xs,), 1, 1))


# ---------------------------------------------------------------------------------------------------------
# The interface: pytrees, axis_size, unmapped outputs, chunk_size
# ---------------------------------------------------------------------------------------------------------

def test_pytree_in_axes_and_out_axes_prefixes():
    rng = np.random.default_rng(0)
    d = {"a": rng.standard_normal((3, 5)), "b": rng.standard_normal(2)}
    t = (rng.standard_normal((2, 5)), [rng.standard_normal((5,)), rng.standard_normal(4)])

    def f(d, t):
        return {"u": d["a"] * t[1][0] + cnp.sum(d["b"]), "v": (t[0] * 2.0, cnp.sum(t[1][1]))}

    in_axes = ({"a": 1, "b": None}, (1, [0, None]))
    out_axes = {"u": -1, "v": (0, None)}
    got = assert_vmap(f, (d, t), in_axes, out_axes)
    assert got["u"].shape == (3, 5) and got["v"][0].shape == (5, 2) and np.shape(got["v"][1]) == ()
    # a prefix that covers a whole subtree, and in_axes given as a list
    assert_vmap(f, (d, (t[0].T, [t[1][0], np.ones((5, 4))])), [{"a": 1, "b": None}, 0])
    # keyword-free call with a namedtuple
    from collections import namedtuple
    P = namedtuple("P", "x y")
    assert_vmap(lambda p: p.x * p.y, (P(np.ones((4, 2)), np.arange(8.0).reshape(2, 4)),), (P(0, 1),))


def test_axis_size_and_unmapped_outputs():
    x = np.arange(3.0)
    # nothing mapped: axis_size gives the batch; the output is broadcast along the new axis
    np.testing.assert_array_equal(cr.vmap(lambda x: x * 2, in_axes=None, axis_size=4)(x), np.tile(x * 2, (4, 1)))
    np.testing.assert_array_equal(cr.vmap(lambda x: x * 2, in_axes=None, axis_size=4, out_axes=1)(x),
                                  np.tile(x * 2, (4, 1)).T)
    np.testing.assert_array_equal(cr.vmap(lambda: np.ones(2), axis_size=3)(), np.ones((3, 2)))
    assert cr.vmap(lambda x: 1.5, axis_size=2, in_axes=None)(x).shape == (2,)
    # an output that does not depend on the mapped input
    ys = np.ones((5, 2))
    got = cr.vmap(lambda x, y: (x, y * 3), in_axes=(None, 0))(x, ys)
    np.testing.assert_array_equal(got[0], np.tile(x, (5, 1)))
    got = cr.vmap(lambda x, y: (x, y * 3), in_axes=(None, 0), out_axes=(None, 0))(x, ys)
    np.testing.assert_array_equal(got[0], x)
    got = cr.vmap(lambda x, y: x + 1.0, in_axes=(None, 0), out_axes=-1)(x, ys)
    np.testing.assert_array_equal(got, np.tile(x + 1.0, (5, 1)).T)
    # axis_size agreeing with the mapped arguments is accepted
    assert cr.vmap(cnp.sin, axis_size=5)(ys).shape == (5, 2)
    # under grad: an unmapped output still carries its derivative
    g = cr.grad(lambda w: cnp.sum(cr.vmap(lambda y: w * 2.0, in_axes=0)(ys)))(1.0)
    assert float(g) == 10.0


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 7, 100])
def test_chunk_size_gives_identical_results(chunk_size):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 7, 2))
    y = rng.standard_normal(2)

    def f(x, y):
        return {"a": cnp.sin(x) * y, "b": (cnp.sum(x ** 2), y * 2.0), "c": cnp.cumsum(x[:, ::-1], axis=0)}

    in_axes, out_axes = (1, None), {"a": -1, "b": (0, None), "c": 1}
    ref = cr.vmap(f, in_axes, out_axes)(x, y)
    got = cr.vmap(f, in_axes, out_axes, chunk_size=chunk_size)(x, y)
    g_leaves, g_tree = tree_flatten(got)
    r_leaves, r_tree = tree_flatten(ref)
    assert g_tree == r_tree
    for g, r in zip(g_leaves, r_leaves):
        assert np.shape(g) == np.shape(r) and np.asarray(g).dtype == np.asarray(r).dtype
        # equal up to the order of floating-point summation (NumPy sums a chunk's rows in another order)
        np.testing.assert_allclose(g, r, rtol=1e-14, atol=0)
    np.testing.assert_array_equal(got["a"], ref["a"])  # elementwise: bit for bit
    assert_trees_equal(got, loop(f, (x, y), in_axes, out_axes))
    # nothing mapped (axis_size) in chunks, and chunks of vmap of grad
    np.testing.assert_array_equal(cr.vmap(lambda y: y * 2, in_axes=None, axis_size=7, chunk_size=chunk_size)(y),
                                  np.tile(y * 2, (7, 1)))
    g = cr.vmap(cr.grad(lambda x: cnp.sum(cnp.sin(x) ** 2)), in_axes=1, chunk_size=chunk_size)(x)
    np.testing.assert_allclose(g, cr.vmap(cr.grad(lambda x: cnp.sum(cnp.sin(x) ** 2)), in_axes=1)(x), rtol=1e-14)


# ---------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------

def test_error_mismatched_axis_sizes_lists_them():
    with pytest.raises(ValueError, match=r"inconsistent sizes for the mapped axis: size 3: argument leaf 0 "
                                         r"\(axis 0, shape \(3, 2\)\); size 4: argument leaf 1"):
        cr.vmap(lambda x, y: x + y)(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"size 2: .*axis 1, shape \(3, 2\).*size 5"):
        cr.vmap(lambda x, y: x, in_axes=(1, 0))(np.ones((3, 2)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="axis_size=4 but the mapped arguments have size 3"):
        cr.vmap(cnp.sin, axis_size=4)(np.ones(3))


def test_error_in_axes_tree_does_not_match_arguments():
    with pytest.raises(ValueError, match=r"in_axes structure dict\[\('a', 'c'\)\].*does not match.*"
                                         r"dict\[\('a', 'b'\)\]"):
        cr.vmap(lambda d: d["a"], in_axes=({"a": 0, "c": 0},))({"a": np.ones(3), "b": np.ones(3)})
    with pytest.raises(ValueError, match=r"in_axes structure tuple\(\*, \*, \*\) does not match"):
        cr.vmap(lambda t: t[0], in_axes=((0, 0, 0),))((np.ones(3), np.ones(3)))
    with pytest.raises(ValueError, match="in_axes .* is a container but the matching argument is a leaf"):
        cr.vmap(lambda x: x, in_axes=((0, 0),))(np.ones(3))
    with pytest.raises(TypeError, match="in_axes entries must be ints or None, got 'a'"):
        cr.vmap(lambda x: x, in_axes="a")(np.ones(3))


def test_error_in_axes_length():
    with pytest.raises(ValueError, match="in_axes has 1 entries but the function was called with 2 positional"):
        cr.vmap(lambda x, y: x, in_axes=(0,))(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="in_axes has 3 entries but the function was called with 2 positional"):
        cr.vmap(lambda x, y: x, in_axes=[0, 0, None])(np.ones(3), np.ones(3))


def test_error_out_axes_out_of_range():
    with pytest.raises(ValueError, match=r"out_axes 2 is out of range for an output of rank 2 \(shape \(3, 2\)"):
        cr.vmap(lambda x: x, out_axes=2)(np.ones((3, 2)))
    with pytest.raises(ValueError, match="out_axes -3 is out of range for an output of rank 2"):
        cr.vmap(lambda x: x, out_axes=-3)(np.ones((3, 2)))
    with pytest.raises(ValueError, match="out_axes 2 is out of range for an output of rank 2"):
        cr.vmap(lambda x: np.ones(2), out_axes=2)(np.ones(3))  # an unmapped output
    with pytest.raises(ValueError, match="depends on the mapped inputs, but its out_axes entry is None"):
        cr.vmap(lambda x: x, out_axes=None)(np.ones(3))


def test_error_mapping_a_0d_argument():
    with pytest.raises(ValueError, match=r"map argument leaf 0 along axis 0, which implies that its rank should "
                                         r"be at least 1, but it is only 0 \(its shape is \(\)\)"):
        cr.vmap(lambda x: x)(1.0)
    with pytest.raises(ValueError, match="map argument leaf 1 along axis -2.*at least 2, but it is only 1"):
        cr.vmap(lambda x, y: x, in_axes=(0, -2))(np.ones(3), np.ones(3))


def test_error_nothing_mapped_and_no_axis_size():
    with pytest.raises(ValueError, match="at least one non-None value in in_axes, or be given axis_size"):
        cr.vmap(lambda x: x, in_axes=None)(np.ones(3))
    with pytest.raises(ValueError, match="at least one non-None value in in_axes"):
        cr.vmap(lambda: 1.0)()


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_error_bad_chunk_size(chunk_size):
    with pytest.raises(ValueError, match="chunk_size"):
        cr.vmap(lambda x: x, chunk_size=chunk_size)(np.ones(3))


def test_error_out_axes_tree_names_the_outputs():
    with pytest.raises(ValueError, match=r"out_axes structure tuple\(\*, \*, \*\) does not match the output"):
        cr.vmap(lambda x: (x, x), out_axes=(0, 0, 0))(np.ones(3))


def test_error_python_control_flow_on_a_batched_value():
    with pytest.raises(TypeError, match="truth value of a batched value is ambiguous"):
        cr.vmap(lambda x: x if x > 0 else -x)(np.ones(3))


# ---------------------------------------------------------------------------------------------------------
# The loop fallback
# ---------------------------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("default:vmap:UserWarning")
def test_loop_fallback_for_a_user_primitive_warns_once_per_primitive():
    rowsum_cube_p = Primitive("user_rowsum_cube", lambda x, *, k: np.sum(x ** 3, axis=-1) * k)
    minmax_p = Primitive("user_minmax", lambda x, y: [np.minimum(x, y), np.maximum(x, y)], multiple_results=True)
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((4, 3, 2)), rng.standard_normal((3, 2))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        for axis in (0, 1, -1):
            got = cr.vmap(lambda x: rowsum_cube_p.bind(x, k=2.0), in_axes=axis)(x)
            np.testing.assert_array_equal(got, loop(lambda x: np.sum(x ** 3, axis=-1) * 2.0, (x,), axis))
        got = cr.vmap(lambda x, y: minmax_p.bind(x, y), in_axes=(0, None), out_axes=[0, -1])(x, y)
        want = loop(lambda x, y: [np.minimum(x, y), np.maximum(x, y)], (x, y), (0, None), [0, -1])
        assert_trees_equal(got, want)
        assert_vmap(lambda x, y: minmax_p.bind(x, y), (x, np.stack([y] * 4, 1)), (0, 1))
        # nested: the inner vmap falls back, the outer vmap batches the loop's ops
        got = cr.vmap(cr.vmap(lambda x: rowsum_cube_p.bind(x, k=1.0)))(x)
        np.testing.assert_allclose(got, np.sum(x ** 3, axis=-1))
    messages = [str(w.message) for w in rec if issubclass(w.category, UserWarning)]
    assert len([m for m in messages if "'user_rowsum_cube' has no batch rule" in m]) == 1, messages
    assert len([m for m in messages if "'user_minmax' has no batch rule" in m]) == 1, messages
    assert all("falling back to a loop over the batch" in m for m in messages)
    assert len(messages) == 2


def test_loop_fallback_warning_is_an_error_in_this_file():
    p = Primitive("user_double", lambda x: 2 * x)
    with pytest.raises(UserWarning, match="vmap: primitive 'user_double' has no batch rule"):
        cr.vmap(p.bind)(np.ones(3))
