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
from .threads import blas_threads, set_blas_threads
from .dtypes import bool_ as bool  # noqa: F401  (PyTorch's name; left out of __all__, see below)
from .dtypes import float16, float32, float64, int32, int64
# tg.tensor (the function, as torch.tensor) takes the attribute name of the submodule
# tinygrad_kr.tensor: `from tinygrad_kr.tensor import Tensor` still works, while `import
# tinygrad_kr.tensor as m` now gives the function (PyTorch avoids this by naming its module _tensor)
from .tensor import (
    allclose,
    arange,
    cat,
    concatenate,
    eye,
    from_numpy,
    full,
    matmul,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    stack,
    tensor,
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
    "draw_graph", "save_graph", "trace_backward", "save_backward_steps",
    "set_blas_threads", "blas_threads", "callbacks", "data", "datasets", "train",
    "tensor", "from_numpy", "cat", "matmul", "allclose", "randint",
    "float16", "float32", "float64", "int32", "int64",
]  # tg.bool is not here: `from tinygrad_kr import *` must not replace Python's bool
