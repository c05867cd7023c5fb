"""HIPS autograd's ``builtins``: ``isinstance``, ``type``, ``tuple``, ``list`` and ``dict`` that see through traced
values.

chainrule differentiates through Python containers without special types (they are pytrees: ``grad`` of a
function of a list returns a list), so ``tuple``, ``list`` and ``dict`` are Python's own. ``isinstance`` and
``type`` answer for a traced value as for the array it stands for, as autograd's do for its boxes.

>>> import numpy as np, chainrule as cr
>>> cr.grad(lambda x: (x * 2.0).sum() if isinstance(x, np.ndarray) else 0.0)(np.ones(2))
array([2., 2.])
"""
import builtins as _builtins

from .core.trace import Tracer as _Tracer

__all__ = ["isinstance", "type", "tuple", "list", "dict"]

tuple = _builtins.tuple  # noqa: A001
list = _builtins.list  # noqa: A001
dict = _builtins.dict  # noqa: A001


def _underlying(obj):
    while _builtins.isinstance(obj, _Tracer):
        obj = obj.concrete_value()
    return obj


def isinstance(obj, classinfo):  # noqa: A001 - autograd's name
    """``isinstance`` that treats a traced value as the array it stands for.

    >>> isinstance(1.0, float)
    True
    """
    if _builtins.isinstance(obj, classinfo):
        return True
    return _builtins.isinstance(obj, _Tracer) and _builtins.isinstance(_underlying(obj), classinfo)


def type(obj):  # noqa: A001 - autograd's name
    """``type`` of the array a traced value stands for (Python's ``type`` otherwise).

    >>> type(1.0)
    <class 'float'>
    """
    return _builtins.type(_underlying(obj))
