"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` (multi-layer, optionally bidirectional) and their cells.

Parameter names, shapes, gate order (LSTM: input, forget, cell, output; GRU: reset, update, new) and
initialisation (``U(-1/sqrt(hidden), 1/sqrt(hidden))`` everywhere) follow PyTorch, so state dicts carry over.

NOTE: [one projection per layer]
The input-to-hidden products of a whole layer are one matrix product over all time steps, split into steps with
one ``unstack``; only the hidden-to-hidden product runs per step. Each layer's outputs are stacked once to feed the
next layer. So a sequence of length T costs O(T) primitives, and reverse mode never materialises a full-size
cotangent per step.
"""
import math

import numpy as np

from ..ops import elementwise as E
from ..ops import nn as NN
from ..ops import shape as S
from ..ops import special as SP
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"]


def _dt(dtype):
    return np.dtype(np.float32 if dtype is None else dtype)


def _split(x, k):
    """``x`` ``(N, k*H)`` split into ``k`` arrays ``(N, H)``."""
    n = x.shape[-1] // k
    return NN.unstack(S.reshape(x, tuple(x.shape[:-1]) + (k, n)), len(x.shape) - 1)


# --- one step of each cell: ``xp`` is the input projection (with b_ih), ``h`` the previous state ----------------

def _rnn_step(xp, state, w_hh, b_hh, nonlinearity):
    pre = xp + NN.linear(state, w_hh, b_hh)
    h = E.tanh(pre) if nonlinearity == "tanh" else SP.relu(pre)
    return h, h


def _lstm_step(xp, state, w_hh, b_hh, _):
    h, c = state
    gates = xp + NN.linear(h, w_hh, b_hh)
    i, f, g, o = _split(gates, 4)
    c = SP.sigmoid(f) * c + SP.sigmoid(i) * E.tanh(g)
    h = SP.sigmoid(o) * E.tanh(c)
    return h, (h, c)


def _gru_step(xp, state, w_hh, b_hh, _):
    h = state
    xr, xz, xn = _split(xp, 3)
    hr, hz, hn = _split(NN.linear(h, w_hh, b_hh), 3)
    r = SP.sigmoid(xr + hr)
    z = SP.sigmoid(xz + hz)
    n = E.tanh(xn + r * hn)
    h = n + z * (h - n)
    return h, h


_STEPS = {"RNN_TANH": _rnn_step, "RNN_RELU": _rnn_step, "LSTM": _lstm_step, "GRU": _gru_step}
_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class RNNBase(Module):
    """Shared machinery of ``RNN``, ``LSTM`` and ``GRU``."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        if proj_size:
            raise NotImplementedError("LSTM: proj_size is not supported")
        if not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the probability of an "
                             "element being zeroed")
        if hidden_size <= 0 or num_layers <= 0:
            raise ValueError("hidden_size and num_layers must be positive")
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = 0
        dirs = 2 if bidirectional else 1
        gate = _GATES[mode] * hidden_size
        dt = _dt(dtype)
        self._flat_names = []
        for layer in range(num_layers):
            for d in range(dirs):
                suffix = f"_l{layer}" + ("_reverse" if d else "")
                in_size = input_size if layer == 0 else hidden_size * dirs
                names = [f"weight_ih{suffix}", f"weight_hh{suffix}"]
                setattr(self, names[0], Parameter(np.zeros((gate, in_size), dt)))
                setattr(self, names[1], Parameter(np.zeros((gate, hidden_size), dt)))
                if bias:
                    names += [f"bias_ih{suffix}", f"bias_hh{suffix}"]
                    setattr(self, names[2], Parameter(np.zeros(gate, dt)))
                    setattr(self, names[3], Parameter(np.zeros(gate, dt)))
                self._flat_names.append(tuple(names))
        self.reset_parameters()

    def reset_parameters(self):
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _weights(self, layer, d):
        names = self._flat_names[layer * (2 if self.bidirectional else 1) + d]
        p = self._parameters
        w_ih, w_hh = p[names[0]], p[names[1]]
        b_ih = p[names[2]] if self.bias else None
        b_hh = p[names[3]] if self.bias else None
        return w_ih, w_hh, b_ih, b_hh

    def _init_state(self, x, hx, n):
        dirs = 2 if self.bidirectional else 1
        shape = (self.num_layers * dirs, n, self.hidden_size)
        if hx is None:
            z = np.zeros(shape, dtype=x.dtype)
            return (z, z) if self.mode == "LSTM" else z
        return hx

    def _check(self, x, hx, unbatched):
        name = type(self).__name__
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                             f"got {x.shape[-1]}")
        dirs = 2 if self.bidirectional else 1
        n = 1 if unbatched else x.shape[1]
        expect = (self.num_layers * dirs, n, self.hidden_size)
        states = hx if isinstance(hx, tuple) else (hx,)
        if self.mode == "LSTM" and hx is not None and not (isinstance(hx, tuple) and len(hx) == 2):
            raise ValueError(f"{name}: hx must be a tuple (h_0, c_0)")
        for s in states:
            if s is not None:
                got = tuple(s.shape) if not unbatched else (s.shape[0], 1, s.shape[-1])
                if got != expect:
                    shown = expect if not unbatched else (expect[0], expect[2])
                    raise ValueError(f"{name}: expected hidden size {shown}, got {tuple(s.shape)}")

    def forward(self, input, hx=None):
        x = input
        nd = len(x.shape)
        if nd not in (2, 3):
            raise ValueError(f"{type(self).__name__}: expected input of 2 (unbatched) or 3 dimensions, got shape "
                             f"{tuple(x.shape)}")
        unbatched = nd == 2
        if unbatched:
            x = S.expand_dims(x, 1)
            if hx is not None:
                hx = tuple(S.expand_dims(h, 1) for h in hx) if isinstance(hx, tuple) else S.expand_dims(hx, 1)
        elif self.batch_first:
            x = S.swapaxes(x, 0, 1)
        self._check(x, hx, False)
        steps, n = x.shape[0], x.shape[1]
        hx = self._init_state(x, hx, n)
        step = _STEPS[self.mode]
        nonlin = "relu" if self.mode == "RNN_RELU" else "tanh"
        dirs = 2 if self.bidirectional else 1
        lstm = self.mode == "LSTM"
        finals_h, finals_c = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                xp = NN.unstack(NN.linear(layer_in, w_ih, b_ih), 0)      # NOTE: [one projection per layer]
                k = layer * dirs + d
                state = (hx[0][k], hx[1][k]) if lstm else hx[k]
                order = range(steps - 1, -1, -1) if d else range(steps)
                hs = [None] * steps
                for t in order:
                    h, state = step(xp[t], state, w_hh, b_hh, nonlin)
                    hs[t] = h
                outs.append(S.stack(hs, 0))
                if lstm:
                    finals_h.append(state[0])
                    finals_c.append(state[1])
                else:
                    finals_h.append(state)
            layer_in = outs[0] if dirs == 1 else S.concatenate(outs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        output = layer_in
        h_n = S.stack(finals_h, 0)
        c_n = S.stack(finals_c, 0) if lstm else None
        if unbatched:
            output = S.squeeze(output, 1)
            h_n = S.squeeze(h_n, 1)
            c_n = S.squeeze(c_n, 1) if lstm else None
        elif self.batch_first:
            output = S.swapaxes(output, 0, 1)
        return output, ((h_n, c_n) if lstm else h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU). Returns
    ``(output, h_n)``.

    >>> import chainrule as cr
    >>> out, h = RNN(3, 5, num_layers=2)(cr.randn(7, 2, 3))
    >>> out.shape, h.shape
    ((7, 2, 5), (2, 2, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, 0, device, dtype)


class LSTM(RNNBase):
    """Long short-term memory (PyTorch's gate order i, f, g, o). Returns ``(output, (h_n, c_n))``.

    >>> import chainrule as cr
    >>> out, (h, c) = LSTM(3, 4, batch_first=True)(cr.randn(2, 6, 3))
    >>> out.shape, h.shape, c.shape
    ((2, 6, 4), (1, 2, 4), (1, 2, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         proj_size, device, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (PyTorch's gate order r, z, n; ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``).

    >>> import chainrule as cr
    >>> out, h = GRU(3, 4, bidirectional=True)(cr.randn(5, 2, 3))
    >>> out.shape, h.shape
    ((5, 2, 8), (2, 2, 4))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0,
                         device, dtype)


class _CellBase(Module):
    _mode = None

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gate = _GATES[self._mode] * hidden_size
        dt = _dt(dtype)
        self.weight_ih = Parameter(np.zeros((gate, input_size), dt))
        self.weight_hh = Parameter(np.zeros((gate, hidden_size), dt))
        if bias:
            self.bias_ih = Parameter(np.zeros(gate, dt))
            self.bias_hh = Parameter(np.zeros(gate, dt))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        stdv = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -stdv, stdv)

    def _run(self, input, hx):
        x = input
        unbatched = len(x.shape) == 1
        if unbatched:
            x = S.expand_dims(x, 0)
            if hx is not None:
                hx = tuple(S.expand_dims(h, 0) for h in hx) if isinstance(hx, tuple) else S.expand_dims(hx, 0)
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{type(self).__name__}: input has {x.shape[-1]} features, expected {self.input_size}")
        if hx is None:
            z = np.zeros((x.shape[0], self.hidden_size), dtype=x.dtype)
            hx = (z, z) if self._mode == "LSTM" else z
        xp = NN.linear(x, self.weight_ih, self.bias_ih)
        nonlin = getattr(self, "nonlinearity", "tanh")
        _, state = _STEPS[self._mode](xp, hx, self.weight_hh, self.bias_hh, nonlin)
        if unbatched:
            state = tuple(S.squeeze(s, 0) for s in state) if isinstance(state, tuple) else S.squeeze(state, 0)
        return state

    def forward(self, input, hx=None):
        return self._run(input, hx)

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """One step of an Elman RNN: returns ``h'``."""

    _mode = "RNN_TANH"

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity


class LSTMCell(_CellBase):
    """One LSTM step: returns ``(h', c')``.

    >>> import chainrule as cr
    >>> h, c = LSTMCell(3, 2)(cr.randn(4, 3))
    >>> h.shape
    (4, 2)
    """

    _mode = "LSTM"


class GRUCell(_CellBase):
    """One GRU step: returns ``h'``."""

    _mode = "GRU"
