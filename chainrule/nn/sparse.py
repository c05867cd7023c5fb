"""``Embedding``: a lookup table of vectors."""
import numpy as np

from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["Embedding"]


class Embedding(Module):
    """Rows of ``weight`` ``(num_embeddings, embedding_dim)`` picked by integer indices. ``padding_idx``'s row is
    zero at initialisation and gets no gradient. Initialised from N(0, 1), as PyTorch does.

    >>> import chainrule as cr
    >>> emb = Embedding(10, 3, padding_idx=0)
    >>> emb(cr.tensor([[0, 5]])).shape
    (1, 2, 3)
    """

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None, norm_type=2.0,
                 scale_grad_by_freq=False, sparse=False, _weight=None, _freeze=False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings = num_embeddings
        self.embedding_dim = embedding_dim
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError("Padding_idx must be within num_embeddings")
            padding_idx = padding_idx % num_embeddings
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            self.weight = Parameter(np.zeros((num_embeddings, embedding_dim),
                                             np.dtype(np.float32 if dtype is None else dtype)),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            data = _weight.data if isinstance(_weight, Tensor) else np.asarray(_weight)
            if data.shape != (num_embeddings, embedding_dim):
                raise ValueError("Shape of weight does not match num_embeddings and embedding_dim")
            self.weight = Parameter(data, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None, norm_type=2.0,
                        scale_grad_by_freq=False, sparse=False):
        """An Embedding holding ``embeddings`` (2-D); frozen (no gradient) by default."""
        data = embeddings.data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if data.ndim != 2:
            raise ValueError("Embeddings parameter is expected to be 2-dimensional")
        return cls(data.shape[0], data.shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=data, _freeze=freeze)

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        return s
