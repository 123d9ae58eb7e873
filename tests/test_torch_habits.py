"""PyTorch habits at the tensor level (issue 10): PyTorch's spellings beside numpy's, the Tensor
methods, Python protocols, module-level functions and nn keywords a PyTorch user reaches for.

Values are compared with torch when it is installed (the `torch` fixture skips otherwise) and
with numpy or closed forms always; gradients with gradcheck (the op-level properties are in
tests/test_ops.py: transpose_two_dims_permute_t, view_unsqueeze_flatten_squeeze,
clone_contiguous, expand_repeat, sum_to_size, chunk_split, masked_fill, clamp,
inplace_activations, norm, std).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

import tinygrad_kr as tg
from tinygrad_kr import Tensor, nn
from tinygrad_kr.nn import functional as F


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def arr(seed, *shape, dtype=np.float64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def close(ours, theirs, tol=1e-12):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = ours.data if isinstance(ours, Tensor) else np.asarray(ours)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


# ---- both spellings, one meaning --------------------------------------------------------------

SPELLINGS = [  # (method, numpy-spelled kwargs, PyTorch-spelled kwargs)
    ("sum", {"axis": 1, "keepdims": True}, {"dim": 1, "keepdim": True}),
    ("mean", {"axis": (0, 2)}, {"dim": (0, 2)}),
    ("var", {"axis": 1, "ddof": 1}, {"dim": 1, "correction": 1}),
    ("std", {"axis": -1, "keepdims": True}, {"dim": -1, "keepdim": True, "unbiased": False}),
    ("logsumexp", {"axis": 1}, {"dim": 1}),
    ("argmax", {"axis": 1, "keepdims": True}, {"dim": 1, "keepdim": True}),
    ("argmin", {"axis": 0}, {"dim": 0}),
    ("softmax", {"axis": 1}, {"dim": 1}),
    ("log_softmax", {"axis": 0}, {"dim": 0}),
    ("expand_dims", {"axis": 1}, {"dim": 1}),
    ("norm", {"axis": 1, "keepdims": True}, {"dim": 1, "keepdim": True}),
]


@pytest.mark.parametrize("method,np_kw,torch_kw", SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_numpy_and_pytorch_spellings_mean_the_same(method, np_kw, torch_kw):
    x = Tensor(arr(0, 2, 3, 4))
    a, b = getattr(x, method)(**np_kw), getattr(x, method)(**torch_kw)
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize("method,np_kw,torch_kw", SPELLINGS, ids=[s[0] for s in SPELLINGS])
def test_pytorch_spelling_gives_pytorchs_values(torch, method, np_kw, torch_kw):
    x = arr(1, 2, 3, 4)
    ours = getattr(Tensor(x), method)(**torch_kw)
    name = {"expand_dims": "unsqueeze"}.get(method, method)
    theirs = getattr(torch.tensor(x), name)(**torch_kw)
    close(ours, theirs)


def test_squeeze_with_dim_keeps_an_axis_that_is_not_1_as_pytorch(torch):
    x = arr(2, 1, 3, 1)
    for dim in (0, 1, -1, (0, 1)):
        close(Tensor(x).squeeze(dim=dim), torch.tensor(x).squeeze(dim))
        assert Tensor(x).squeeze(dim).shape == Tensor(x).squeeze(dim=dim).shape


def test_module_level_and_nn_spellings():
    a, b = Tensor(arr(3, 2, 3)), Tensor(arr(4, 2, 3))
    np.testing.assert_array_equal(tg.cat([a, b], dim=1).data, np.concatenate([a.data, b.data], 1))
    np.testing.assert_array_equal(tg.concatenate([a, b], axis=1).data, tg.cat([a, b], dim=1).data)
    np.testing.assert_array_equal(tg.stack([a, b], dim=2).data, np.stack([a.data, b.data], 2))
    np.testing.assert_array_equal(F.softmax(a, dim=0).data, F.softmax(a, axis=0).data)
    np.testing.assert_array_equal(F.log_softmax(a, dim=0).data, a.log_softmax(0).data)
    np.testing.assert_array_equal(nn.Softmax(dim=0)(a).data, a.softmax(axis=0).data)
    np.testing.assert_array_equal(nn.LogSoftmax(dim=0)(a).data, nn.LogSoftmax(axis=0)(a).data)
    assert repr(nn.Softmax(dim=0)) == "Softmax(dim=0)"


@pytest.mark.parametrize(
    "call,who",
    [
        (lambda x: x.sum(1, dim=1), "Tensor.sum"),
        (lambda x: x.mean(axis=0, dim=0), "Tensor.mean"),
        (lambda x: x.max(axis=0, dim=0), "Tensor.max"),
        (lambda x: x.var(ddof=1, correction=1), "Tensor.var"),
        (lambda x: x.std(correction=1, unbiased=True), "Tensor.std"),
        (lambda x: x.norm(2, 1, axis=1), "Tensor.norm"),
        (lambda x: x.squeeze(0, dim=0), "Tensor.squeeze"),
        (lambda x: tg.cat([x, x], 0, dim=0), "concatenate"),
        (lambda x: tg.stack([x, x], axis=0, dim=0), "stack"),
        (lambda x: F.softmax(x, 1, dim=1), "softmax"),
        (lambda x: nn.Softmax(axis=1, dim=1), "Softmax"),
    ],
)
def test_both_spellings_at_once_is_a_type_error_naming_the_function(call, who):
    with pytest.raises(TypeError, match=rf"^{who}\(\) got \w+= and \w+=, two spellings of the same argument"):
        call(Tensor(arr(5, 1, 3)))


def test_signatures_show_the_pytorch_names():
    assert list(inspect.signature(Tensor.sum).parameters) == ["self", "axis", "keepdims", "dim", "keepdim"]
    assert "unbiased" in inspect.signature(Tensor.var).parameters
    assert "dim" in inspect.signature(tg.cat).parameters and "dim" in inspect.signature(F.softmax).parameters
    assert Tensor.sum.__doc__ and Tensor.sum.__name__ == "sum"


def test_var_and_std_keep_numpys_default(torch):
    x = arr(6, 4, 5)
    t = torch.tensor(x)
    close(Tensor(x).var(), np.var(x))  # ddof=0 by default (PyTorch's default is correction=1)
    close(Tensor(x).var(dim=1, unbiased=True), t.var(dim=1))
    close(Tensor(x).std(dim=0, correction=0), t.std(dim=0, correction=0))
    close(Tensor(x).std(1, keepdims=True, ddof=1), t.std(dim=1, keepdim=True))
    with pytest.raises(TypeError, match="unbiased must be True or False"):
        Tensor(x).var(unbiased=1)


def test_std_gradient_is_zero_for_equal_values_as_pytorch(torch):
    x = Tensor(np.full((3, 2), 1.5), requires_grad=True)
    x.std(dim=0).sum().backward()
    t = torch.full((3, 2), 1.5, dtype=torch.float64, requires_grad=True)
    t.std(dim=0, correction=0).sum().backward()
    close(x.grad, t.grad)
    assert np.all(x.grad.data == 0)


# ---- shape methods ------------------------------------------------------------------------------


def test_view_permute_unsqueeze_t(torch):
    x = arr(7, 2, 3, 4)
    t = torch.tensor(x)
    close(Tensor(x).view(-1, 4), t.view(-1, 4))
    close(Tensor(x).view((4, 6)), t.view((4, 6)))
    close(Tensor(x).permute(2, 0, 1), t.permute(2, 0, 1))
    close(Tensor(x).permute((1, -1, 0)), t.permute((1, -1, 0)))
    close(Tensor(x).unsqueeze(-1), t.unsqueeze(-1))
    for d0, d1 in ((0, 2), (-1, 1), (1, 1)):
        close(Tensor(x).transpose(d0, d1), t.transpose(d0, d1))
    close(Tensor(x).transpose(dim0=0, dim1=1), t.transpose(0, 1))
    close(Tensor(x).transpose((2, 0, 1)), np.transpose(x, (2, 0, 1)))  # numpy's full permutation
    close(Tensor(x).transpose(2, 0, 1), np.transpose(x, (2, 0, 1)))
    m = arr(8, 2, 3)
    close(Tensor(m).transpose(0, 1), m.T)  # two ints swap, also for a matrix (numpy: identity)
    close(Tensor(m).t(), torch.tensor(m).t())
    v = Tensor(arr(9, 3))
    assert v.t() is v and Tensor(2.0).t().shape == ()


def test_view_refuses_what_reshape_copies():
    x = Tensor(arr(10, 2, 3))
    v = x.view(3, 2)
    assert np.shares_memory(v.data, x.data)
    with pytest.raises(
        RuntimeError, match=r"view: the memory of this tensor of shape \(3, 2\).*use \.reshape"
    ):
        x.T.view(-1)
    np.testing.assert_array_equal(x.T.contiguous().view(-1).data, x.data.T.reshape(-1))
    with pytest.raises(TypeError, match="view: expected a shape"):
        x.view(np.float32)
    with pytest.raises(ValueError, match="Reshape: cannot reshape"):
        x.view(4, 2)


def test_shape_method_errors():
    x = Tensor(arr(11, 2, 3, 4))
    with pytest.raises(ValueError, match=r"permute: dims \(1, 0\) must list each of the 3 axes"):
        x.permute(1, 0)
    with pytest.raises(ValueError, match="Transpose: axes .* are not a permutation"):
        x.permute(0, 0, 1)
    with pytest.raises(ValueError, match=r"t: expects a tensor with <= 2 dims, got shape \(2, 3, 4\)"):
        x.t()
    with pytest.raises(ValueError, match="transpose: axis 3 is out of range"):
        x.transpose(0, 3)
    with pytest.raises(ValueError, match=r"flatten: start_dim=2, end_dim=1 are not a valid dim range"):
        x.flatten(2, 1)


def test_flatten_start_dim_end_dim(torch):
    x = arr(12, 2, 3, 4, 5)
    for start, end in ((0, -1), (1, 2), (-2, -1), (2, 2)):
        close(Tensor(x).flatten(start, end), torch.tensor(x).flatten(start, end))
        close(
            nn.Flatten(start_dim=start, end_dim=end)(Tensor(x)), torch.nn.Flatten(start, end)(torch.tensor(x))
        )
    assert Tensor(3.0).flatten().shape == (1,)
    assert Tensor(np.zeros((0, 3))).flatten(1).shape == (0, 3)
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_expand_and_repeat(torch):
    x = arr(13, 3, 1)
    t = torch.tensor(x)
    close(Tensor(x).expand(-1, 4), t.expand(-1, 4))
    close(Tensor(x).expand(2, 3, 5), t.expand(2, 3, 5))
    assert not Tensor(x).expand(3, 4).data.flags.writeable  # a broadcast view, no copy
    close(Tensor(x).repeat(2, 3), t.repeat(2, 3))
    close(Tensor(x).repeat((2, 1, 2)), t.repeat(2, 1, 2))
    r = Tensor(x).repeat(1, 1)
    r += 1.0  # a new tensor even when nothing repeats
    close(Tensor(x), t)
    for bad in ((4, 4), (-1, 3, 3), (2,)):
        with pytest.raises(ValueError, match="expand: "):
            Tensor(x).expand(*bad)
    with pytest.raises(ValueError, match=r"repeat: sizes \(2,\) must be one count >= 0 per axis"):
        Tensor(x).repeat(2)


def test_chunk_and_split(torch):
    x = arr(14, 10, 3)
    t = torch.tensor(x)
    for k in (1, 3, 4, 6, 11):
        ours, theirs = Tensor(x).chunk(k), t.chunk(k)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            close(a, b)
    for s in (3, [2, 0, 8], 10):
        ours, theirs = Tensor(x).split(s), t.split(s)
        assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
    assert [p.shape for p in Tensor(x).split(2, dim=1)] == [(10, 2), (10, 1)]
    assert [p.shape for p in Tensor(x).chunk(2, dim=-1)] == [(10, 2), (10, 1)]
    parts = Tensor(x).split([4, 6])
    assert all(np.shares_memory(p.data, parts[0].data) or p is parts[0] for p in parts[:1])  # views
    with pytest.raises(ValueError, match=r"split: sizes \[4, 4\] must be ints >= 0 adding up to 10"):
        Tensor(x).split([4, 4])
    with pytest.raises(ValueError, match="chunk: chunks must be an integer >= 1"):
        Tensor(x).chunk(0)


def test_split_gradient_reaches_each_piece():
    x = Tensor(arr(15, 5, 2), requires_grad=True)
    a, b = x.split([2, 3])
    (a.sum() * 2 + (b * b).sum()).backward()
    np.testing.assert_allclose(x.grad.data, np.concatenate([np.full((2, 2), 2.0), 2 * x.data[2:]]))


def test_sum_to_size(torch):
    x = arr(16, 2, 3, 4)
    for size in ((3, 1), (1, 3, 4), (4,), (2, 3, 4), (1, 1, 1)):
        close(Tensor(x).sum_to_size(*size), torch.tensor(x).sum_to_size(*size))
    with pytest.raises(
        ValueError, match=r"sum_to_size: size \(3, 3\) does not broadcast to the tensor's shape"
    ):
        Tensor(x).sum_to_size(3, 3)


def test_masked_fill(torch):
    x = arr(17, 3, 4)
    mask = np.random.default_rng(0).random((1, 4)) > 0.5
    close(Tensor(x).masked_fill(Tensor(mask), -1.5), torch.tensor(x).masked_fill(torch.tensor(mask), -1.5))
    ints = Tensor(np.arange(4)).masked_fill(np.array([True, False, True, False]), 0.7)
    assert ints.dtype == np.int64 and ints.tolist() == [0, 1, 0, 3]  # the value takes self's dtype
    v = Tensor(np.array(2.0), requires_grad=True)
    Tensor(x).masked_fill(Tensor(mask), v).sum().backward()
    assert v.grad.item() == 3 * mask.sum()  # the filled places send their gradient to the value
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor, got dtype int64"):
        Tensor(x).masked_fill(Tensor([1, 0, 1, 0]), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: a mask of shape \(2,\) does not broadcast"):
        Tensor(x).masked_fill(Tensor([True, False]), 0.0)


def test_masked_fill_mask_changed_in_place_before_backward_is_caught():
    x = Tensor(arr(18, 4), requires_grad=True)
    mask = Tensor(np.array([True, False, True, False]))
    y = x.masked_fill(mask, 0.0)
    mask[0] = False  # the gradient would go to the wrong places
    with pytest.raises(RuntimeError, match="Where: input 0 .* was modified in place"):
        y.sum().backward()


def test_clamp(torch):
    x = arr(19, 3, 4)
    for lo, hi in ((-0.5, 0.5), (None, 0.2), (-0.1, None), (1.0, -1.0)):
        close(Tensor(x).clamp(lo, hi), torch.tensor(x).clamp(lo, hi))
    ints = Tensor(np.array([1, 2, 3]))
    close(ints.clamp(0.5, 2.5), torch.tensor([1, 2, 3]).clamp(0.5, 2.5).numpy())  # promoted to float32
    assert ints.clamp(0.5, 2.5).dtype == np.float32 and ints.clamp(2).dtype == np.int64
    y = Tensor(x.copy())
    assert y.clamp_(min=0.0) is y and y.data.min() == 0.0
    with pytest.raises(ValueError, match="clamp: at least one of min and max must be given"):
        Tensor(x).clamp()
    with pytest.raises(TypeError, match="in-place clamp_: the result has dtype float32"):
        ints.clamp_(0.5, 2.5)
    assert ints.tolist() == [1, 2, 3]  # a refused change changes nothing
    with pytest.raises(TypeError, match="clamp: min and max must be numbers or None"):
        Tensor(x).clamp(Tensor(0.0))


def test_norm(torch):
    x = arr(20, 3, 4)
    t = torch.tensor(x)
    for p in (2, 1, float("inf"), -float("inf"), 0, 3, 0.5, "fro"):
        close(Tensor(x).norm(p), torch.norm(t, p=p), 1e-10)
        close(Tensor(x).norm(p, dim=1, keepdim=True), torch.norm(t, p=p, dim=1, keepdim=True), 1e-10)
    close(Tensor(x).norm(dim=(0, 1)), torch.norm(t, dim=(0, 1)))
    with pytest.raises(ValueError, match="norm: p must be a number or 'fro', got 'nuc'"):
        Tensor(x).norm("nuc")
    with pytest.raises(TypeError, match="norm: needs a floating point tensor"):
        Tensor([1, 2]).norm()


@pytest.mark.parametrize("p", [2, 1, float("inf"), 3])
def test_norm_gradient_matches_torch_including_zero_vectors(torch, p):
    x = arr(21, 3, 4)
    x[1] = 0.0  # a zero row: PyTorch's gradient is 0 there, not NaN
    x[2, :2] = 1.25  # a tie for the inf-norm: the gradient is shared
    x[2, 2:] = -1.25
    ours = Tensor(x, requires_grad=True)
    ours.norm(p, dim=1).sum().backward()
    theirs = torch.tensor(x, requires_grad=True)
    torch.norm(theirs, p=p, dim=1).sum().backward()
    close(ours.grad, theirs.grad)


# ---- autograd-related methods -------------------------------------------------------------------


def test_clone_is_a_copy_in_the_graph(torch):
    x = Tensor(arr(22, 2, 3), requires_grad=True)
    c = x.clone()
    assert c.grad_fn is not None and not np.shares_memory(c.data, x.data)
    (c * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.full((2, 3), 3.0))
    ints = Tensor(np.arange(3))
    ci = ints.clone()
    ci += 1
    assert ints.tolist() == [0, 1, 2] and ci.dtype == np.int64
    t = Tensor(arr(23, 3, 4)).T
    assert t.clone().data.strides == t.data.strides  # the memory layout is kept, as torch


def test_contiguous_copies_only_when_needed():
    x = Tensor(arr(24, 3, 4), requires_grad=True)
    assert x.contiguous() is x
    y = x.T.contiguous()
    assert y.data.flags.c_contiguous and not np.shares_memory(y.data, x.data)
    (y * Tensor(arr(25, 4, 3))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, arr(25, 4, 3).T)


def test_requires_grad_(torch):
    x = Tensor(arr(26, 3))
    assert x.requires_grad_() is x and x.requires_grad
    assert x.requires_grad_(False) is x and not x.requires_grad
    y = Tensor(arr(27, 3), requires_grad=True) * 2
    assert y.requires_grad_() is y  # already requires grad: allowed, as in PyTorch
    with pytest.raises(RuntimeError, match="requires_grad can only be changed on leaf tensors"):
        y.requires_grad_(False)
    with pytest.raises(TypeError, match="requires_grad_: requires_grad must be True or False, got 1"):
        x.requires_grad_(1)
    with pytest.raises(TypeError, match="only floating point tensors can require grad"):
        Tensor([1, 2]).requires_grad_()


def test_detach_():
    x = Tensor(arr(28, 3), requires_grad=True)
    y = x * 2
    assert y.detach_() is y and y.grad_fn is None and not y.requires_grad
    assert x.detach_() is x and not x.requires_grad
    z = Tensor(arr(29, 2, 3))
    with pytest.raises(RuntimeError, match=r"detach_: can't detach a view \(shape \(3,\)\) in place"):
        z[0].detach_()


def test_to_and_the_dtype_methods(torch):
    x = Tensor(arr(30, 2, 3, dtype=np.float32), requires_grad=True)
    assert x.to("cpu") is x and x.to(device="cpu") is x and x.to(np.float32) is x
    assert x.to(tg.float64).dtype == np.float64 and x.to("cpu", "float16").dtype == np.float16
    assert x.to(Tensor(np.zeros(1, dtype=np.float64))).dtype == np.float64
    c = x.to(copy=True)
    assert c is not x and not np.shares_memory(c.data, x.data) and c.grad_fn is not None
    casts = {"float": np.float32, "double": np.float64, "half": np.float16, "long": np.int64, "int": np.int32}
    for name, dt in {**casts, "bool": np.bool_}.items():
        out = getattr(x, name)()
        assert out.dtype == dt
        np.testing.assert_array_equal(out.data, getattr(torch.tensor(x.data), name)().numpy())
    x.double().sum().backward()  # float -> float stays differentiable
    assert x.grad.dtype == np.float32
    assert x.long().grad_fn is None
    for device in ("cuda", "cuda:0", "mps"):
        with pytest.raises(ValueError, match=f"to: device '{device}' is not available"):
            x.to(device)
    with pytest.raises(TypeError, match="to: expected a dtype"):
        x.to(object())
    with pytest.raises(TypeError, match="to: the dtype was given twice"):
        x.to(np.float32, dtype=np.float64)


# ---- Python protocols ---------------------------------------------------------------------------


def test_python_numbers_from_one_element_tensors(torch):
    assert float(Tensor(2.5)) == 2.5 and int(Tensor(2.7)) == 2 and int(Tensor([[-3]])) == -3
    assert bool(Tensor([1.0])) is True and bool(Tensor(0)) is False
    assert f"{Tensor(1.0 / 3):.3f}" == "0.333" == f"{torch.tensor(1.0 / 3):.3f}"
    assert format(Tensor([1.0, 2.0])) == str(Tensor([1.0, 2.0]))
    np.testing.assert_array_equal(abs(Tensor([-1.0, 2.0])).data, [1.0, 2.0])
    loss = (Tensor([1.0, 2.0], requires_grad=True) ** 2).sum()
    assert float(loss) == 5.0 and f"loss {loss:.2f}" == "loss 5.00"


def test_python_protocol_errors_as_pytorch():
    with pytest.raises(
        ValueError, match=r"float\(\): only one-element tensors can be converted .* shape \(2,\)"
    ):
        float(Tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"int\(\): only one-element tensors"):
        int(Tensor(np.zeros(0)))
    with pytest.raises(
        RuntimeError, match=r"bool\(\): the truth value of a tensor with 2 values .* is ambiguous"
    ):
        bool(Tensor([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="with no values"):
        bool(Tensor(np.zeros(0)))
    with pytest.raises(TypeError, match=r"format: the spec '.3f' needs a 0-d tensor, got shape \(1,\)"):
        format(Tensor([1.0]), ".3f")
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        list(Tensor(3.0))
    with pytest.raises(TypeError, match="len"):
        len(Tensor(3.0))


# ---- module-level functions ---------------------------------------------------------------------


def test_tg_tensor_copies_and_infers_dtypes_as_torch(torch):
    src = np.array([1.0, 2.0])
    t = tg.tensor(src)
    src[0] = 9.0
    assert t.tolist() == [1.0, 2.0] and t.dtype == np.float64  # a copy; numpy arrays keep their dtype
    for data in ([1.5, 2.0], [[1, 2]], [True, False], 3):
        assert tg.tensor(data).dtype == np.dtype(str(torch.tensor(data).dtype).replace("torch.", ""))
    x = Tensor([1.0, 2.0], requires_grad=True)
    c = tg.tensor(x * 2, dtype=tg.float64, requires_grad=True)
    assert c.is_leaf and c.requires_grad and c.dtype == np.float64 and not np.shares_memory(c.data, x.data)
    with pytest.raises(ValueError, match="tensor: device 'cuda' is not available"):
        tg.tensor([1.0], device="cuda")


def test_from_numpy_shares_memory():
    a = np.arange(3.0)
    t = tg.from_numpy(a)
    a[0] = 7.0
    assert t.data[0] == 7.0 and t.dtype == np.float64
    with pytest.raises(TypeError, match="from_numpy: expected a numpy array, got list"):
        tg.from_numpy([1.0])


def test_matmul_randint_allclose(torch):
    a, b = arr(31, 2, 3), arr(32, 3, 4)
    np.testing.assert_allclose(tg.matmul(Tensor(a), b).data, a @ b)
    np.testing.assert_allclose(tg.matmul(a, Tensor(b)).data, a @ b)
    np.testing.assert_allclose(tg.matmul(Tensor(a[0]), Tensor(b)).data, a[0] @ b)
    tg.manual_seed(3)
    r = tg.randint(2, 7, (1000,))
    tg.manual_seed(3)
    assert r.dtype == np.int64 and r.tolist() == tg.randint(2, 7, (1000,)).tolist()  # project generator
    assert set(r.tolist()) == {2, 3, 4, 5, 6}
    assert tg.randint(3, (2, 2)).shape == (2, 2) and tg.randint(3, (4,)).data.max() < 3
    with pytest.raises(ValueError, match="randint: low must be less than high, got low=5, high=5"):
        tg.randint(5, 5, (2,))
    with pytest.raises(TypeError, match="randint: size"):
        tg.randint(5)
    x = arr(33, 3)
    assert tg.allclose(Tensor(x), Tensor(x + 1e-9)) and not tg.allclose(Tensor(x), Tensor(x + 1e-3))
    assert tg.allclose(Tensor(x), Tensor(x[:1]), atol=10) == torch.allclose(
        torch.tensor(x), torch.tensor(x[:1]), atol=10
    )
    assert tg.allclose(Tensor([1.0, float("nan")]), [1.0, float("nan")], equal_nan=True)
    assert tg.allclose([1.0, 2.0], Tensor([1, 2])) and tg.allclose(np.ones(2), np.ones(2))  # not both tensors
    with pytest.raises(TypeError, match="allclose: the tensors have different dtypes, float64 and float32"):
        tg.allclose(Tensor(x), Tensor(x.astype(np.float32)))


def test_dtype_names():
    names = {
        "float32": np.float32,
        "float64": np.float64,
        "float16": np.float16,
        "int64": np.int64,
        "int32": np.int32,
    }
    for name, dt in {**names, "bool": np.bool_}.items():
        assert getattr(tg, name) == np.dtype(dt)
    assert tg.zeros(2, dtype=tg.int32).dtype == np.int32 and Tensor([1.0]).dtype == tg.float32
    ns: dict = {}
    exec("from tinygrad_kr import *", ns)
    assert "bool" not in ns and "float32" in ns  # a star import must not replace Python's bool


def test_the_tensor_module_is_still_importable():
    from tinygrad_kr.tensor import Tensor as T

    assert T is Tensor and callable(tg.tensor)


# ---- custom ops in PyTorch's style --------------------------------------------------------------


def test_pytorch_style_function_is_refused_at_class_definition():
    with pytest.raises(TypeError) as e:

        class Cube(tg.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x**3

            @staticmethod
            def backward(ctx, grad_output):
                (x,) = ctx.saved_tensors
                return grad_output * 3 * x**2

    msg = str(e.value)
    assert msg.startswith("Cube: forward and backward is written in PyTorch's style (@staticmethod with ctx)")
    assert "def forward(self, x):" in msg and "self.save_for_backward(x)" in msg and "Cube.apply(x)" in msg
    with pytest.raises(TypeError, match="setup_context is written in PyTorch's style"):

        class WithContext(tg.Function):
            def forward(self, x):
                return x

            def setup_context(ctx, inputs, output):
                pass


def test_the_textbook_style_shown_in_the_error_works():
    class Cube(tg.Function):
        def forward(self, x):
            self.save_for_backward(x)
            return x**3

        def backward(self, gy):
            (x,) = self.saved_tensors
            return gy * 3 * x * x

    assert tg.gradcheck(Cube.apply, [Tensor(arr(34, 3), requires_grad=True)])


# ---- docstrings ---------------------------------------------------------------------------------


def test_every_public_tensor_method_and_property_has_a_docstring():
    missing = []
    for name, member in inspect.getmembers(Tensor):
        if name.startswith("_") or not (callable(member) or isinstance(member, property)):
            continue
        doc = inspect.getdoc(getattr(Tensor, name)) if not isinstance(member, property) else member.__doc__
        if not doc or not doc.strip():
            missing.append(name)
    assert not missing, f"Tensor members without a docstring: {missing}"


@pytest.mark.parametrize("method", ["max", "min"])
@pytest.mark.parametrize("keep", [False, True])
def test_max_with_dim_is_pytorchs_values_and_indices(method, keep):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 5.0], [4.0, 4.0, -1.0]])
    t = Tensor(x, requires_grad=True)
    values, indices = getattr(t, method)(dim=1, keepdim=keep)
    ref = getattr(np, method)(x, axis=1, keepdims=keep)
    np.testing.assert_array_equal(values.data, ref)
    np.testing.assert_array_equal(indices.data, getattr(np, "arg" + method)(x, axis=1, keepdims=keep))
    assert indices.dtype == np.int64
    (values * Tensor(np.arange(1.0, 4.0).reshape(ref.shape))).sum().backward()
    assert (t.grad.data != 0).sum() == 3  # one element per row, even with ties (amax shares)
    np.testing.assert_array_equal(getattr(t, method)(axis=1).data, getattr(np, method)(x, axis=1))
    torch = pytest.importorskip("torch")
    if torch is not None:
        tt = torch.tensor(x, requires_grad=True)
        tv, ti = getattr(tt, method)(dim=1, keepdim=keep)
        (tv * torch.arange(1.0, 4.0, dtype=torch.float64).reshape(tv.shape)).sum().backward()
        np.testing.assert_array_equal(indices.data, ti.numpy())
        np.testing.assert_array_equal(t.grad.data, tt.grad.numpy())


@pytest.mark.parametrize("method", ["max", "min"])
def test_max_keepdim_needs_dim(method):
    with pytest.raises(TypeError, match="keepdim= without dim="):
        getattr(Tensor(arr(2, 3, 4)), method)(keepdim=True)
