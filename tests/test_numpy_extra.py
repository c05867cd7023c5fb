"""The breadth of ``chainrule.numpy``: every function added beyond the core op table.

A table of cases, each a function written with ``chainrule.numpy``, its NumPy reference and float64 arguments
chosen inside the function's domain and away from ties and kinks. For each case:

- ``test_value``: the result equals NumPy's, untraced and under ``vjp``;
- ``test_grads``: ``check_grads`` to order 2, forward and reverse mode (every mixed combination);
- ``test_vmap``: ``vmap`` over a batch of two argument sets equals a Python loop, and no op falls back to the
  loop (its warning is an error here).

Below the table: non-differentiable functions on traced values, NumPy's own functions dispatching to chainrule,
clear errors for functions chainrule does not implement, ``chainrule.numpy.random``, and the list of functions
HIPS autograd differentiates.
"""
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.interpreters import batching
from chainrule.testing import check_grads, check_vmap

pytestmark = [pytest.mark.filterwarnings("error:vmap:UserWarning"),
              pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:`row_stack` alias is deprecated:DeprecationWarning")]


@pytest.fixture(autouse=True)
def _fresh_fallback_warnings(monkeypatch):
    monkeypatch.setattr(batching, "_warned", set())


def _arr(shape, lo=-1.5, hi=1.5, seed=0):
    r = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    return r.uniform(lo, hi, size=shape)


def _distinct(shape, seed=0, scale=1.0):
    """Values in random order with gaps of at least 0.1 (no ties, so sorts and medians are smooth)."""
    n = int(np.prod(shape))
    r = np.random.default_rng(seed + 3 * n)
    return (r.permutation(n) * 0.37 + r.uniform(0, 0.05, n) - 0.18 * n).reshape(shape) * scale


class Case:
    def __init__(self, id, f, ref, args, order=2, vmap=True, grads=True):
        self.id, self.f, self.ref, self.args = id, f, ref, tuple(args)
        self.order, self.vmap, self.grads = order, vmap, grads


CASES = []


def case(*a, **k):
    CASES.append(Case(*a, **k))


# ---------------------------------------------------------------------------------------------------------
# Sorting and order statistics
# ---------------------------------------------------------------------------------------------------------

X5, X34, X234 = _distinct((5,)), _distinct((3, 4), 1), _distinct((2, 3, 4), 2)
for _x, _axes in [(X5, [-1, None]), (X34, [0, 1, None]), (X234, [1, -1])]:
    for _ax in _axes:
        case(f"sort-{_x.shape}-axis{_ax}", lambda x, _ax=_ax: cnp.sort(x, axis=_ax),
             lambda x, _ax=_ax: np.sort(x, axis=_ax), [_x])
case("sort-then-weight", lambda x: cnp.sort(x) * np.arange(5.0), lambda x: np.sort(x) * np.arange(5.0), [X5])
case("msort", cnp.msort, lambda x: np.sort(x, axis=0), [X34])
case("sort_complex-real", lambda x: cnp.real(cnp.sort_complex(x)), lambda x: np.real(np.sort_complex(x)), [X5])
case("partition-1d", lambda x: cnp.partition(x, 2)[2], lambda x: np.partition(x, 2)[2], [X5])
case("partition-axis1", lambda x: cnp.partition(x, (1, 3), axis=1)[:, [1, 3]],
     lambda x: np.partition(x, (1, 3), axis=1)[:, [1, 3]], [X34])
case("take_along_axis", lambda x: cnp.take_along_axis(x, np.argsort(X34, axis=1), axis=1),
     lambda x: np.take_along_axis(x, np.argsort(X34, axis=1), axis=1), [X34])
case("take_along_axis-bcast", lambda x: cnp.take_along_axis(x, np.array([[2, 0, 0]]), axis=0),
     lambda x: np.take_along_axis(x, np.array([[2, 0, 0]]), axis=0), [_distinct((3, 3))])
case("take_along_axis-argsort-traced", lambda x: cnp.take_along_axis(x, cnp.argsort(x, axis=0), axis=0),
     lambda x: np.take_along_axis(x, np.argsort(x, axis=0), axis=0), [X34])
for _q in [0.3, [0.1, 0.5, 0.9]]:
    for _ax in [None, 1]:
        for _kd in [False, True]:
            case(f"quantile-q{_q}-axis{_ax}-kd{_kd}", lambda x, _q=_q, _ax=_ax, _kd=_kd: cnp.quantile(x, _q, _ax,
                                                                                                      keepdims=_kd),
                 lambda x, _q=_q, _ax=_ax, _kd=_kd: np.quantile(x, _q, _ax, keepdims=_kd), [X34])
for _m in ["lower", "higher", "nearest", "midpoint"]:
    case(f"quantile-{_m}", lambda x, _m=_m: cnp.quantile(x, [0.2, 0.7], axis=0, method=_m),
         lambda x, _m=_m: np.quantile(x, [0.2, 0.7], axis=0, method=_m), [X34])
case("quantile-axes", lambda x: cnp.quantile(x, 0.4, axis=(0, 2)), lambda x: np.quantile(x, 0.4, axis=(0, 2)),
     [X234])
case("percentile", lambda x: cnp.percentile(x, 40, axis=0), lambda x: np.percentile(x, 40, axis=0), [X34])
case("median-odd", cnp.median, np.median, [X5])
case("median-even-axis1-kd", lambda x: cnp.median(x, axis=1, keepdims=True),
     lambda x: np.median(x, axis=1, keepdims=True), [X34])
case("median-all", cnp.median, np.median, [X34])
case("ptp", lambda x: cnp.ptp(x, axis=1), lambda x: np.ptp(x, axis=1), [X34])
case("ptp-all-kd", lambda x: cnp.ptp(x, keepdims=True), lambda x: np.ptp(x, keepdims=True), [X234])

# ---------------------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------------------

A34, W34, W4 = _arr((3, 4)), _arr((3, 4), 0.5, 2, seed=1), _arr((4,), 0.5, 2, seed=2)
case("average-plain", cnp.average, np.average, [A34])
case("average-axis-kd", lambda a: cnp.average(a, axis=0, keepdims=True),
     lambda a: np.average(a, axis=0, keepdims=True), [A34])
case("average-weights-same", lambda a, w: cnp.average(a, axis=0, weights=w),
     lambda a, w: np.average(a, axis=0, weights=w), [A34, W34])
case("average-weights-1d", lambda a, w: cnp.average(a, axis=1, weights=w),
     lambda a, w: np.average(a, axis=1, weights=w), [A34, W4])
case("average-returned", lambda a, w: cnp.average(a, axis=1, weights=w, returned=True),
     lambda a, w: np.average(a, axis=1, weights=w, returned=True), [A34, W4])

XN = _arr((3, 4), seed=5)
XN[0, 1] = XN[2, 3] = XN[1, 0] = np.nan
for _name in ["nansum", "nanmean", "nanvar", "nanstd", "nanprod", "nanmax", "nanmin"]:
    for _ax in [None, 0, 1]:
        for _kd in [False, True]:
            case(f"{_name}-axis{_ax}-kd{_kd}",
                 lambda x, _f=getattr(cnp, _name), _ax=_ax, _kd=_kd: _f(x, axis=_ax, keepdims=_kd),
                 lambda x, _f=getattr(np, _name), _ax=_ax, _kd=_kd: _f(x, axis=_ax, keepdims=_kd), [XN])
case("nanvar-ddof1", lambda x: cnp.nanvar(x, axis=1, ddof=1), lambda x: np.nanvar(x, axis=1, ddof=1), [XN])
for _name in ["nancumsum", "nancumprod"]:
    for _ax in [None, 0, 1]:
        case(f"{_name}-axis{_ax}", lambda x, _f=getattr(cnp, _name), _ax=_ax: _f(x, axis=_ax),
             lambda x, _f=getattr(np, _name), _ax=_ax: _f(x, axis=_ax), [XN])
for _name in ["cumulative_sum", "cumulative_prod"]:
    for _ax in [0, 1]:
        for _ii in [False, True]:
            case(f"{_name}-axis{_ax}-init{_ii}",
                 lambda x, _f=getattr(cnp, _name), _ax=_ax, _ii=_ii: _f(x, axis=_ax, include_initial=_ii),
                 lambda x, _f=getattr(np, _name), _ax=_ax, _ii=_ii: _f(x, axis=_ax, include_initial=_ii), [A34])
for _name in ["cumsum", "cumprod"]:
    for _ax in [None, 0, 1, -1]:
        case(f"{_name}-axis{_ax}", lambda x, _f=getattr(cnp, _name), _ax=_ax: _f(x, axis=_ax),
             lambda x, _f=getattr(np, _name), _ax=_ax: _f(x, axis=_ax), [_arr((2, 3, 2), seed=9)])

C35 = _arr((3, 5), seed=6)
case("cov", cnp.cov, np.cov, [C35])
case("cov-rowvar-false-bias", lambda x: cnp.cov(x, rowvar=False, bias=True),
     lambda x: np.cov(x, rowvar=False, bias=True), [C35])
case("cov-y", lambda x, y: cnp.cov(x, y), lambda x, y: np.cov(x, y), [_arr((5,), seed=1), _arr((5,), seed=2)])
case("cov-weights", lambda x: cnp.cov(x, fweights=np.array([1, 2, 1, 3, 1]), aweights=W4.tolist() + [1.0]),
     lambda x: np.cov(x, fweights=np.array([1, 2, 1, 3, 1]), aweights=W4.tolist() + [1.0]), [C35])
case("corrcoef", cnp.corrcoef, np.corrcoef, [C35])

# ---------------------------------------------------------------------------------------------------------
# Differences, integrals, interpolation
# ---------------------------------------------------------------------------------------------------------

for _n in [1, 2]:
    for _ax in [0, -1]:
        case(f"diff-n{_n}-axis{_ax}", lambda x, _n=_n, _ax=_ax: cnp.diff(x, _n, _ax),
             lambda x, _n=_n, _ax=_ax: np.diff(x, _n, _ax), [X34])
case("diff-prepend-append", lambda x, p: cnp.diff(x, axis=1, prepend=p, append=0.5),
     lambda x, p: np.diff(x, axis=1, prepend=p, append=0.5), [X34, _arr((3, 1), seed=4)])
case("ediff1d", lambda x: cnp.ediff1d(x, to_begin=[1.0, 2.0], to_end=-1.0),
     lambda x: np.ediff1d(x, to_begin=[1.0, 2.0], to_end=-1.0), [X34])
_coords = np.array([0.0, 0.5, 1.5, 1.75, 3.0])
for _eo in [1, 2]:
    case(f"gradient-1d-eo{_eo}", lambda f, _eo=_eo: cnp.gradient(f, edge_order=_eo),
         lambda f, _eo=_eo: np.gradient(f, edge_order=_eo), [X5])
    case(f"gradient-spacing-eo{_eo}", lambda f, _eo=_eo: cnp.gradient(f, 0.5, edge_order=_eo),
         lambda f, _eo=_eo: np.gradient(f, 0.5, edge_order=_eo), [X5])
    case(f"gradient-coords-eo{_eo}", lambda f, _eo=_eo: cnp.gradient(f, _coords, edge_order=_eo),
         lambda f, _eo=_eo: np.gradient(f, _coords, edge_order=_eo), [X5])
    case(f"gradient-2d-eo{_eo}", lambda f, _eo=_eo: cnp.gradient(f, 1.0, 2.0, edge_order=_eo),
         lambda f, _eo=_eo: np.gradient(f, 1.0, 2.0, edge_order=_eo), [_arr((3, 5))])
case("gradient-axis1-coords", lambda f: cnp.gradient(f, _coords, axis=1),
     lambda f: np.gradient(f, _coords, axis=1), [_arr((3, 5))])
case("trapezoid", cnp.trapezoid, np.trapezoid, [X5])
case("trapezoid-dx-axis0", lambda y: cnp.trapezoid(y, dx=0.5, axis=0), lambda y: np.trapezoid(y, dx=0.5, axis=0),
     [X34])
case("trapezoid-x", cnp.trapezoid, np.trapezoid, [X5, np.sort(_arr((5,), seed=8))])
case("trapezoid-x1d-axis0", lambda y, x: cnp.trapezoid(y, x, axis=0), lambda y, x: np.trapezoid(y, x, axis=0),
     [X34, np.sort(_arr((3,), seed=8))])
_xp = np.array([-2.0, -0.5, 0.3, 1.0, 2.5])
_xq = np.array([[-1.7, -0.2, 0.8], [0.1, 1.9, -1.1]])
case("interp-fp", lambda fp: cnp.interp(_xq, _xp, fp), lambda fp: np.interp(_xq, _xp, fp), [_arr((5,), seed=3)])
case("interp-all", cnp.interp, np.interp, [_xq, _xp, _arr((5,), seed=3)])
case("interp-left-right", lambda x, fp: cnp.interp(x, _xp, fp, left=-5.0, right=7.0),
     lambda x, fp: np.interp(x, _xp, fp, left=-5.0, right=7.0),
     [np.array([-3.0, 0.0, 3.0]), _arr((5,), seed=3)])
case("interp-period", lambda x, fp: cnp.interp(x, _xp, fp, period=4.0),
     lambda x, fp: np.interp(x, _xp, fp, period=4.0), [np.array([-3.1, 0.2, 5.3]), _arr((5,), seed=3)])
case("unwrap", cnp.unwrap, np.unwrap, [np.array([0.1, 3.0, 6.0, 0.5, -3.5, 2.9])])

# ---------------------------------------------------------------------------------------------------------
# Products and convolutions
# ---------------------------------------------------------------------------------------------------------

case("cross-3", cnp.cross, np.cross, [_arr((4, 3)), _arr((4, 3), seed=1)])
case("cross-bcast", cnp.cross, np.cross, [_arr((3,)), _arr((2, 3), seed=1)])
case("cross-axes", lambda a, b: cnp.cross(a, b, axisa=0, axisb=1, axisc=0),
     lambda a, b: np.cross(a, b, axisa=0, axisb=1, axisc=0), [_arr((3, 2)), _arr((2, 3), seed=1)])
case("cross-2x3", lambda a, b: cnp.cross(a, b), lambda a, b: np.cross(np.pad(a, [(0, 0), (0, 1)]), b),
     [_arr((2, 2)), _arr((2, 3), seed=1)])
case("cross-3x2", lambda a, b: cnp.cross(a, b), lambda a, b: np.cross(a, np.pad(b, [(0, 0), (0, 1)])),
     [_arr((2, 3)), _arr((2, 2), seed=1)])
case("cross-2x2", lambda a, b: cnp.cross(a, b), lambda a, b: a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0],
     [_arr((2, 2)), _arr((2, 2), seed=1)])
