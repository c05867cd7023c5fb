"""Per-leaf optimizer rules: for each algorithm one pure ``init`` and one pure ``update``.

Invariant: every optimizer formula lives here exactly once. ``init(param, hp) -> state`` and
``update(grad, state, param, hp) -> (new_param, new_state)`` never mutate their arguments (``hp`` is a mapping of
hyperparameters; a stateful optimizer passes its param group). The functional API (``functional.py``) maps them
over pytrees; the PyTorch-style classes (``optimizer.py``) call them on each parameter's raw array and write the
results back. Both go through ``init_leaf`` / ``update_leaf``, which add complex-parameter support.

The rules use Python operators and ``chainrule.numpy`` functions, so they run on NumPy arrays, Tensors and traced
values alike (a hypergradient through an update step works), and they keep the parameter's dtype: every scalar
they combine with an array is a Python number, which NumPy 2 treats as a weak scalar.

NOTE: [PyTorch's formulas]
The updates follow torch.optim's single-tensor code paths (torch 2.x), operation for operation: ``maximize``
negates the gradient first, L2 weight decay (``grad + wd * param``) comes next, decoupled decay multiplies the
parameter by ``1 - lr * wd`` before the moments are touched, first moments move by ``lerp``, Adam's step size is
``lr / (1 - beta1 ** t)`` and its denominator ``sqrt(v) / sqrt(1 - beta2 ** t) + eps``. SGD's momentum buffer
starts as a copy of the first (decayed) gradient, not as zeros, which is why SGD with momentum keeps a ``step``
count. Complex parameters are optimized as pairs of reals (torch's ``view_as_real``), see ``init_leaf``.

>>> import numpy as np
>>> hp = dict(ADAM.defaults, lr=0.1)
>>> p = np.array([1.0, -1.0])
>>> state = init_leaf(ADAM, p, hp)
>>> p, state = update_leaf(ADAM, np.array([0.5, -2.0]), state, p, hp)
>>> p.round(6), state["step"]
(array([ 0.9, -0.9]), 1)
"""
from typing import Callable, NamedTuple

import numpy as np

from .. import numpy as cnp
from ..core.trace import Tracer

__all__ = ["Rule", "RULES", "init_leaf", "update_leaf", "check_hyperparams"]


class Rule(NamedTuple):
    """One optimizer: its name, default hyperparameters, validator, and the per-leaf pure functions."""

    name: str
    defaults: dict
    validate: Callable
    init: Callable
    update: Callable


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------

def _lerp(start, end, weight):
    """``start + weight * (end - start)``, evaluated from the nearer end as ``torch.lerp`` does."""
    if weight < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _copy(x):
    """A copy of a concrete array (so state never aliases a gradient buffer); traced values are immutable."""
    return x.copy() if isinstance(x, np.ndarray) else x


def _zeros(param):
    return cnp.zeros_like(param)


def _check(cond, message):
    if not cond:
        raise ValueError(message)


def _nonneg(hp, key, label=None):
    v = hp[key]
    if isinstance(v, Tracer):
        return
    _check(0.0 <= v, f"Invalid {label or key} value: {v}")


def _lr(hp):
    v = hp["lr"]
    if not isinstance(v, Tracer):
        _check(0.0 <= v, f"Invalid learning rate: {v}")


def _betas(hp, closed_upper=False):
    betas = hp["betas"]
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
    for i, b in enumerate(betas):
        ok = 0.0 <= b <= 1.0 if closed_upper else 0.0 <= b < 1.0
        _check(ok, f"Invalid beta parameter at index {i}: {b}")


def _scalar(v):
    """NumPy scalars and one-element arrays become Python numbers, so they stay weak in dtype promotion."""
    if isinstance(v, np.generic) or (isinstance(v, np.ndarray) and v.size == 1):
        return v.item()
    return v


def check_hyperparams(rule, hp):
    """Normalise NumPy scalars to Python numbers in ``hp`` (in place) and validate it with ``rule.validate``.

    >>> check_hyperparams(SGD, dict(SGD.defaults, lr=np.float64(0.5)))["lr"]
    0.5
    """
    for k, v in list(hp.items()):
        if k == "params":
            continue
        if isinstance(v, tuple):
            hp[k] = tuple(_scalar(x) for x in v)
        else:
            hp[k] = _scalar(v)
    rule.validate(hp)
    return hp


