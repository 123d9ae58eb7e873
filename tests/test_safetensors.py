"""tg.save / tg.load with a .safetensors path.

The written file is checked against the format's specification by parsing it by hand; round
trips are exact; damaged and hostile files are refused with CheckpointError without allocating
more than the file; and (when torch is installed) weights move both ways between tinygrad_kr
and PyTorch with the same outputs.
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import nn
import tinygrad_kr as tg
from tinygrad_kr.serialize import CheckpointError, load, save

from .test_serialize import REFUSED, assert_refused_cheaply, load_flipped

README = Path(__file__).resolve().parents[1] / "README.md"

# The format's dtype codes, from its specification (not from the code under test).
SPEC_CODES = {
    "bool": "BOOL", "uint8": "U8", "int8": "I8", "uint16": "U16", "int16": "I16", "float16": "F16",
    "uint32": "U32", "int32": "I32", "float32": "F32", "uint64": "U64", "int64": "I64",
    "float64": "F64", "complex64": "C64",
}  # fmt: skip


def parse_by_hand(path: Path) -> tuple[dict, bytes]:
    """(the JSON header, the data buffer) of a safetensors file, read as the spec describes."""
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    assert 8 + n <= len(blob)
    return json.loads(blob[8 : 8 + n].decode("utf-8")), blob[8 + n :]


def st_file(path: Path, header, buffer: bytes = b"", length: int | None = None) -> Path:
    """Write a safetensors file by hand: `header` (a dict, or raw bytes) after its length field
    (or the `length` given), then `buffer`."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + buffer)
    return path


def f32(offsets, shape=(1,), dtype="F32") -> dict:
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


def sample() -> dict:
    """A state dict with every kind of value a model has, plus the other dtypes the format holds."""
    rng = np.random.default_rng(0)
    return {
        "fc.weight": rng.standard_normal((3, 4)).astype(np.float32),
        "fc.bias": rng.standard_normal(3).astype(np.float32),
        "bn.running_var": rng.random(3).astype(np.float32),
        "bn.num_batches_tracked": np.array(7, np.int64),
        "half": rng.standard_normal((2, 2)).astype(np.float16),
        "wide": rng.standard_normal(5),
        "mask": np.array([True, False, True]),
        "ids": np.array([-1, 2**31 - 1], np.int32),
        "bytes": np.arange(256, dtype=np.uint8),
        "big": np.array([2**64 - 1], np.uint64),
        "cplx": np.array([1 + 2j, -0.5j], np.complex64),
        "empty": np.zeros((0, 3), np.float32),
    }


def assert_same_arrays(got: dict, want: dict) -> None:
    """Same names, and for each: dtype (native order), shape and bytes (NaN included)."""
    assert set(got) == set(want)
    for name, w in want.items():
        g = got[name]
        assert isinstance(g, np.ndarray), name
        assert g.dtype == w.dtype.newbyteorder("=") and g.shape == w.shape, name
        assert g.tobytes() == np.ascontiguousarray(w).astype(g.dtype).tobytes(), name


# ---- the file follows the specification -----------------------------------------------------


def test_file_follows_the_format_specification(tmp_path):
    want = sample()
    path = tmp_path / "model.safetensors"
    save(want, path)
    header, buffer = parse_by_hand(path)
    assert header.pop("__metadata__") == {"format": "np"}
    assert set(header) == set(want)
    pos = 0  # the tensors tile the buffer: in order, contiguous, covering it
    for (begin, end), name in sorted((info["data_offsets"], name) for name, info in header.items()):
        assert begin == pos, name
        pos = end
    assert pos == len(buffer)
    for name, info in header.items():
        arr = want[name]
        assert set(info) == {"dtype", "shape", "data_offsets"}
        assert info["dtype"] == SPEC_CODES[arr.dtype.name]
        assert info["shape"] == list(arr.shape)
        begin, end = info["data_offsets"]
        assert buffer[begin:end] == arr.astype(arr.dtype.newbyteorder("<")).tobytes(order="C"), name


