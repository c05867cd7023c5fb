"""HIPS autograd's ``test_util``: ``check_grads`` and ``combo_check`` with autograd's calling convention, on
``chainrule.testing``'s checks (forward mode against central differences, reverse mode against forward mode
through ``<u, J v> == <J^T u, v>``, to any order).

>>> import numpy as np, chainrule.numpy as cnp
>>> check_grads(cnp.sin)(np.array([0.3, 1.2]))
>>> check_grads(lambda x, y: x * cnp.exp(y), argnum=(0, 1), modes=["rev"], order=1)(1.5, 0.5)
"""
import itertools

import numpy as np

from .testing import check_grads as _check_grads

__all__ = ["check_grads", "combo_check"]


def _is_argnum(a):
    return isinstance(a, (int, np.integer)) and not isinstance(a, bool) or (
        isinstance(a, (tuple, list)) and all(isinstance(i, (int, np.integer)) for i in a))


def check_grads(f, argnum=0, modes=("fwd", "rev"), order=2):
    """``check_grads(f, argnum=0, modes=['fwd', 'rev'], order=2)(*args, **kwargs)`` checks ``f``'s derivatives
    with respect to argument(s) ``argnum`` at ``args`` to ``order``, raising ``AssertionError`` on a mismatch.
    The older form ``check_grads(f, *args)`` (arguments instead of ``argnum``) checks every argument at once.

    >>> import chainrule.numpy as cnp
    >>> check_grads(cnp.exp, modes=["fwd"])(0.5)
    """
    if not _is_argnum(argnum):
        args = (argnum,) + ((modes,) if not isinstance(modes, (tuple, list)) or not all(
            isinstance(m, str) for m in modes) else ())
        return _check_grads(f, args, order=2, modes=("fwd", "rev"))
    modes = tuple(modes)
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {m!r}; use 'fwd' and/or 'rev'")

    def check(*args, **kwargs):
        nums = (int(argnum),) if not isinstance(argnum, (tuple, list)) else tuple(int(a) for a in argnum)

        def partial(*xs):
            full = list(args)
            for i, x in zip(nums, xs):
                full[i] = x
            return f(*full, **kwargs)

        _check_grads(partial, tuple(args[i] for i in nums), order=order, modes=modes)

    return check


def combo_check(fun, *args, **kwargs):
    """``combo_check(fun, argnum, modes, order)(*arg_lists, **kwarg_lists)``: ``check_grads`` at every
    combination of the candidate positional values and keyword values.

    >>> import numpy as np, chainrule.numpy as cnp
    >>> combo_check(cnp.sum, [0], order=1)([np.ones(3), np.ones((2, 2))], axis=[None, 0])
    """
    def combos(*arg_lists, **kwarg_lists):
        keyed = [[(k, v) for v in vs] for k, vs in kwarg_lists.items()]
        for values in itertools.product(*arg_lists):
            for kw in itertools.product(*keyed):
                check_grads(fun, *args, **kwargs)(*values, **dict(kw))

    return combos
