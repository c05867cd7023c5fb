"""Parameter utilities (``torch.nn.utils``): gradient clipping (the implementations live in
``chainrule.optim.clip`` and are re-exported here under PyTorch's names) and flattening parameters into one vector.
"""
import numpy as np

from ..optim.clip import clip_grad_norm_, clip_grad_value_, get_total_norm
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """All ``parameters`` flattened and concatenated into one vector (differentiable).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> parameters_to_vector(nn.Linear(2, 3).parameters()).shape
    (9,)
    """
    from ..ops import shape as S
    return S.concatenate([S.reshape(p, (-1,)) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of ``vec`` into ``parameters`` (in place).

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> lin = nn.Linear(2, 1)
    >>> vector_to_parameters(cr.arange(3.0), lin.parameters())
    >>> lin.weight.tolist(), lin.bias.tolist()
    ([[0.0, 1.0]], [2.0])
    """
    data = vec.data if isinstance(vec, Tensor) else np.asarray(vec)
    offset = 0
    for p in parameters:
        n = int(np.prod(p.shape, dtype=np.int64))
        if offset + n > data.shape[0]:
            raise ValueError(f"vector_to_parameters: the vector has {data.shape[0]} elements, too few for the "
                             f"parameters")
        p.data = data[offset:offset + n].reshape(p.shape).astype(p.dtype)
        offset += n
    if offset != data.shape[0]:
        raise ValueError(f"vector_to_parameters: the vector has {data.shape[0]} elements but the parameters {offset}")