def test_layouts_are_written_as_little_endian_c_order(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    want = {"transposed": base.T, "strided": base[::2, ::-3], "fortran": np.asfortranarray(base),
            "big_endian": base.astype(">f4"), "big_endian_int": np.arange(3, dtype=">i8")}  # fmt: skip
    path = tmp_path / "layouts.safetensors"
    save(want, path)
    header, buffer = parse_by_hand(path)
    for name, arr in want.items():
        begin, end = header[name]["data_offsets"]
        assert header[name]["shape"] == list(arr.shape)
        assert buffer[begin:end] == np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
    assert header["big_endian"]["dtype"] == "F32" and header["big_endian_int"]["dtype"] == "I64"
    assert_same_arrays(load(path), want)


@pytest.mark.parametrize("name", ["model.safetensors", "MODEL.SafeTensors", "a.b.SAFETENSORS"])
def test_the_suffix_picks_the_format_in_any_case(tmp_path, name):
    save({"w": np.ones(2, np.float32)}, tmp_path / name)
    header, _ = parse_by_hand(tmp_path / name)
    assert header["w"]["dtype"] == "F32"
    assert os.listdir(tmp_path) == [name]
    assert_same_arrays(load(tmp_path / name), {"w": np.ones(2, np.float32)})


def test_other_suffixes_keep_the_default_format(tmp_path):
    for name in ("model.safetensors.bak", "model.npz", "safetensors"):
        save({"w": np.ones(2)}, tmp_path / name)
        assert (tmp_path / name).read_bytes()[:2] == b"PK", name


# ---- round trips -------------------------------------------------------------------------------


def test_round_trip_is_exact_and_arrays_are_writable(tmp_path):
    want = sample()
    path = tmp_path / "model.safetensors"
    save(want, path)
    got = load(path)
    assert_same_arrays(got, want)
    assert got["bn.num_batches_tracked"].shape == () and got["bn.num_batches_tracked"].dtype == np.int64
    assert all(a.flags.writeable and a.flags.c_contiguous for a in got.values())
    got["fc.weight"][0, 0] = 123.0  # writable, and not a view of something shared
    assert load(path)["fc.weight"][0, 0] == want["fc.weight"][0, 0]


def test_special_float_values_round_trip(tmp_path):
    want = {"f32": np.array([np.nan, np.inf, -np.inf, -0.0, 1e-45], np.float32),
            "f16": np.array([np.nan, np.inf, 65504, -0.0, 6e-8], np.float16)}  # fmt: skip
    save(want, tmp_path / "x.safetensors")
    assert_same_arrays(load(tmp_path / "x.safetensors"), want)


names = st.text(max_size=6).filter(lambda s: s != "__metadata__")
st_dtypes = st.sampled_from([np.dtype(t) for t in SPEC_CODES])
state_dicts = st.dictionaries(
    names,
    hnp.arrays(st_dtypes, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)),
    max_size=5,
)


@given(want=state_dicts)
def test_any_flat_state_dict_round_trips_exactly(tmp_path_factory, want):
    path = tmp_path_factory.mktemp("st") / "x.safetensors"
    save(want, path)
    assert_same_arrays(load(path), want)


def test_tensors_and_parameters_are_saved_as_their_arrays(tmp_path):
    w = nn.Parameter(np.arange(6, dtype=np.float32).reshape(2, 3))
    (w * w).sum().backward()
    save({"w": w, "b": tg.Tensor([1, 2], dtype=np.int64)}, tmp_path / "x.safetensors")
    assert_same_arrays(load(tmp_path / "x.safetensors"), {"w": w.data, "b": np.array([1, 2], np.int64)})


def test_batchnorm_state_round_trips_into_a_fresh_model(tmp_path):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2))
    for _ in range(3):
        model(tg.randn(4, 2, 4, 4))
    path = tmp_path / "cnn.safetensors"
    save(model.state_dict(), path)
    fresh = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2))
    fresh.load_state_dict(load(path))
    assert_same_arrays(fresh.state_dict(), model.state_dict())
    assert fresh.state_dict()["1.num_batches_tracked"].shape == ()
    assert int(fresh.state_dict()["1.num_batches_tracked"]) == 3


