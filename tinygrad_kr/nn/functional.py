"""nn.functional: stateless functions over engine ops (PyTorch names and semantics).

    from tinygrad_kr.nn import functional as F
    loss = F.cross_entropy(F.linear(x, W, b), labels)

Arguments are checked here, where the user's call enters, so errors name the function and
the shapes; the op nodes behind these functions then run without re-validating.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_kr._args import also_accepts, check_bool, check_real
from tinygrad_kr.ops import linear as _lin
from tinygrad_kr.ops import loss as _loss
from tinygrad_kr.random import get_generator
from tinygrad_kr.tensor import Tensor, as_tensor

from ._checks import float_tensor as _float_tensor
from ._checks import weight_dtype
from .conv import col2im, conv2d, conv_transpose2d, im2col
from .norm import batch_norm
from .pooling import avg_pool2d, max_pool2d, relu_max_pool2d

__all__ = [
    "linear", "relu", "leaky_relu", "elu", "sigmoid", "tanh", "softmax", "log_softmax",
    "dropout", "one_hot", "cross_entropy", "nll_loss", "mse_loss", "l1_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
    "conv2d", "conv_transpose2d", "max_pool2d", "relu_max_pool2d", "avg_pool2d", "im2col", "col2im",
    "batch_norm",
]


# ---- linear --------------------------------------------------------------------------------


def linear_checked(x: Any, weight: Tensor, bias: Tensor | None, who: str) -> Tensor:
    """x @ weight.T + bias after checking the shapes and dtypes (`who` names the caller)."""
    x = weight_dtype(x, weight.data.dtype, who)
    if x.data.ndim == 0 or x.data.shape[-1] != weight.data.shape[1]:
        raise ValueError(
            f"{who}: expected input with last dim {weight.data.shape[1]}, got shape {x.shape}"
        )
    if bias is None:
        return _lin.Linear()(x, weight)
    return _lin.Linear()(x, weight, bias)


def linear(input: Any, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """input @ weight.T + bias. input: (..., in), weight: (out, in), bias: (out,). Output (..., out)."""
    weight = _float_tensor(weight, "linear", "weight")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out, in), got shape {weight.shape}")
    if bias is not None:
        bias = as_tensor(bias, weight)
        if bias.shape != (weight.shape[0],):
            raise ValueError(
                f"linear: bias must have shape ({weight.shape[0]},) for weight {weight.shape}, "
                f"got {bias.shape}"
            )
    return linear_checked(input, weight, bias, "linear")


# ---- activations -----------------------------------------------------------------------------


def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0), elementwise. inplace=True changes x itself (Tensor.relu_) and returns it."""
    x = _float_tensor(x, "relu")
    return x.relu_() if check_bool(inplace, "inplace", "relu") else x.relu()


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise (inplace=True: changes x, see `relu`)."""
    x = _float_tensor(x, "leaky_relu")
    if check_bool(inplace, "inplace", "leaky_relu"):
        return x.leaky_relu_(negative_slope)
    return x.leaky_relu(negative_slope)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise (inplace=True: changes x, see `relu`)."""
    x = _float_tensor(x, "elu")
    return x.elu_(alpha) if check_bool(inplace, "inplace", "elu") else x.elu(alpha)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), stable for any x."""
    return _float_tensor(x, "sigmoid").sigmoid()


def tanh(x: Tensor) -> Tensor:
    return _float_tensor(x, "tanh").tanh()


@also_accepts(dim="axis")
def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along `axis` (stable); F.softmax(x, dim=1) is the same. The default
    is the last axis (PyTorch has no default: pass dim)."""
    return _float_tensor(x, "softmax").softmax(axis)


