"""tinygrad_kr: a readable, fast autograd engine on numpy.

    import tinygrad_kr as tg
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    x.grad  # tensor([2., 4.])
"""

from .tensor import Tensor  # noqa: I001  (first: the engine and the ops build on it)
from . import callbacks, data, datasets, train
from .autograd import Function, grad
from .grad_mode import (
    detect_anomaly,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    module_scope,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, numerical_grad
from .random import get_generator, manual_seed
from .serialize import CheckpointError, load, save
from .tensor import (
    arange,
    concatenate,
    eye,
    full,
    ones,
    ones_like,
    rand,
    randn,
    stack,
    where,
    zeros,
    zeros_like,
)
from .viz import draw_graph, save_graph
from .backprop import save_backward_steps, trace_backward  # noqa: I001  (after viz: it draws with it)

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "grad", "no_grad", "enable_grad", "is_grad_enabled", "detect_anomaly",
    "set_grad_enabled", "inference_mode", "module_scope",
    "gradcheck", "numerical_grad", "GradcheckError", "manual_seed", "get_generator",
    "concatenate", "stack", "where", "zeros", "ones", "zeros_like", "ones_like", "full",
    "arange", "eye", "randn", "rand", "save", "load", "CheckpointError",
    "draw_graph", "save_graph", "callbacks", "data", "datasets", "train",
]
__all__ += ["trace_backward", "save_backward_steps"]