# ---------------------------------------------------------------------------------------------------------
# SGD
# ---------------------------------------------------------------------------------------------------------

def _sgd_validate(hp):
    _lr(hp)
    _nonneg(hp, "momentum")
    _nonneg(hp, "weight_decay")
    if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
        raise ValueError("Nesterov momentum requires a momentum and zero dampening")


def sgd_init(param, hp):
    if hp["momentum"] == 0:
        return {}
    return {"step": 0, "momentum_buffer": _zeros(param)}


def sgd_update(grad, state, param, hp):
    lr, momentum, wd = hp["lr"], hp["momentum"], hp["weight_decay"]
    if hp["maximize"]:
        grad = -grad
    if wd != 0:
        grad = grad + wd * param
    if momentum != 0:
        if state["step"] == 0:
            buf = _copy(grad)
        else:
            buf = state["momentum_buffer"] * momentum + (1 - hp["dampening"]) * grad
        state = {"step": state["step"] + 1, "momentum_buffer": buf}
        grad = grad + momentum * buf if hp["nesterov"] else buf
    return param + (-lr) * grad, state


SGD = Rule("SGD", dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False),
           _sgd_validate, sgd_init, sgd_update)


# ---------------------------------------------------------------------------------------------------------
# Adam / AdamW
# ---------------------------------------------------------------------------------------------------------

def _adam_validate(hp):
    _lr(hp)
    _nonneg(hp, "eps", "epsilon")
    _betas(hp)
    _nonneg(hp, "weight_decay")


def adam_init(param, hp):
    state = {"step": 0, "exp_avg": _zeros(param), "exp_avg_sq": _zeros(param)}
    if hp["amsgrad"]:
        state["max_exp_avg_sq"] = _zeros(param)
    return state


def adam_update(grad, state, param, hp):
    lr, (beta1, beta2), eps, wd = hp["lr"], hp["betas"], hp["eps"], hp["weight_decay"]
    if hp["maximize"]:
        grad = -grad
    step = state["step"] + 1
    if wd != 0:
        if hp.get("decoupled_weight_decay", False):
            param = param * (1 - lr * wd)
        else:
            grad = grad + wd * param
    exp_avg = _lerp(state["exp_avg"], grad, 1 - beta1)
    exp_avg_sq = state["exp_avg_sq"] * beta2 + (1 - beta2) * grad * grad
    step_size = lr / (1 - beta1 ** step)
    bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
    new_state = {"step": step, "exp_avg": exp_avg, "exp_avg_sq": exp_avg_sq}
    if hp["amsgrad"]:
        exp_avg_sq = new_state["max_exp_avg_sq"] = cnp.maximum(state["max_exp_avg_sq"], exp_avg_sq)
    denom = cnp.sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
    return param + (-step_size) * exp_avg / denom, new_state


ADAM = Rule("Adam", dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, maximize=False,
                         decoupled_weight_decay=False), _adam_validate, adam_init, adam_update)
ADAMW = ADAM._replace(name="AdamW", defaults=dict(ADAM.defaults, weight_decay=1e-2, decoupled_weight_decay=True))


# ---------------------------------------------------------------------------------------------------------
# RMSprop
# ---------------------------------------------------------------------------------------------------------

def _rmsprop_validate(hp):
    _lr(hp)
    _nonneg(hp, "eps", "epsilon")
    _nonneg(hp, "momentum")
    _nonneg(hp, "weight_decay")
    _nonneg(hp, "alpha")


def rmsprop_init(param, hp):
    state = {"step": 0, "square_avg": _zeros(param)}
    if hp["momentum"] > 0:
        state["momentum_buffer"] = _zeros(param)
    if hp["centered"]:
        state["grad_avg"] = _zeros(param)
    return state


def rmsprop_update(grad, state, param, hp):
    lr, alpha, eps, wd, momentum = hp["lr"], hp["alpha"], hp["eps"], hp["weight_decay"], hp["momentum"]
    if hp["maximize"]:
        grad = -grad
    if wd != 0:
        grad = grad + wd * param
    square_avg = state["square_avg"] * alpha + (1 - alpha) * grad * grad
    new_state = {"step": state["step"] + 1, "square_avg": square_avg}
    if hp["centered"]:
        grad_avg = new_state["grad_avg"] = _lerp(state["grad_avg"], grad, 1 - alpha)
        avg = cnp.sqrt(square_avg - grad_avg * grad_avg)
    else:
        avg = cnp.sqrt(square_avg)
    avg = avg + eps
    if momentum > 0:
        buf = new_state["momentum_buffer"] = state["momentum_buffer"] * momentum + grad / avg
        return param + (-lr) * buf, new_state
    return param + (-lr) * grad / avg, new_state