def test_tied_weights_are_stored_under_each_name_and_load_separately(tmp_path):
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    path = tmp_path / "tied.safetensors"
    save({"encoder.weight": w, "decoder.weight": w}, path)
    header, _ = parse_by_hand(path)
    assert header["encoder.weight"]["data_offsets"] != header["decoder.weight"]["data_offsets"]
    got = load(path)
    assert_same_arrays(got, {"encoder.weight": w, "decoder.weight": w})
    got["encoder.weight"][0, 0] = -1.0
    assert got["decoder.weight"][0, 0] == 0.0


def test_files_of_the_safetensors_package_load_and_ours_load_there(tmp_path):
    from safetensors.numpy import load_file, save_file

    want = sample()
    save_file(want, tmp_path / "theirs.safetensors", metadata={"anything": "kept out"})
    assert_same_arrays(load(tmp_path / "theirs.safetensors"), want)
    save(want, tmp_path / "ours.safetensors")
    assert_same_arrays(load_file(tmp_path / "ours.safetensors"), want)


def test_bfloat16_loads_as_float32_exactly(tmp_path):
    want = np.array([1.0, -2.5, 3.140625, np.inf, -0.0, 2.0**-126], np.float32)
    bits = (want.view(np.uint32) >> 16).astype("<u2")  # these values are exact in bfloat16
    path = st_file(tmp_path / "bf16.safetensors", {"w": f32((0, 12), (6,), "BF16")}, bits.tobytes())
    got = load(path)["w"]
    assert got.dtype == np.float32 and got.tobytes() == want.tobytes()


# ---- what cannot be saved as safetensors --------------------------------------------------------


