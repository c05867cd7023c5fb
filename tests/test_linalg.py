"""matmul, einsum, dot, tensordot, inner, outer, vdot, trace, diagonal, diag: values against NumPy, derivatives
against finite differences to second order in both modes (``check_grads``), vmap against a Python loop
(``check_vmap``), float32 kept float32, and errors that name the operation and the shapes."""
import itertools

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.ops import linalg as L
from chainrule.testing import check_grads, check_vmap

MODES = ("fwd", "rev")
# every op here has a batch rule: vmap must never fall back to a loop
pytestmark = pytest.mark.filterwarnings("error:vmap:UserWarning")


def rand(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    return rng.standard_normal(shape).astype(dtype)


def operands(shapes, dtype=np.float64):
    return [rand(s, dtype, seed=i) for i, s in enumerate(shapes)]


def batched(x, axis, n=3, seed=11):
    """``x`` with a new axis of size ``n`` at ``axis`` (random data along it), or ``x`` if ``axis`` is None."""
    if axis is None:
        return x
    axis = axis % (x.ndim + 1)
    return rand(x.shape[:axis] + (n,) + x.shape[axis:], x.dtype, seed)


def check_all(f, args, want_fn=None):
    """Value against NumPy, then derivatives to order 2 in forward and reverse mode."""
    if want_fn is not None:
        got, want = f(*args), want_fn(*args)
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        # the same value when traced (the face's reduction, not NumPy's fast path)
        traced, _ = cr.vjp(f, *args)
        assert np.shape(traced) == np.shape(want)
        np.testing.assert_allclose(traced, want, rtol=1e-10, atol=1e-10)
    check_grads(f, args, order=2, modes=MODES)


def check_float32(f, args):
    """float32 operands give float32 values, tangents and cotangents."""
    args = [np.asarray(a, np.float32) for a in args]
    out, f_vjp = cr.vjp(f, *args)
    assert out.dtype == np.float32
    for a, ct in zip(args, f_vjp(np.ones(np.shape(out), np.float32))):
        assert ct.dtype == np.float32 and ct.shape == a.shape
    _, t = cr.jvp(f, tuple(args), tuple(np.ones_like(a) for a in args))
    assert t.dtype == np.float32
    want = f(*[a.astype(np.float64) for a in args])
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)
    check_grads(f, args, order=2, modes=MODES)


# ---------------------------------------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((1, 3), (3, 1)),
    ((5, 2, 3), (3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)), ((4, 1, 2, 3), (1, 3, 3, 2)), ((1, 2, 3), (3,)),
]


@pytest.mark.parametrize("sa,sb", MATMUL_SHAPES)
def test_matmul_grads(sa, sb):
    check_all(L.matmul, operands([sa, sb]), np.matmul)


@pytest.mark.parametrize("sa,sb", [((2, 3), (3, 4)), ((5, 2, 3), (3,)), ((3,), (3,))])
def test_matmul_float32(sa, sb):
    check_float32(L.matmul, operands([sa, sb]))


def test_matmul_mixed_dtypes_and_constants():
    a32, b64 = rand((2, 3), np.float32), rand((3, 4))
    out, f_vjp = cr.vjp(lambda a: L.matmul(a, b64), a32)
    assert out.dtype == np.float64 and f_vjp(np.ones((2, 4)))[0].dtype == np.float32
    np.testing.assert_allclose(out, a32 @ b64)
    # a constant operand with fewer batch dims, either side; operators and ufunc dispatch
    w = rand((3, 4))
    check_grads(lambda x: L.matmul(x, w), (rand((5, 2, 3)),), order=2, modes=MODES)
    check_grads(lambda x: w.T @ x, (rand((5, 3, 2)),), order=2, modes=MODES)
    check_grads(lambda x: np.matmul(x, w), (rand((2, 3)),), order=1, modes=MODES)
    assert L.matmul([[1.0, 2.0]], [3.0, 4.0]).tolist() == [11.0]


