"""The systematic op table: every op checked against NumPy's value and against finite differences.

Each case is a function of array arguments written with ``chainrule.numpy``, its NumPy reference and the
arguments (float64). For each case:

- ``test_value``: the result, evaluated untraced and under ``jvp``/``vjp``, equals NumPy's;
- ``test_grads``: ``check_grads`` to order 2 in forward and reverse mode (every mixed combination);
- ``test_float32``: float32 in gives float32 out, and ``check_grads`` (order 1) holds with float32 tangents and
  cotangents (it asserts they keep the primal dtypes).

Inputs are chosen inside each op's domain and away from kinks and ties; ties, zeros and non-differentiable ops
have their own tests below.
"""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.ops.elementwise import integer_pow
from chainrule.testing import check_grads


def _arr(shape, lo=-1.5, hi=1.5, seed=0, signed=False):
    """Deterministic test values in [lo, hi] (with random signs when ``signed``), of the given shape."""
    r = np.random.default_rng(seed + 7 * len(shape) + sum(shape))
    x = r.uniform(lo, hi, size=shape)
    if signed:
        x = x * r.choice([-1.0, 1.0], size=shape)
    return np.asarray(x, dtype=np.float64)


def _sid(shape):
    return "x".join(map(str, shape)) if shape else "0d"


class Case:
    def __init__(self, id, f, ref, args, order=2, f32=True, atol=None, rtol=None):
        self.id, self.f, self.ref, self.args = id, f, ref, tuple(args)
        self.order, self.f32, self.atol, self.rtol = order, f32, atol, rtol


CASES = []


def case(*a, **k):
    CASES.append(Case(*a, **k))


# ---------------------------------------------------------------------------------------------------------
# Elementwise unary ops
# ---------------------------------------------------------------------------------------------------------

SHAPES1 = [(), (1,), (2, 3)]

# name: (lo, hi, signed)
UNARY = {
    "negative": (-2, 2, False),
    "exp": (-1.5, 1.5, False),
    "expm1": (-1.5, 1.5, False),
    "log": (0.3, 3.0, False),
    "log1p": (-0.5, 2.0, False),
    "log2": (0.3, 3.0, False),
    "log10": (0.3, 3.0, False),
    "sqrt": (0.3, 3.0, False),
    "square": (-2, 2, False),
    "reciprocal": (0.4, 2.0, True),
    "abs": (0.2, 2.0, True),
    "absolute": (0.2, 2.0, True),
    "sin": (-3, 3, False),
    "cos": (-3, 3, False),
    "tan": (-1.2, 1.2, False),
    "arcsin": (-0.85, 0.85, False),
    "arccos": (-0.85, 0.85, False),
    "arctan": (-3, 3, False),
    "sinh": (-2, 2, False),
    "cosh": (-2, 2, False),
    "tanh": (-2, 2, False),
    "arcsinh": (-3, 3, False),
    "arccosh": (1.2, 3.0, False),
    "arctanh": (-0.85, 0.85, False),
}

for _name, (_lo, _hi, _signed) in UNARY.items():
    for _s in SHAPES1:
        case(f"{_name}-{_sid(_s)}", getattr(cnp, _name), getattr(np, _name),
             [_arr(_s, _lo, _hi, signed=_signed)])

# Integer exponents go through integer_pow (exact at 0, no log).
for _s in SHAPES1:
    _x = _arr(_s, -2, 2)
    case(f"pow-int3-{_sid(_s)}", lambda x: x ** 3, lambda x: x ** 3, [_x])
    case(f"pow-int2-{_sid(_s)}", lambda x: x ** 2, lambda x: x ** 2, [_x])
case("pow-int1", lambda x: x ** 1, lambda x: x ** 1, [_arr((3,))])
case("pow-int0", lambda x: x ** 0 + x, lambda x: x ** 0 + x, [_arr((3,))])
case("pow-int-neg2", lambda x: x ** -2, lambda x: x ** -2.0, [_arr((2, 2), 0.5, 2, signed=True)])
case("pow-int3-zero", lambda x: x ** 3, lambda x: x ** 3, [np.array([0.0, 1.5, -0.5])])
case("power-fn-int3", lambda x: cnp.power(x, 3), lambda x: np.power(x, 3), [_arr((2, 2))])
case("integer_pow-4", lambda x: integer_pow(x, 4), lambda x: x ** 4, [_arr((3,))])

# ---------------------------------------------------------------------------------------------------------
# Elementwise binary ops, on broadcasting pairs
# ---------------------------------------------------------------------------------------------------------

PAIRS = [((), ()), ((3,), ()), ((), (2, 3)), ((2, 1), (1, 3)), ((1,), (2, 3)), ((1, 1), (1,))]

# name: ((lo, hi, signed) for x, (lo, hi, signed) for y)
BINARY = {
    "add": ((-2, 2, False), (-2, 2, False)),
    "subtract": ((-2, 2, False), (-2, 2, False)),
    "multiply": ((-2, 2, False), (-2, 2, False)),
    "divide": ((-2, 2, False), (0.5, 2, True)),
    "true_divide": ((-2, 2, False), (0.5, 2, True)),
    "power": ((0.5, 2, False), (-1.5, 1.5, False)),
    "arctan2": ((0.3, 2, True), (-2, 2, False)),
    "maximum": ((-2, 2, False), (-2, 2, False)),
    "minimum": ((-2, 2, False), (-2, 2, False)),
    "logaddexp": ((-2, 2, False), (-2, 2, False)),
}

for _name, ((_lx, _hx, _sx), (_ly, _hy, _sy)) in BINARY.items():
    for _sa, _sb in PAIRS:
        _x = _arr(_sa, _lx, _hx, seed=1, signed=_sx)
        _y = _arr(_sb, _ly, _hy, seed=2, signed=_sy)
        case(f"{_name}-{_sid(_sa)}-{_sid(_sb)}", getattr(cnp, _name), getattr(np, _name), [_x, _y])

