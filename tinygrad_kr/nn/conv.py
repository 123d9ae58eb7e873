"""2-D convolution: `conv2d`, the `Conv2d` layer, the im2col/col2im pair it is made of, and the
transposed convolution `conv_transpose2d` / `ConvTranspose2d` (the adjoint of conv2d).

A convolution is a matrix product once the input is unrolled: `im2col` copies every
receptive field of x into one column of a matrix, and then

    y = weight.reshape(OC, C*KH*KW) @ im2col(x)      (OC, N*OH*OW) -> (N, OC, OH, OW)

`col2im` is the adjoint (the backward) of `im2col`: it adds every column entry back to the
pixel it came from. The engine's Conv2d node does exactly this with one matrix product per
pass (see tinygrad_kr/ops/conv.py).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from tinygrad_kr.ops import conv as _conv
from tinygrad_kr.ops.conv import Geometry
from tinygrad_kr.tensor import Tensor, as_tensor

from . import init
from ._checks import factory_dtype, float_tensor, weight_dtype
from .module import Module, Parameter

IntOrPair = int | Sequence[int]


def _pair(v: Any, name: str, who: str, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (each >= minimum) as a pair."""
    items = (v, v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v
    try:
        a, b = items
    except (TypeError, ValueError):
        raise TypeError(f"{who}: {name} must be an int or a pair of ints, got {v!r}") from None
    for n in (a, b):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
            raise TypeError(f"{who}: {name} must be an int or a pair of ints, got {v!r}")
        if n < minimum:
            raise ValueError(f"{who}: {name} must be >= {minimum}, got {v!r}")
    return int(a), int(b)


def make_geometry(kernel_size, stride, padding, dilation, who: str) -> Geometry:
    """Check and normalize window hyper-parameters (ints or pairs) into a Geometry."""
    return Geometry(
        _pair(kernel_size, "kernel_size", who, 1),
        _pair(stride, "stride", who, 1),
        _pair(padding, "padding", who, 0),
        _pair(dilation, "dilation", who, 1),
    )


def check_input(x: Any, who: str, what: str = "input") -> Tensor:
    """x as a floating point Tensor of shape (N, C, H, W), or a clear error naming `who`."""
    x = float_tensor(x, who, what)
    if x.data.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D {what} (N, C, H, W), got shape {x.shape}")
    return x


def check_windows(shape: tuple, g: Geometry, who: str) -> tuple[int, int]:
    """(OH, OW) for an (N, C, H, W) input, or an error when the window does not fit."""
    oh, ow = g.out_hw(shape[2], shape[3])
    if oh < 1 or ow < 1:
        span = tuple(d * (k - 1) + 1 for k, d in zip(g.kernel, g.dilation))
        padded = (shape[2] + 2 * g.padding[0], shape[3] + 2 * g.padding[1])
        raise ValueError(
            f"{who}: the kernel {g.kernel} with dilation {g.dilation} spans {span[0]}x{span[1]} "
            f"pixels, more than the padded input {padded[0]}x{padded[1]} (input shape {shape}, "
            f"padding {g.padding})"
        )
    return oh, ow


def conv2d_checked(x: Any, weight: Tensor, bias: Tensor | None, g: Geometry, who: str) -> Tensor:
    """The convolution after checking shapes and dtypes against the weight (`who` names the
    caller in errors)."""
    x = check_input(x, who)
    w = weight.data
    oc, c = w.shape[:2]
    if x.data.shape[1] != c:
        raise ValueError(f"{who}: expected input (N, {c}, H, W), got {x.shape}")
    weight_dtype(x, w.dtype, who)
    check_windows(x.data.shape, g, who)
    if bias is None:
        return _conv.Conv2d(g)(x, weight)
    return _conv.Conv2d(g)(x, weight, bias)


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation, like torch.nn.functional.conv2d (groups=1 only).

    x: (N, C, H, W), weight: (OC, C, KH, KW), bias: (OC,) or None. stride, padding (zeros,
    both sides) and dilation: int or (height, width) pair. Output (N, OC, OH, OW) with
    OH = floor((H + 2*ph - dh*(KH - 1) - 1) / sh) + 1 (OW likewise).
    """
    _check_groups(groups, "conv2d")
    weight = check_input(weight, "conv2d", "weight")
    g = make_geometry(weight.shape[2:], stride, padding, dilation, "conv2d")
    bias = _bias(bias, weight, weight.shape[0], "conv2d")
    return conv2d_checked(x, weight, bias, g, "conv2d")


def _bias(bias: Any, weight: Tensor, n: int, who: str) -> Tensor | None:
    """bias (or None) as a Tensor of shape (n,) and the weight's dtype."""
    if bias is None:
        return None
    bias = as_tensor(bias, weight)
    if bias.shape != (n,):
        raise ValueError(
            f"{who}: bias must have shape ({n},) for weight shape {weight.shape}, got {bias.shape}"
        )
    if bias.dtype != weight.dtype:
        raise TypeError(f"{who}: bias dtype {bias.dtype} differs from the weight dtype {weight.dtype}")
    return bias


def im2col(
    x: Any,
    kernel_size: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> Tensor:
    """Unroll the receptive fields of x into the columns of a matrix (differentiable).

    x: (N, C, H, W) -> col: (C*KH*KW, N*OH*OW), where

        col[(c*KH + i)*KW + j, (n*OH + oh)*OW + ow] = xpad[n, c, oh*sh + i*dh, ow*sw + j*dw]

    and xpad is x zero-padded by `padding` on each side. Rows run over (channel, kernel
    row, kernel column), matching `weight.reshape(OC, C*KH*KW)`; columns run over (image,
    output row, output column). So a convolution is `weight.reshape(OC, -1) @ col`, reshaped
    to (OC, N, OH, OW) and transposed to (N, OC, OH, OW).
    """
    g = make_geometry(kernel_size, stride, padding, dilation, "im2col")
    x = check_input(x, "im2col")
    check_windows(x.data.shape, g, "im2col")
    return _conv.Im2col(g)(x)


def col2im(
    col: Any,
    input_shape: Sequence[int],
    kernel_size: IntOrPair,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
) -> Tensor:
    """Fold a (C*KH*KW, N*OH*OW) matrix (the layout of `im2col`) back into (N, C, H, W).

    Each entry is added to the pixel `im2col` copied it from, so overlapping windows sum:
    col2im(im2col(x)) == x * (the number of windows that contain each pixel). It is the
    adjoint of im2col (<im2col(x), c> == <x, col2im(c)>), hence im2col's gradient.
    """
    g = make_geometry(kernel_size, stride, padding, dilation, "col2im")
    try:
        shape = tuple(int(n) for n in input_shape)
    except (TypeError, ValueError):
        raise TypeError(f"col2im: input_shape must be (N, C, H, W), got {input_shape!r}") from None
    if len(shape) != 4 or min(shape) < 1:
        raise ValueError(f"col2im: input_shape must be 4 positive ints (N, C, H, W), got {input_shape!r}")
    oh, ow = check_windows(shape, g, "col2im")
    col = as_tensor(col)
    n, c = shape[:2]
    want = (c * g.kernel[0] * g.kernel[1], n * oh * ow)
    if col.shape != want:
        raise ValueError(
            f"col2im: for input_shape {shape} and kernel {g.kernel} the columns must have shape "
            f"{want} (C*KH*KW, N*OH*OW), got {col.shape}"
        )
    if col.data.dtype.kind != "f":
        raise TypeError(f"col2im: col must be a floating point tensor, got dtype {col.dtype}")
    return _conv.Col2im(shape, g)(col)


def _channels(in_channels: Any, out_channels: Any, who: str) -> tuple[int, int]:
    for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{who}: {name} must be a positive int, got {n!r}")
    return int(in_channels), int(out_channels)


class _ConvLayer(Module):
    """What Conv2d and ConvTranspose2d share: checked arguments, the weight (channels in the
    given order, then the kernel) and bias, PyTorch's initialization and repr."""

    def __init__(
        self,
        who,
        in_channels,
        out_channels,
        kernel_size,
        stride,
        padding,
        dilation,
        groups,
        bias,
        padding_mode,
        device,
        dtype,
    ):
        _check_groups(groups, who)
        if padding_mode != "zeros":
            raise ValueError(f"{who}: only padding_mode='zeros' is supported, got {padding_mode!r}")
        super().__init__()
        dtype = factory_dtype(device, dtype, who)
        self.in_channels, self.out_channels = _channels(in_channels, out_channels, who)
        self._g = make_geometry(kernel_size, stride, padding, dilation, who)
        self.kernel_size, self.stride, self.padding, self.dilation = self._g
        self.weight = Parameter(np.empty(self._weight_channels() + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _weight_channels(self) -> tuple[int, int]:
        return self.out_channels, self.in_channels

    def reset_parameters(self) -> None:
        """Re-draw the weights from PyTorch's default distribution (project generator):
        U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = weight.shape[1] * KH * KW, for both."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1])
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return _conv_repr(self)


class Conv2d(_ConvLayer):
    """2-D convolution layer, like torch.nn.Conv2d (groups=1 and padding_mode='zeros' only).

    x: (N, in_channels, H, W) -> (N, out_channels, OH, OW). weight: (out_channels,
    in_channels, KH, KW), bias: (out_channels,). Initialized like PyTorch: weight ~
    kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)) and bias ~ the same,
    with fan_in = in_channels*KH*KW, so weights are exchangeable with torch via state_dict.
    device (the CPU only) and dtype (float32 by default) as PyTorch's keywords.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        dilation: IntOrPair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ):
        args = (in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode)
        super().__init__("Conv2d", *args, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, in_channels, H, W) -> (N, out_channels, OH, OW)."""
        return conv2d_checked(x, self.weight, self.bias, self._g, self._label())


def _conv_repr(m: Module, **optional: Any) -> str:
    """A convolution layer's repr: channels, kernel and stride, then what differs from the defaults."""
    s = f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, stride={m.stride}"
    for name, value in {"padding": m.padding, **optional, "dilation": m.dilation}.items():
        if value != ((1, 1) if name == "dilation" else (0, 0)):
            s += f", {name}={value}"
    return s + (", bias=False" if m.bias is None else "")


# --------------------------------------------------------------------------------------------
# Transposed convolution
# --------------------------------------------------------------------------------------------


def _output_padding(output_padding: Any, g: Geometry, who: str) -> tuple[int, int]:
    """output_padding as a pair; each must be smaller than the stride or the dilation (PyTorch's rule)."""
    op = _pair(output_padding, "output_padding", who, 0)
    for o, s, d in zip(op, g.stride, g.dilation):
        if o >= max(s, d):
            raise ValueError(
                f"{who}: output_padding {op} must be smaller than the stride {g.stride} or the dilation "
                f"{g.dilation}"
            )
    return op


def _check_groups(groups: Any, who: str) -> None:
    if groups != 1:
        raise ValueError(f"{who}: groups={groups!r} is not supported, only groups=1")


def conv_transpose2d_checked(
    x: Any, weight: Tensor, bias: Tensor | None, g: Geometry, output_padding: tuple, who: str
) -> Tensor:
    """The transposed convolution after checking shapes and dtypes against the weight."""
    x = check_input(x, who)
    c, oc = weight.data.shape[:2]
    if x.data.shape[1] != c:
        raise ValueError(f"{who}: expected input (N, {c}, H, W) for weight {weight.shape}, got {x.shape}")
    weight_dtype(x, weight.data.dtype, who)
    node = _conv.ConvTranspose2d(g, output_padding)
    oh, ow = node.out_hw(*x.data.shape[2:])
    if oh < 1 or ow < 1:
        raise ValueError(
            f"{who}: the output would be {oh}x{ow} for input shape {x.shape} (kernel {g.kernel}, stride "
            f"{g.stride}, padding {g.padding}, dilation {g.dilation}, output_padding {output_padding}); "
            "reduce the padding"
        )
    return node(x, weight) if bias is None else node(x, weight, bias)


def conv_transpose2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    output_padding: IntOrPair = 0,
    groups: int = 1,
    dilation: IntOrPair = 1,
) -> Tensor:
    """2-D transposed convolution, like torch.nn.functional.conv_transpose2d (groups=1): the
    adjoint of conv2d, used to upsample (decoders, GAN generators).

    x: (N, C, H, W), weight: (C, OC, KH, KW) (input channels first, PyTorch's layout), bias:
    (OC,) or None. Output (N, OC, OH, OW), OH = (H - 1)*sh - 2*ph + dh*(KH - 1) + oph + 1 (OW
    likewise); output_padding (smaller than the stride or the dilation) adds rows and columns
    at the bottom and right, so that a stride-2 layer can exactly double a size.
    """
    _check_groups(groups, "conv_transpose2d")
    weight = check_input(weight, "conv_transpose2d", "weight")
    g = make_geometry(weight.shape[2:], stride, padding, dilation, "conv_transpose2d")
    op = _output_padding(output_padding, g, "conv_transpose2d")
    bias = _bias(bias, weight, weight.shape[1], "conv_transpose2d")
    return conv_transpose2d_checked(x, weight, bias, g, op, "conv_transpose2d")


class ConvTranspose2d(_ConvLayer):
    """2-D transposed convolution layer, like torch.nn.ConvTranspose2d (groups=1 and
    padding_mode='zeros' only).

    x: (N, in_channels, H, W) -> (N, out_channels, OH, OW) (size formula in `conv_transpose2d`).
    weight: (in_channels, out_channels, KH, KW), bias: (out_channels,). Initialized like
    PyTorch, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = out_channels*KH*KW (its weight's
    second axis), so weights are exchangeable with torch via state_dict.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: IntOrPair,
        stride: IntOrPair = 1,
        padding: IntOrPair = 0,
        output_padding: IntOrPair = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: IntOrPair = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ):
        args = (in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode)
        super().__init__("ConvTranspose2d", *args, device, dtype)
        self.output_padding = _output_padding(output_padding, self._g, "ConvTranspose2d")

    def _weight_channels(self) -> tuple[int, int]:
        return self.in_channels, self.out_channels

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, in_channels, H, W) -> (N, out_channels, OH, OW)."""
        return conv_transpose2d_checked(
            x, self.weight, self.bias, self._g, self.output_padding, self._label()
        )

    def extra_repr(self) -> str:
        return _conv_repr(self, output_padding=self.output_padding)