# Logical shapes of (a, b) and where each gets its mapped axis: None, 0, the last axis, or a middle one.
VMAP_MATMUL_SHAPES = [((4,), (4,)), ((2, 4), (4,)), ((4,), (4, 3)), ((2, 4), (4, 3)), ((5, 2, 4), (4, 3)),
                      ((2, 4), (5, 4, 3)), ((1, 2, 4), (5, 4, 3)), ((5, 2, 4), (5, 4, 3))]


@pytest.mark.parametrize("sa,sb", VMAP_MATMUL_SHAPES)
def test_matmul_vmap(sa, sb):
    a, b = operands([sa, sb])
    for ia, ib in itertools.product([None, 0, -1, 1], repeat=2):
        if ia is None and ib is None:
            continue
        check_vmap(L.matmul, (batched(a, ia), batched(b, ib)), in_axes=(ia, ib))
    check_vmap(L.matmul, (batched(a, 0), batched(b, -1)), in_axes=(0, -1), out_axes=-1)


def test_matmul_vmap_composes_with_grad():
    a, b, c = rand((3, 2, 4)), rand((4, 5)), rand((4, 5, 3))
    # derivatives of a batched matmul (the batch rule's output is differentiated), both operands mapped or not
    check_grads(cr.vmap(L.matmul, in_axes=(0, None)), (a, b), order=2, modes=MODES)
    check_grads(cr.vmap(L.matmul, in_axes=(0, 2)), (a, c), order=2, modes=MODES)
    check_grads(cr.vmap(L.matmul, in_axes=(None, 2)), (a[0], c), order=2, modes=MODES)
    # batching the derivative rules (per-example gradients), and nested vmap
    per_example = cr.vmap(cr.grad(lambda x, w: cnp.sum(cnp.tanh(L.matmul(x, w)))), in_axes=(0, None))
    check_vmap(cr.grad(lambda x, w: cnp.sum(cnp.tanh(L.matmul(x, w)))), (a, b), in_axes=(0, None))
    want = np.stack([cr.grad(lambda x: cnp.sum(cnp.tanh(L.matmul(x, b))))(x) for x in a])
    np.testing.assert_allclose(per_example(a, b), want, rtol=1e-12)
    check_vmap(cr.vmap(L.matmul, in_axes=(0, None)), (rand((3, 2, 2, 4)), c), in_axes=(0, 2))
    check_vmap(cr.vmap(L.matmul, in_axes=(1, 0)), (rand((3, 2, 2, 4)), rand((2, 3, 4, 5))), in_axes=(0, 1))


def test_matmul_errors():
    for a, b in [(np.ones((2, 3)), np.ones((4, 5))), (np.ones(3), np.ones(4)), (np.ones((2, 3)), np.ones(4))]:
        for f in [L.matmul, lambda a, b: cr.vjp(L.matmul, a, b)[0]]:
            with pytest.raises(ValueError, match=r"matmul.*" + r".*".join(map(str, [a.shape, b.shape]))
                               .replace("(", r"\(").replace(")", r"\)")):
                f(a, b)
    with pytest.raises(ValueError, match=r"matmul: batch dimensions of shapes \(2, 2, 3\) and \(4, 3, 1\)"):
        cr.vjp(L.matmul, np.ones((2, 2, 3)), np.ones((4, 3, 1)))
    with pytest.raises(ValueError, match="matmul: input operand does not have enough dimensions"):
        cr.vjp(lambda a: L.matmul(a, np.ones(3)), np.array(2.0))


