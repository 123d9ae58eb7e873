"""2-D max and average pooling: `max_pool2d`, `avg_pool2d` and the `MaxPool2d`/`AvgPool2d`
layers, with PyTorch's semantics (floor output size, windows that do not fit are dropped)."""

from __future__ import annotations

from typing import Any

from tinygrad_kr.ops import conv as _conv
from tinygrad_kr.ops.conv import Geometry
from tinygrad_kr.tensor import Tensor

from .conv import IntOrPair, check_input, check_windows, make_geometry
from .module import Module


def _pool_geometry(kernel_size, stride, padding, dilation, who: str) -> Geometry:
    """stride=None means stride = kernel_size; padding may be at most half the window span."""
    g = make_geometry(kernel_size, kernel_size if stride is None else stride, padding, dilation, who)
    for k, p, d in zip(g.kernel, g.padding, g.dilation):
        if 2 * p > d * (k - 1) + 1:
            raise ValueError(
                f"{who}: padding {g.padding} should be at most half of the kernel size {g.kernel}"
                + (f" with dilation {g.dilation}" if g.dilation != (1, 1) else "")
            )
    return g


def max_pool2d_checked(x: Any, g: Geometry, who: str, relu: bool = False) -> Tensor:
    x = check_input(x, who)
    check_windows(x.data.shape, g, who)
    return (_conv.ReLUMaxPool2d if relu else _conv.MaxPool2d)(g)(x)


def avg_pool2d_checked(x: Any, g: Geometry, count_include_pad: bool, who: str) -> Tensor:
    x = check_input(x, who)
    check_windows(x.data.shape, g, who)
    return _conv.AvgPool2d(g, count_include_pad)(x)


def max_pool2d(
    x: Any,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> Tensor:
    """The maximum of each window, like torch.nn.functional.max_pool2d.

    x: (N, C, H, W) -> (N, C, OH, OW), OH = floor((H + 2*ph - dh*(KH - 1) - 1) / sh) + 1.
    stride defaults to kernel_size; padding (at most half the kernel) counts as -inf.
    Gradient: each output's gradient goes to the position of its window's maximum; when
    several pixels tie for the maximum, to the first one in window order (row by row), as
    in PyTorch.
    """
    g = _pool_geometry(kernel_size, stride, padding, dilation, "max_pool2d")
    return max_pool2d_checked(x, g, "max_pool2d")


def relu_max_pool2d(
    x: Any,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> Tensor:
    """max_pool2d(relu(x)) as one node (the arguments of `max_pool2d`): the same values and
    gradients, computed as relu(max_pool2d(x)) (max and ReLU commute), so the ReLU works on
    the pooled output, 4x smaller for 2x2 windows."""
    g = _pool_geometry(kernel_size, stride, padding, dilation, "relu_max_pool2d")
    return max_pool2d_checked(x, g, "relu_max_pool2d", relu=True)


def avg_pool2d(
    x: Any,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    count_include_pad: bool = True,
) -> Tensor:
    """The mean of each window, like torch.nn.functional.avg_pool2d.

    x: (N, C, H, W) -> (N, C, OH, OW). stride defaults to kernel_size; padding is zeros.
    count_include_pad=True (the default) divides every window sum by KH*KW; False divides
    by the number of non-padding pixels in the window.
    """
    g = _pool_geometry(kernel_size, stride, padding, 1, "avg_pool2d")
    return avg_pool2d_checked(x, g, bool(count_include_pad), "avg_pool2d")


class _Pool2d(Module):
    def __init__(self, kernel_size, stride, padding, dilation) -> None:
        super().__init__()
        self._g = _pool_geometry(kernel_size, stride, padding, dilation, type(self).__name__)
        self.kernel_size, self.stride, self.padding, self.dilation = self._g

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """Max pooling layer, like torch.nn.MaxPool2d: x (N, C, H, W) -> (N, C, OH, OW).

    stride defaults to kernel_size; padding counts as -inf. Ties route the gradient to the
    first maximum in window order (see `max_pool2d`).
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
    ):
        super().__init__(kernel_size, stride, padding, dilation)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, H, W) -> (N, C, OH, OW)."""
        return max_pool2d_checked(x, self._g, self._label())

    def extra_repr(self) -> str:
        s = super().extra_repr()
        return s + (f", dilation={self.dilation}" if self.dilation != (1, 1) else "")


class ReLUMaxPool2d(MaxPool2d):
    """nn.ReLU() followed by nn.MaxPool2d(...) as one layer and one node (see
    `relu_max_pool2d`): x (N, C, H, W) -> (N, C, OH, OW), the same values and gradients,
    faster. Write it where a model has a ReLU right before a max pooling."""

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, H, W) -> (N, C, OH, OW)."""
        return max_pool2d_checked(x, self._g, self._label(), relu=True)


class AvgPool2d(_Pool2d):
    """Average pooling layer, like torch.nn.AvgPool2d: x (N, C, H, W) -> (N, C, OH, OW).

    stride defaults to kernel_size; padding is zeros; count_include_pad as in `avg_pool2d`.
    """

    def __init__(
        self,
        kernel_size: IntOrPair,
        stride: IntOrPair | None = None,
        padding: IntOrPair = 0,
        count_include_pad: bool = True,
    ):
        super().__init__(kernel_size, stride, padding, 1)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, H, W) -> (N, C, OH, OW)."""
        return avg_pool2d_checked(x, self._g, self.count_include_pad, self._label())

    def extra_repr(self) -> str:
        return super().extra_repr() + ("" if self.count_include_pad else ", count_include_pad=False")