@pytest.mark.parametrize(
    "obj, match",
    [
        ({"model": {"fc.weight": np.ones(2)}}, r"'model' is a nested mapping.*flat mapping.*default format"),
        (
            {"state": {0: {"step": 1}}, "param_groups": [{"lr": 0.1}]},
            r"'state' is a nested mapping.*optimizer",
        ),
        ({"w": np.ones(2), 3: np.ones(2)}, r"names must be str, got int 3"),
        ({"lr": 0.1}, r"'lr' is a float, not an array or Tensor"),
        ({"w": [1.0, 2.0]}, r"'w' is a list, not an array"),
        ({"w": np.array([1, None], dtype=object)}, r"'w' has dtype object"),
        ({"w": np.ones(2, np.complex128)}, r"'w' has dtype complex128.*float16"),
        pytest.param(
            {"w": np.ones(2, np.longdouble)},
            r"'w' has dtype float(96|128)",
            marks=pytest.mark.skipif(
                np.dtype(np.longdouble).itemsize == 8, reason="longdouble is float64 here"
            ),
        ),
        ({"w": np.array(["a"])}, r"'w' has dtype <U1"),
        ({"w": np.array(["2020-01-01"], "datetime64[D]")}, r"'w' has dtype datetime64"),
        ({"w": np.zeros(2, [("x", "<f4")])}, r"'w' has dtype"),
        ({"w": np.ma.masked_array([1.0], mask=[1])}, r"masked array"),
        ({"__metadata__": np.ones(1)}, r"reserved"),
        ([np.ones(2)], r"cannot save a list as safetensors: .*flat mapping"),
    ],
)
def test_unsupported_values_are_refused_before_anything_is_written(tmp_path, obj, match):
    with pytest.raises(TypeError, match=match):
        save(obj, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def test_optimizer_state_names_the_default_format(tmp_path):
    model = nn.Linear(2, 2)
    opt = nn.optim.Adam(model.parameters())
    model(tg.randn(3, 2)).sum().backward()
    opt.step()
    with pytest.raises(TypeError, match=r"save optimizer state and nested checkpoints in the default format"):
        save(opt.state_dict(), tmp_path / "opt.safetensors")
    save(opt.state_dict(), tmp_path / "opt.npz")  # which holds it
    assert load(tmp_path / "opt.npz")["param_groups"][0]["lr"] == opt.param_groups[0]["lr"]


def test_failed_save_keeps_the_previous_file(tmp_path):
    path = tmp_path / "model.safetensors"
    save({"w": np.ones(3, np.float32)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        save({"w": np.zeros(3, np.float32), "bad": "text"}, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["model.safetensors"]


# ---- damaged and hostile files -------------------------------------------------------------------

BAD_FILES = {
    "empty": (None, b"", "raw", "0 bytes long, too short"),
    "zero_length_header": (b"", b"", None, "0-byte header is not valid UTF-8 JSON"),
    "five_bytes": (None, b"\x01\x02\x03\x04\x05", "raw", "too short"),
    "length_past_the_end": (b"{}", b"", 1000, r"header length field says 1000 bytes but only 2 follow"),
    "length_2_64": (b"{}", b"", 2**64 - 1, r"says 18446744073709551615 bytes"),
    "not_utf8": (b"\xff\xfe{}", b"", None, "not valid UTF-8 JSON"),
    "not_json": (b'{"w": {"dtype": "F32",', b"", None, "not valid UTF-8 JSON"),
    "deeply_nested": (b"[" * 100_000 + b"]" * 100_000, b"", None, "not valid UTF-8 JSON"),
    "json_list": (b"[1, 2]", b"", None, "a JSON list, not an object"),
    "repeated_name": (b'{"w": ' + json.dumps(f32((0, 4))).encode() + b', "w": '
                      + json.dumps(f32((4, 8))).encode() + b"}", bytes(8), None, "'w' appears twice"),
    "entry_not_an_object": ({"w": 3}, b"", None, r"tensor 'w': expected"),
    "no_data_offsets": ({"w": {"dtype": "F32", "shape": [1]}}, bytes(4), None, r"tensor 'w': expected"),
    "unknown_dtype": ({"w": f32((0, 4), (1,), "F33")}, bytes(4), None, r"dtype 'F33'"),
    "float8": ({"w": f32((0, 1), (1,), "F8_E4M3")}, bytes(1), None, r"dtype 'F8_E4M3'.*float8"),
    "dtype_not_a_string": ({"w": f32((0, 4), (1,), 5)}, bytes(4), None, r"dtype 5"),
    "negative_shape": ({"w": f32((0, 4), (-1,))}, bytes(4), None, "negative size"),
    "float_shape": ({"w": f32((0, 4), (1.0,))}, bytes(4), None, "malformed shape"),
    "bool_shape": ({"w": f32((0, 4), (True,))}, bytes(4), None, "malformed shape"),
    "string_shape": ({"w": {"dtype": "F32", "shape": "1", "data_offsets": [0, 4]}}, bytes(4), None,
                     "malformed shape"),
    "65_dims": ({"w": f32((0, 4), (1,) * 65)}, bytes(4), None, "malformed shape"),
    "terabyte_shape": ({"w": f32((0, 4), (2**40,))}, bytes(4), None,
                       r"4398046511104 bytes, but its data_offsets span 4 bytes"),
    "overflowing_shape": ({"w": f32((0, 0), (2**62, 2**62, 0))}, b"", None, "absurd shape"),
    "one_offset": ({"w": f32((0,))}, bytes(4), None, r"data_offsets must be \[begin, end\]"),
    "float_offsets": ({"w": f32((0, 4.0))}, bytes(4), None, r"data_offsets must be"),
    "end_before_begin": ({"w": f32((4, 0))}, bytes(4), None, "not a byte range"),
    "negative_offset": ({"w": f32((-4, 0))}, bytes(4), None, "not a byte range"),
    "past_the_buffer": ({"w": f32((0, 8), (2,))}, bytes(4), None,
                        "reach past the end of the 4-byte data buffer"),
    "size_mismatch": ({"w": f32((0, 8), (3,))}, bytes(8), None, r"12 bytes, but its data_offsets span 8"),
    "overlap": ({"a": f32((0, 4)), "b": f32((0, 4))}, bytes(4), None, "overlaps the tensor before it"),
    "gap": ({"w": f32((4, 8))}, bytes(8), None, r"leaves bytes 0\.\.4 of the data to no tensor"),
    "trailing_bytes": ({"w": f32((0, 4))}, bytes(8), None, "cover 4 of the 8 data bytes"),
    "bad_metadata": ({"__metadata__": {"epoch": 3}, "w": f32((0, 4))}, bytes(4), None,
                     "__metadata__ must map"),
    "bool_byte_2": ({"m": f32((0, 2), (2,), "BOOL")}, b"\x01\x02", None, "only 0 and 1"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_damaged_file_is_refused_cheaply(tmp_path, case):
    header, buffer, length, match = BAD_FILES[case]
    path = tmp_path / f"{case}.safetensors"
    if length == "raw":
        path.write_bytes(buffer)
    else:
        st_file(path, header, buffer, length)
    assert_refused_cheaply(path, match)


def test_a_header_claiming_a_gigabyte_costs_nothing(tmp_path):
    """A 200-byte file whose header describes 1 GB of tensors (and a header length of 1 TB)."""
    path = st_file(tmp_path / "claims.safetensors", {"w": f32((0, 2**30), (2**28,))})
    assert_refused_cheaply(path, "reach past the end")
    path = st_file(tmp_path / "claims2.safetensors", b"{}", length=2**40)
    assert_refused_cheaply(path, "header length field")


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good.safetensors"
    save(sample(), path)
    return path


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.5, 0.9, 0.99])
def test_truncated_file_is_refused(good, tmp_path, fraction):
    blob = good.read_bytes()
    bad = tmp_path / "cut.safetensors"
    for cut in (blob[: int(len(blob) * fraction)], blob[:-1]):
        bad.write_bytes(cut)
        assert_refused_cheaply(bad, "")


def test_every_header_byte_flip_is_refused_or_loads_arrays(good, tmp_path):
    """Nothing but CheckpointError may escape, whatever the header says (safetensors has no
    checksum, so a flip may also give other names or values: the format cannot tell)."""
    blob = good.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    results = list(load_flipped(blob, tmp_path / "bad.safetensors", range(8 + n)))
    for label, got in results:
        if got is not REFUSED:
            assert all(isinstance(a, np.ndarray) for a in got.values()), label
            assert sum(a.nbytes for a in got.values()) <= len(blob), label
    assert sum(got is REFUSED for _, got in results) > 0.5 * len(results)


def test_a_default_checkpoint_under_the_safetensors_suffix_says_so(tmp_path):
    save({"w": np.ones(2)}, tmp_path / "ckpt.npz")
    os.rename(tmp_path / "ckpt.npz", tmp_path / "ckpt.safetensors")
    with pytest.raises(CheckpointError, match="it is a zip"):
        load(tmp_path / "ckpt.safetensors")


def test_a_safetensors_file_under_another_suffix_says_so(good, tmp_path):
    os.rename(good, tmp_path / "model.bin")
    with pytest.raises(CheckpointError, match="looks like a safetensors file"):
        load(tmp_path / "model.bin")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.safetensors")


# ---- PyTorch interop (skipped without torch) -------------------------------------------------


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors.torch")
    return torch


def build(kind: str, torch=None, batch_first: bool = True):
    """The same architecture in tinygrad_kr (torch=None) or PyTorch (torch = the module)."""
    lib = nn if torch is None else torch.nn
    if kind == "mlp":
        return lib.Sequential(lib.Linear(6, 16), lib.ReLU(), lib.Linear(16, 4))
    if kind == "cnn":
        return lib.Sequential(
            lib.Conv2d(2, 4, 3, padding=1), lib.BatchNorm2d(4), lib.ReLU(), lib.MaxPool2d(2),
            lib.Flatten(), lib.Linear(4 * 4 * 4, 5),
        )  # fmt: skip
    return lib.LSTM(5, 7, num_layers=2, batch_first=batch_first)


def inputs(kind: str, seed: int, batch_first: bool = True) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = {"mlp": (8, 6), "cnn": (3, 2, 8, 8), "lstm": (3, 4, 5) if batch_first else (4, 3, 5)}[kind]
    return rng.standard_normal(shape).astype(np.float32)


def outputs_here(model, x: np.ndarray) -> list[np.ndarray]:
    with tg.no_grad():
        out = model(tg.Tensor(x))
    if isinstance(out, tuple):  # LSTM: (output, (h_n, c_n))
        return [out[0].data, out[1][0].data, out[1][1].data]
    return [out.data]


def outputs_torch(torch, model, x: np.ndarray) -> list[np.ndarray]:
    with torch.no_grad():
        out = model(torch.from_numpy(x))
    if isinstance(out, tuple):
        return [out[0].numpy(), out[1][0].numpy(), out[1][1].numpy()]
    return [out.numpy()]


def assert_close(got: list, want: list) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


CASES = [("mlp", True), ("cnn", True), ("lstm", True), ("lstm", False)]


@pytest.mark.parametrize("kind, batch_first", CASES)
def test_a_model_trained_here_runs_the_same_in_pytorch(torch, tmp_path, kind, batch_first):
    from safetensors.torch import load_file

    tg.manual_seed(0)
    model = build(kind, batch_first=batch_first)
    opt = nn.optim.SGD(model.parameters(), lr=0.1)
    for step in range(3):  # a few training steps; BatchNorm's running statistics move
        out = model(tg.Tensor(inputs(kind, step, batch_first)))
        out = out[0] if isinstance(out, tuple) else out
        opt.zero_grad()
        (out * out).mean().backward()
        opt.step()
    model.eval()
    path = tmp_path / f"{kind}.safetensors"
    tg.save(model.state_dict(), path)

    theirs = build(kind, torch, batch_first)
    theirs.load_state_dict(load_file(path), strict=True)
    theirs.eval()
    x = inputs(kind, 99, batch_first)
    assert_close(outputs_torch(torch, theirs, x), outputs_here(model, x))
    if kind == "cnn":
        bn = theirs[1]
        assert int(bn.num_batches_tracked) == 3 and bn.num_batches_tracked.dtype == torch.int64
        assert bn.num_batches_tracked.shape == () and float(bn.running_mean.abs().sum()) > 0.01


@pytest.mark.parametrize("kind, batch_first", CASES)
def test_weights_saved_by_pytorch_run_the_same_here(torch, tmp_path, kind, batch_first):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    theirs = build(kind, torch, batch_first)
    with torch.no_grad():
        for step in range(3):  # train-mode forwards: BatchNorm's running statistics move
            theirs(torch.from_numpy(inputs(kind, step, batch_first)))
    theirs.eval()
    path = tmp_path / f"{kind}.safetensors"
    save_file(theirs.state_dict(), path)

    model = build(kind, batch_first=batch_first)
    model.load_state_dict(tg.load(path))  # strict
    model.eval()
    x = inputs(kind, 99, batch_first)
    assert_close(outputs_here(model, x), outputs_torch(torch, theirs, x))
    if kind == "cnn":
        assert int(model[1].num_batches_tracked.data) == 3


def test_bfloat16_weights_from_pytorch_load_as_float32(torch, tmp_path):
    from safetensors.torch import save_file

    w = torch.randn(4, 3).to(torch.bfloat16)
    save_file({"weight": w, "bias": torch.zeros(4, dtype=torch.bfloat16)}, tmp_path / "bf16.safetensors")
    got = tg.load(tmp_path / "bf16.safetensors")
    assert got["weight"].dtype == np.float32
    assert got["weight"].tobytes() == w.float().numpy().tobytes()
    layer = nn.Linear(3, 4)
    layer.load_state_dict(got)
    assert layer.weight.data.tobytes() == w.float().numpy().tobytes()


def test_readme_safetensors_example_runs(torch, tmp_path, monkeypatch):
    text = README.read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "safetensors.torch" in b]
    assert len(blocks) == 2  # English and Korean
    for block in blocks:
        monkeypatch.chdir(tmp_path)
        scope: dict = {}
        exec(compile(block, "README.md", "exec"), scope)
        x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
        model, torch_model = scope["model"], scope["torch_model"]
        assert_close(outputs_here(model, x), outputs_torch(torch, torch_model, x))
        assert isinstance(scope["tg"].load("mlp.safetensors"), dict)


def test_saved_state_dict_is_an_ordered_dict_of_the_model(tmp_path):
    """model.state_dict() (an OrderedDict) is accepted as it is, and every name comes back."""
    model = build("lstm")
    sd = model.state_dict()
    assert isinstance(sd, OrderedDict)
    save(sd, tmp_path / "lstm.safetensors")
    assert_same_arrays(load(tmp_path / "lstm.safetensors"), dict(sd))