case("kron-1d", cnp.kron, np.kron, [_arr((2,)), _arr((3,), seed=1)])
case("kron-2d", cnp.kron, np.kron, [_arr((2, 2)), _arr((2, 3), seed=1)])
case("kron-mixed", cnp.kron, np.kron, [_arr((2,)), _arr((2, 2), seed=1)])
for _mode in ["full", "same", "valid"]:
    for _n, _m in [(6, 3), (3, 5), (4, 4)]:
        case(f"convolve-{_mode}-{_n}-{_m}", lambda a, v, _mode=_mode: cnp.convolve(a, v, _mode),
             lambda a, v, _mode=_mode: np.convolve(a, v, _mode), [_arr((_n,)), _arr((_m,), seed=1)])
        case(f"correlate-{_mode}-{_n}-{_m}", lambda a, v, _mode=_mode: cnp.correlate(a, v, _mode),
             lambda a, v, _mode=_mode: np.correlate(a, v, _mode), [_arr((_n,)), _arr((_m,), seed=1)])
case("vecdot", cnp.vecdot, np.vecdot, [_arr((2, 3)), _arr((3,), seed=1)])
case("matvec", cnp.matvec, np.matvec, [_arr((2, 3, 4)), _arr((4,), seed=1)])
case("vecmat", cnp.vecmat, np.vecmat, [_arr((3,)), _arr((2, 3, 4), seed=1)])
case("outer", cnp.outer, np.outer, [_arr((2, 2)), _arr((3,), seed=1)])
case("tensordot", lambda a, b: cnp.tensordot(a, b, axes=([0, 2], [1, 0])),
     lambda a, b: np.tensordot(a, b, axes=([0, 2], [1, 0])), [_arr((2, 3, 4)), _arr((4, 2), seed=1)])
