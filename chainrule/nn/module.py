"""``Module``, ``Parameter``, ``functional_call``.

Invariant: a Module keeps its state in three ordered stores, ``_parameters``, ``_buffers`` and ``_modules``, filled
by attribute assignment (a ``Parameter`` registers a parameter, a ``Module`` a submodule) or by the ``register_*``
methods. Every Module class is a pytree node (registered when the class is created): its children are its
parameters, its floating-point buffers and its submodules, in that order; everything else (class, names,
configuration attributes, training flag, integer buffers such as counters) is the static part, read from the
flattened instance's attribute dict. Unflattening builds a new instance of the same class without calling
``__init__`` (fresh stores, shared configuration), so ``grad(loss)(model, x, y)`` returns a model-shaped gradient
and ``tree_map`` over models works like over dicts.

NOTE: [integer buffers are static]
Counters such as BatchNorm's ``num_batches_tracked`` are integers. As pytree leaves they would make ``grad`` of a
model refuse (integer inputs) and ``tree_map(lambda p, g: p - lr * g, ...)`` turn them into floats, so integer
buffers ride in the static part of the tree. They still appear in ``buffers()`` and ``state_dict()``.
"""
from collections import OrderedDict, namedtuple

import numpy as np

from ..core.trace import Tracer
from ..core.tree import register_pytree_node, tree_flatten, tree_unflatten
from ..tensor import Tensor

__all__ = ["Module", "Parameter", "Buffer", "functional_call"]


