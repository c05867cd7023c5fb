"""The PyTorch-style optimizer classes. Each is a constructor over ``Optimizer``: its formula is the per-leaf
rule in ``rules.py`` (shared with ``chainrule.optim.functional``), its signature and defaults are PyTorch's.
"""
from . import rules as R
from .optimizer import Optimizer

__all__ = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Lion"]


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay.

    ``g = grad (+ weight_decay * p)``; with momentum ``b = g`` on the first step and
    ``b = momentum * b + (1 - dampening) * g`` after it, ``g = b`` (or ``g + momentum * b`` with Nesterov);
    ``p -= lr * g``. ``maximize=True`` ascends.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     opt.zero_grad(); (w * w).sum().backward(); opt.step()
    >>> round(w.item(), 4)   # 1 - 0.2 = 0.8, then the buffer 0.9 * 2 + 1.6 = 3.4 gives 0.8 - 0.34
    0.46
    """

    _rule = R.SGD

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                                      nesterov=nesterov, maximize=maximize))


class Adam(Optimizer):
    """Adam (Kingma & Ba), with PyTorch's bias correction, ``amsgrad`` and L2 (or decoupled) weight decay.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = Adam([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w   # the first step moves each coordinate by about lr
    tensor([ 0.9, -0.9], requires_grad=True)
    """

    _rule = R.ADAM

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 maximize=False, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay,
                                      amsgrad=amsgrad, maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter): ``p *= 1 - lr * weight_decay`` before the Adam
    step instead of adding ``weight_decay * p`` to the gradient. Default ``weight_decay=1e-2`` as in PyTorch.

    >>> import chainrule as cr
    >>> w = cr.tensor([2.0], requires_grad=True)
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = cr.zeros(1); opt.step()
    >>> w
    tensor([1.9], requires_grad=True)
    """

    _rule = R.ADAMW

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True


class RMSprop(Optimizer):
    """RMSprop (Hinton): divide the gradient by a running RMS; optional momentum and centering.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75, eps=0.0)
    >>> (w * 2).sum().backward(); opt.step()
    >>> round(w.item(), 6)   # 1 - 0.01 * 2 / sqrt(0.25 * 2**2)
    0.98
    """

    _rule = R.RMSPROP

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered, maximize=maximize))


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.): divide by the root of the summed squared gradients; ``lr_decay`` shrinks the
    step as ``lr / (1 + (t - 1) * lr_decay)``.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0], requires_grad=True)
    >>> opt = Adagrad([w], lr=0.5)
    >>> (w * 4).sum().backward(); opt.step()
    >>> round(w.item(), 6)
    0.5
    """

    _rule = R.ADAGRAD
    _eager_state = True

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10, *,
                 maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps,
                                      maximize=maximize))


class Lion(Optimizer):
    """Lion (Chen et al. 2023): step by ``lr`` times the sign of ``beta1 * m + (1 - beta1) * grad``, then
    ``m = beta2 * m + (1 - beta2) * grad``; decoupled weight decay. Defaults of the reference implementation
    (lr=1e-4, betas=(0.9, 0.99)); use a learning rate 3-10x smaller than AdamW's.

    >>> import chainrule as cr
    >>> w = cr.tensor([1.0, -1.0], requires_grad=True)
    >>> opt = Lion([w], lr=0.1)
    >>> (w * w).sum().backward(); opt.step()
    >>> w
    tensor([ 0.9, -0.9], requires_grad=True)
    """

    _rule = R.LION

    def __init__(self, params, lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, *, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay, maximize=maximize))