case("vander", lambda x: cnp.vander(x, 4), lambda x: np.vander(x, 4), [_arr((3,))])
case("vander-increasing", lambda x: cnp.vander(x, increasing=True), lambda x: np.vander(x, increasing=True),
     [_arr((3,))])
case("polyval", cnp.polyval, np.polyval, [_arr((4,)), _arr((2, 3), seed=1)])
case("polyadd", cnp.polyadd, np.polyadd, [_arr((2,)), _arr((4,), seed=1)])
case("polysub", cnp.polysub, np.polysub, [_arr((4,)), _arr((2,), seed=1)])
case("polymul", cnp.polymul, np.polymul, [_arr((3,)), _arr((2,), seed=1)])
case("polyder", lambda p: cnp.polyder(p, 2), lambda p: np.polyder(p, 2), [_arr((5,))])
case("polyint", lambda p: cnp.polyint(p, 2, k=[1.0, 2.0]), lambda p: np.polyint(p, 2, k=[1.0, 2.0]),
     [_arr((3,))])

# ---------------------------------------------------------------------------------------------------------
# Selection, masking
# ---------------------------------------------------------------------------------------------------------

_XNF = np.array([[np.nan, 1.5, np.inf], [-np.inf, -0.3, 2.0]])
case("nan_to_num", cnp.nan_to_num, np.nan_to_num, [_XNF])
case("nan_to_num-values", lambda x: cnp.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0),
     lambda x: np.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0), [_XNF])
for _name in ["triu", "tril"]:
    for _k in [0, 1, -1]:
        case(f"{_name}-k{_k}", lambda x, _f=getattr(cnp, _name), _k=_k: _f(x, _k),
             lambda x, _f=getattr(np, _name), _k=_k: _f(x, _k), [X34])
    case(f"{_name}-stack", getattr(cnp, _name), getattr(np, _name), [_arr((2, 3, 3))])
    case(f"{_name}-1d", getattr(cnp, _name), getattr(np, _name), [_arr((3,))])
case("select", lambda x: cnp.select([x < -0.5, x > 0.5], [x * 2, cnp.sin(x)], default=-x),
     lambda x: np.select([x < -0.5, x > 0.5], [x * 2, np.sin(x)], default=-x), [X34 / 3])
case("piecewise", lambda x: cnp.piecewise(x, [x < 0, x >= 0], [lambda v: v * v, lambda v: cnp.exp(v)]),
     lambda x: np.piecewise(x, [x < 0, x >= 0], [lambda v: v * v, lambda v: np.exp(v)]), [X34 / 3])
case("piecewise-default", lambda x: cnp.piecewise(x, [x < -0.2], [lambda v: v * 3, 0.5]),
     lambda x: np.piecewise(x, [x < -0.2], [lambda v: v * 3, 0.5]), [X34 / 3])
case("choose", lambda a, b: cnp.choose(np.array([[0, 1, 1, 0]]), [a, b]),
     lambda a, b: np.choose(np.array([[0, 1, 1, 0]]), [a, b]), [_arr((3, 4)), _arr((4,), seed=1)])
case("compress", lambda x: cnp.compress([True, False, True], x, axis=0),
     lambda x: np.compress([True, False, True], x, axis=0), [X34])
case("compress-flat", lambda x: cnp.compress([True, False, True, True], x),
     lambda x: np.compress([True, False, True, True], x), [X34])
case("extract", lambda x: cnp.extract(X34 > 0, x), lambda x: np.extract(X34 > 0, x), [X34])
case("bincount-weights", lambda w: cnp.bincount(np.array([0, 3, 3, 1]), w, minlength=6),
     lambda w: np.bincount(np.array([0, 3, 3, 1]), w, minlength=6), [_arr((4,))])
case("trim_zeros", lambda x: cnp.trim_zeros(x * np.array([0.0, 0.0, 1.0, 1.0, 0.0])),
     lambda x: np.trim_zeros(x * np.array([0.0, 0.0, 1.0, 1.0, 0.0])), [X5 + 10.0], vmap=False)

# ---------------------------------------------------------------------------------------------------------
# Joining, splitting, rearranging
# ---------------------------------------------------------------------------------------------------------

case("append-flat", cnp.append, np.append, [_arr((2, 2)), _arr((3,), seed=1)])
case("append-axis", lambda a, b: cnp.append(a, b, axis=1), lambda a, b: np.append(a, b, axis=1),
     [_arr((2, 2)), _arr((2, 1), seed=1)])
for _name in ["hstack", "vstack", "dstack", "column_stack", "row_stack"]:
    case(f"{_name}-1d", lambda a, b, _f=getattr(cnp, _name): _f([a, b]),
         lambda a, b, _f=getattr(np, _name): _f([a, b]), [_arr((3,)), _arr((3,), seed=1)])
    case(f"{_name}-2d", lambda a, b, _f=getattr(cnp, _name): _f((a, b)),
         lambda a, b, _f=getattr(np, _name): _f((a, b)), [_arr((2, 3)), _arr((2, 3), seed=1)])