# ---------------------------------------------------------------------------------------------------------
# einsum
# ---------------------------------------------------------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),                          # implicit output
    ("bij,bjk->bik", [(5, 2, 3), (5, 3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),    # broadcasting batch dims, one of size 1
    ("...ij,...jk", [(3, 4), (2, 4, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),                                     # trace
    ("iij->ji", [(3, 3, 2)]),
    ("iii->i", [(2, 2, 2)]),
    ("ij->", [(2, 3)]),
    ("ij->i", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("i,j->ij", [(2,), (3,)]),                            # outer product
    ("i,i", [(3,), (3,)]),
    ("i,j->", [(2,), (3,)]),
    ("ijk,kl->il", [(2, 3, 4), (4, 5)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),            # three operands
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ij,->ij", [(2, 3), ()]),                            # a 0-d operand
    (",->", [(), ()]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),                      # size-1 broadcasting of a named index
    ("ij,jk->ik", [(2, 1), (3, 4)]),                      # a size-1 contracted index
    ("...i,...i->...", [(3, 1, 4), (2, 4)]),
    ("iij,jk->ik", [(3, 3, 2), (2, 4)]),
    ("ab,ba->", [(2, 3), (3, 2)]),
    ("Ba", [(2, 3)]),                                     # implicit order is ASCII: upper case first
    ("ij...,jk...->ik...", [(2, 3), (3, 4)]),             # empty ellipsis
    ("...j->j", [(2, 3, 4)]),                             # '...' missing from the output: summed
    ("...ij,...j->i", [(2, 3, 4), (2, 4)]),
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 5), (2, 5)]),
]


def _einsum(spec):
    return lambda *xs: L.einsum(spec, *xs)


def _np_einsum(spec, *xs):
    """NumPy's result; its unoptimised loop refuses an explicit output without '...' when the operands have '...'
    dimensions, which its optimising path (and chainrule) sum over."""
    try:
        return np.einsum(spec, *xs, optimize=False)
    except ValueError:
        return np.einsum(spec, *xs, optimize=True)


@pytest.mark.parametrize("spec,shapes", EINSUM_CASES, ids=[c[0] or "empty" for c in EINSUM_CASES])
def test_einsum_grads(spec, shapes):
    check_all(_einsum(spec), operands(shapes), lambda *xs: _np_einsum(spec, *xs))


@pytest.mark.parametrize("spec,shapes", EINSUM_CASES, ids=[c[0] or "empty" for c in EINSUM_CASES])
def test_einsum_vmap(spec, shapes):
    xs = operands(shapes)
    f = _einsum(spec)
    check_vmap(f, [batched(x, 0) for x in xs], in_axes=0)
    # first operand mapped along its last axis, the others unmapped
    in_axes = (-1,) + (None,) * (len(xs) - 1)
    check_vmap(f, [batched(x, ax) for x, ax in zip(xs, in_axes)], in_axes=in_axes)
    if len(xs) > 1:  # the last operand mapped in the middle, the first unmapped, output batched at the end
        in_axes = (None,) + (0,) * (len(xs) - 2) + (xs[-1].ndim // 2,)
        check_vmap(f, [batched(x, ax) for x, ax in zip(xs, in_axes)], in_axes=in_axes, out_axes=-1)


@pytest.mark.parametrize("spec,shapes", [("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]),
                                         ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]), ("ij,->ij", [(2, 3), ()])])
def test_einsum_float32(spec, shapes):
    check_float32(_einsum(spec), operands(shapes))


def test_einsum_nested_transforms():
    a, b = rand((3, 2, 4)), rand((4, 5))
    f = _einsum("ij,jk->ik")
    # vmap inside grad, grad inside vmap, and vmap of vmap (two fresh batch letters)
    check_grads(cr.vmap(f, in_axes=(0, None)), (a, b), order=2, modes=MODES)
    check_vmap(cr.grad(lambda x, w: cnp.sum(cnp.sin(f(x, w)))), (a, b), in_axes=(0, None))
    check_vmap(cr.vmap(f, in_axes=(0, 1)), (rand((2, 3, 2, 4)), rand((4, 2, 5, 3))), in_axes=(1, 3))
    # a second derivative computed forward-over-reverse and reverse-over-reverse agrees
    x0 = rand((2, 3))
    g = cr.grad(lambda x: cnp.sum(L.einsum("ij,ij,jk->ik", x, x, b[:3]) ** 2))
    v = rand((2, 3), seed=5)
    fwd = cr.jvp(g, (x0,), (v,))[1]
    rev = cr.vjp(g, x0)[1](v)[0]
    np.testing.assert_allclose(fwd, rev, rtol=1e-10)


def test_einsum_mixed_dtypes_constants_and_options():
    a32, b = rand((2, 3), np.float32), rand((3, 4))
    out, f_vjp = cr.vjp(lambda a: L.einsum("ij,jk", a, b), a32)
    assert out.dtype == np.float64 and f_vjp(np.ones((2, 4)))[0].dtype == np.float32
    check_grads(lambda a: L.einsum("ij,jk->k", a, np.arange(12).reshape(3, 4)), (rand((2, 3)),), order=2)
    check_grads(lambda a: L.einsum("ij,j->i", a, 2.0 * np.ones(3)), (rand((2, 3)),), order=2)
    # sublist form
    x, y = rand((2, 3)), rand((3, 4))
    np.testing.assert_allclose(L.einsum(x, [0, 1], y, [1, 2], [0, 2]), x @ y)
    check_grads(lambda x, y: L.einsum(x, [0, Ellipsis], y, [Ellipsis, 2]), (rand((2, 3)), rand((3, 4))), order=2)
    check_grads(lambda x, y: L.einsum(x, [0, 1], y, [1, 2]), (x, y), order=1)
    # optimize settings (an explicit path too) give the same values and derivatives
    c = rand((4, 5))
    path = np.einsum_path("ij,jk,kl->il", x, y, c)[0]
    for opt in (False, True, "optimal", path):
        f = lambda x, y, c, opt=opt: L.einsum("ij,jk,kl->il", x, y, c, optimize=opt)
        np.testing.assert_allclose(cr.vjp(f, x, y, c)[0], x @ y @ c, rtol=1e-12)
        check_grads(f, (x, y, c), order=1, modes=MODES)
    # the fast path is NumPy's own result
    assert isinstance(L.einsum("ii", np.eye(2)), np.floating) and cnp.einsum is L.einsum


def test_einsum_errors():
    x, y = np.ones((2, 3)), np.ones((4, 5))
    traced = lambda spec, *xs: cr.vjp(lambda *a: L.einsum(spec, *a), *xs)[0]  # noqa: E731
    for run in (L.einsum, traced):
        with pytest.raises(ValueError, match=r"einsum: subscripts 'ij,jk->ik' name 2 operand\(s\) but 1 were given"):
            run("ij,jk->ik", x)
        with pytest.raises(ValueError, match=r"einsum: index 'j' has size 3 in operand 0 .* but size 4 in operand 1"):
            run("ij,jk->ik", x, y)
        with pytest.raises(ValueError, match=r"einsum: index 'i' is repeated in operand 0 .*sizes \[2, 3\]"):
            run("ii->i", x)
        with pytest.raises(ValueError, match=r"einsum: operand 0 has shape \(2, 3\) .* name 3"):
            run("ijk->i", x)
        with pytest.raises(ValueError, match=r"einsum: output subscript 'z' does not appear"):
            run("ij->iz", x)
        with pytest.raises(ValueError, match=r"einsum: output subscript 'i' appears more than once"):
            run("ij->ii", x)
        with pytest.raises(ValueError, match=r"einsum: a '...' dimension has size 2 .* but size 4"):
            run("...i,...i", np.ones((2, 3)), np.ones((4, 3)))
        with pytest.raises(ValueError, match=r"einsum: invalid subscript '1'"):
            run("i1->i", x)


# ---------------------------------------------------------------------------------------------------------
# dot, tensordot, inner, outer, vdot
# ---------------------------------------------------------------------------------------------------------

DOT_SHAPES = [((), (3,)), ((3,), ()), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)),
              ((2, 1, 3), (3,)), ((2, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)), ((1, 3), (3, 1))]


