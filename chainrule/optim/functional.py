"""Pure optimizers over pytrees (JAX / optax style).

Invariant: an optimizer here is a pair of pure functions over pytrees, built from the per-leaf rules of
``rules.py`` (the same functions the stateful classes call, so both APIs give identical numbers). ``init(params)``
returns a state dict ``{name: tree}`` with one tree per state entry (``'step'``, ``'exp_avg'``, ...), each shaped
like ``params``; ``update(grads, state, params)`` returns ``(new_params, new_state)`` and mutates nothing. The
state is itself a pytree of arrays and ints, so it can be saved with ``chainrule.save`` or mapped over.

>>> import numpy as np, chainrule as cr, chainrule.numpy as cnp
>>> from chainrule.optim import functional as F
>>> params = {"w": np.array([1.0, -2.0])}
>>> opt = F.sgd(lr=0.1, momentum=0.9)
>>> state = opt.init(params)
>>> grads = cr.grad(lambda p: cnp.sum(p["w"] ** 2))(params)
>>> params, state = opt.update(grads, state, params)
>>> params["w"]
array([ 0.8, -1.6])
"""
import numpy as np

from ..core.tree import tree_flatten, tree_unflatten
from . import rules as R

__all__ = ["FunctionalOptimizer", "sgd", "adam", "adamw", "rmsprop", "adagrad", "lion", "from_rule"]


class FunctionalOptimizer:
    """An ``init`` / ``update`` pair mapping one per-leaf rule over parameter pytrees.

    ``hyperparams`` holds the hyperparameters; ``update(..., lr=0.01)`` overrides any of them for one call
    (that is how a learning-rate schedule plugs in).
    """

    def __init__(self, rule, **hyperparams):
        unknown = sorted(set(hyperparams) - set(rule.defaults))
        if unknown:
            raise TypeError(f"{rule.name.lower()}: unexpected hyperparameters {unknown}; expected some of "
                            f"{sorted(rule.defaults)}")
        self.rule = rule
        self.hyperparams = R.check_hyperparams(rule, dict(rule.defaults, **hyperparams))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams.items())
        return f"{self.rule.name.lower()}({args})"

    def _hp(self, overrides):
        if not overrides:
            return self.hyperparams
        unknown = sorted(set(overrides) - set(self.rule.defaults))
        if unknown:
            raise TypeError(f"{self.rule.name.lower()}.update: unexpected hyperparameters {unknown}")
        return R.check_hyperparams(self.rule, dict(self.hyperparams, **overrides))

    def _state_keys(self, hp):
        return list(self.rule.init(np.zeros(()), hp))

    def init(self, params):
        """The optimizer state for ``params``: ``{name: tree shaped like params}``."""
        leaves, treedef = tree_flatten(params)
        for i, p in enumerate(leaves):
            dtype = np.result_type(p) if isinstance(p, (int, float, complex)) else getattr(p, "dtype", None)
            if dtype is None or not np.issubdtype(dtype, np.inexact):
                raise TypeError(f"{self.rule.name.lower()}.init: parameter leaf {i} is a {type(p).__name__}"
                                f"{'' if dtype is None else f' of dtype {dtype}'}; every leaf must be a "
                                f"floating-point or complex array")
        per_leaf = [R.init_leaf(self.rule, p, self.hyperparams) for p in leaves]
        return {k: tree_unflatten(treedef, [s[k] for s in per_leaf]) for k in self._state_keys(self.hyperparams)}

    def update(self, grads, state, params, **hyperparams):
        """One step: ``(new_params, new_state)``. Keyword arguments override hyperparameters for this call."""
        hp = self._hp(hyperparams)
        name = self.rule.name.lower()
        p_leaves, treedef = tree_flatten(params)
        g_leaves, g_def = tree_flatten(grads)
        if g_def != treedef:
            raise ValueError(f"{name}.update: grads have structure {g_def} but params have structure {treedef}")
        if not isinstance(state, dict):
            raise TypeError(f"{name}.update: state must be the dict returned by init, got {type(state).__name__}")
        keys = self._state_keys(hp)
        missing, extra = sorted(set(keys) - set(state)), sorted(set(state) - set(keys))
        if missing or extra:
            raise ValueError(f"{name}.update: state does not match the hyperparameters: missing keys {missing}, "
                             f"unexpected keys {extra}")
        columns = []
        for k in keys:
            s_leaves, s_def = tree_flatten(state[k])
            if s_def != treedef:
                raise ValueError(f"{name}.update: state[{k!r}] has structure {s_def} but params have structure "
                                 f"{treedef}")
            columns.append(s_leaves)
        new_p, new_s = [], []
        for i, (g, p) in enumerate(zip(g_leaves, p_leaves)):
            if getattr(g, "shape", ()) != getattr(p, "shape", ()):
                raise ValueError(f"{name}.update: gradient leaf {i} has shape {tuple(np.shape(g))} but its "
                                 f"parameter has shape {tuple(np.shape(p))}")
            p1, s1 = R.update_leaf(self.rule, g, {k: col[i] for k, col in zip(keys, columns)}, p, hp)
            new_p.append(p1)
            new_s.append(s1)
        return (tree_unflatten(treedef, new_p),
                {k: tree_unflatten(treedef, [s[k] for s in new_s]) for k in keys})


