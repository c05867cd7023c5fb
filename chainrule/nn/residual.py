"""Residual connections: ``Residual`` (``x + f(x)``) and ``ResidualBlock`` (ResNet's basic block)."""
from . import functional as F
from .container import Sequential
from .conv import Conv2d
from .module import Module
from .norm import BatchNorm2d

__all__ = ["Residual", "ResidualBlock"]


class Residual(Module):
    """``x + fn(x)`` (``fn`` a module keeping the shape), optionally followed by an activation module.

    >>> import chainrule as cr
    >>> from chainrule import nn
    >>> Residual(nn.Linear(4, 4))(cr.ones(2, 4)).shape
    (2, 4)
    """

    def __init__(self, fn, post=None):
        super().__init__()
        self.fn = fn
        self.post = post

    def forward(self, x, *args, **kwargs):
        y = x + self.fn(x, *args, **kwargs)
        return y if self.post is None else self.post(y)


class ResidualBlock(Module):
    """ResNet's basic block: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))`` with 3x3 convolutions;
    the shortcut is a 1x1 convolution with batch norm when the stride or channel count changes, else identity.

    >>> import chainrule as cr
    >>> ResidualBlock(4, 8, stride=2)(cr.randn(2, 4, 8, 8)).shape
    (2, 8, 4, 4)
    """

    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, downsample=None):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.conv2 = Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        if downsample is None and (stride != 1 or in_channels != out_channels):
            downsample = Sequential(Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                    BatchNorm2d(out_channels))
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + identity)
