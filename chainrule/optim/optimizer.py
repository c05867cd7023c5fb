"""PyTorch-style stateful optimizers: parameter groups, ``zero_grad``, ``step``, ``state_dict``.

Invariant: ``step()`` reads each parameter's ``.grad``, calls the per-leaf rule of ``rules.py`` (the same
function the functional API maps over trees) on raw arrays, and writes the results back: the new parameter value
with the Tensor's in-place ``copy_`` (which rebinds ``p.data`` and bumps the version counter, see the
Tensor face's NOTE: [no views]), the new state arrays into the Tensors held in ``optimizer.state[p]``. Nothing
is recorded on the tape. The rules return fresh arrays, never mutating their inputs, so a ``state_dict()``
taken earlier is a snapshot that later steps do not change.
"""
import functools
import warnings
from collections import defaultdict

import numpy as np

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor, from_numpy
from . import rules as R

__all__ = ["Optimizer", "required"]


class _Required:
    def __repr__(self):
        return "<required parameter>"


required = _Required()


def _type_name(x):
    return type(x).__module__ + "." + type(x).__name__


class Optimizer:
    """Base class: holds ``param_groups`` (a list of dicts, each with ``'params'`` and its options),
    ``state`` (per-parameter dicts keyed by the parameter Tensor) and ``defaults``.

    A subclass sets ``_rule`` (a ``rules.Rule``) and passes its options as ``defaults``; ``step`` is generic.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> opt = cr.optim.SGD([w], lr=0.1)
    >>> (w * w).sum().backward()
    >>> opt.step()
    >>> w
    tensor([0.8, 1.6], requires_grad=True)
    """

    _rule = None
    _eager_state = False  # Adagrad creates its state when the parameter is added, as PyTorch's does

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_marks_called", False):
            @functools.wraps(step)
            def marked(self, *args, **kw):
                self._opt_called = True
                return step(self, *args, **kw)
            marked._marks_called = True
            cls.step = marked

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._opt_called = False
        if isinstance(params, Tensor):
            raise TypeError(f"params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {_type_name(params)}")
        groups = list(params)
        if len(groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {group[k]}" for k in sorted(group) if k not in ("params", "param_names"))
        return "\n".join(lines) + "\n)"

    # --- parameter groups --------------------------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group: a dict with ``'params'`` (Tensors, or ``(name, Tensor)`` pairs) and per-group options;
        options left out take the optimizer's defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError("param_group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering "
                            "of tensors in sets will change between runs. Please use a list instead.")
        else:
            params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        tensors = [p[1] if isinstance(p, tuple) else p for p in params]
        if names and len(names) != len(tensors):
            raise ValueError("all optimizer params should be with/without names. Some param names are missing")
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_type_name(p)}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        group = dict(param_group)
        group["params"] = tensors
        if names:
            group["param_names"] = names
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter "
                                 f"{key}")
            group.setdefault(key, default)
        if self._rule is not None:
            R.check_hyperparams(self._rule, group)
        if len({id(p) for p in tensors}) != len(tensors):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; each is stepped once",
                          stacklevel=3)
            seen = set()
            group["params"] = [p for p in tensors if not (id(p) in seen or seen.add(id(p)))]
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in group["params"]):
            raise ValueError("some parameters appear in more than one parameter group")
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in group):
                which = "with names" if "param_names" in group else "without names"
                raise ValueError(f"all optimizer param groups should be with/without names. cannot add param "
                                 f"group {which} to the optimizer")
        self.param_groups.append(group)
        if self._eager_state:
            for p in group["params"]:
                self._init_state(p, group)

    # --- gradients and steps -----------------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset every parameter's gradient: to ``None`` (default), or to zeros with ``set_to_none=False``."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    p.grad.detach_()
                    p.grad.zero_()

    def step(self, closure=None):
        """Update every parameter that has a gradient; ``closure`` (re-evaluates and returns the loss) is called
        first, with grad mode on, and its result returned."""
        self._opt_called = True
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self._step_param(p, group)
        return loss

    def _init_state(self, p, group):
        state = R.init_leaf(self._rule, p.data, group)
        if state:
            self.state[p] = {k: from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}
        return state

    def _step_param(self, p, group):
        rule = self._rule
        grad = p.grad.data if isinstance(p.grad, Tensor) else np.asarray(p.grad)
        data = p.data
        if grad.shape != data.shape:
            raise RuntimeError(f"{rule.name}.step: the gradient of a parameter has shape {tuple(grad.shape)} but "
                               f"the parameter has shape {tuple(data.shape)}")
        if grad.dtype != data.dtype:
            if not np.can_cast(grad.dtype, data.dtype, "same_kind"):
                raise RuntimeError(f"{rule.name}.step: gradient dtype {grad.dtype} can't be cast to the "
                                   f"parameter's dtype {data.dtype}")
            grad = grad.astype(data.dtype)
        state = self.state.get(p)
        if not state:
            self._init_state(p, group)
            state = self.state.get(p, {})
        raw = {k: v.data if isinstance(v, Tensor) else v for k, v in state.items()}
        new_param, new_state = R.update_leaf(rule, grad, raw, data, group)
        _write_param(p, new_param)
        for k, v in new_state.items():
            old = state.get(k)
            if isinstance(v, np.ndarray):
                if isinstance(old, Tensor):
                    old.data = v.astype(old.data.dtype, copy=False)
                else:
                    state[k] = from_numpy(v.astype(data.dtype, copy=False) if v.dtype.kind in "fc" else v)
            else:
                state[k] = v

    # --- checkpoints -------------------------------------------------------------------------------------------
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``, PyTorch's layout:
        parameters are replaced by their position across all groups.

        >>> import chainrule as cr
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> opt = cr.optim.Adam([w], lr=0.1)
        >>> (w * 3).sum().backward(); opt.step()
        >>> sd = opt.state_dict()
        >>> sorted(sd["state"][0]), sd["param_groups"][0]["params"]
        (['exp_avg', 'exp_avg_sq', 'step'], [0])
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            key = index[id(p)] if isinstance(p, Tensor) and id(p) in index else p
            state[key] = {k: v.detach() if isinstance(v, Tensor) else v for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore state saved by ``state_dict()`` (possibly after ``chainrule.save`` / ``chainrule.load``).

        The loaded groups' options replace the current ones; state arrays are copied and floating-point ones
        cast to their parameter's dtype. Mismatched groups, shapes or state keys raise ``ValueError``.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("optimizer state_dict must be a dict with 'state' and 'param_groups' entries")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has a different number of parameter groups "
                             f"({len(saved_groups)} saved, {len(self.param_groups)} in the optimizer)")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(f"loaded state dict contains a parameter group that doesn't match the size of "
                                 f"optimizer's group (group {i}: {len(s['params'])} saved, {len(g['params'])} "
                                 f"in the optimizer)")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))
        new_groups = []
        for g, s in zip(self.param_groups, saved_groups):
            ng = {k: (tuple(v) if isinstance(v, list) and isinstance(g.get(k), tuple) else v)
                  for k, v in s.items() if k != "params"}
            ng["params"] = g["params"]
            if "param_names" in g and "param_names" not in ng:
                ng["param_names"] = g["param_names"]
            for key, default in self.defaults.items():
                ng.setdefault(key, default)
            if self._rule is not None:
                R.check_hyperparams(self._rule, ng)
            new_groups.append(ng)
        group_of = {id(p): ng for ng in new_groups for p in ng["params"]}
        new_state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            p = id_map.get(key)
            if p is None:
                new_state[key] = value
                continue
            new_state[p] = self._load_param_state(key, p, value, group_of[id(p)])
        self.param_groups = new_groups
        self.state = new_state

    def _load_param_state(self, key, p, value, group):
        if not isinstance(value, dict):
            raise ValueError(f"loaded state for parameter {key} must be a dict, got {type(value).__name__}")
        if self._rule is not None:
            expected = set(R.init_leaf(self._rule, np.zeros((), p.dtype), group))
            missing, extra = sorted(expected - set(value)), sorted(set(value) - expected)
            if missing or extra:
                raise ValueError(f"loaded state for parameter {key} does not match {self._rule.name} with these "
                                 f"options: missing keys {missing}, unexpected keys {extra}")
        out = {}
        for k, v in value.items():
            if isinstance(v, (Tensor, np.ndarray, np.generic)):
                arr = v.data if isinstance(v, Tensor) else np.asarray(v)
                if k == "step":
                    out[k] = int(arr)
                    continue
                if arr.shape != p.shape:
                    raise ValueError(f"loaded state for parameter {key}: {k!r} has shape {tuple(arr.shape)} but "
                                     f"the parameter has shape {tuple(p.shape)}")
                dtype = p.dtype if arr.dtype.kind in "fc" else arr.dtype
                out[k] = from_numpy(np.array(arr, dtype=dtype, copy=True))
            else:
                out[k] = int(v) if k == "step" and isinstance(v, float) else v
        return out


def _write_param(p, new):
    """Store ``new`` as ``p``'s value through the Tensor face's own in-place path (``copy_``), so the version
    counter and in-place bookkeeping stay right; nothing is recorded."""
    with no_grad():
        p.copy_(new)