def from_rule(rule, **hyperparams):
    """A functional optimizer from any ``rules.Rule`` (for optimizers defined outside this package).

    >>> from chainrule.optim import rules
    >>> from_rule(rules.LION, lr=0.5)
    lion(lr=0.5, betas=(0.9, 0.99), weight_decay=0.0, maximize=False)
    """
    return FunctionalOptimizer(rule, **hyperparams)


def sgd(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *, maximize=False):
    """Stochastic gradient descent (PyTorch's ``SGD`` formula and defaults), as a pure init/update pair.

    >>> import numpy as np
    >>> opt = sgd(lr=0.5)
    >>> opt.update(np.array([2.0]), opt.init(np.array([1.0])), np.array([1.0]))[0]
    array([0.])
    """
    return FunctionalOptimizer(R.SGD, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                               nesterov=nesterov, maximize=maximize)


def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False,
         decoupled_weight_decay=False):
    """Adam (PyTorch's formula and defaults), as a pure init/update pair.

    >>> import numpy as np
    >>> opt = adam(lr=0.1)
    >>> p = np.array([1.0, 1.0])
    >>> p, s = opt.update(np.array([3.0, -0.5]), opt.init(p), p)
    >>> p.round(6)   # the first Adam step moves every coordinate by about lr against its gradient's sign
    array([0.9, 1.1])
    >>> s["step"]
    1
    """
    return FunctionalOptimizer(R.ADAM, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                               amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)


def adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False):
    """AdamW: Adam with decoupled weight decay (``param *= 1 - lr * weight_decay`` before the Adam step).

    >>> import numpy as np
    >>> opt = adamw(lr=0.1, weight_decay=0.5)
    >>> p = np.array([2.0])
    >>> opt.update(np.array([0.0]), opt.init(p), p)[0]   # zero gradient: only the decay acts
    array([1.9])
    """
    return FunctionalOptimizer(R.ADAMW, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                               amsgrad=amsgrad, maximize=maximize)


def rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *, maximize=False):
    """RMSprop (PyTorch's formula and defaults), as a pure init/update pair.

    >>> import numpy as np
    >>> opt = rmsprop(lr=0.01, alpha=0.75, eps=0.0)
    >>> opt.update(np.array([2.0]), opt.init(np.array([1.0])), np.array([1.0]))[0]   # 1 - 0.01 * 2 / sqrt(0.25 * 4)
    array([0.98])
    """
    return FunctionalOptimizer(R.RMSPROP, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                               momentum=momentum, centered=centered, maximize=maximize)


def adagrad(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *, maximize=False):
    """Adagrad (PyTorch's formula and defaults), as a pure init/update pair.

    >>> import numpy as np
    >>> opt = adagrad(lr=0.5, eps=0.0)
    >>> opt.update(np.array([4.0]), opt.init(np.array([1.0])), np.array([1.0]))[0]   # 1 - 0.5 * 4 / 4
    array([0.5])
    """
    return FunctionalOptimizer(R.ADAGRAD, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                               initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize)


def lion(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False):
    """Lion (sign of an interpolated momentum; Chen et al. 2023), as a pure init/update pair.

    >>> import numpy as np
    >>> opt = lion(lr=0.1)
    >>> opt.update(np.array([3.0, -0.2]), opt.init(np.zeros(2)), np.zeros(2))[0]
    array([-0.1,  0.1])
    """
    return FunctionalOptimizer(R.LION, lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize)