# Operators, Python scalars and constant operands (only one side differentiated).
_c23 = _arr((2, 3), 0.5, 2, seed=5)
case("op-add-scalar", lambda x: x + 1.5, lambda x: x + 1.5, [_arr((2, 3))])
case("op-rsub-scalar", lambda x: 2.0 - x, lambda x: 2.0 - x, [_arr((2, 3))])
case("op-mul-const", lambda x: x * _c23, lambda x: x * _c23, [_arr((3,))], f32=False)  # float64 constant
case("op-rdiv-scalar", lambda x: 1.0 / x, lambda x: 1.0 / x, [_arr((3,), 0.5, 2, signed=True)])
case("op-div-const", lambda x: _c23 / x, lambda x: _c23 / x, [_arr((1, 3), 0.5, 2, signed=True)], f32=False)
case("op-neg", lambda x: -x, lambda x: -x, [_arr((2,))])
case("op-pow-both", lambda x, y: x ** y, lambda x, y: x ** y, [_arr((2, 3), 0.5, 2), _arr((3,), -1, 1)])
case("op-rpow-scalar-base", lambda y: 2.0 ** y, lambda y: 2.0 ** y, [_arr((3,))])
case("op-pow-float-exp", lambda x: x ** 2.5, lambda x: x ** 2.5, [_arr((3,), 0.5, 2)])
case("power-const-base", lambda y: cnp.power(_c23, y), lambda y: np.power(_c23, y), [_arr((3,))], f32=False)
case("power-const-base-f32", lambda y: cnp.power(_c23.astype(np.float32), y),
     lambda y: np.power(_c23.astype(np.float32), y), [_arr((3,))])
case("power-const-exp", lambda x: cnp.power(x, _c23), lambda x: np.power(x, _c23), [_arr((1, 3), 0.5, 2)],
     f32=False)
case("power-scalar-exp", lambda x: cnp.power(x, 1.5), lambda x: np.power(x, 1.5), [_arr((1, 3), 0.5, 2)])
case("maximum-scalar", lambda x: cnp.maximum(x, 0.1), lambda x: np.maximum(x, 0.1), [_arr((2, 3), seed=3)])
case("minimum-scalar", lambda x: cnp.minimum(0.1, x), lambda x: np.minimum(0.1, x), [_arr((2, 3), seed=3)])
case("logaddexp-zero", lambda x: cnp.logaddexp(0.0, x), lambda x: np.logaddexp(0.0, x), [_arr((4,), -3, 3)])
case("arctan2-left-half", cnp.arctan2, np.arctan2, [_arr((3,), 0.5, 2, signed=True), _arr((3,), -2, -0.5)])
case("multiply-int-const", lambda x: x * np.arange(3), lambda x: x * np.arange(3), [_arr((2, 3))], f32=False)

# ---------------------------------------------------------------------------------------------------------
# where, clip, astype
# ---------------------------------------------------------------------------------------------------------

_cond23 = np.array([[True, False, True], [False, False, True]])
case("where-same", lambda x, y: cnp.where(_cond23, x, y), lambda x, y: np.where(_cond23, x, y),
     [_arr((2, 3)), _arr((2, 3), seed=1)])
case("where-bcast", lambda x, y: cnp.where(_cond23, x, y), lambda x, y: np.where(_cond23, x, y),
     [_arr((3,)), _arr((), seed=1)])
case("where-bcast-cond", lambda x, y: cnp.where(np.array([True, False, True]), x, y),
     lambda x, y: np.where(np.array([True, False, True]), x, y), [_arr((2, 1)), _arr((2, 3), seed=1)])
case("where-0d", lambda x, y: cnp.where(True, x, y), lambda x, y: np.where(True, x, y), [_arr(()), _arr((), seed=1)])
case("where-scalar-branch", lambda x: cnp.where(x > 0, x, 0.0), lambda x: np.where(x > 0, x, 0.0),
     [_arr((2, 3), 0.2, 2, signed=True)])
case("where-traced-cond", lambda x: cnp.where(x > 0.0, x * x, -x), lambda x: np.where(x > 0, x * x, -x),
     [_arr((2, 3), 0.2, 2, signed=True)])

_xc = np.array([[-2.0, -0.3, 0.2], [0.9, 1.7, -1.1]])  # away from the bounds +-1 and +-0.5
case("clip-scalars", lambda x: cnp.clip(x, -1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0), [_xc])
case("clip-0d", lambda x: cnp.clip(x, -1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0), [np.array(0.3)])
case("clip-lower-only", lambda x: cnp.clip(x, -0.5, None), lambda x: np.clip(x, -0.5, None), [_xc])
case("clip-upper-only", lambda x: cnp.clip(x, None, 0.5), lambda x: np.clip(x, None, 0.5), [_xc])
case("clip-method", lambda x: cnp.clip(x * 1.0, -1.0, 1.0), lambda x: np.clip(x, -1.0, 1.0), [_xc])
case("clip-traced-bounds", cnp.clip, np.clip,
     [_xc, np.array([-1.0, -0.5, -1.5]), np.array([[1.0], [0.5]])])
case("clip-traced-bounds-0d", cnp.clip, np.clip, [_xc, np.array(-0.5), np.array(0.5)])

case("astype-f64-f32", lambda x: cnp.astype(x, np.float32) * 2, lambda x: x.astype(np.float32) * 2,
     [_arr((2, 3))], f32=False)
case("astype-f32-f64", lambda x: cnp.astype(x, np.float64) ** 2, lambda x: x.astype(np.float64) ** 2,
     [_arr((2, 3)).astype(np.float32)], f32=False)
case("astype-same", lambda x: cnp.astype(x, x.dtype) * x, lambda x: x.astype(x.dtype) * x, [_arr((3,))])
case("astype-method", lambda x: cnp.sin(cnp.asarray(x).astype(np.float32)),
     lambda x: np.sin(x.astype(np.float32)), [_arr(())], order=1, f32=False)  # FD of order 2 too coarse
case("astype-roundtrip", lambda x: cnp.astype(cnp.astype(x, np.float64) ** 2, x.dtype),
     lambda x: (x.astype(np.float64) ** 2).astype(x.dtype), [_arr((2, 3))])
case("astype-complex-roundtrip", lambda x: cnp.astype(cnp.astype(x, np.complex128) * 2, np.float64),
     lambda x: (x.astype(np.complex128) * 2).real, [_arr((3,))], f32=False)

# ---------------------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------------------

X232 = _arr((2, 3, 2), -1.5, 1.5, seed=11)
X232_POS = _arr((2, 3, 2), 0.5, 1.5, seed=12, signed=True)
AXES = [None, 0, -1, 1, (0, 2), (-1, 0)]


def _axid(axis):
    if axis is None:
        return "None"
    if isinstance(axis, tuple):
        return "(" + ",".join(map(str, axis)) + ")"
    return str(axis)


REDUCTIONS = {
    "sum": (X232, {}),
    "prod": (X232_POS, {}),
    "max": (X232, {}),
    "min": (X232, {}),
    "amax": (X232, {}),
    "amin": (X232, {}),
    "mean": (X232, {}),
    "var": (X232, {}),
    "var-ddof1": (X232, {"ddof": 1}),
    "std": (X232, {}),
    "std-ddof1": (X232, {"ddof": 1}),
    "logsumexp": (X232, {}),
}