case("block", lambda a, b, c: cnp.block([[a, b], [c]]), lambda a, b, c: np.block([[a, b], [c]]),
     [_arr((2, 2)), _arr((2, 1), seed=1), _arr((1, 3), seed=2)])
case("array_split", lambda x: cnp.array_split(x, 3), lambda x: np.array_split(x, 3), [_arr((7,))])
case("array_split-axis1", lambda x: cnp.array_split(x, [1, 3], axis=1),
     lambda x: np.array_split(x, [1, 3], axis=1), [_arr((2, 5))])
case("hsplit", lambda x: cnp.hsplit(x, 2), lambda x: np.hsplit(x, 2), [_arr((2, 4))])
case("vsplit", lambda x: cnp.vsplit(x, [1]), lambda x: np.vsplit(x, [1]), [_arr((3, 2))])
case("dsplit", lambda x: cnp.dsplit(x, 2), lambda x: np.dsplit(x, 2), [_arr((1, 2, 4))])
case("unstack", lambda x: cnp.unstack(x, axis=1), lambda x: np.unstack(x, axis=1), [_arr((2, 3))])
for _ax, _st in [(2, 0), (0, 3), (-1, 1)]:
    case(f"rollaxis-{_ax}-{_st}", lambda x, _ax=_ax, _st=_st: cnp.rollaxis(x, _ax, _st),
         lambda x, _ax=_ax, _st=_st: np.rollaxis(x, _ax, _st), [_arr((2, 3, 4))])
for _k in [1, 2, 3, -1]:
    case(f"rot90-k{_k}", lambda x, _k=_k: cnp.rot90(x, _k), lambda x, _k=_k: np.rot90(x, _k), [X34])
case("rot90-axes", lambda x: cnp.rot90(x, 1, axes=(2, 1)), lambda x: np.rot90(x, 1, axes=(2, 1)), [X234])
case("roll-flat", lambda x: cnp.roll(x, 5), lambda x: np.roll(x, 5), [X34])
case("roll-axis", lambda x: cnp.roll(x, -1, axis=1), lambda x: np.roll(x, -1, axis=1), [X34])
case("roll-tuple", lambda x: cnp.roll(x, (1, 2), axis=(0, 2)), lambda x: np.roll(x, (1, 2), axis=(0, 2)), [X234])
case("resize", lambda x: cnp.resize(x, (3, 5)), lambda x: np.resize(x, (3, 5)), [_arr((2, 3))])
case("delete", lambda x: cnp.delete(x, [0, 2], axis=1), lambda x: np.delete(x, [0, 2], axis=1), [X34])
case("delete-flat", lambda x: cnp.delete(x, slice(1, 4)), lambda x: np.delete(x, slice(1, 4)), [X34])
case("insert-scalar", lambda x, v: cnp.insert(x, 1, v, axis=1), lambda x, v: np.insert(x, 1, v, axis=1),
     [X34, _arr((3,), seed=1)])
case("insert-list", lambda x, v: cnp.insert(x, [3, 0, 3], v), lambda x, v: np.insert(x, [3, 0, 3], v),
     [X5, _arr((3,), seed=1)])
case("meshgrid-xy", lambda a, b: cnp.meshgrid(a, b), lambda a, b: np.meshgrid(a, b), [_arr((3,)), _arr((2,), 1)])
case("meshgrid-ij-sparse", lambda a, b: cnp.meshgrid(a, b, indexing="ij", sparse=True),
     lambda a, b: np.meshgrid(a, b, indexing="ij", sparse=True), [_arr((3,)), _arr((2,), 1)])
case("broadcast_arrays", cnp.broadcast_arrays, np.broadcast_arrays, [_arr((3,)), _arr((2, 1), seed=1)])
case("diagflat", lambda x: cnp.diagflat(x, 1), lambda x: np.diagflat(x, 1), [_arr((2, 2))])
case("make_diagonal", cnp.make_diagonal, lambda x: x[..., None] * np.eye(3), [_arr((2, 3))])
case("diagonal-offset", lambda x: cnp.diagonal(x, 1, 0, 2), lambda x: np.diagonal(x, 1, 0, 2), [X234])
case("full", lambda v: cnp.full((2, 3), v), lambda v: np.full((2, 3), v), [np.array(0.7)])
case("full-row", lambda v: cnp.full((2, 3), v), lambda v: np.full((2, 3), v), [_arr((3,))])
case("full_like", lambda a, v: cnp.full_like(a, v), lambda a, v: np.full_like(a, v), [X34, np.array(-0.4)])

# ---------------------------------------------------------------------------------------------------------
# linspace and friends (differentiable in the endpoints)
# ---------------------------------------------------------------------------------------------------------

case("linspace", lambda a, b: cnp.linspace(a, b, 5), lambda a, b: np.linspace(a, b, 5),
     [np.array(-0.5), np.array(2.0)])
case("linspace-noendpoint-retstep", lambda a, b: cnp.linspace(a, b, 4, endpoint=False, retstep=True),
     lambda a, b: np.linspace(a, b, 4, endpoint=False, retstep=True), [np.array(-0.5), np.array(2.0)])
case("linspace-arrays-axis1", lambda a, b: cnp.linspace(a, b, 3, axis=1),
     lambda a, b: np.linspace(a, b, 3, axis=1), [_arr((2,)), _arr((2,), seed=1)])
case("linspace-num1", lambda a, b: cnp.linspace(a, b, 1), lambda a, b: np.linspace(a, b, 1),
     [np.array(-0.5), np.array(2.0)])
case("logspace", lambda a, b: cnp.logspace(a, b, 4, base=2.0), lambda a, b: np.logspace(a, b, 4, base=2.0),
     [np.array(-0.5), np.array(1.0)])
case("geomspace", lambda a, b: cnp.geomspace(a, b, 4), lambda a, b: np.geomspace(a, b, 4),
     [np.array(0.5), np.array(3.0)])
case("geomspace-negative", lambda a, b: cnp.geomspace(a, b, 3), lambda a, b: np.geomspace(a, b, 3),
     [np.array(-0.5), np.array(-3.0)])

# ---------------------------------------------------------------------------------------------------------
# Functional helpers
# ---------------------------------------------------------------------------------------------------------

case("apply_along_axis", lambda x: cnp.apply_along_axis(lambda v: cnp.sum(v ** 2) * v[0], 1, x),
     lambda x: np.apply_along_axis(lambda v: np.sum(v ** 2) * v[0], 1, x), [X34])
case("apply_along_axis-vector-out", lambda x: cnp.apply_along_axis(lambda v: v[::-1] * v[0], 0, x),
     lambda x: np.apply_along_axis(lambda v: v[::-1] * v[0], 0, x), [X34])
case("apply_over_axes", lambda x: cnp.apply_over_axes(cnp.sum, x, [0, 2]),
     lambda x: np.apply_over_axes(np.sum, x, [0, 2]), [X234])

# ---------------------------------------------------------------------------------------------------------
# Elementwise additions
# ---------------------------------------------------------------------------------------------------------