class Parameter(Tensor):
    """A Tensor that a Module registers as a parameter; ``requires_grad`` is True by default.

    >>> import chainrule as cr
    >>> p = Parameter(cr.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.zeros((0,), np.float32)
        if isinstance(data, Tensor):
            data = data.data
        elif isinstance(data, Tracer):
            raise TypeError("Parameter(): cannot make a Parameter from a traced value inside a transform")
        Tensor.__init__(self, data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    def __deepcopy__(self, memo):
        out = Parameter(np.array(self.data, copy=True), requires_grad=self.requires_grad)
        memo[id(self)] = out
        return out

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (np.asarray(self.data), self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """A Tensor marker: assigning ``Buffer(t)`` to a Module attribute registers a buffer (``persistent=False``
    keeps it out of ``state_dict``).

    >>> import chainrule as cr
    >>> class M(Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.count = Buffer(cr.zeros(1))
    >>> list(dict(M().named_buffers()))
    ['count']
    """

    __slots__ = ("persistent",)

    def __init__(self, data, persistent=True):
        Tensor.__init__(self, data.data if isinstance(data, Tensor) else data)
        self.persistent = bool(persistent)


_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _addindent(text, n):
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * n + line for line in lines[1:])


def _check_name(kind, name, module):
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')


def _shape(v):
    return tuple(v.shape) if hasattr(v, "shape") else tuple(np.shape(v))


class Module:
    """Base class of every layer and model: subclasses create their parameters and submodules in ``__init__``
    (as attributes) and compute in ``forward``.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc1 = nn.Linear(2, 4)
    ...         self.fc2 = nn.Linear(4, 1)
    ...     def forward(self, x):
    ...         return self.fc2(cr.nn.functional.relu(self.fc1(x)))
    >>> model = MLP()
    >>> [name for name, _ in model.named_parameters()]
    ['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias']
    >>> model(cr.ones(3, 2)).shape
    (3, 1)
    """

    def __init__(self, *args, **kwargs):
        if args or kwargs:
            raise TypeError(f"{type(self).__name__}.__init__() got unexpected arguments (Module.__init__ takes none)")
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = {}
        d["_buffers"] = {}
        d["_non_persistent_buffers"] = set()
        d["_modules"] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        register_pytree_node(cls, _flatten_module, _unflatten_module)

    # --- computation ------------------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args, **kwargs):
        hooks = self.__dict__.get("_forward_hooks")
        if not hooks:
            return self.forward(*args, **kwargs)
        for hook in list(hooks["pre"].values()):
            res = hook(self, args)
            if res is not None:
                args = res if isinstance(res, tuple) else (res,)
        out = self.forward(*args, **kwargs)
        for hook in list(hooks["post"].values()):
            res = hook(self, args, out)
            if res is not None:
                out = res
        return out

    def _hooks(self):
        d = self.__dict__
        if d.get("_forward_hooks") is None:
            d["_forward_hooks"] = {"pre": {}, "post": {}, "next": 0}
        return d["_forward_hooks"]

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, args)`` before ``forward``; a non-None result replaces the arguments."""
        return self._add_hook("pre", hook)

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after ``forward``; a non-None result replaces the output.

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> relu = nn.ReLU()
        >>> handle = relu.register_forward_hook(lambda m, args, out: out * 2)
        >>> relu(cr.tensor([1.0]))
        tensor([2.])
        >>> handle.remove()
        """
        return self._add_hook("post", hook)

    def _add_hook(self, kind, hook):
        hooks = self._hooks()
        key = hooks["next"]
        hooks["next"] += 1
        hooks[kind][key] = hook
        return _HookHandle(hooks[kind], key)

    # --- attribute registration -------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        d = self.__dict__
        params = d.get("_parameters")
        if params is None:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(f"cannot assign {type(value).__name__} '{name}' before Module.__init__() call")
            object.__setattr__(self, name, value)
            return
        if isinstance(value, Parameter):
            if name not in params:
                self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            if name not in d["_modules"]:
                self._forget(name)
            d["_modules"][name] = value
        elif isinstance(value, Buffer):
            self._forget(name)
            self.register_buffer(name, value, persistent=value.persistent)
        elif name in params:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                                f"(chainrule.nn.Parameter or None expected)")
            params[name] = None
        elif name in d["_modules"]:
            if value is not None:
                raise TypeError(f"cannot assign '{type(value).__name__}' as child module '{name}' "
                                f"(chainrule.nn.Module or None expected)")
            d["_modules"][name] = None
        elif name in d["_buffers"]:
            d["_buffers"][name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        d = self.__dict__
        d.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            d[store].pop(name, None)
        d["_non_persistent_buffers"].discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if name in d.get(store, ()):
                del d[store][name]
                d["_non_persistent_buffers"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__())
        for store in ("_parameters", "_buffers", "_modules"):
            keys += list(self.__dict__.get(store, ()))
        return sorted(set(keys))

    def register_parameter(self, name, param):
        """Add a parameter (a ``Parameter`` or None) under ``name``.

        >>> import chainrule as cr
        >>> m = Module()
        >>> m.register_parameter("scale", Parameter(cr.ones(1)))
        >>> [n for n, _ in m.named_parameters()]
        ['scale']
        """
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", name, self)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                            f"(chainrule.nn.Parameter or None required)")
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: state that is not a parameter (running statistics, say). Non-persistent buffers are left
        out of ``state_dict``.

        >>> import chainrule as cr
        >>> m = Module()
        >>> m.register_buffer("count", cr.zeros(1))
        >>> m.register_buffer("scratch", cr.zeros(3), persistent=False)
        >>> list(m.state_dict()), [n for n, _ in m.named_buffers()]
        (['count'], ['count', 'scratch'])
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", name, self)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not (isinstance(tensor, (Tensor, Tracer)) or hasattr(tensor, "dtype")):
            raise TypeError(f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None "
                            f"required)")
        if isinstance(tensor, Buffer):
            tensor = Tensor(tensor.data)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Add a submodule (or None) under ``name``.

        >>> from chainrule import nn
        >>> m = Module()
        >>> m.add_module("head", nn.Linear(2, 1))
        >>> [n for n, _ in m.named_parameters()]
        ['head.weight', 'head.bias']
        """
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", name, self)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    # --- traversal --------------------------------------------------------------------------------------------
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """``(name, module)`` for this module and every submodule, depth first (this one first, named ``prefix``).

        >>> from chainrule import nn
        >>> [n for n, _ in nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU())).named_modules()]
        ['', '0', '1', '1.0']
        """
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            name, m = stack.pop()
            if remove_duplicate:
                if id(m) in memo:
                    continue
                memo.add(id(m))
            yield name, m
            children = [(name + ("." if name else "") + k, c) for k, c in m._modules.items() if c is not None]
            stack.extend(reversed(children))

    def modules(self):
        """This module and every submodule (each once).

        >>> from chainrule import nn
        >>> len(list(nn.Sequential(nn.Linear(1, 1), nn.ReLU()).modules()))
        3
        """
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        """``(name, module)`` for the direct submodules.

        >>> from chainrule import nn
        >>> [n for n, _ in nn.Sequential(nn.Linear(1, 1), nn.ReLU()).named_children()]
        ['0', '1']
        """
        seen = set()
        for k, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield k, m

    def children(self):
        """The direct submodules."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        for mname, m in mods:
            for k, v in m.__dict__[store].items():
                if v is None:
                    continue
                if remove_duplicate:
                    if id(v) in seen:
                        continue
                    seen.add(id(v))
                yield mname + ("." if mname else "") + k, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """``(dotted name, parameter)`` pairs, each parameter once.

        >>> from chainrule import nn
        >>> [n for n, _ in nn.Linear(2, 3).named_parameters()]
        ['weight', 'bias']
        """
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse=True):
        """Every parameter (each once), in registration order, submodules after their parent's own.

        >>> from chainrule import nn
        >>> [p.shape for p in nn.Linear(3, 2).parameters()]
        [(2, 3), (2,)]
        """
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        """``(dotted name, buffer)`` pairs.

        >>> from chainrule import nn
        >>> [n for n, _ in nn.Sequential(nn.BatchNorm1d(2)).named_buffers()]
        ['0.running_mean', '0.running_var', '0.num_batches_tracked']
        """
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse=True):
        """Every buffer."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target):
        """The submodule at dotted path ``target`` (``''`` is this module).

        >>> from chainrule import nn
        >>> nn.Sequential(nn.Sequential(nn.ReLU())).get_submodule("0.0")
        ReLU()
        """
        if target == "":
            return self
        m = self
        for part in target.split("."):
            sub = m._modules.get(part) if isinstance(m, Module) else None
            if sub is None:
                raise AttributeError(f"{type(m).__name__} has no submodule `{part}` (looking up '{target}')")
            m = sub
        return m

    def get_parameter(self, target):
        """The parameter at dotted path ``target``."""
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        if name not in m._parameters:
            raise AttributeError(f"{type(m).__name__} has no parameter `{name}` (looking up '{target}')")
        return m._parameters[name]

    def get_buffer(self, target):
        """The buffer at dotted path ``target``."""
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        if name not in m._buffers:
            raise AttributeError(f"{type(m).__name__} has no buffer `{name}` (looking up '{target}')")
        return m._buffers[name]

    # --- modes and bulk operations -----------------------------------------------------------------------------
    def train(self, mode=True):
        """Set training mode on this module and every submodule (Dropout and BatchNorm behave differently).

        >>> from chainrule import nn
        >>> model = nn.Sequential(nn.Dropout(0.5)).eval()
        >>> model[0].training, model.train()[0].training
        (False, True)
        """
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self):
        """``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` on every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn):
        """Call ``fn`` on every submodule (children before their parent, as PyTorch does), then on this module.

        >>> from chainrule import nn
        >>> seen = []
        >>> _ = nn.Sequential(nn.Linear(1, 1), nn.ReLU()).apply(lambda m: seen.append(type(m).__name__))
        >>> seen
        ['Linear', 'ReLU', 'Sequential']
        """
        stack = [(self, False)]
        while stack:
            m, expanded = stack.pop()
            if expanded:
                fn(m)
                continue
            stack.append((m, True))
            stack.extend((c, False) for c in reversed(list(m.children())))
        return self

    def zero_grad(self, set_to_none=True):
        """Clear every parameter's ``.grad`` (to None, or to zeros with ``set_to_none=False``).

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> lin = nn.Linear(2, 1)
        >>> lin(cr.ones(1, 2)).sum().backward()
        >>> lin.zero_grad()
        >>> lin.weight.grad is None
        True
        """
        for p in self.parameters():
            if getattr(p, "grad", None) is not None:
                if set_to_none:
                    p.grad = None
                else:
                    p.grad = Tensor(np.zeros_like(p.grad.data if isinstance(p.grad, Tensor) else p.grad))

    def num_parameters(self, only_trainable=False):
        """Total number of parameter elements (of those requiring grad, with ``only_trainable``).

        >>> from chainrule import nn
        >>> nn.Linear(3, 2).num_parameters()
        8
        """
        total = 0
        for p in self.parameters():
            if only_trainable and not getattr(p, "requires_grad", True):
                continue
            total += int(np.prod(_shape(p), dtype=np.int64))
        return total

    def _convert(self, fn):
        for m in self.modules():
            for store in ("_parameters", "_buffers"):
                for k, v in m.__dict__[store].items():
                    if v is None:
                        continue
                    new = fn(v)
                    if new is not v:
                        m.__dict__[store][k] = new
        return self

    def to(self, *args, dtype=None, **kwargs):
        """Convert floating parameters and buffers to ``dtype`` in place (``to(cr.float64)``); devices other than
        'cpu' are not supported.

        >>> import chainrule as cr
        >>> from chainrule import nn
        >>> nn.Linear(2, 1).to(cr.float64).weight.dtype
        dtype('float64')
        """
        for a in args:
            if isinstance(a, str):
                if a != "cpu":
                    raise NotImplementedError(f"Module.to: device {a!r} is not supported (CPU only)")
            elif isinstance(a, Tensor):
                dtype = a.dtype
            else:
                dtype = a
        if dtype is None:
            return self
        dtype = np.dtype(dtype)

        def conv(v):
            if isinstance(v, Tensor):
                if np.issubdtype(v.dtype, np.floating) and v.dtype != dtype:
                    v.data = v.data.astype(dtype)
                    if v.grad is not None:
                        v.grad = v.grad.to(dtype) if isinstance(v.grad, Tensor) else v.grad.astype(dtype)
                return v
            if hasattr(v, "dtype") and np.issubdtype(v.dtype, np.floating) and not isinstance(v, Tracer):
                return np.asarray(v).astype(dtype)
            return v
        return self._convert(conv)

    def float(self):
        """Floating parameters and buffers to float32."""
        return self.to(np.float32)

    def double(self):
        """Floating parameters and buffers to float64."""
        return self.to(np.float64)

    def cpu(self):
        return self

    # --- state dicts ------------------------------------------------------------------------------------------
    def _state_items(self, prefix=""):
        for mname, m in self.named_modules(prefix=prefix, remove_duplicate=False):
            d = m.__dict__
            base = mname + ("." if mname else "")
            for k, v in d["_parameters"].items():
                if v is not None:
                    yield base + k, v, m, "_parameters", k
            for k, v in d["_buffers"].items():
                if v is not None and k not in d["_non_persistent_buffers"]:
                    yield base + k, v, m, "_buffers", k

    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict from dotted names to parameters and persistent buffers (detached Tensors sharing data
        unless ``keep_vars``).

        >>> from chainrule import nn
        >>> list(nn.BatchNorm1d(3).state_dict())
        ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
        """
        out = OrderedDict() if destination is None else destination
        for name, v, *_ in self._state_items(prefix):
            if not keep_vars and isinstance(v, Tensor):
                v = v.detach()
            out[name] = v
        return out

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy values from ``state_dict`` into this module's parameters and buffers.

        Every key and shape is checked before anything is written, so a failed load leaves the module unchanged.
        Shape mismatches always raise; with ``strict`` (the default), missing and unexpected keys raise too. The
        error (a RuntimeError) lists all of them. Returns ``(missing_keys, unexpected_keys)``.

        >>> from chainrule import nn
        >>> a, b = nn.Linear(2, 2), nn.Linear(2, 2)
        >>> b.load_state_dict(a.state_dict())
        IncompatibleKeys(missing_keys=[], unexpected_keys=[])
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        own = {name: (v, m, store, k) for name, v, m, store, k in self._state_items()}
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        prepared = []
        for name, (v, m, store, k) in own.items():
            if name not in state_dict:
                continue
            src = state_dict[name]
            src_data = src.data if isinstance(src, Tensor) else src
            if isinstance(src_data, Tracer):
                raise TypeError(f"load_state_dict: value for '{name}' is a traced value; load concrete arrays")
            src_shape = tuple(np.shape(src_data))
            dst_shape = _shape(v)
            if src_shape != dst_shape:
                mismatched.append(f"size mismatch for {name}: copying a param with shape {src_shape} from "
                                  f"checkpoint, the shape in current model is {dst_shape}.")
                continue
            dst_dtype = v.dtype if not assign else np.asarray(src_data).dtype
            try:
                arr = np.array(src_data, dtype=dst_dtype, copy=True)
            except (TypeError, ValueError) as e:
                mismatched.append(f"While copying the parameter named \"{name}\": could not convert the value "
                                  f"({e}).")
                continue
            prepared.append((v, m, store, k, arr))
        errors = list(mismatched)
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected)
                              + ".")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" +
                               "\n\t".join(errors))
        for v, m, store, k, arr in prepared:
            if isinstance(v, Tensor) and not assign:
                v.data = arr
                v._version += 1
            elif isinstance(v, Parameter) or (assign and store == "_parameters"):
                m.__dict__[store][k] = Parameter(arr, requires_grad=getattr(v, "requires_grad", True))
            elif isinstance(v, Tensor):
                m.__dict__[store][k] = Tensor(arr)
            else:
                m.__dict__[store][k] = arr
        return _IncompatibleKeys(missing, unexpected)

    # --- copying and printing ---------------------------------------------------------------------------------
    def extra_repr(self):
        """The text inside this module's parentheses in ``repr`` (override in layers)."""
        return ""

    def __repr__(self):
        extra = self.extra_repr()
        lines = extra.split("\n") if extra else []
        children = [f"({k}): " + _addindent(repr(m), 2) for k, m in self._modules.items()]
        body = type(self).__name__ + "("
        if lines and not children and len(lines) == 1:
            return body + lines[0] + ")"
        inner = lines + children
        if inner:
            body += "\n  " + "\n  ".join(inner) + "\n"
        return body + ")"

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __getstate__(self):
        return dict(self.__dict__)