def _np_logsumexp(a, axis=None, keepdims=False, b=None):
    a = np.asarray(a)
    m = np.max(a, axis=axis, keepdims=True)
    e = np.exp(a - m)
    if b is not None:
        e = e * b
    out = np.log(np.sum(e, axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _reduction(name):
    base = name.split("-")[0]
    ref = _np_logsumexp if base == "logsumexp" else getattr(np, base)
    return getattr(cnp, base), ref


for _name, (_x, _kw) in REDUCTIONS.items():
    _f, _ref = _reduction(_name)
    for _ax in AXES:
        for _kd in (False, True):
            case(f"{_name}-axis{_axid(_ax)}-keepdims{_kd}",
                 lambda x, _f=_f, _ax=_ax, _kd=_kd, _kw=_kw: _f(x, axis=_ax, keepdims=_kd, **_kw),
                 lambda x, _f=_ref, _ax=_ax, _kd=_kd, _kw=_kw: _f(x, axis=_ax, keepdims=_kd, **_kw), [_x])
    # 0-d and size-1 inputs
    # (std is not differentiable where the variance is 0, and ddof=1 needs two elements.)
    if not (_name.startswith("std") or _name.endswith("ddof1")):
        case(f"{_name}-0d", lambda x, _f=_f, _kw=_kw: _f(x, **_kw), lambda x, _f=_ref, _kw=_kw: _f(x, **_kw),
             [np.abs(_arr((), seed=3)) + 0.5])
        case(f"{_name}-size1", lambda x, _f=_f, _kw=_kw: _f(x, axis=0, **_kw),
             lambda x, _f=_ref, _kw=_kw: _f(x, axis=0, **_kw), [_arr((1, 2), 0.5, 1.5, seed=4)])

# The reductions as methods
case("method-sum", lambda x: (x * 1.0).sum(axis=1), lambda x: x.sum(axis=1), [X232])
case("method-mean-std", lambda x: (x * 1.0).mean(0) + (x * 1.0).std(axis=(0, 1), ddof=1),
     lambda x: x.mean(0) + x.std(axis=(0, 1), ddof=1), [X232])
case("sum-dtype", lambda x: cnp.sum(x, dtype=np.float64), lambda x: np.sum(x, dtype=np.float64),
     [_arr((3,))], f32=False)
case("logsumexp-b", lambda x: cnp.logsumexp(x, axis=1, b=np.array([0.5, 1.0, 2.0])),
     lambda x: _np_logsumexp(x, axis=1, b=np.array([0.5, 1.0, 2.0])), [_arr((2, 3))], f32=False)
case("logsumexp-large", lambda x: cnp.logsumexp(x, axis=-1), lambda x: _np_logsumexp(x, axis=-1),
     [np.array([[800.0, 801.0, 799.5], [-800.0, -801.0, -799.0]])], f32=False)

# prod with zeros: exact gradients, no division by zero.
_Z1 = np.array([[1.5, 0.0, 2.0], [-0.5, 1.2, 0.8]])
_Z2 = np.array([[1.5, 0.0, 0.0], [0.0, 1.2, 0.8]])
for _nm, _z in (("one-zero", _Z1), ("two-zeros", _Z2)):
    for _ax in (None, 0, 1):
        case(f"prod-{_nm}-axis{_axid(_ax)}", lambda x, _ax=_ax: cnp.prod(x, axis=_ax),
             lambda x, _ax=_ax: np.prod(x, axis=_ax), [_z])
case("prod-three-zeros", lambda x: cnp.prod(x), lambda x: np.prod(x), [np.array([0.0, 2.0, 0.0, 0.0])])

# Scans (cumsum, cumprod) with axis None / positive / negative.
for _name in ("cumsum", "cumprod"):
    for _ax in (None, 0, 1, -1):
        _x = X232 if _name == "cumsum" else X232_POS
        case(f"{_name}-axis{_axid(_ax)}", lambda x, _f=getattr(cnp, _name), _ax=_ax: _f(x, axis=_ax),
             lambda x, _f=getattr(np, _name), _ax=_ax: _f(x, axis=_ax), [_x])
    case(f"{_name}-0d", getattr(cnp, _name), getattr(np, _name), [_arr(())])
    case(f"{_name}-size1", lambda x, _f=getattr(cnp, _name): _f(x, axis=1),
         lambda x, _f=getattr(np, _name): _f(x, axis=1), [_arr((2, 1))])
_CZ = np.array([[1.5, 0.0, 2.0, -1.0], [0.0, 1.2, 0.0, 0.8]])
for _ax in (None, 0, 1, -1):
    case(f"cumprod-zeros-axis{_axid(_ax)}", lambda x, _ax=_ax: cnp.cumprod(x, axis=_ax),
         lambda x, _ax=_ax: np.cumprod(x, axis=_ax), [_CZ])
case("cumsum-method", lambda x: (x * 1.0).cumsum(axis=0), lambda x: x.cumsum(axis=0), [_arr((3, 2))])

# ---------------------------------------------------------------------------------------------------------
# Shape ops
# ---------------------------------------------------------------------------------------------------------

X234 = _arr((2, 3, 4), seed=21)
X34 = _arr((3, 4), seed=22)
X0 = _arr((), seed=23)

case("reshape", lambda x: cnp.reshape(x, (6, 4)), lambda x: np.reshape(x, (6, 4)), [X234])
case("reshape-neg1", lambda x: cnp.reshape(x, (4, -1)), lambda x: np.reshape(x, (4, -1)), [X234])
case("reshape-0d-to-1", lambda x: cnp.reshape(x, (1, 1)), lambda x: np.reshape(x, (1, 1)), [X0])
case("reshape-to-0d", lambda x: cnp.reshape(x, ()), lambda x: np.reshape(x, ()), [_arr((1, 1))])
case("reshape-method", lambda x: cnp.asarray(x).reshape(2, -1) * 1.0, lambda x: x.reshape(2, -1), [X34])
case("reshape-method-tuple", lambda x: cnp.asarray(x).reshape((-1,)) * 1.0, lambda x: x.reshape((-1,)), [X34])
case("ravel", cnp.ravel, np.ravel, [X234])
case("ravel-0d", cnp.ravel, np.ravel, [X0])
case("transpose", cnp.transpose, np.transpose, [X234])
case("transpose-axes", lambda x: cnp.transpose(x, (1, 2, 0)), lambda x: np.transpose(x, (1, 2, 0)), [X234])
case("transpose-neg-axes", lambda x: cnp.transpose(x, (-1, 0, 1)), lambda x: np.transpose(x, (-1, 0, 1)), [X234])
case("transpose-0d", cnp.transpose, np.transpose, [X0])
case("transpose-T", lambda x: cnp.asarray(x).T * 1.0, lambda x: x.T, [X34])
case("swapaxes", lambda x: cnp.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), [X234])
case("moveaxis", lambda x: cnp.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), [X234])
case("moveaxis-multi", lambda x: cnp.moveaxis(x, (0, 1), (2, 0)), lambda x: np.moveaxis(x, (0, 1), (2, 0)),
     [X234])
