"""Doctest set-up: print NumPy scalars as plain numbers (``5.0``, not ``np.float64(5.0)``), whatever the NumPy
version, so docstring examples read the way users of either NumPy generation expect."""
import numpy as np
import pytest

import chainrule.interpreters.reverse as _reverse

try:  # SciPy is optional: without it, its doctests are not collected (its tests skip themselves).
    import scipy  # noqa: F401
    collect_ignore_glob = []
except ImportError:
    collect_ignore_glob = ["chainrule/scipy/*", "chainrule/ops/scipy_special.py"]

# Exercise every VJP rule with the values it declared unneeded really missing (NOTE: [dropping unsaved values]).
_reverse.DROP_THRESHOLD = 0


@pytest.fixture(autouse=True)
def _plain_numpy_scalars(request):
    if request.node.__class__.__name__ == "DoctestItem":
        old = np.get_printoptions()
        np.set_printoptions(legacy="1.25")
        yield
        np.set_printoptions(**old)
    else:
        yield