RMSPROP = Rule("RMSprop", dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                               maximize=False), _rmsprop_validate, rmsprop_init, rmsprop_update)


# ---------------------------------------------------------------------------------------------------------
# Adagrad
# ---------------------------------------------------------------------------------------------------------

def _adagrad_validate(hp):
    _lr(hp)
    _nonneg(hp, "lr_decay")
    _nonneg(hp, "weight_decay")
    _nonneg(hp, "initial_accumulator_value")
    _nonneg(hp, "eps", "epsilon")


def adagrad_init(param, hp):
    return {"step": 0, "sum": _zeros(param) + hp["initial_accumulator_value"]}


def adagrad_update(grad, state, param, hp):
    lr, wd, eps = hp["lr"], hp["weight_decay"], hp["eps"]
    step = state["step"] + 1
    if hp["maximize"]:
        grad = -grad
    if wd != 0:
        grad = grad + wd * param
    clr = lr / (1 + (step - 1) * hp["lr_decay"])
    total = state["sum"] + grad * grad
    std = cnp.sqrt(total) + eps
    return param + (-clr) * grad / std, {"step": step, "sum": total}


ADAGRAD = Rule("Adagrad", dict(lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                               maximize=False), _adagrad_validate, adagrad_init, adagrad_update)


# ---------------------------------------------------------------------------------------------------------
# Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"); defaults of lion-pytorch
# ---------------------------------------------------------------------------------------------------------

def _lion_validate(hp):
    _lr(hp)
    _betas(hp, closed_upper=True)
    _nonneg(hp, "weight_decay")


def lion_init(param, hp):
    return {"exp_avg": _zeros(param)}


def lion_update(grad, state, param, hp):
    lr, (beta1, beta2), wd = hp["lr"], hp["betas"], hp["weight_decay"]
    if hp["maximize"]:
        grad = -grad
    if wd != 0:
        param = param * (1 - lr * wd)
    exp_avg = state["exp_avg"]
    direction = cnp.sign(exp_avg * beta1 + (1 - beta1) * grad)
    return param + (-lr) * direction, {"exp_avg": exp_avg * beta2 + (1 - beta2) * grad}


LION = Rule("Lion", dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False),
            _lion_validate, lion_init, lion_update)

RULES = {r.name.lower(): r for r in (SGD, ADAM, ADAMW, RMSPROP, ADAGRAD, LION)}


# ---------------------------------------------------------------------------------------------------------
# Applying a rule to one leaf (complex parameters as pairs of reals)
# ---------------------------------------------------------------------------------------------------------

def _is_complex(x):
    return np.iscomplexobj(x) if isinstance(x, np.ndarray) else np.issubdtype(getattr(x, "dtype", float),
                                                                              np.complexfloating)


def _as_real(x):
    x = np.ascontiguousarray(x)
    return x.reshape(x.shape + (1,)).view(x.real.dtype)


def _as_complex(x, like):
    return np.ascontiguousarray(x).view(like.dtype).reshape(like.shape)


def _map_arrays(state, fn):
    return {k: fn(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}


def init_leaf(rule, param, hp):
    """``rule.init`` on one parameter; a complex NumPy parameter gets the state of its real view."""
    if _is_complex(param):
        _complex_check(rule, param)
        return _map_arrays(rule.init(_as_real(param), hp), lambda a: _as_complex(a, param))
    return rule.init(param, hp)


def update_leaf(rule, grad, state, param, hp):
    """``rule.update`` on one parameter; complex NumPy arrays are updated through their real views."""
    if _is_complex(param):
        _complex_check(rule, param)
        new_param, new_state = rule.update(_as_real(np.asarray(grad, param.dtype)), _map_arrays(state, _as_real),
                                           _as_real(param), hp)
        return _as_complex(new_param, param), _map_arrays(new_state, lambda a: _as_complex(a, param))
    return rule.update(grad, state, param, hp)


def _complex_check(rule, param):
    if not isinstance(param, np.ndarray):
        raise TypeError(f"{rule.name}: complex parameters are supported as NumPy arrays only, got a complex "
                        f"{type(param).__name__}")
