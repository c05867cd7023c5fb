"""Symbolic zeros and accumulation.

Invariant: inside the engine ``None`` stands for a zero tangent or cotangent whose shape and dtype are those of
the matching primal. Zeros are materialised only at a transform's boundary (``zeros_like_value``) or when a
rule needs a real array, and then as constants: never as traced values.
"""
from . import backend
from .trace import concrete


def zeros_like_value(x):
    """A constant array of zeros with the shape and dtype of ``x`` (a raw value or a tracer)."""
    return backend.zeros(x.shape, x.dtype, like=concrete(x))


def add_any(a, b):
    """Sum of two cotangents where either may be the symbolic zero ``None``."""
    if a is None:
        return b
    if b is None:
        return a
    return a + b