@also_accepts(dim="axis")
def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along `axis` (stable); `dim` is the same (see `softmax`)."""
    return _float_tensor(x, "log_softmax").log_softmax(axis)


def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale the rest by 1 / (1 - p).

    Identity when not training or p == 0; all zeros when p == 1. The mask comes from the
    project generator (`tg.manual_seed` makes it reproducible). inplace=True multiplies x
    itself by the mask and returns it.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    x = _float_tensor(x, "dropout")
    if not training or p == 0.0:
        return x
    dt = x.data.dtype
    if p == 1.0:
        mask = np.zeros(x.shape, dtype=dt)
    else:
        keep = get_generator().random(x.shape, dtype=np.float32) >= np.float32(p)
        mask = keep.astype(dt)
        mask *= dt.type(1.0 / (1.0 - p))
    return x.mul_(mask) if check_bool(inplace, "inplace", "dropout") else x * mask


def one_hot(labels: Any, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape (*labels.shape, num_classes) with a 1 at each label.

    num_classes=-1 means labels.max() + 1.
    """
    t = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    if t.dtype.kind not in "iu":
        raise TypeError(f"one_hot: labels must be integers, got dtype {t.dtype} (shape {t.shape})")
    if t.size and t.min() < 0:
        raise ValueError(f"one_hot: labels must be >= 0, got {t.min()}")
    if num_classes == -1:
        num_classes = int(t.max()) + 1 if t.size else 0
    elif t.size and t.max() >= num_classes:
        raise ValueError(f"one_hot: label {t.max()} is out of range for num_classes={num_classes}")
    out = np.zeros(t.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, t[..., None].astype(np.intp), 1, axis=-1)
    return Tensor(out)


# ---- losses ----------------------------------------------------------------------------------


