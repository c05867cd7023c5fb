"""Helpers shared by the distributions: common dtype, parameter checks and support masks.

Invariant: masks are built with chainrule comparisons (so under ``vmap`` they are batched like the values they
test); concrete values are looked at only to skip masking when every entry is valid, which keeps the common case
free of ``where`` calls and keeps invalid entries from ever reaching a ``log`` (no spurious RuntimeWarnings).
"""
import math

import numpy as np

from ...core.trace import Tracer, concrete
from ...ops import elementwise as E
from ...ops._util import as_operand
from ...ops.scipy_special import result_dtype

LOG_2PI = math.log(2.0 * math.pi)
HALF_LOG_2PI = 0.5 * LOG_2PI


def floats(*args):
    """The arguments as arrays (or traced values) of one floating dtype (Python scalars are weak, as in NumPy)."""
    args = [as_operand(a) for a in args]
    dt = result_dtype(args)
    out = []
    for a in args:
        if isinstance(a, Tracer):
            out.append(a if a.dtype == dt else E.astype(a, dt))
        else:
            out.append(np.asarray(a, dt))
    return out


def all_true(mask):
    return bool(np.all(np.asarray(concrete(mask))))


def positive(p):
    """``(p_safe, ok)``: ``p`` with invalid (non-positive) entries replaced by 1, and the mask of valid entries
    (None when all are valid)."""
    ok = p > 0
    if all_true(ok):
        return p, None
    return E.where(ok, p, 1), ok


def restrict(ok, value, fill):
    """``value`` where ``ok`` holds and ``fill`` elsewhere (``ok`` None means everywhere valid)."""
    if ok is None:
        return value
    return E.where(ok, value, fill)


def both(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def standardize(x, loc, scale):
    """``(z, log(scale), ok)`` with ``z = (x - loc) / scale``; ``ok`` marks ``scale > 0`` (None if all are)."""
    scale, ok = positive(scale)
    return (x - loc) / scale, E.log(scale), ok


def inside(z, lo=None, hi=None):
    """``(z_safe, mask)``: where ``z`` lies outside ``[lo, hi]`` it is replaced by a point inside, so formulas
    never see it; ``mask`` is None when every entry is inside."""
    m = None
    if lo is not None:
        m = z >= lo
    if hi is not None:
        m = both(m, z <= hi)
    if m is None or all_true(m):
        return z, None
    mid = lo if hi is None else (hi if lo is None else (lo + hi) * 0.5)
    return E.where(m, z, mid), m