UNARY = {
    "exp2": (-1.5, 1.5), "cbrt": (0.3, 2.0), "fabs": (0.3, 2.0), "sinc": (-1.5, 1.5), "deg2rad": (-90, 90),
    "rad2deg": (-1, 1), "degrees": (-1, 1), "radians": (-90, 90), "real": (-1, 1), "conj": (-1, 1),
    "conjugate": (-1, 1), "positive": (-1, 1), "acos": (-0.8, 0.8), "asinh": (-1, 1), "atanh": (-0.8, 0.8),
}
for _name, (_lo, _hi) in UNARY.items():
    for _s in [(), (2, 3)]:
        case(f"{_name}-{_s}", getattr(cnp, _name), getattr(np, _name), [_arr(_s, _lo, _hi)])
case("fabs-negative", cnp.fabs, np.fabs, [-_arr((3,), 0.3, 2.0)])
case("sinc-at-zero", cnp.sinc, np.sinc, [np.array([0.0, 0.5])], order=1)
case("imag-of-real", lambda x: cnp.imag(x) + x, lambda x: np.imag(x) + x, [_arr((3,))])
case("angle-of-real", lambda x: cnp.angle(x) + x, lambda x: np.angle(x) + x, [np.array([-1.0, 0.5])])
BINARY = {
    "hypot": ((0.3, 2), (-2, -0.3)), "logaddexp2": ((-2, 2), (-2, 2)), "fmod": ((-3, 3), (0.7, 1.3)),
    "fmax": ((-2, 2), (-2, 2)), "fmin": ((-2, 2), (-2, 2)), "copysign": ((0.3, 2), (-1, 1)),
    "float_power": ((0.5, 2), (-1, 1)), "heaviside": ((-1, 1), (-1, 1)), "atan2": ((0.3, 2), (0.5, 2)),
    "pow": ((0.5, 2), (-1, 1)), "remainder": ((-3, 3), (0.7, 1.3)), "mod": ((-3, 3), (0.7, 1.3)),
}
for _name, ((_lx, _hx), (_ly, _hy)) in BINARY.items():
    for _sa, _sb in [((3,), (3,)), ((2, 1), (3,)), ((), (2, 2))]:
        case(f"{_name}-{_sa}-{_sb}", getattr(cnp, _name), getattr(np, _name),
             [_arr(_sa, _lx, _hx, seed=1), _arr(_sb, _ly, _hy, seed=2)])
_XFN = np.array([1.0, np.nan, -0.5, 0.25])
_YFN = np.array([0.5, 2.0, np.nan, -0.75])
case("fmax-nan", cnp.fmax, np.fmax, [_XFN, _YFN])
case("fmin-nan", cnp.fmin, np.fmin, [_XFN, _YFN])
case("heaviside-at-zero", lambda h: cnp.heaviside(np.array([0.0, -1.0, 2.0]), h),
     lambda h: np.heaviside(np.array([0.0, -1.0, 2.0]), h), [np.array([0.3, 0.4, 0.5])])
case("ldexp", lambda x: cnp.ldexp(x, np.array([1, -2, 3])), lambda x: np.ldexp(x, np.array([1, -2, 3])),
     [_arr((3,))])
case("frexp", lambda x: cnp.frexp(x)[0], lambda x: np.frexp(x)[0], [_arr((2, 3)) * 10])
case("modf", cnp.modf, np.modf, [_arr((2, 3)) * 3])
case("divmod", lambda x, y: cnp.divmod(x, y)[1], lambda x, y: np.divmod(x, y)[1],
     [_arr((3,), -3, 3), _arr((3,), 0.7, 1.3, seed=1)])

# ---------------------------------------------------------------------------------------------------------
# Unique values, set operations, histograms (their output size depends on the values: no vmap), NaN quantiles
# ---------------------------------------------------------------------------------------------------------

XU = np.array([0.3, 1.2, 0.3, -0.5, 1.2, 2.0])  # duplicates: values only (a perturbation would split them)
XD = np.array([0.3, 1.2, -0.5, 2.0, 0.7])       # distinct: derivatives too
for _x, _g in [(XU, False), (XD, True)]:
    _t = "dup" if _x is XU else "distinct"
    case(f"unique-{_t}", cnp.unique, np.unique, [_x], vmap=False, grads=_g)
    case(f"unique-all-outputs-{_t}",
         lambda x: cnp.unique(x, return_index=True, return_inverse=True, return_counts=True),
         lambda x: np.unique(x, return_index=True, return_inverse=True, return_counts=True), [_x], vmap=False,
         grads=_g)
    case(f"unique_values-{_t}", lambda x: cnp.sort(cnp.unique_values(x)), lambda x: np.sort(np.unique_values(x)),
         [_x], vmap=False, grads=_g)
    for _name in ["unique_counts", "unique_inverse", "unique_all"]:
        case(f"{_name}-{_t}", lambda x, _f=getattr(cnp, _name): tuple(_f(x)),
             lambda x, _f=getattr(np, _name): tuple(_f(x)), [_x], vmap=False, grads=_g)
    case(f"union1d-{_t}", lambda x: cnp.union1d(x, np.array([2.5, 3.5, -0.75])),
         lambda x: np.union1d(x, np.array([2.5, 3.5, -0.75])), [_x], vmap=False, grads=_g)
    case(f"intersect1d-{_t}", lambda x: cnp.intersect1d(x, x[1:4]), lambda x: np.intersect1d(x, x[1:4]), [_x],
         vmap=False, grads=_g)
    case(f"intersect1d-indices-{_t}", lambda x: cnp.intersect1d(x, x[:3], return_indices=True),
         lambda x: np.intersect1d(x, x[:3], return_indices=True), [_x], vmap=False, grads=_g)
    case(f"setdiff1d-{_t}", lambda x: cnp.setdiff1d(x, x[1:2]), lambda x: np.setdiff1d(x, x[1:2]), [_x],
         vmap=False, grads=_g)
    case(f"setxor1d-{_t}", lambda x: cnp.setxor1d(x, cnp.array([2.5, x[2], -0.75])),
         lambda x: np.setxor1d(x, np.array([2.5, x[2], -0.75])), [_x], vmap=False, grads=False)
case("unique-axis", lambda x: cnp.unique(x, axis=0), lambda x: np.unique(x, axis=0),
     [np.array([[1.0, 2.0], [0.5, 0.1], [1.0, 2.0]])], vmap=False, grads=False)
case("unique-axis-distinct", lambda x: cnp.unique(x, axis=0), lambda x: np.unique(x, axis=0),
     [np.array([[1.0, 2.0], [0.5, 0.1], [1.5, 2.0]])], vmap=False)
case("setdiff1d-assume-unique", lambda x: cnp.setdiff1d(x, x[1:2], assume_unique=True),
     lambda x: np.setdiff1d(x, x[1:2], assume_unique=True), [XD], vmap=False)
case("setxor1d-grads", lambda x, y: cnp.setxor1d(x, y), lambda x, y: np.setxor1d(x, y),
     [XD, np.array([2.5, 3.5, -0.75])], vmap=False)
_XH = np.array([0.1, 0.35, 0.9, 0.42, 0.77, 0.05])
case("histogram-edges-from-data", lambda x: cnp.histogram(x, 3), lambda x: np.histogram(x, 3), [_XH],
     vmap=False)