case("broadcast_to", lambda x: cnp.broadcast_to(x, (2, 3, 4)), lambda x: np.broadcast_to(x, (2, 3, 4)),
     [_arr((3, 1))])
case("broadcast_to-0d", lambda x: cnp.broadcast_to(x, (2, 3)), lambda x: np.broadcast_to(x, (2, 3)), [X0])
case("broadcast_to-size1", lambda x: cnp.broadcast_to(x, (3,)), lambda x: np.broadcast_to(x, (3,)), [_arr((1,))])
case("expand_dims", lambda x: cnp.expand_dims(x, 1), lambda x: np.expand_dims(x, 1), [X34])
case("expand_dims-neg", lambda x: cnp.expand_dims(x, -1), lambda x: np.expand_dims(x, -1), [X34])
case("expand_dims-tuple", lambda x: cnp.expand_dims(x, (0, 2)), lambda x: np.expand_dims(x, (0, 2)), [X34])
case("expand_dims-0d", lambda x: cnp.expand_dims(x, 0), lambda x: np.expand_dims(x, 0), [X0])
case("squeeze", cnp.squeeze, np.squeeze, [_arr((1, 3, 1))])
case("squeeze-axis", lambda x: cnp.squeeze(x, 2), lambda x: np.squeeze(x, 2), [_arr((1, 3, 1))])
case("squeeze-to-0d", cnp.squeeze, np.squeeze, [_arr((1, 1))])
case("concatenate", lambda x, y: cnp.concatenate([x, y, x]), lambda x, y: np.concatenate([x, y, x]),
     [_arr((2, 3)), _arr((1, 3), seed=1)])
case("concatenate-axis-neg", lambda x, y: cnp.concatenate([x, y], axis=-1),
     lambda x, y: np.concatenate([x, y], axis=-1), [_arr((2, 3)), _arr((2, 1), seed=1)])
case("concatenate-const", lambda x: cnp.concatenate([np.ones((1, 3)), x], axis=0),
     lambda x: np.concatenate([np.ones((1, 3)), x], axis=0), [_arr((2, 3))], f32=False)
case("concatenate-None", lambda x, y: cnp.concatenate([x, y], axis=None),
     lambda x, y: np.concatenate([x, y], axis=None), [_arr((2, 2)), _arr((3,), seed=1)])
case("stack", lambda x, y: cnp.stack([x, y]), lambda x, y: np.stack([x, y]), [_arr((2, 3)), _arr((2, 3), seed=1)])
case("stack-axis-neg", lambda x, y: cnp.stack([x, y, x], axis=-1), lambda x, y: np.stack([x, y, x], axis=-1),
     [_arr((2, 3)), _arr((2, 3), seed=1)])
case("stack-0d", lambda x, y: cnp.stack([x, y]), lambda x, y: np.stack([x, y]), [X0, _arr((), seed=1)])
case("split-sections", lambda x: cnp.split(x, 2, axis=1), lambda x: np.split(x, 2, axis=1), [X34])
case("split-indices", lambda x: cnp.split(x, [1, 3], axis=-1), lambda x: np.split(x, [1, 3], axis=-1), [X34])
case("split-first-axis", lambda x: cnp.split(x, 3), lambda x: np.split(x, 3), [X34])
case("repeat-int", lambda x: cnp.repeat(x, 2), lambda x: np.repeat(x, 2), [X34])
case("repeat-int-axis", lambda x: cnp.repeat(x, 3, axis=0), lambda x: np.repeat(x, 3, axis=0), [X34])
case("repeat-counts", lambda x: cnp.repeat(x, [1, 0, 2, 3], axis=1),
     lambda x: np.repeat(x, [1, 0, 2, 3], axis=1), [X34])
case("repeat-counts-flat", lambda x: cnp.repeat(x, [2, 1, 3]), lambda x: np.repeat(x, [2, 1, 3]), [_arr((3,))])
case("repeat-0d", lambda x: cnp.repeat(x, 3), lambda x: np.repeat(x, 3), [X0])
case("tile", lambda x: cnp.tile(x, 2), lambda x: np.tile(x, 2), [X34])
case("tile-tuple", lambda x: cnp.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), [X34])
case("tile-0d", lambda x: cnp.tile(x, (2, 2)), lambda x: np.tile(x, (2, 2)), [X0])
case("flip", cnp.flip, np.flip, [X234])
case("flip-axis", lambda x: cnp.flip(x, -1), lambda x: np.flip(x, -1), [X234])
case("flip-axes", lambda x: cnp.flip(x, (0, 2)), lambda x: np.flip(x, (0, 2)), [X234])
case("fliplr", cnp.fliplr, np.fliplr, [X34])
case("flipud", cnp.flipud, np.flipud, [X34])
for _mode in ("constant", "edge", "reflect", "symmetric", "wrap"):
    case(f"pad-{_mode}", lambda x, _m=_mode: cnp.pad(x, ((1, 2), (2, 1)), mode=_m),
         lambda x, _m=_mode: np.pad(x, ((1, 2), (2, 1)), mode=_m), [X34])
    case(f"pad-{_mode}-1d-wide", lambda x, _m=_mode: cnp.pad(x, (3, 4), mode=_m),
         lambda x, _m=_mode: np.pad(x, (3, 4), mode=_m), [_arr((3,))])
case("pad-constant-value", lambda x: cnp.pad(x, 1, constant_values=2.5),
     lambda x: np.pad(x, 1, constant_values=2.5), [X34])
case("pad-int-width", lambda x: cnp.pad(x, 2, mode="reflect"), lambda x: np.pad(x, 2, mode="reflect"), [X34])
case("pad-one-side", lambda x: cnp.pad(x, ((0, 0), (0, 2)), mode="edge"),
     lambda x: np.pad(x, ((0, 0), (0, 2)), mode="edge"), [X34])
case("atleast_2d", cnp.atleast_2d, np.atleast_2d, [_arr((3,))])
case("atleast_3d", cnp.atleast_3d, np.atleast_3d, [_arr((3,))])