@pytest.mark.parametrize("sa,sb", DOT_SHAPES)
def test_dot(sa, sb):
    check_all(L.dot, operands([sa, sb]), np.dot)


TENSORDOT_CASES = [((2, 3), (3, 4), 1), ((2, 3, 4), (3, 4, 5), 2), ((2, 3), (4, 5), 0), ((3,), (3,), 1),
                   ((2, 3, 4), (4, 2), ([0, 2], [1, 0])), ((2, 3), (2, 3), ([1, 0], [1, 0])),
                   ((1, 3, 4), (4, 1), (2, 0)), ((2, 3), (3, 2), ([-1], [-2]))]


@pytest.mark.parametrize("sa,sb,axes", TENSORDOT_CASES)
def test_tensordot(sa, sb, axes):
    check_all(lambda a, b: L.tensordot(a, b, axes), operands([sa, sb]), lambda a, b: np.tensordot(a, b, axes))


INNER_SHAPES = [((), (3,)), ((3,), (3,)), ((2, 3), (3,)), ((2, 3), (4, 3)), ((2, 1, 3), (4, 3)), ((1,), (2, 1))]


@pytest.mark.parametrize("sa,sb", INNER_SHAPES)
def test_inner(sa, sb):
    check_all(L.inner, operands([sa, sb]), np.inner)