case("histogram-weights-density", lambda w: cnp.histogram(_XH, 3, density=True, weights=w),
     lambda w: np.histogram(_XH, 3, density=True, weights=w), [_arr((6,), 0.5, 2)], vmap=False)
case("histogram-range-edges", lambda x, w: cnp.histogram(x, np.array([0.0, 0.3, 1.0]), weights=w),
     lambda x, w: np.histogram(x, np.array([0.0, 0.3, 1.0]), weights=w), [_XH, _arr((6,), 0.5, 2)], vmap=False)
case("histogram_bin_edges", lambda x: cnp.histogram_bin_edges(x, 4), lambda x: np.histogram_bin_edges(x, 4),
     [_XH], vmap=False)
case("histogram2d", lambda x, y: cnp.histogram2d(x, y, 2), lambda x, y: np.histogram2d(x, y, 2),
     [_XH, _XH[::-1] * 2], vmap=False)
case("histogramdd-weights", lambda s, w: cnp.histogramdd(s, (2, 3), weights=w),
     lambda s, w: np.histogramdd(s, (2, 3), weights=w), [_arr((5, 2)), _arr((5,), 0.5, 2)], vmap=False)
for _name in ["nanquantile", "nanpercentile"]:
    _q = [0.25, 0.6] if _name == "nanquantile" else [25.0, 60.0]
    for _ax in [None, 1]:
        case(f"{_name}-axis{_ax}", lambda x, _f=getattr(cnp, _name), _ax=_ax, _q=_q: _f(x, _q, axis=_ax),
             lambda x, _f=getattr(np, _name), _ax=_ax, _q=_q: _f(x, _q, axis=_ax), [XN])
case("nanmedian-kd", lambda x: cnp.nanmedian(x, axis=0, keepdims=True),
     lambda x: np.nanmedian(x, axis=0, keepdims=True), [XN])
case("poly", cnp.poly, np.poly, [_arr((3,))])
case("poly-matrix", cnp.poly, np.poly, [np.array([[2.0, 0.3], [0.1, 1.0]])])
case("roots", lambda p: cnp.sort(cnp.roots(p)), lambda p: np.sort(np.roots(p)), [np.array([1.0, -2.5, 0.5, 1.0])],
     vmap=False)
case("polyfit", lambda x, y: cnp.polyfit(x, y, 2), lambda x, y: np.polyfit(x, y, 2),
     [np.linspace(0, 1, 6), _arr((6,))])
case("polyfit-weights", lambda y, w: cnp.polyfit(np.linspace(0, 1, 6), y, 1, w=w),
     lambda y, w: np.polyfit(np.linspace(0, 1, 6), y, 1, w=w), [_arr((6,)), _arr((6,), 0.5, 2, seed=1)])
case("polydiv", cnp.polydiv, np.polydiv, [_arr((4,)), np.array([2.0, -1.0])], vmap=False)

IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS), [i for i in IDS if IDS.count(i) > 1]


def _leaves(tree):
    return [np.asarray(x) for x in cr.tree_leaves(tree)]


def _assert_same(got, want):
    g, w = _leaves(got), _leaves(want)
    assert len(g) == len(w)
    for a, b in zip(g, w):
        assert a.shape == b.shape, (a.shape, b.shape)
        assert a.dtype == b.dtype, (a.dtype, b.dtype)
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_value(c):
    want = c.ref(*c.args)
    _assert_same(c.f(*c.args), want)
    out, _ = cr.vjp(c.f, *c.args)
    _assert_same(out, want)


GRAD_CASES = [c for c in CASES if c.grads]


@pytest.mark.parametrize("c", GRAD_CASES, ids=[c.id for c in GRAD_CASES])
def test_grads(c):
    check_grads(c.f, c.args, order=c.order, modes=("fwd", "rev"))


def _second_sample(a):
    """Another argument of the same shape, close to ``a`` (so sorts keep their order within each domain)."""
    a = np.asarray(a)
    if not np.issubdtype(a.dtype, np.floating):
        return a
    bump = (np.arange(a.size).reshape(a.shape) % 3 - 1) * 0.011 if a.size else a
    return a + bump


VMAP_CASES = [c for c in CASES if c.vmap]