# ---------------------------------------------------------------------------------------------------------
# Indexing
# ---------------------------------------------------------------------------------------------------------

_M34 = np.array([[True, False, True, True], [False, False, False, True], [True, True, False, False]])
INDICES = {
    "int": 1,
    "neg-int": -1,
    "two-ints": (1, -2),
    "slice": slice(1, 3),
    "slice-step": (slice(None), slice(None, None, 2)),
    "slice-neg-step": slice(None, None, -1),
    "slice-neg-step2": (slice(None, None, -2), slice(3, 0, -2)),
    "slice-empty": slice(2, 2),
    "none": (None, slice(1, None)),
    "none-middle": (1, None, slice(None)),
    "ellipsis": (Ellipsis, 0),
    "ellipsis-none": (Ellipsis, None),
    "intarray-dups": np.array([0, 2, 0, 0]),
    "intarray-2d": np.array([[0, 1], [1, 1]]),
    "intarray-list": [2, 2, 1],
    "intarray-axis1": (slice(None), np.array([3, 0, 3])),
    "intarray-pair": (np.array([0, 1, 1]), np.array([3, 3, 0])),
    "intarray-neg": np.array([-1, -3]),
    "mask-full": _M34,
    "mask-rows": np.array([True, False, True]),
    "mask-cols": (slice(None), np.array([False, True, True, False])),
    "mask-and-int": (np.array([True, False, True]), 1),
    "bool-true": True,
    "bool-false": False,
    "bool-np-0d": np.array(True),
    "bool-0d-and-int": (0, np.array(True), slice(1, None)),
}
for _name, _idx in INDICES.items():
    case(f"getitem-{_name}", lambda x, _i=_idx: x[_i], lambda x, _i=_idx: x[_i], [X34])

_IDX3 = {
    "adv-separated": (np.array([0, 1, 1]), slice(None), np.array([3, 0, 3])),
    "adv-int-separated": (1, slice(None), np.array([2, 2])),
    "ellipsis-adv": (Ellipsis, np.array([1, 0])),
    "mixed": (slice(None, None, -1), np.array([2, 0, 2]), slice(1, 3)),
}
for _name, _idx in _IDX3.items():
    case(f"getitem3-{_name}", lambda x, _i=_idx: x[_i], lambda x, _i=_idx: x[_i], [X234])
case("getitem-0d-empty-tuple", lambda x: x[()] * 1.0, lambda x: x[()] * 1.0, [X0])
case("getitem-0d-ellipsis", lambda x: x[...] * 1.0, lambda x: x[...] * 1.0, [X0])
case("getitem-0d-none", lambda x: x[None], lambda x: x[None], [X0])
case("getitem-size1", lambda x: x[0], lambda x: x[0], [_arr((1,))])
case("take", lambda x: cnp.take(x, np.array([2, 0, 2]), axis=1), lambda x: np.take(x, [2, 0, 2], axis=1), [X34])
case("take-flat", lambda x: cnp.take(x, np.array([5, 0, 5])), lambda x: np.take(x, [5, 0, 5]), [X34])


def _np_update(x, idx, y):
    out = np.array(x, copy=True)
    out[idx] = y
    return out


def _np_add(x, idx, y):
    out = np.array(x, copy=True)
    np.add.at(out, idx, y)
    return out


UPDATES = {
    "int": (1, (4,)),
    "slice": ((slice(None), slice(1, 3)), (3, 2)),
    "slice-neg-step": (slice(None, None, -2), (2, 4)),
    "slice-bcast-row": ((slice(0, 2),), (4,)),
    "scalar-y": ((0, slice(None)), ()),
    "intarray": (np.array([2, 0]), (2, 4)),
    "intarray-pair": ((np.array([0, 2]), np.array([1, 3])), (2,)),
    "mask": (_M34, (6,)),
    "none-ellipsis": ((Ellipsis, None, 1), (3, 1)),
    "bool-0d": (np.array(True), (1, 3, 4)),
}
for _name, (_idx, _ys) in UPDATES.items():
    _y = _arr(_ys, seed=31)
    case(f"index_update-{_name}", lambda x, y, _i=_idx: cnp.index_update(x, _i, y),
         lambda x, y, _i=_idx: _np_update(x, _i, y), [X34, _y])
    case(f"index_add-{_name}", lambda x, y, _i=_idx: cnp.index_add(x, _i, y),
         lambda x, y, _i=_idx: _np_add(x, _i, y), [X34, _y])
    case(f"at-set-{_name}", lambda x, y, _i=_idx: cnp.at(x)[_i].set(y),
         lambda x, y, _i=_idx: _np_update(x, _i, y), [X34, _y])
    case(f"at-add-{_name}", lambda x, y, _i=_idx: cnp.at(x)[_i].add(y),
         lambda x, y, _i=_idx: _np_add(x, _i, y), [X34, _y])
_DUP = np.array([1, 1, 0, 1])
case("index_add-dups", lambda x, y: cnp.index_add(x, _DUP, y), lambda x, y: _np_add(x, _DUP, y),
     [X34, _arr((4, 4), seed=32)])
case("at-add-dups-2d", lambda x, y: cnp.at(x)[(_DUP, np.array([0, 0, 3, 0]))].add(y),
     lambda x, y: _np_add(x, (_DUP, np.array([0, 0, 3, 0])), y), [X34, _arr((4,), seed=33)])
case("index_update-0d", lambda x, y: cnp.index_update(x, (), y), lambda x, y: _np_update(x, (), y),
     [X0, _arr((), seed=1)])
case("index_update-y-bcast", lambda x, y: cnp.index_update(x, np.array([0, 2]), y),
     lambda x, y: _np_update(x, np.array([0, 2]), y), [X34, _arr((1, 4), seed=34)])
case("index_add-const-x", lambda y: cnp.index_add(np.zeros((3, 4)), (slice(None), 1), y),
     lambda y: _np_add(np.zeros((3, 4)), (slice(None), 1), y), [_arr((3,), seed=35)], f32=False)
case("index_update-const-y", lambda x: cnp.index_update(x, 1, np.arange(4.0)),
     lambda x: _np_update(x, 1, np.arange(4.0)), [X34])
case("index_update-pyscalar-y", lambda x: cnp.index_update(x, (slice(None), 2), 0.5),
     lambda x: _np_update(x, (slice(None), 2), 0.5), [X34])
case("at-add-pyscalar-y", lambda x: cnp.at(x)[::2].add(1.5), lambda x: _np_add(x, slice(None, None, 2), 1.5), [X34])


