"""chainrule: automatic differentiation for NumPy code, in pure Python.

Three faces on one engine:

- the NumPy face: ``chainrule.numpy`` (and ``chainrule.scipy``), NumPy's functions made differentiable;
- the transform face: ``grad``, ``vjp``, ``jvp``, ``vmap``, ``jacrev``, ``hessian``, ``custom_vjp``, ... over pytrees;
- the Tensor face: ``Tensor`` with ``requires_grad`` / ``.backward()``, ``chainrule.nn`` and ``chainrule.optim``.

>>> import chainrule as cr
>>> import chainrule.numpy as cnp
>>> float(cr.grad(lambda x: cnp.sin(x) * x)(0.0))
0.0
"""
from numpy import bool_, complex64, complex128, float16, float32, float64, int8, int16, int32, int64, uint8

from . import ops as _ops  # noqa: F401 - installs operators and methods on traced values
from . import numpy
from .core.primitive import MissingRuleError, Primitive
from .core.trace import EscapedTracerError
from .core.tree import (register_pytree_node, tree_flatten, tree_leaves, tree_map, tree_structure,
                        tree_unflatten)
from .transforms import (grad, hessian, hvp, jacfwd, jacrev, jvp, linearize, stop_gradient, value_and_grad, vhp,
                         vjp, vmap)
from .custom import checkpoint, custom_jvp, custom_vjp, remat
from .tensor import (Generator, Tensor, arange, as_tensor, cat, empty, empty_like, eye, from_numpy, full, full_like,
                     get_rng_state, is_tensor, linspace, manual_seed, ones, ones_like, rand, rand_like, randint,
                     randint_like, randn, randn_like, randperm, set_rng_state, stack, concat, tensor, zeros,
                     zeros_like)
from . import autograd
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from . import nn, optim, utils
from .serialization import load, save
from ._autograd_api import *  # noqa: F401,F403 - HIPS autograd's operators (elementwise_grad, jacobian, ...)
from ._autograd_api import __all__ as _autograd_names
from . import builtins, extend, misc, test_util

# PyTorch's dtype aliases.
float = float32  # noqa: A001
double = float64
long = int64
cfloat = complex64
cdouble = complex128

__version__ = "0.1.0"

__all__ = [
    # transforms
    "grad", "value_and_grad", "vjp", "jvp", "linearize", "vmap", "jacfwd", "jacrev", "hessian", "hvp", "vhp",
    "stop_gradient", "custom_jvp", "custom_vjp", "checkpoint", "remat",
    # pytrees and the extension surface
    "register_pytree_node", "tree_flatten", "tree_unflatten", "tree_map", "tree_leaves", "tree_structure",
    "Primitive", "EscapedTracerError", "MissingRuleError",
    # the Tensor face
    "Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace", "eye",
    "rand", "randn", "randint", "randperm", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
    "randn_like", "randint_like", "manual_seed", "get_rng_state", "set_rng_state", "Generator", "stack", "cat",
    "concat", "is_tensor", "autograd", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "inference_mode", "nn", "optim", "utils", "save", "load",
    # namespaces and tools
    "numpy", "extend", "builtins", "misc", "test_util", "coverage",
    # dtypes
    "float16", "float32", "float64", "complex64", "complex128", "int8", "int16", "int32", "int64", "uint8", "bool_",
    "float", "double", "long", "cfloat", "cdouble",
] + list(_autograd_names)


def __getattr__(name):
    # ``chainrule.coverage`` is loaded on first use (it is also a script: ``python -m chainrule.coverage``); the
    # module is callable, so ``chainrule.coverage()`` returns the table.
    if name == "coverage":
        import importlib
        return importlib.import_module(".coverage", __name__)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
