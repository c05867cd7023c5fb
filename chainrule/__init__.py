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

__version__ = "0.1.0"

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "linearize", "vmap", "stop_gradient", "jacfwd", "jacrev",
           "hessian", "hvp", "vhp", "custom_jvp", "custom_vjp", "checkpoint", "remat", "Primitive",
           "EscapedTracerError", "MissingRuleError", "register_pytree_node", "tree_flatten", "tree_unflatten",
           "tree_map", "tree_leaves", "tree_structure", "numpy"]