# ---------------------------------------------------------------------------------------------------------
# The table tests
# ---------------------------------------------------------------------------------------------------------

IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS), "duplicate case ids"


def _leaves(x):
    return [np.asarray(v) for v in cr.tree_leaves(x)]


def _assert_same(got, want, rtol=1e-12, atol=1e-12, dtype=True):
    got, want = _leaves(got), _leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape, (g.shape, w.shape)
        if dtype:
            assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def _tangents(args, seed=0):
    r = np.random.default_rng(seed)
    return tuple(r.standard_normal(np.shape(a)).astype(np.asarray(a).dtype)
                 if np.issubdtype(np.asarray(a).dtype, np.floating) else np.zeros(np.shape(a), np.asarray(a).dtype)
                 for a in args)


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_value(c):
    want = c.ref(*c.args)
    _assert_same(c.f(*c.args), want)
    # The traced paths compute the same values.
    out, _ = cr.jvp(c.f, c.args, _tangents(c.args))
    _assert_same(out, want)
    out, _ = cr.vjp(c.f, *c.args)
    _assert_same(out, want)


@pytest.mark.parametrize("c", CASES, ids=IDS)
def test_grads(c):
    check_grads(c.f, c.args, order=c.order, modes=("fwd", "rev"), atol=c.atol, rtol=c.rtol)


F32_CASES = [c for c in CASES if c.f32]


@pytest.mark.parametrize("c", F32_CASES, ids=[c.id for c in F32_CASES])
def test_float32(c):
    args = tuple(a.astype(np.float32) if np.asarray(a).dtype == np.float64 else a for a in c.args)
    out = c.f(*args)
    for o in _leaves(out):
        assert o.dtype == np.float32, o.dtype
    _assert_same(out, c.ref(*args), rtol=1e-5, atol=1e-5, dtype=False)
    out_t, t_out = cr.jvp(c.f, args, _tangents(args))
    for o, t in zip(_leaves(out_t), _leaves(t_out)):
        assert o.dtype == np.float32 and t.dtype == np.float32, (o.dtype, t.dtype)
    out_v, f_vjp = cr.vjp(c.f, *args)
    cts = f_vjp(cr.tree_map(lambda o: np.ones(np.shape(o), np.float32), out_v))
    for a, g in zip(args, cts):
        assert np.asarray(g).dtype == np.asarray(a).dtype, (np.asarray(g).dtype, np.asarray(a).dtype)
    check_grads(c.f, args, order=1, modes=("fwd", "rev"))


# ---------------------------------------------------------------------------------------------------------
# Ties, kinks and zeros: derivatives checked against closed forms
# ---------------------------------------------------------------------------------------------------------

def test_max_min_ties_share_gradient_equally():
    x = np.array([1.0, 3.0, 3.0, 2.0])
    np.testing.assert_allclose(cr.grad(cnp.max)(x), [0.0, 0.5, 0.5, 0.0])
    y = np.array([0.0, -1.0, 4.0, -1.0, -1.0])
    np.testing.assert_allclose(cr.grad(cnp.min)(y), [0.0, 1 / 3, 0.0, 1 / 3, 1 / 3])
    # Forward mode agrees: the JVP averages the tangents of the tied elements.
    t = np.array([1.0, 2.0, 4.0, 8.0])
    out, t_out = cr.jvp(cnp.max, (x,), (t,))
    assert out == 3.0 and np.isclose(t_out, 3.0)
    # Along an axis, with keepdims: each group's weights add up to one.
    m = np.array([[2.0, 2.0, 1.0], [0.0, 5.0, 5.0]])
    g = cr.grad(lambda m: cnp.sum(cnp.max(m, axis=1, keepdims=True) * np.array([[1.0], [10.0]])))(m)
    np.testing.assert_allclose(g, [[0.5, 0.5, 0.0], [0.0, 5.0, 5.0]])
    g = cr.grad(lambda m: cnp.sum(cnp.min(m, axis=0)))(np.array([[1.0, 4.0], [1.0, 3.0]]))
    np.testing.assert_allclose(g, [[0.5, 0.0], [0.5, 1.0]])
    # All equal: the gradient is spread over every element.
    np.testing.assert_allclose(cr.grad(cnp.max)(np.full((2, 2), 7.0)), np.full((2, 2), 0.25))


def test_max_second_order_away_from_ties():
    x = np.array([0.3, 1.1, -0.4])
    h = cr.grad(lambda x: cr.grad(lambda x: cnp.max(x) ** 2)(x)[1])(x)
    np.testing.assert_allclose(h, [0.0, 2.0, 0.0])


def test_maximum_minimum_ties_split_gradient():
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 5.0, 0.0])
    gx, gy = cr.grad(lambda x, y: cnp.sum(cnp.maximum(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, [0.5, 0.0, 1.0])
    np.testing.assert_allclose(gy, [0.5, 1.0, 0.0])
    gx, gy = cr.grad(lambda x, y: cnp.sum(cnp.minimum(x, y)), argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, [0.5, 1.0, 0.0])
    np.testing.assert_allclose(gy, [0.5, 0.0, 1.0])
    # maximum(x, x) == x, so its derivative is exactly one.
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.maximum(x, x)))(x), np.ones(3))
    _, t = cr.jvp(lambda x: cnp.minimum(x, x), (x,), (np.array([1.0, 2.0, 3.0]),))
    np.testing.assert_allclose(t, [1.0, 2.0, 3.0])


def test_relu_via_maximum():
    x = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.maximum(x, 0.0)))(x), [0.0, 1.0, 1.0])


def test_abs_and_clip_gradients():
    x = np.array([-2.0, -0.5, 0.7, 3.0])
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.abs(x)))(x), np.sign(x))
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(abs(x)))(x), np.sign(x))
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.clip(x, -1.0, 1.0)))(x), [0, 1, 1, 0])
    # The gradient w.r.t. traced bounds flows to whichever bound is active.
    lo, hi = np.array(-1.0), np.array(1.0)
    glo, ghi = cr.grad(lambda lo, hi: cnp.sum(cnp.clip(x, lo, hi)), argnums=(0, 1))(lo, hi)
    assert float(glo) == 1.0 and float(ghi) == 1.0
    glo = cr.grad(lambda lo: cnp.sum(cnp.clip(x, lo, 5.0)))(np.array([-3.0, 0.0, 0.0, 0.0]))
    np.testing.assert_allclose(glo, [0.0, 1.0, 0.0, 0.0])