class _HookHandle:
    def __init__(self, store, key):
        self._store, self._key = store, key

    def remove(self):
        self._store.pop(self._key, None)


# ---------------------------------------------------------------------------------------------------------
# Pytree registration
# ---------------------------------------------------------------------------------------------------------

class _ModuleDef:
    """The static part of a Module in a pytree: its class, the names in its stores, its training flag, and the
    instance dict the configuration attributes are read from when unflattening. Two are equal when they describe
    the same structure; the configuration itself is not compared."""

    __slots__ = ("cls", "params", "leaf_bufs", "bufs", "mods", "attrs", "training")

    def __init__(self, cls, params, leaf_bufs, bufs, mods, attrs, training):
        self.cls, self.params, self.leaf_bufs, self.bufs, self.mods = cls, params, leaf_bufs, bufs, mods
        self.attrs, self.training = attrs, training

    def _key(self):
        return (self.cls, self.params, self.leaf_bufs, self.bufs, self.mods, self.training)

    def __eq__(self, other):
        return isinstance(other, _ModuleDef) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return f"{self.cls.__name__}{list(self.params + self.leaf_bufs + self.mods)}"


def _is_leaf_buffer(v):
    if v is None:
        return False
    dt = getattr(v, "dtype", None)
    return dt is not None and dt.kind in "fc"