@pytest.mark.parametrize("sa,sb", [((3,), (4,)), ((2, 2), (3,)), ((), (3,)), ((1,), (2, 1))])
def test_outer(sa, sb):
    check_all(L.outer, operands([sa, sb]), np.outer)


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((2, 3), (6,)), ((2, 1, 2), (2, 2)), ((1,), (1,))])
def test_vdot(sa, sb):
    check_all(L.vdot, operands([sa, sb]), np.vdot)


@pytest.mark.parametrize("f,sb", [(L.dot, (3, 4)), (L.inner, (4, 3)), (L.outer, (4,)), (L.vdot, (3, 2)),
                                  (lambda a, b: L.tensordot(a, b, 1), (3, 4))],
                         ids=["dot", "inner", "outer", "vdot", "tensordot"])
def test_products_float32_and_vmap(f, sb):
    a, b = rand((2, 3)), rand(sb)
    check_float32(f, (a, b))
    for ia, ib in [(0, None), (None, 1), (1, 0), (-1, -1)]:
        check_vmap(f, (batched(a, ia), batched(b, ib)), in_axes=(ia, ib))
    check_vmap(f, (batched(a, 0), batched(b, 0)), out_axes=-1)


def test_product_errors():
    with pytest.raises(ValueError, match=r"tensordot: shape-mismatch for sum: shapes \(2, 3\) and \(4, 5\)"):
        cr.vjp(lambda a: L.tensordot(a, np.ones((4, 5)), 1), np.ones((2, 3)))
    with pytest.raises(ValueError, match="tensordot: duplicate axes"):
        cr.vjp(lambda a: L.tensordot(a, np.ones((2, 3)), ([1, 1], [0, 1])), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"vdot: the inputs have different sizes \(shapes \(1,\) and \(3,\)\)"):
        cr.vjp(lambda a: L.vdot(a, np.ones(3)), np.ones(1))
    with pytest.raises(ValueError, match=r"dot: shapes \(3,\) and \(4,\) are not aligned"):
        cr.vjp(lambda a: L.dot(a, np.ones(4)), np.ones(3))
    with pytest.raises(ValueError, match=r"dot: shapes \(2, 3\) and \(2, 4, 5\) are not aligned"):
        cr.vjp(lambda a: L.dot(a, np.ones((2, 4, 5))), np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"inner: shape-mismatch for sum: shapes \(2, 3\) and \(4,\)"):
        cr.vjp(lambda a: L.inner(a, np.ones(4)), np.ones((2, 3)))


# ---------------------------------------------------------------------------------------------------------
# trace, diagonal, diag
# ---------------------------------------------------------------------------------------------------------

DIAGONAL_CASES = [((3, 3), 0, 0, 1), ((3, 4), 1, 0, 1), ((4, 3), -2, 0, 1), ((3, 4), 5, 0, 1),
                  ((2, 3, 3), 0, 1, 2), ((3, 2, 4), -1, 2, 0), ((1, 1), 0, 0, 1), ((2, 3, 1, 3), 0, -1, 1)]