def test_prod_with_zeros_closed_form():
    x = np.array([2.0, 0.0, 3.0, 4.0])
    np.testing.assert_allclose(cr.grad(cnp.prod)(x), [0.0, 24.0, 0.0, 0.0])
    x2 = np.array([2.0, 0.0, 3.0, 0.0])
    np.testing.assert_allclose(cr.grad(cnp.prod)(x2), np.zeros(4))
    # Second derivative with two zeros: d2 prod / dx1 dx3 = 2 * 3.
    h = cr.grad(lambda x: cr.grad(cnp.prod)(x)[1])(x2)
    np.testing.assert_allclose(h, [0.0, 0.0, 0.0, 6.0])
    _, t = cr.jvp(cnp.prod, (x,), (np.array([1.0, 1.0, 1.0, 1.0]),))
    assert float(t) == 24.0
    g = cr.grad(lambda m: cnp.sum(cnp.prod(m, axis=1)))(np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 5.0]]))
    np.testing.assert_allclose(g, [[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]])
    assert np.all(np.isfinite(g))


def test_cumprod_with_zeros_closed_form():
    x = np.array([2.0, 0.0, 3.0])
    # cumprod = [x0, x0 x1, x0 x1 x2]; sum's gradient: [1 + x1 + x1 x2, x0 + x0 x2, x0 x1]
    want = [1 + 0.0 + 0.0, 2.0 + 6.0, 0.0]
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(cnp.cumprod(x)))(x), want)
    _, t = cr.jvp(cnp.cumprod, (x,), (np.ones(3),))
    np.testing.assert_allclose(t, [1.0, 2.0, 6.0])
    g = cr.grad(lambda x: cnp.sum(cnp.cumprod(x)))(np.array([0.0, 0.0, 2.0]))
    np.testing.assert_allclose(g, [1.0, 0.0, 0.0])


def test_var_std_closed_form():
    x = np.array([1.0, 2.0, 4.0, 7.0])
    n = x.size
    np.testing.assert_allclose(cr.grad(cnp.var)(x), 2 * (x - x.mean()) / n)
    np.testing.assert_allclose(cr.grad(lambda x: cnp.var(x, ddof=1))(x), 2 * (x - x.mean()) / (n - 1))
    np.testing.assert_allclose(cr.grad(lambda x: cnp.std(x, ddof=1))(x),
                               (x - x.mean()) / ((n - 1) * np.std(x, ddof=1)))


def test_logsumexp_gradient_is_softmax_and_stable():
    x = np.array([1000.0, 1001.0, 999.0])
    g = cr.grad(cnp.logsumexp)(x)
    e = np.exp(x - x.max())
    np.testing.assert_allclose(g, e / e.sum())
    assert np.isfinite(cnp.logsumexp(x))
    g = cr.grad(lambda x: cnp.logsumexp(x))(np.array([-np.inf, 0.0]))
    np.testing.assert_allclose(g, [0.0, 1.0])


def test_power_closed_forms():
    # d/dx x**y = y x**(y-1);  d/dy x**y = x**y log x
    gx, gy = cr.grad(lambda x, y: x ** y, argnums=(0, 1))(2.0, 3.0)
    assert np.isclose(gx, 12.0) and np.isclose(gy, 8 * np.log(2))
    # integer_pow is exact at zero, as is the general power for a zero base and positive exponent
    assert float(cr.grad(lambda x: x ** 3)(0.0)) == 0.0
    assert float(cr.grad(cr.grad(lambda x: x ** 2))(0.0)) == 2.0
    assert float(cr.grad(lambda y: cnp.power(0.0, y))(2.0)) == 0.0
    assert float(cr.grad(lambda x: x ** 0)(1.5)) == 0.0
    assert float(cr.grad(lambda x: x ** 2.0)(0.0)) == 0.0
    # float32 base with a Python-scalar base or exponent stays float32 in both modes
    y32 = np.array([0.5, 1.5], np.float32)
    assert cr.grad(lambda y: cnp.sum(2.0 ** y))(y32).dtype == np.float32
    assert cr.jvp(lambda y: 2.0 ** y, (y32,), (np.ones(2, np.float32),))[1].dtype == np.float32


# ---------------------------------------------------------------------------------------------------------
# Non-differentiable ops: run on traced values, match NumPy, contribute zero derivative
# ---------------------------------------------------------------------------------------------------------

XN = np.array([[-1.7, -0.2, 0.4], [1.5, 2.6, -3.4]])
UNARY_NONDIFF = ["sign", "floor", "ceil", "round", "around", "trunc", "rint", "fix"]


@pytest.mark.parametrize("name", UNARY_NONDIFF)
def test_nondiff_unary(name):
    f, ref = getattr(cnp, name), getattr(np, name)
    want = ref(XN)
    np.testing.assert_array_equal(f(XN), want)
    # Under every transform the value is NumPy's and the derivative is zero.
    out, t = cr.jvp(f, (XN,), (np.ones_like(XN),))
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(t, np.zeros_like(XN))
    out, f_vjp = cr.vjp(f, XN)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(f_vjp(np.ones_like(XN))[0], np.zeros_like(XN))
    # Composed: d/dx [x * f(x)] = f(x) (f is piecewise constant)
    np.testing.assert_array_equal(cr.grad(lambda x: cnp.sum(x * f(x)))(XN), want)
    _, t = cr.jvp(lambda x: x * f(x), (XN,), (np.ones_like(XN),))
    np.testing.assert_array_equal(t, want)
    # Second order: d2/dx2 [x**2 * f(x)] = 2 f(x)
    h = cr.grad(lambda x: cnp.sum(cr.grad(lambda x: cnp.sum(x * x * f(x)))(x)))(XN)
    np.testing.assert_allclose(h, 2 * want)


def test_nondiff_round_decimals():
    x = np.array([1.234, -5.678])
    np.testing.assert_array_equal(cnp.round(x, 1), np.round(x, 1))
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(x * cnp.round(x, 1)))(x), np.round(x, 1))
    np.testing.assert_array_equal(cr.jvp(lambda x: cnp.round(x, 2), (x,), (x,))[0], np.round(x, 2))


CMP = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
LOGICAL = ["logical_and", "logical_or", "logical_xor"]
CMP_OPS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
           ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