@pytest.mark.parametrize("c", VMAP_CASES, ids=[c.id for c in VMAP_CASES])
def test_vmap(c):
    batched = tuple(np.stack([np.asarray(a), _second_sample(a)]) for a in c.args)
    check_vmap(c.f, batched, atol=1e-10, rtol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# Non-differentiable functions: plain results under every transform
# ---------------------------------------------------------------------------------------------------------

NONDIFF = [
    ("argsort", lambda x: cnp.argsort(x, axis=1), lambda x: np.argsort(x, axis=1)),
    ("argsort-flat", lambda x: cnp.argsort(x, axis=None), lambda x: np.argsort(x, axis=None)),
    ("argpartition", lambda x: cnp.argpartition(x, 1)[..., 1], lambda x: np.argpartition(x, 1)[..., 1]),
    ("nanargmax", lambda x: cnp.nanargmax(x, axis=0), lambda x: np.nanargmax(x, axis=0)),
    ("nanargmin", lambda x: cnp.nanargmin(x), lambda x: np.nanargmin(x)),
    ("searchsorted", lambda x: cnp.searchsorted(np.array([-1.0, 0.0, 1.0]), x),
     lambda x: np.searchsorted(np.array([-1.0, 0.0, 1.0]), x)),
    ("digitize", lambda x: cnp.digitize(x, np.array([-1.0, 0.0, 1.0])),
     lambda x: np.digitize(x, np.array([-1.0, 0.0, 1.0]))),
    ("isclose", lambda x: cnp.isclose(x, 0.5, atol=0.3), lambda x: np.isclose(x, 0.5, atol=0.3)),
    ("isposinf", lambda x: cnp.isposinf(cnp.where(x > 0, np.inf, x)),
     lambda x: np.isposinf(np.where(x > 0, np.inf, x))),
    ("floor", cnp.floor, np.floor), ("sign", cnp.sign, np.sign), ("isfinite", cnp.isfinite, np.isfinite),
    ("argmax", lambda x: cnp.argmax(x, axis=1), lambda x: np.argmax(x, axis=1)),
    ("shape", lambda x: np.array(cnp.shape(x)), lambda x: np.array(np.shape(x))),
    ("spacing", cnp.spacing, np.spacing), ("signbit", cnp.signbit, np.signbit),
]


@pytest.mark.parametrize("name,f,ref", NONDIFF, ids=[n[0] for n in NONDIFF])
def test_nondiff_functions_return_plain_results(name, f, ref):
    x = _distinct((3, 4))
    want = ref(x)
    np.testing.assert_array_equal(f(x), want)
    seen = []

    def probe(y):
        r = f(y)
        seen.append(r)
        return cnp.sum(y)

    cr.grad(probe)(x)
    assert not isinstance(seen[0], cr.Tensor.__mro__[1]), "a non-differentiable result must not be traced"
    np.testing.assert_array_equal(seen[0], want)
    cr.jvp(probe, (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(seen[1], want)
    if name != "shape":
        xs = np.stack([x, -x[::-1]])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = cr.vmap(f)(xs)
        np.testing.assert_array_equal(got, np.stack([ref(x), ref(-x[::-1])]))


def test_sort_gradient_is_the_permutation():
    x = np.array([3.0, -1.0, 2.0, 0.5])
    w = np.array([1.0, 10.0, 100.0, 1000.0])
    g = cr.grad(lambda x: cnp.sum(cnp.sort(x) * w))(x)
    np.testing.assert_array_equal(g, [1000.0, 1.0, 100.0, 10.0])


@pytest.mark.parametrize("f,name", [(cnp.unique, "unique"), (lambda x: cnp.setdiff1d(x, x[:1]), "setdiff1d"),
                                    (lambda x: cnp.histogram(x, 2)[0], "histogram"), (cnp.trim_zeros, "trim_zeros")])
def test_value_dependent_shapes_refuse_vmap(f, name):
    with pytest.raises(NotImplementedError, match=f"{name}"):
        cr.vmap(f)(np.arange(6.0).reshape(2, 3))


def test_constant_arguments_refuse_batched_values():
    x = np.arange(6.0).reshape(2, 3)
    with pytest.raises(NotImplementedError, match="quantile: q must be the same for every element of a vmap batch"):
        cr.vmap(lambda x, q: cnp.quantile(x, q))(x, np.array([0.1, 0.2]))
    with pytest.raises(NotImplementedError, match="compress: the condition must be the same"):
        cr.vmap(lambda x: cnp.compress(x > 1, x))(x)


def test_integer_index_arithmetic_is_batchable():
    i = np.array([[5, 1], [0, 4]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cr.vmap(lambda i: cnp.unravel_index(i, (2, 3)))(i)
        back = cr.vmap(lambda a, b: cnp.ravel_multi_index((a, b), (2, 3)))(*got)
    for g, w in zip(got, np.unravel_index(i, (2, 3))):
        np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(back, i)
    with pytest.raises(ValueError, match="out of bounds"):
        cr.grad(lambda x: x.sum() + cnp.unravel_index(np.array([7]), (2, 3))[0].sum())(np.ones(2))


def test_shape_queries_and_checks_on_traced_values():
    def f(x):
        rows, cols = cnp.tril_indices_from(x)
        assert cnp.asarray_chkfinite(x) is x and not cnp.isfortran(x) and cnp.require(x) is x
        np.testing.assert_array_equal(rows, [0, 1, 1])
        return cnp.sum(x[rows, cols])

    np.testing.assert_array_equal(cr.grad(f)(np.ones((2, 2))), [[1.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="must not contain infs or NaNs"):
        cr.grad(lambda x: cnp.sum(cnp.asarray_chkfinite(x)))(np.array([1.0, np.inf]))


def test_median_quantile_closed_form():
    x = np.array([4.0, 1.0, 3.0, 2.0])
    np.testing.assert_allclose(cr.grad(cnp.median)(x), [0.0, 0.0, 0.5, 0.5])
    # quantile 0.25 of 4 points: position 0.75 between the two smallest
    np.testing.assert_allclose(cr.grad(lambda x: cnp.quantile(x, 0.25))(x), [0.0, 0.25, 0.0, 0.75])


def test_interp_gradient_closed_form():
    xp, fp = np.array([0.0, 1.0, 3.0]), np.array([0.0, 2.0, 0.0])
    np.testing.assert_allclose(cr.grad(lambda x: cnp.interp(x, xp, fp))(0.5), 2.0)
    np.testing.assert_allclose(cr.grad(lambda x: cnp.interp(x, xp, fp))(2.0), -1.0)
    np.testing.assert_allclose(cr.grad(lambda fp: cnp.interp(2.0, xp, fp))(fp), [0.0, 0.5, 0.5])


def test_linspace_gradient_is_the_interpolation_weights():
    g = cr.jacfwd(lambda ab: cnp.linspace(ab[0], ab[1], 5))(np.array([0.0, 1.0]))
    np.testing.assert_allclose(g, np.stack([np.linspace(1, 0, 5), np.linspace(0, 1, 5)], axis=1))


def test_heaviside_has_zero_derivative_in_x():
    x = np.array([-1.0, 0.5, 2.0])
    with pytest.warns(UserWarning, match="Output seems independent of input"):
        np.testing.assert_array_equal(cr.grad(lambda x: cnp.sum(cnp.heaviside(x, 0.5)))(x), np.zeros(3))
    np.testing.assert_array_equal(cr.grad(lambda h: cnp.sum(cnp.heaviside(np.array([0.0, 1.0, 0.0]), h)))(0.5), 2.0)


def test_float32_stays_float32():
    x = _distinct((3, 4)).astype(np.float32)
    for f in [cnp.sort, cnp.median, lambda x: cnp.gradient(x)[0], lambda x: cnp.convolve(x[0], x[1]),
              lambda x: cnp.trapezoid(x), cnp.nanmean, lambda x: cnp.cross(x[:, :3], x[:, 1:]), cnp.sinc,
              cnp.exp2, lambda x: cnp.hypot(x, x), lambda x: cnp.quantile(x, 0.3), cnp.triu]:
        out = f(x)
        assert out.dtype == np.float32, f
        g = cr.grad(lambda x: cnp.sum(f(x)))(x)
        assert g.dtype == np.float32 and g.shape == x.shape


# ---------------------------------------------------------------------------------------------------------
# NumPy's own functions on traced values
# ---------------------------------------------------------------------------------------------------------

DISPATCH = [  # (name, with NumPy's function, with chainrule.numpy's)
    ("sin", np.sin, cnp.sin), ("sum", lambda x: np.sum(x, axis=0), lambda x: cnp.sum(x, axis=0)),
    ("dot", lambda x: np.dot(np.ones((2, 3)), x), lambda x: cnp.dot(np.ones((2, 3)), x)),
    ("mean", lambda x: np.mean(x, axis=1, keepdims=True), lambda x: cnp.mean(x, axis=1, keepdims=True)),
    ("sort", lambda x: np.sort(x, axis=0), lambda x: cnp.sort(x, axis=0)),
    ("cumsum", lambda x: np.cumsum(x, axis=1), lambda x: cnp.cumsum(x, axis=1)),
    ("where", lambda x: np.where(x > 0, x, 0.0), lambda x: cnp.where(x > 0, x, 0.0)),
    ("concatenate", lambda x: np.concatenate([x, x]), lambda x: cnp.concatenate([x, x])),
    ("reshape", lambda x: np.reshape(x, (-1,)), lambda x: cnp.reshape(x, (-1,))),
    ("transpose", np.transpose, cnp.transpose),
    ("einsum", lambda x: np.einsum("ij,ij->i", x, x), lambda x: cnp.einsum("ij,ij->i", x, x)),
    ("linalg.norm", np.linalg.norm, cnp.linalg.norm),
    ("fft.fft", lambda x: np.real(np.fft.fft(x)), lambda x: cnp.real(cnp.fft.fft(x))),
    ("hypot", lambda x: np.hypot(x, 1.0), lambda x: cnp.hypot(x, 1.0)), ("trapezoid", np.trapezoid, cnp.trapezoid),
    ("diff", lambda x: np.diff(x, axis=0), lambda x: cnp.diff(x, axis=0)), ("abs", np.abs, cnp.abs),
    ("std", np.std, cnp.std), ("median", lambda x: np.median(x, axis=0), lambda x: cnp.median(x, axis=0)),
    ("add.reduce", np.add.reduce, lambda x: cnp.sum(x, axis=0)),
    ("multiply.accumulate", np.multiply.accumulate, lambda x: cnp.cumprod(x, axis=0)),
    ("kron", lambda x: np.kron(x, x), lambda x: cnp.kron(x, x)), ("sinc", np.sinc, cnp.sinc),
    ("angle", lambda x: np.angle(x + 1j), lambda x: cnp.angle(x + 1j)),
]


@pytest.mark.parametrize("name,f_np,f_cnp", DISPATCH, ids=[d[0] for d in DISPATCH])
def test_numpy_functions_dispatch_to_chainrule(name, f_np, f_cnp):
    x = _distinct((3, 4)) / 3
    g_numpy = cr.grad(lambda x: cnp.sum(f_np(x)))(x)
    g_chainrule = cr.grad(lambda x: cnp.sum(f_cnp(x)))(x)
    np.testing.assert_allclose(g_numpy, g_chainrule, rtol=1e-12)
    assert np.any(g_numpy != 0)
    _, t = cr.jvp(f_np, (x,), (np.ones_like(x),))
    _, t2 = cr.jvp(f_cnp, (x,), (np.ones_like(x),))
    np.testing.assert_allclose(t, t2, rtol=1e-12)


def test_numpy_function_on_tensor_dispatches():
    t = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = np.sum(np.sin(t) * np.arange(3.0))
    y.backward()
    np.testing.assert_allclose(t.grad.numpy(), np.cos([1.0, 2.0, 3.0]) * np.arange(3.0))


@pytest.mark.parametrize("call,name", [
    (lambda x: np.i0(x), "numpy.i0"), (lambda x: cnp.i0(x), "numpy.i0"),
    (lambda x: np.savetxt("/dev/null", x), "numpy.savetxt"),
])
def test_unsupported_numpy_functions_name_themselves(call, name):
    x = np.ones((2, 2))
    call(x)  # fine on plain arrays
    with pytest.raises(TypeError, match=name.replace(".", r"\.") + " is not supported on traced values"):
        cr.grad(lambda x: cnp.sum(call(x)))(x)


def test_in_place_functions_and_item_assignment_raise():
    def f(x):
        np.fill_diagonal(x, 0.0)
        return cnp.sum(x)

    with pytest.raises(TypeError, match=r"numpy\.fill_diagonal writes into its argument"):
        cr.grad(f)(np.ones((2, 2)))

    def g(x):
        x[0] = 1.0
        return cnp.sum(x)

    with pytest.raises(TypeError, match=r"item assignment \(x\[0\] = \.\.\.\) is not supported"):
        cr.grad(g)(np.ones(2))


def test_constants_dtypes_and_helpers_pass_through():
    assert cnp.pi is np.pi and cnp.e is np.e and cnp.newaxis is None and cnp.inf == np.inf
    assert cnp.float32 is np.float32 and cnp.int64 is np.int64 and cnp.ndarray is np.ndarray
    np.testing.assert_array_equal(cnp.r_[1:3, 5], np.r_[1:3, 5])
    np.testing.assert_array_equal(cnp.c_[[1, 2], [3, 4]], np.c_[[1, 2], [3, 4]])
    assert cnp.s_[1:2] == np.s_[1:2] and cnp.index_exp[1] == np.index_exp[1]
    assert cnp.finfo(np.float32).eps == np.finfo(np.float32).eps
    with pytest.raises(AttributeError, match="has no attribute 'not_a_numpy_name'"):
        cnp.not_a_numpy_name


def test_iscomplexobj_result_type_on_traced_values():
    def f(x):
        assert not cnp.iscomplexobj(x) and cnp.isrealobj(x)
        assert cnp.result_type(x, 1.0) == np.float32 and np.result_type(x) == np.float32
        assert np.shape(x) == (2,) and np.ndim(x) == 1 and np.size(x) == 2
        return cnp.sum(x)

    cr.grad(f)(np.ones(2, np.float32))
    cr.vmap(f)(np.ones((3, 2), np.float32))


# ---------------------------------------------------------------------------------------------------------
# chainrule.numpy.random
# ---------------------------------------------------------------------------------------------------------

def test_random_matches_numpy_streams():
    cnp.random.seed(3)
    a = (cnp.random.randn(2), cnp.random.rand(2), cnp.random.randint(0, 9, 3), cnp.random.normal(1.0, 2.0, 2),
         cnp.random.uniform(-1, 1, 2))
    np.random.seed(3)
    b = (np.random.randn(2), np.random.rand(2), np.random.randint(0, 9, 3), np.random.normal(1.0, 2.0, 2),
         np.random.uniform(-1, 1, 2))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    rs = cnp.random.RandomState(0)
    np.testing.assert_array_equal(rs.randn(3), np.random.RandomState(0).randn(3))
    assert cnp.random.default_rng(0).normal() == np.random.default_rng(0).normal()


def test_random_reparameterised_samplers_are_differentiable():
    def f(mu, sigma):
        cnp.random.seed(0)
        return cnp.sum(cnp.random.normal(mu, sigma, size=4))

    np.random.seed(0)
    z = np.random.standard_normal(4)
    g_mu, g_sigma = cr.grad(f, argnums=(0, 1))(0.5, 2.0)
    np.testing.assert_allclose([g_mu, g_sigma], [4.0, z.sum()])
    cnp.random.seed(1)
    g = cr.grad(lambda hi: cnp.sum(cnp.random.uniform(0.0, hi, 3)))(2.0)
    np.random.seed(1)
    np.testing.assert_allclose(g, np.random.random_sample(3).sum())
    with pytest.raises(TypeError, match=r"numpy\.random\.gamma is not differentiable"):
        cr.grad(lambda k: cnp.random.gamma(k))(2.0)


# ---------------------------------------------------------------------------------------------------------
# Everything HIPS autograd differentiates is a chainrule function
# ---------------------------------------------------------------------------------------------------------

AUTOGRAD_VJPS = """abs absolute add amax amin angle arccos arccosh arcsin arcsinh arctan arctan2 arctanh array_split
atleast_1d atleast_2d atleast_3d broadcast_to clip conj conjugate cos cosh cross cumsum deg2rad degrees diag diagonal
diff divide dot dsplit einsum exp exp2 expand_dims expm1 fabs fliplr flipud fmax fmin full gradient hsplit hypot imag
inner kron linspace log log10 log1p log2 logaddexp logaddexp2 make_diagonal matmul max maximum mean min minimum mod
moveaxis msort multiply nan_to_num negative outer pad partition power prod rad2deg radians ravel real real_if_close
reciprocal remainder repeat reshape roll rollaxis rot90 sin sinc sinh sort split sqrt square squeeze std subtract sum
swapaxes tan tanh tensordot tile trace transpose tril triu true_divide var vsplit where concatenate stack
""".split()


@pytest.mark.parametrize("name", AUTOGRAD_VJPS)
def test_every_autograd_differentiable_function_is_chainrules(name):
    fn = getattr(cnp, name)
    assert fn is not getattr(np, name, None), f"chainrule.numpy.{name} is NumPy's own function"