@pytest.mark.parametrize("shape,offset,axis1,axis2", DIAGONAL_CASES)
def test_diagonal_and_trace(shape, offset, axis1, axis2):
    x = rand(shape)
    check_all(lambda a: L.diagonal(a, offset, axis1, axis2), [x], lambda a: np.diagonal(a, offset, axis1, axis2))
    check_all(lambda a: L.trace(a, offset, axis1, axis2), [x], lambda a: np.trace(a, offset, axis1, axis2))
    check_all(lambda a: a.diagonal(offset, axis1, axis2) * 1.0, [x])
    check_all(lambda a: a.trace(offset, axis1, axis2) * 1.0, [x])


@pytest.mark.parametrize("shape,k", [((3,), 0), ((3,), 2), ((2,), -1), ((1,), 0), ((3, 3), 0), ((3, 4), 1),
                                     ((4, 3), -1)])
def test_diag(shape, k):
    check_all(lambda v: L.diag(v, k), [rand(shape)], lambda v: np.diag(v, k))


@pytest.mark.parametrize("f", [L.diagonal, L.trace, L.diag, lambda a: L.diagonal(a, 1, 1, 0),
                               lambda a: L.trace(a, -1)], ids=["diagonal", "trace", "diag", "diagonal-offset",
                                                               "trace-offset"])
def test_diagonals_float32_and_vmap(f):
    x = rand((3, 4))
    check_float32(f, (x,))
    for ax in (0, 1, -1):
        check_vmap(f, (batched(x, ax),), in_axes=ax)
    if f is L.diag:  # the 1-D -> 2-D direction too
        check_vmap(f, (batched(rand((3,)), 1),), in_axes=1)


def test_diagonal_errors():
    with pytest.raises(ValueError, match=r"diagonal: requires an array of at least two dimensions, got shape \(3,\)"):
        cr.vjp(L.diagonal, np.ones(3))
    with pytest.raises(ValueError, match=r"diag: input must be 1-d or 2-d, got shape \(2, 2, 2\)"):
        cr.vjp(L.diag, np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match="diagonal: axis1 and axis2 cannot be the same"):
        cr.vjp(lambda a: L.diagonal(a, 0, 1, -1), np.ones((2, 2)))


# ---------------------------------------------------------------------------------------------------------
# complex and empty operands
# ---------------------------------------------------------------------------------------------------------

def crand(shape, seed=0):
    return rand(shape, seed=seed) + 1j * rand(shape, seed=seed + 1)


@pytest.mark.parametrize("f,shapes", [
    (L.matmul, [(2, 3), (3, 4)]), (L.matmul, [(5, 2, 3), (3,)]), (_einsum("ij,jk,k->i"), [(2, 3), (3, 4), (4,)]),
    (_einsum("ii"), [(3, 3)]), (lambda a, b: L.tensordot(a, b, 2), [(2, 3, 4), (3, 4)]), (L.trace, [(3, 3)]),
], ids=["matmul", "matmul-batched", "einsum", "einsum-trace", "tensordot", "trace"])
def test_complex(f, shapes):
    xs = [crand(s, seed=i) for i, s in enumerate(shapes)]
    out = cr.vjp(f, *xs)[0]
    assert out.dtype == np.complex128
    check_grads(f, xs, order=2, modes=MODES)
    check_vmap(f, [batched(x.real, 0) + 1j for x in xs])


def test_empty_contractions():
    a, b = rand((2, 0)), rand((0, 3))
    for f in (L.matmul, _einsum("ij,jk->ik"), L.dot, lambda a, b: L.tensordot(a, b, 1)):
        out, f_vjp = cr.vjp(f, a, b)
        np.testing.assert_array_equal(out, np.zeros((2, 3)))
        ga, gb = f_vjp(np.ones((2, 3)))
        assert ga.shape == (2, 0) and gb.shape == (0, 3)
        check_vmap(f, (batched(a, 0), b), in_axes=(0, None))
    out, f_vjp = cr.vjp(_einsum("i->"), np.zeros(0))
    assert out == 0.0 and f_vjp(1.0)[0].shape == (0,)