def _flatten_module(m):
    d = m.__dict__
    params = d["_parameters"]
    bufs = d["_buffers"]
    mods = d["_modules"]
    if bufs:
        leaf_bufs = tuple(k for k, v in bufs.items() if _is_leaf_buffer(v))
        children = [*params.values(), *[bufs[k] for k in leaf_bufs], *mods.values()]
    else:
        leaf_bufs = ()
        children = [*params.values(), *mods.values()]
    return children, _ModuleDef(type(m), tuple(params), leaf_bufs, tuple(bufs), tuple(mods), d,
                                d.get("training", True))


def _unflatten_module(aux, children):
    m = object.__new__(aux.cls)
    d = m.__dict__
    src = aux.attrs
    d.update(src)
    d["_non_persistent_buffers"] = set(src["_non_persistent_buffers"])
    d["training"] = aux.training
    n_p, n_b = len(aux.params), len(aux.leaf_bufs)
    d["_parameters"] = dict(zip(aux.params, children[:n_p]))
    if aux.bufs:
        leaf = dict(zip(aux.leaf_bufs, children[n_p:n_p + n_b]))
        old = src["_buffers"]
        d["_buffers"] = {k: leaf[k] if k in leaf else old.get(k) for k in aux.bufs}
    else:
        d["_buffers"] = {}
    d["_modules"] = dict(zip(aux.mods, children[n_p + n_b:]))
    return m


