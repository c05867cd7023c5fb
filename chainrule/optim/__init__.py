"""Optimizers: PyTorch-style stateful classes and JAX/optax-style pure functions, one formula each.

``chainrule.optim.SGD / Adam / AdamW / RMSprop / Adagrad / Lion`` work like ``torch.optim`` (param groups,
``zero_grad``, ``step(closure)``, ``state_dict``); ``chainrule.optim.functional`` offers the same algorithms as
``init`` / ``update`` pairs over pytrees; ``chainrule.optim.lr_scheduler`` has PyTorch's schedulers;
``chainrule.optim.clip`` has gradient clipping. Every formula is written once, in ``chainrule.optim.rules``.

>>> import numpy as np, chainrule as cr
>>> w = cr.tensor([1.0, 2.0], requires_grad=True)
>>> opt = cr.optim.SGD([w], lr=0.25)
>>> (w * w).sum().backward()
>>> opt.step(); opt.zero_grad()
>>> w, w.grad is None
(tensor([0.5, 1. ], requires_grad=True), True)
"""
from . import rules, functional, lr_scheduler, clip
from .optimizer import Optimizer, required
from .optimizers import SGD, Adam, AdamW, RMSprop, Adagrad, Lion
from .clip import clip_grad_norm_, clip_grad_value_, get_total_norm, clip_grads_with_norm_

__all__ = ["Optimizer", "required", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Lion", "functional",
           "lr_scheduler", "rules", "clip", "clip_grad_norm_", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]