@pytest.mark.parametrize("name", CMP + list(CMP_OPS))
def test_comparisons(name):
    f = CMP_OPS.get(name) or getattr(cnp, name)
    ref = CMP_OPS.get(name) or getattr(np, name)
    y = np.array([0.4, -0.2, 1.0])  # broadcasts against XN, with some equal elements
    want = ref(XN, y)
    assert want.dtype == bool
    seen = {}

    def g(x, y):
        c = f(x, y)
        seen["v"] = np.asarray(c)
        return cnp.sum(cnp.where(c, x * y, x))

    for argnums in (0, 1, (0, 1)):
        grads = cr.grad(g, argnums=argnums)(XN, y)
        _assert_same(seen["v"], want)
        gx = np.where(want, y, 1.0)
        gy = np.sum(np.where(want, XN, 0.0), axis=0)
        if argnums == (0, 1):
            np.testing.assert_allclose(grads[0], gx)
            np.testing.assert_allclose(grads[1], gy)
        else:
            np.testing.assert_allclose(grads, gx if argnums == 0 else gy)
    out, t = cr.jvp(f, (XN, y), (np.ones_like(XN), np.ones_like(y)))
    _assert_same(out, want)
    assert not np.any(t)
    # d/dx [x * (x > c)] = (x > c): the mask is a constant
    mask_grad = cr.grad(lambda x: cnp.sum(x * f(x, y)))(XN)
    np.testing.assert_array_equal(mask_grad, np.broadcast_to(want, XN.shape).astype(np.float64))


@pytest.mark.parametrize("name", LOGICAL + ["logical_not", "&", "|", "^", "~"])
def test_logical_ops(name):
    ops = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b}
    y = np.array([0.4, -0.2, 1.0])

    def run(mod, x):
        a, b = x > 0, x < y
        if name == "logical_not":
            return mod.logical_not(a)
        if name == "~":
            return ~a
        if name in ops:
            return ops[name](a, b)
        return getattr(mod, name)(a, b)

    want = run(np, XN)
    np.testing.assert_array_equal(run(cnp, XN), want)
    seen = {}

    def f(x):
        m = run(cnp, x)
        seen["v"] = np.asarray(m)
        return cnp.sum(x * m)

    g = cr.grad(f)(XN)
    np.testing.assert_array_equal(seen["v"], want)
    np.testing.assert_array_equal(g, want.astype(np.float64))
    out, t = cr.jvp(lambda x: run(cnp, x), (XN,), (np.ones_like(XN),))
    np.testing.assert_array_equal(out, want)
    assert not np.any(t)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(name, axis, keepdims):
    x = np.array([[1.0, 5.0, 5.0], [7.0, -2.0, 0.5]])  # includes a tie: the first index wins, as in NumPy
    f, ref = getattr(cnp, name), getattr(np, name)
    want = ref(x, axis=axis, keepdims=keepdims)
    _assert_same(f(x, axis=axis, keepdims=keepdims), want)
    seen = {}

    def loss(x):
        i = f(x, axis=axis, keepdims=keepdims)
        seen["v"] = np.asarray(i)
        return cnp.sum(x) * 1.0 + cnp.sum(i) * 0.0

    np.testing.assert_array_equal(cr.grad(loss)(x), np.ones_like(x))
    _assert_same(seen["v"], want)
    out, t = cr.jvp(lambda x: f(x, axis=axis, keepdims=keepdims), (x,), (np.ones_like(x),))
    _assert_same(out, want)
    assert not np.any(t)


def test_argmax_selects_for_differentiable_gather():
    x = np.array([[1.0, 5.0, 2.0], [7.0, -2.0, 0.5]])
    g = cr.grad(lambda x: cnp.sum(x[np.arange(2), cnp.argmax(x, axis=1)] ** 2))(x)
    np.testing.assert_allclose(g, [[0.0, 10.0, 0.0], [14.0, 0.0, 0.0]])
    np.testing.assert_array_equal(cr.grad(lambda x: cnp.sum(x * (x.argmax() == np.arange(3))))(np.array(
        [1.0, 3.0, 2.0])), [0.0, 1.0, 0.0])


def test_floor_floor_divide_remainder_values_under_transforms():
    x = np.array([3.5, -2.25, 7.0])
    out, t = cr.jvp(lambda x: cnp.floor_divide(x, 2.0), (x,), (np.ones(3),))
    np.testing.assert_array_equal(out, np.floor_divide(x, 2.0))
    assert not np.any(t)
    # remainder(x, c) = x - c floor(x / c): derivative 1 in x
    np.testing.assert_array_equal(cr.grad(lambda x: cnp.sum(cnp.remainder(x, 2.0)))(x), np.ones(3))
    np.testing.assert_array_equal(cnp.remainder(x, 2.0), np.remainder(x, 2.0))


# ---------------------------------------------------------------------------------------------------------
# Indexed updates with the method syntax x.at[idx].set / .add
# ---------------------------------------------------------------------------------------------------------

def test_at_set_add_methods_on_traced_values():
    x = np.arange(12.0).reshape(3, 4)
    y = np.array([10.0, 20.0])
    idx = (np.array([0, 2]), np.array([1, 3]))

    def f_set(x, y):
        return cnp.sum(x.at[idx].set(y * y) * np.arange(12.0).reshape(3, 4))

    def f_add(x, y):
        return cnp.sum(x.at[idx].add(y * y) * np.arange(12.0).reshape(3, 4))

    w = np.arange(12.0).reshape(3, 4)
    gx, gy = cr.grad(f_set, argnums=(0, 1))(x, y)
    want_gx = w.copy()
    want_gx[idx] = 0.0
    np.testing.assert_allclose(gx, want_gx)
    np.testing.assert_allclose(gy, 2 * y * w[idx])
    gx, gy = cr.grad(f_add, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, w)
    np.testing.assert_allclose(gy, 2 * y * w[idx])
    # Values match the functional forms and NumPy; the input is not mutated.
    before = x.copy()
    out = cr.jvp(lambda x: x.at[1:, ::-2].add(1.0), (x,), (np.ones_like(x),))[0]
    want = x.copy()
    want[1:, ::-2] += 1.0
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(x, before)
    np.testing.assert_array_equal(cr.jvp(lambda x: x.at[0].get(), (x,), (x,))[0], x[0])


def test_index_add_duplicates_accumulate_and_transpose():
    x = np.zeros(3)
    idx = np.array([1, 1, 2, 1])
    y = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(cnp.index_add(x, idx, y), [0.0, 7.0, 3.0])
    gy = cr.grad(lambda y: cnp.sum(cnp.index_add(x, idx, y) * np.array([1.0, 10.0, 100.0])))(y)
    np.testing.assert_array_equal(gy, [10.0, 10.0, 100.0, 10.0])
    # getitem with duplicate indices: the gradient accumulates.
    gx = cr.grad(lambda x: cnp.sum(x[idx]))(np.ones(3))
    np.testing.assert_array_equal(gx, [0.0, 3.0, 1.0])
