"""chainrule: automatic differentiation for NumPy code, in pure Python.

>>> import chainrule as cr
>>> import chainrule.numpy as cnp
>>> float(cr.grad(lambda x: cnp.sin(x) * x)(0.0))
0.0
"""
from . import ops as _ops  # noqa: F401 - installs operators on traced values
from . import numpy  # noqa: F401
from .core.trace import EscapedTracerError
from .core.primitive import Primitive, MissingRuleError
from .core.tree import (register_pytree_node, tree_flatten, tree_unflatten, tree_map, tree_leaves,
                        tree_structure)
from .transforms import (grad, value_and_grad, vjp, jvp, linearize, vmap, stop_gradient, jacfwd, jacrev, hessian,
                         hvp, vhp)
from .custom import custom_jvp, custom_vjp, checkpoint, remat
from .tensor import (Tensor, tensor, as_tensor, from_numpy, zeros, ones, full, empty, arange, linspace, eye, rand,
                     randn, randint, zeros_like, ones_like, full_like, empty_like, rand_like, randn_like,
                     manual_seed, Generator, stack, cat, is_tensor)
from . import autograd
from . import optim, utils
from .serialization import save, load
from .autograd import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, inference_mode
from numpy import float16, float32, float64, complex64, complex128, int8, int16, int32, int64, uint8, bool_

float = float32  # noqa: A001 - PyTorch's dtype aliases
double = float64
long = int64
cfloat = complex64
cdouble = complex128

__version__ = "0.1.0"

__all__ = ["Tensor", "tensor", "as_tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange", "linspace",
           "eye", "rand", "randn", "randint", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
           "randn_like", "manual_seed", "Generator", "stack", "cat", "is_tensor", "autograd", "no_grad",
           "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode", "optim", "save", "load", "grad", "value_and_grad", "vjp", "jvp", "linearize", "vmap", "stop_gradient", "jacfwd", "jacrev",
           "hessian", "hvp", "vhp", "custom_jvp", "custom_vjp", "checkpoint", "remat", "Primitive",
           "EscapedTracerError", "MissingRuleError", "register_pytree_node", "tree_flatten", "tree_unflatten",
           "tree_map", "tree_leaves", "tree_structure", "numpy"]

from ._autograd_api import *  # noqa: E402,F401,F403 - HIPS autograd's operators (elementwise_grad, jacobian, ...)
from . import extend, builtins, misc, test_util  # noqa: E402,F401