def _check_reduction(reduction: str, who: str) -> None:
    if reduction not in _loss.REDUCTIONS:
        raise ValueError(f"{who}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _pair(input: Any, target: Any, who: str) -> tuple[Tensor, Tensor]:
    """input and target of the same shape; target takes the input's float dtype."""
    input = _float_tensor(input, who)
    target = as_tensor(target, input)
    if target.data.dtype.kind != "f":
        target = Tensor(target.data.astype(input.data.dtype))
    elif target.data.dtype != input.data.dtype:
        target = target.astype(input.data.dtype)
    if target.shape != input.shape:
        raise ValueError(
            f"{who}: target shape {target.shape} differs from input shape {input.shape}; "
            "reshape one of them (broadcasting here is almost always a bug)"
        )
    return input, target


def _class_targets(input: Tensor, target: Tensor, who: str, ignore_index: int) -> None:
    """Check integer class targets (N, *d) against input (N, C, *d)."""
    t = target.data
    expected = input.shape[:1] + input.shape[2:]
    if t.shape != expected:
        raise ValueError(
            f"{who}: class-index target must have shape {expected} for input {input.shape} "
            f"(N, C, *d), got {t.shape}"
        )
    C = input.shape[1]
    bad = (t < 0) | (t >= C)
    if ignore_index is not None:
        bad &= t != ignore_index
    if bad.any():
        values = np.unique(t[bad])[:5].tolist()
        raise IndexError(
            f"{who}: class indices must be in [0, {C - 1}] for input {input.shape} with C={C}, "
            f"got {values}" + (f" (ignore_index={ignore_index})" if ignore_index is not None else "")
        )


def _classification_args(input: Any, target: Any, who: str) -> tuple[Tensor, Tensor, bool]:
    """Float (N, C, *d) input and target as Tensors; an unbatched (C,) input becomes (1, C)."""
    input = _float_tensor(input, who)
    if not isinstance(target, Tensor):
        target = as_tensor(target, input) if np.asarray(target).dtype.kind == "f" else Tensor(target)
    if target.data.dtype.kind not in "iuf":
        raise TypeError(
            f"{who}: target must hold class indices (integers) or probabilities (floats), "
            f"got dtype {target.dtype}"
        )
    unbatched = input.ndim == 1
    if unbatched:
        input = input.reshape(1, -1)
        target = target.reshape((1,) + target.shape)
    if input.ndim < 2:
        raise ValueError(f"{who}: input must be (N, C, *d) or (C,), got shape {input.shape}")
    return input, target, unbatched


def cross_entropy(
    input: Tensor,
    target: Any,
    reduction: str = "mean",
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
) -> Tensor:
    """Softmax cross-entropy of logits, as one fused numerically stable node.

    input: (N, C, *d) or (C,) logits (float). target: (N, *d) integer class indices in
    [0, C) (ignore_index entries contribute nothing), or probabilities / one-hot floats of
    input's shape. Returns () for reduction 'mean' / 'sum', (N, *d) for 'none'.

    label_smoothing = s in [0, 1], PyTorch's formula: the target becomes (1 - s) * target +
    s / C. For class indices that is (1 - s) * the loss above + (s / C) * the sum over classes
    of -log_softmax (ignored entries count for neither; 'mean' divides both by the number of
    counted targets).
    """
    _check_reduction(reduction, "cross_entropy")
    smooth = check_real(
        label_smoothing, "label_smoothing", "cross_entropy", lambda v: 0 <= v <= 1, "a number in [0, 1]"
    )
    input, target, unbatched = _classification_args(input, target, "cross_entropy")
    if target.data.dtype.kind == "f":
        if target.shape != input.shape:
            raise ValueError(
                f"cross_entropy: a float target holds class probabilities and must have the "
                f"input's shape {input.shape}, got {target.shape}; class-index targets must be "
                f"integers of shape {input.shape[:1] + input.shape[2:]} (use .astype(np.int64))"
            )
        if target.data.dtype != input.data.dtype:
            target = target.astype(input.data.dtype)
        if smooth:
            target = target * (1 - smooth) + smooth / input.shape[1]
    else:
        _class_targets(input, target, "cross_entropy", ignore_index)
    out = _loss.SoftmaxCrossEntropy(reduction, ignore_index)(input, target)
    if smooth and target.data.dtype.kind != "f":
        uniform = _uniform_term(input, target.data, reduction, ignore_index)
        out = out * (1 - smooth) + uniform * (smooth / input.shape[1])
    return out.reshape(()) if unbatched and reduction == "none" else out


def _uniform_term(input: Tensor, t: np.ndarray, reduction: str, ignore_index: int) -> Tensor:
    """The label-smoothing term of cross_entropy for class indices t: the sum over classes of
    -log_softmax(input), 0 at ignored targets, reduced like the loss ('mean': over the counted)."""
    counted = t != ignore_index
    loss = -(input.log_softmax(axis=1).sum(axis=1)) * counted
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: nan, as PyTorch
        return total / int(counted.sum())


def nll_loss(input: Tensor, target: Any, reduction: str = "mean", ignore_index: int = -100) -> Tensor:
    """Negative log-likelihood of log-probabilities at the target classes.

    input: (N, C, *d) or (C,) log-probabilities; target: (N, *d) integer class indices.
    'mean' divides by the number of targets that are not `ignore_index`.
    """
    _check_reduction(reduction, "nll_loss")
    input, target, unbatched = _classification_args(input, target, "nll_loss")
    if target.data.dtype.kind not in "iu":
        raise TypeError(f"nll_loss: target must hold integer class indices, got dtype {target.dtype}")
    _class_targets(input, target, "nll_loss", ignore_index)
    t = target.data
    valid = t != ignore_index
    pick = np.zeros(input.shape, dtype=input.data.dtype)
    np.put_along_axis(pick, np.expand_dims(np.where(valid, t, 0), 1), 1, axis=1)
    pick *= np.expand_dims(valid, 1)
    loss = -(input * pick).sum(axis=1)
    if reduction == "none":
        return loss.reshape(()) if unbatched else loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / int(valid.sum())


def mse_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """(input - target)**2, reduced. input and target: the same shape."""
    _check_reduction(reduction, "mse_loss")
    input, target = _pair(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """|input - target|, reduced. input and target: the same shape."""
    _check_reduction(reduction, "l1_loss")
    input, target = _pair(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction)


def binary_cross_entropy(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """-(t log(x) + (1 - t) log(1 - x)) with the logs clamped at -100, like PyTorch.

    input: probabilities in [0, 1]; target: the same shape.
    """
    _check_reduction(reduction, "binary_cross_entropy")
    input, target = _pair(input, target, "binary_cross_entropy")
    x = input.data
    if x.size and not ((x >= 0) & (x <= 1)).all():
        raise ValueError(
            f"binary_cross_entropy: input must be probabilities in [0, 1] (shape {input.shape}), "
            f"got values in [{np.nanmin(x)}, {np.nanmax(x)}]; for logits use "
            "binary_cross_entropy_with_logits"
        )
    return _reduce(_loss.BinaryCrossEntropy()(input, target), reduction)


# Their single-column input is compared with the 0/1 target itself (see nn.loss): tg.train's
# "accuracy" reads it as a probability.
mse_loss.output_is_probability = True
l1_loss.output_is_probability = True
binary_cross_entropy.output_is_probability = True


def binary_cross_entropy_with_logits(input: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """binary_cross_entropy(sigmoid(input), target), computed stably from the logits."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    input, target = _pair(input, target, "binary_cross_entropy_with_logits")
    return _reduce(_loss.BinaryCrossEntropyWithLogits()(input, target), reduction)
