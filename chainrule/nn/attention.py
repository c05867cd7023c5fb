"""``MultiheadAttention`` (alias ``MultiHeadAttention``), with PyTorch's parameters, masks and layouts."""
import numpy as np

from ..core.trace import concrete
from ..ops import nn as NN
from ..ops import reduction as R
from ..ops import shape as S
from ..tensor import Tensor
from . import functional as F
from . import init
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention", "MultiHeadAttention"]


def _const(m):
    """A mask's concrete value (masks are never differentiated)."""
    m = m.data if isinstance(m, Tensor) else m
    return np.asarray(concrete(m))


class MultiheadAttention(Module):
    """Multi-head attention: ``softmax(Q K^T / sqrt(d_head) + mask) V`` per head, heads concatenated and projected.

    Inputs are ``(L, N, E)`` (``(N, L, E)`` with ``batch_first``, ``(L, E)`` unbatched). ``attn_mask`` is
    ``(L, S)`` or ``(N * num_heads, L, S)``, boolean (True = *not* allowed to attend, as in PyTorch's module) or
    additive; ``key_padding_mask`` ``(N, S)`` marks keys to ignore; ``is_causal`` without a mask applies a causal
    mask. Returns ``(output, weights)`` with weights averaged over heads (``average_attn_weights``), or None when
    ``need_weights=False``.

    >>> import chainrule as cr
    >>> mha = MultiheadAttention(8, 2, batch_first=True)
    >>> out, w = mha(cr.randn(3, 5, 8), cr.randn(3, 4, 8), cr.randn(3, 4, 8))
    >>> out.shape, w.shape
    ((3, 5, 8), (3, 5, 4))
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False,
                 kdim=None, vdim=None, batch_first=False, device=None, dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                             f"num_heads={num_heads} instead")
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        dt = np.dtype(np.float32 if dtype is None else dtype)
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(np.zeros((3 * embed_dim, embed_dim), dt))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = Parameter(np.zeros((embed_dim, embed_dim), dt))
            self.k_proj_weight = Parameter(np.zeros((embed_dim, self.kdim), dt))
            self.v_proj_weight = Parameter(np.zeros((embed_dim, self.vdim), dt))
        if bias:
            self.in_proj_bias = Parameter(np.zeros(3 * embed_dim, dt))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dt)
        if add_bias_kv:
            self.bias_k = Parameter(np.zeros((1, 1, embed_dim), dt))
            self.bias_v = Parameter(np.zeros((1, 1, embed_dim), dt))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            init.xavier_uniform_(self.q_proj_weight)
            init.xavier_uniform_(self.k_proj_weight)
            init.xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            init.xavier_normal_(self.bias_v)

    def _heads(self, x, n, length):
        """(N, L, E) -> (N, H, L, Dh)."""
        return S.transpose(S.reshape(x, (n, length, self.num_heads, self.head_dim)), (0, 2, 1, 3))

    def _project(self, query, key, value):
        """q, k, v as (N, L, E) projections (one product for self-attention)."""
        e = self.embed_dim
        b = self.in_proj_bias
        if self._qkv_same_embed_dim and query is key and key is value:
            n, length = query.shape[0], query.shape[1]
            qkv = NN.linear(query, self.in_proj_weight, b)                       # (N, L, 3E)
            qkv = S.reshape(qkv, (n, length, 3, e))
            return NN.unstack(qkv, 2)
        if self._qkv_same_embed_dim:
            w_q, w_k, w_v = NN.unstack(S.reshape(self.in_proj_weight, (3, e, e)), 0)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b_q = b_k = b_v = None
        if b is not None:
            b_q, b_k, b_v = NN.unstack(S.reshape(b, (3, e)), 0)
        return NN.linear(query, w_q, b_q), NN.linear(key, w_k, b_k), NN.linear(value, w_v, b_v)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        nd = len(query.shape)
        if nd not in (2, 3):
            raise ValueError(f"MultiheadAttention: query should be unbatched 2D or batched 3D, got shape "
                             f"{tuple(query.shape)}")
        unbatched = nd == 2
        same_kv = key is value
        self_attn = query is key and same_kv
        if unbatched:
            query = S.expand_dims(query, 0)
            key = query if self_attn else S.expand_dims(key, 0)
            value = key if same_kv else S.expand_dims(value, 0)
            if key_padding_mask is not None:
                key_padding_mask = _const(key_padding_mask)[None]
        elif not self.batch_first:
            query = S.swapaxes(query, 0, 1)
            key = query if self_attn else S.swapaxes(key, 0, 1)
            value = key if same_kv else S.swapaxes(value, 0, 1)
        n, tgt_len, e = query.shape
        if e != self.embed_dim:
            raise ValueError(f"MultiheadAttention: was expecting embedding dimension of {self.embed_dim}, but got {e}")
        if key.shape[0] != n or value.shape[0] != n or key.shape[1] != value.shape[1]:
            raise ValueError(f"MultiheadAttention: key {tuple(key.shape)} and value {tuple(value.shape)} do not fit "
                             f"the query {tuple(query.shape)}")
        q, k, v = self._project(query, key, value)
        if self.bias_k is not None:
            k = S.concatenate([k, S.broadcast_to(self.bias_k, (n, 1, e))], axis=1)
            v = S.concatenate([v, S.broadcast_to(self.bias_v, (n, 1, e))], axis=1)
        if self.add_zero_attn:
            z = np.zeros((n, 1, e), dtype=k.dtype)
            k = S.concatenate([k, z], axis=1)
            v = S.concatenate([v, z], axis=1)
        src_len = k.shape[1]
        mask = self._merge_masks(attn_mask, key_padding_mask, is_causal, n, tgt_len, src_len, q.dtype)
        qh, kh, vh = self._heads(q, n, tgt_len), self._heads(k, n, src_len), self._heads(v, n, src_len)
        out, weights = F._attention(qh, kh, vh, mask, self.dropout, False, None, False, self.training)
        out = S.reshape(S.transpose(out, (0, 2, 1, 3)), (n, tgt_len, e))
        out = self.out_proj(out)
        if unbatched:
            out = S.squeeze(out, 0)
        elif not self.batch_first:
            out = S.swapaxes(out, 0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = R.mean(weights, axis=1)
        if unbatched:
            weights = S.squeeze(weights, 0)
        return out, weights

    def _merge_masks(self, attn_mask, key_padding_mask, is_causal, n, tgt_len, src_len, dtype):
        """One additive float mask broadcastable to (N, H, L, S), or None."""
        extra = int(self.bias_k is not None) + int(self.add_zero_attn)
        total = None
        if attn_mask is None and is_causal:
            attn_mask = ~np.tril(np.ones((tgt_len, src_len - extra), dtype=bool))
        if attn_mask is not None:
            m = _const(attn_mask)
            if m.dtype == np.bool_:
                m = np.where(m, -np.inf, 0.0)
            m = m.astype(dtype)
            if m.ndim == 2:
                if m.shape != (tgt_len, src_len - extra):
                    raise ValueError(f"MultiheadAttention: the shape of the 2D attn_mask is {m.shape}, but should be "
                                     f"{(tgt_len, src_len - extra)}")
                m = m[None, None]
            elif m.ndim == 3:
                if m.shape != (n * self.num_heads, tgt_len, src_len - extra):
                    raise ValueError(f"MultiheadAttention: the shape of the 3D attn_mask is {m.shape}, but should be "
                                     f"{(n * self.num_heads, tgt_len, src_len - extra)}")
                m = m.reshape(n, self.num_heads, tgt_len, src_len - extra)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask's dimension {m.ndim} is not supported")
            if extra:
                m = np.concatenate([m, np.zeros(m.shape[:-1] + (extra,), m.dtype)], axis=-1)
            total = m
        if key_padding_mask is not None:
            kp = _const(key_padding_mask)
            if kp.shape != (n, src_len - extra):
                raise ValueError(f"MultiheadAttention: expected key_padding_mask of shape {(n, src_len - extra)}, got "
                                 f"{kp.shape}")
            kp = np.where(kp, -np.inf, 0.0) if kp.dtype == np.bool_ else kp
            kp = kp.astype(dtype)
            if extra:
                kp = np.concatenate([kp, np.zeros((n, extra), kp.dtype)], axis=-1)
            kp = kp[:, None, None, :]
            total = kp if total is None else total + kp
        return total

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"


MultiHeadAttention = MultiheadAttention