register_pytree_node(Module, _flatten_module, _unflatten_module)


# ---------------------------------------------------------------------------------------------------------
# functional_call
# ---------------------------------------------------------------------------------------------------------

def _structural_copy(module):
    """A copy of ``module`` sharing its parameter and buffer values but with fresh stores at every level."""
    leaves, tdef = tree_flatten(module)
    return tree_unflatten(tdef, leaves)


def functional_call(module, parameter_and_buffer_dicts, args=(), kwargs=None, *, strict=False, tie_weights=True):
    """Run ``module`` with some parameters and buffers replaced by the values in ``parameter_and_buffer_dicts``
    (one dict, or a tuple of dicts, keyed by dotted names), without modifying ``module``. ``args`` is one
    argument or a tuple of arguments (PyTorch's ``torch.func.functional_call``).

    Keys that name no parameter or buffer raise a KeyError; with ``strict=True`` every parameter and buffer must
    be given.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> lin = nn.Linear(2, 1)
    >>> out = functional_call(lin, {"weight": cr.ones(1, 2), "bias": cr.zeros(1)}, cr.ones(1, 2))
    >>> out
    tensor([[2.]])
    """
    if isinstance(parameter_and_buffer_dicts, (tuple, list)):
        merged = {}
        for dct in parameter_and_buffer_dicts:
            for k, v in dct.items():
                if k in merged:
                    raise ValueError(f"functional_call: {k!r} appeared in multiple dictionaries")
                merged[k] = v
    else:
        merged = dict(parameter_and_buffer_dicts)
    copy = _structural_copy(module)
    known = {}
    for mname, m in copy.named_modules(remove_duplicate=False):
        for store in ("_parameters", "_buffers"):
            for k in m.__dict__[store]:
                known[mname + ("." if mname else "") + k] = (m, store, k)
    unexpected = [k for k in merged if k not in known]
    if unexpected:
        raise KeyError(f"functional_call: unexpected key(s) {unexpected}: {type(module).__name__} has no parameter "
                       f"or buffer of that name (known: {list(known)})")
    if strict:
        missing = [k for k in known if k not in merged]
        if missing:
            raise KeyError(f"functional_call: missing key(s) {missing} (strict=True)")
    for k, v in merged.items():
        m, store, name = known[k]
        m.__dict__[store][name] = v
    if not isinstance(args, tuple):
        args = (args,)
    return copy(*args, **(kwargs or {}))
