"""Containers: ``Sequential``, ``ModuleList``, ``ModuleDict``, ``ParameterList``, ``ParameterDict``."""
from collections import OrderedDict

from .module import Module, Parameter

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _index(idx, n, kind):
    idx = int(idx)
    if not -n <= idx < n:
        raise IndexError(f"index {idx} is out of range for {kind} of length {n}")
    return idx % n


class _ListOf:
    """The list interface shared by Sequential and ModuleList: modules numbered "0", "1", ... in ``_modules``."""

    def _renumber(self, mods=None):
        mods = list(self._modules.values()) if mods is None else mods
        self._modules.clear()
        for i, m in enumerate(mods):
            self.add_module(str(i), m)  # validates a newly inserted module, as appending does

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        """Add each of ``modules`` at the end."""
        for m in modules:
            self.append(m)
        return self

    def insert(self, index, module):
        """Insert ``module`` before position ``index`` (as ``list.insert`` does)."""
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)
        return self

    def pop(self, index=-1):
        m = self[index]
        del self[index]
        return m


class Sequential(_ListOf, Module):
    """Modules applied in order; built from positional modules or an ``OrderedDict`` of named ones.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> model = Sequential(nn.Linear(2, 3), nn.ReLU())
    >>> model
    Sequential(
      (0): Linear(in_features=2, out_features=3, bias=True)
      (1): ReLU()
    )
    >>> model(cr.ones(1, 2)).shape
    (1, 3)
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], (OrderedDict, dict)):
            for k, m in args[0].items():
                self.add_module(k, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx):
        items = list(self._modules.items())
        if isinstance(idx, slice):
            return Sequential(OrderedDict(items[idx]))
        return items[_index(idx, len(items), "Sequential")][1]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(idx, len(self._modules), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        if isinstance(idx, slice):
            for k in keys[idx]:
                del self._modules[k]
        else:
            del self._modules[keys[_index(idx, len(keys), "Sequential")]]
        if all(k.isdigit() for k in self._modules):
            self._renumber()

    def insert(self, index, module):
        """Insert ``module`` before position ``index``; unlike ``list.insert``, out of range is an error."""
        n = len(self)
        index = index + n if index < 0 else index
        if not 0 <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        return super().insert(index, module)


class ModuleList(_ListOf, Module):
    """A list of modules (registered, so their parameters belong to the parent).

    >>> from chainrule import nn
    >>> layers = ModuleList([nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), len(list(layers.parameters()))
    (3, 6)
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            return ModuleList(mods[idx])
        return mods[_index(idx, len(mods), "ModuleList")]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        mods = list(self._modules.values())
        if isinstance(idx, slice):
            del mods[idx]
        else:
            del mods[_index(idx, len(mods), "ModuleList")]
        self._renumber(mods)

    def __iadd__(self, modules):
        return self.extend(modules)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList has no forward; iterate over it in the parent's forward")


class _DictOf:
    """The dict interface of ModuleDict and ParameterDict, over the registry named by ``_store_name``."""

    _store_name = None

    @property
    def _store(self):
        return getattr(self, self._store_name)

    def __getitem__(self, key):
        return self._store[key]

    def __delitem__(self, key):
        del self._store[key]

    def __len__(self):
        return len(self._store)

    def __iter__(self):
        return iter(self._store)

    def __contains__(self, key):
        return key in self._store

    def keys(self):
        return self._store.keys()

    def items(self):
        return self._store.items()

    def values(self):
        return self._store.values()

    def update(self, entries):
        items = entries.items() if hasattr(entries, "items") else entries
        for k, v in items:
            self[k] = v

    def pop(self, key):
        v = self._store[key]
        del self._store[key]
        return v

    def clear(self):
        self._store.clear()


class ModuleDict(_DictOf, Module):
    """An ordered dict of modules.

    >>> from chainrule import nn
    >>> d = ModuleDict({"a": nn.Linear(1, 1), "b": nn.ReLU()})
    >>> list(d.keys())
    ['a', 'b']
    """

    _store_name = "_modules"

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleDict has no forward; index it in the parent's forward")


def _as_param(v):
    return v if isinstance(v, Parameter) or v is None else Parameter(v)


class ParameterList(Module):
    """A list of parameters (values are wrapped in ``Parameter``)."""

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            for v in values:
                self.append(v)

    def __getitem__(self, idx):
        ps = list(self._parameters.values())
        if isinstance(idx, slice):
            return ParameterList(ps[idx])
        return ps[_index(idx, len(ps), "ParameterList")]

    def __setitem__(self, idx, value):
        self.register_parameter(str(_index(idx, len(self), "ParameterList")), _as_param(value))

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def append(self, value):
        self.register_parameter(str(len(self)), _as_param(value))
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self


class ParameterDict(_DictOf, Module):
    """An ordered dict of parameters (values are wrapped in ``Parameter``)."""

    _store_name = "_parameters"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        self.register_parameter(key, _as_param(value))