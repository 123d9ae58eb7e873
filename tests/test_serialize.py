"""tg.save / tg.load: exact round trips, clear errors on bad input and bad files, atomic writes."""

from __future__ import annotations

import ast
import io
import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib import format as npformat

import tinygrad_kr as tg
from tinygrad_kr import serialize
from tinygrad_kr.serialize import FORMAT_NAME, FORMAT_VERSION, MANIFEST, CheckpointError, load, save

REPO = Path(__file__).resolve().parents[1]


def assert_same(got, want, where="root"):
    """Same structure, same types, same dtypes and shapes, bit-identical values (NaN included)."""
    if isinstance(want, (np.ndarray, np.generic)):
        assert type(got) is type(want), where
        assert got.dtype == want.dtype and got.shape == want.shape, where
        assert got.tobytes() == want.tobytes(), where
    elif isinstance(want, dict):
        assert type(got) is dict and list(got) == list(want), where
        for key in want:
            assert_same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, (list, tuple)):
        assert type(got) is type(want) and len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            assert_same(g, w, f"{where}[{i}]")
    elif isinstance(want, float) and math.isnan(want):
        assert type(got) is float and math.isnan(got), where
    else:
        assert type(got) is type(want) and got == want, where


def round_trip(obj, tmp_path):
    path = tmp_path / "ckpt.npz"
    save(obj, path)
    return load(path)


def state():
    """A training-run-like state: model arrays of several dtypes, optimizer groups, plain values."""
    rng = np.random.default_rng(0)
    return {
        "model": {
            "fc1.weight": rng.standard_normal((4, 3)).astype(np.float32),
            "fc1.bias": np.zeros(4, np.float32),
            "bn.running_var": rng.random(4),  # float64
            "bn.num_batches": np.array(12, np.int64),  # 0-d
            "mask": np.array([[True, False], [False, True]]),
            "empty": np.zeros((0, 5), np.float32),
        },
        "optim": {
            "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "params": [0, 1, 2]}],
            "state": {"step": 10, "exp_avg": [np.ones(3, np.float32)]},
        },
        "epoch": 3,
        "best": -1.5e-300,
        "tags": ["run", "é✓"],
        "done": False,
        "note": None,
    }


# ---- round trips -----------------------------------------------------------------------------


def test_round_trip_nested_state_is_exact(tmp_path):
    want = state()
    assert_same(round_trip(want, tmp_path), want)


def test_round_trip_odd_values_and_layouts(tmp_path):
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    want = {
        "fortran": np.asfortranarray(base),
        "strided": base[::2, ::-3],
        "big_endian": base.astype(">f4"),
        "float16": base.astype(np.float16),
        "uint8": np.arange(256, dtype=np.uint8),
        "complex": np.array([1 + 2j, np.nan], np.complex64),
        "special": np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324]),
        "strings": np.array(["a", "bcd"]),
        "np_scalars": (np.float32(1.5), np.int8(-3), np.bool_(True), np.float64(0.1)),
        "floats": [math.inf, -math.inf, float("nan"), 0.1, -0.0],
        "big_int": 2**100,
        "": {"": []},
        "dots.and[brackets]": {},
    }
    got = round_trip(want, tmp_path)
    assert_same(got, want)
    assert got["fortran"].flags.f_contiguous
    assert all(a.flags.writeable for a in (got["fortran"], got["strided"], got["special"]))


def test_top_level_value_need_not_be_a_dict(tmp_path):
    want = [np.ones(2), (1, "a")]
    assert_same(round_trip(want, tmp_path), want)


def test_tensor_leaves_are_saved_as_their_arrays(tmp_path):
    w = tg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    (w * w).sum().backward()
    got = round_trip({"w": w, "b": tg.Tensor([1, 2], dtype=np.int64)}, tmp_path)
    assert_same(got, {"w": w.data, "b": np.array([1, 2], np.int64)})


def test_shared_array_is_stored_once_and_loads_shared(tmp_path):
    w = np.ones((100, 100), np.float32)
    path = tmp_path / "tied.npz"
    save({"enc": w, "dec": w, "copy": w.copy()}, path)
    with zipfile.ZipFile(path) as zf:
        assert len([n for n in zf.namelist() if n != MANIFEST]) == 2
    got = load(path)
    assert got["enc"] is got["dec"] and got["copy"] is not got["enc"]


def test_file_is_a_plain_npz_with_a_versioned_json_manifest(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.eye(2), "epoch": 1}, path)
    with np.load(path, allow_pickle=False) as npz:
        manifest = json.loads(npz["manifest"].tobytes())
        assert manifest["format"] == "tinygrad_kr.checkpoint" and manifest["version"] == FORMAT_VERSION
        assert manifest["root"]["items"]["epoch"] == 1
        entry = manifest["root"]["items"]["w"]["entry"]
        np.testing.assert_array_equal(npz[entry.removesuffix(".npy")], np.eye(2))


@pytest.mark.parametrize("name", ["ckpt", "ckpt.pt", "ckpt.npz.bak"])
def test_path_is_used_exactly_as_given(tmp_path, name):
    save({"a": 1}, str(tmp_path / name))
    assert os.listdir(tmp_path) == [name]
    assert load(tmp_path / name) == {"a": 1}


def test_overwrite_replaces_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"epoch": 1, "w": np.zeros(3)}, path)
    save({"epoch": 2}, path)
    assert load(path) == {"epoch": 2}
    assert os.listdir(tmp_path) == ["ckpt.npz"]


leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    hnp.arrays(
        hnp.scalar_dtypes() | hnp.byte_string_dtypes() | hnp.unicode_string_dtypes(),
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3),
    ),
)
trees = st.recursive(
    leaves,
    lambda kids: (
        st.lists(kids, max_size=3)
        | st.lists(kids, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=4), kids, max_size=3)
    ),
    max_leaves=10,
)


@given(tree=trees)
def test_any_supported_tree_round_trips_exactly(tmp_path_factory, tree):
    assert_same(round_trip(tree, tmp_path_factory.mktemp("rt")), tree)


# ---- what cannot be saved ----------------------------------------------------------------------


class Opaque:
    pass


@pytest.mark.parametrize(
    "obj, where",
    [
        ({"model": {"fc1.weight": np.array([1, None], dtype=object)}}, "model.fc1.weight"),
        ({"model": {"fc1": {"weight": Opaque()}}}, "model.fc1.weight"),
        ({"optim": {"param_groups": [{"lr": 0.1}, {"params": {1, 2}}]}}, "optim.param_groups[1].params"),
        ({"a": {"b": np.zeros(2, dtype=[("x", "f4")])}}, "a.b"),
        ({"a": (1, b"raw bytes")}, "a[1]"),
        ({"a": np.ma.masked_array([1, 2], mask=[0, 1])}, "'a'"),
    ],
)
def test_unsupported_values_name_their_key_path(tmp_path, obj, where):
    with pytest.raises(TypeError, match=where.replace("[", r"\[").replace(".", r"\.")):
        save(obj, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_int_keys_round_trip_other_keys_and_cycles_are_refused(tmp_path):
    save({"state": {0: {"step": 3}, 1: np.ones(2)}, "7": "str"}, tmp_path / "ok.npz")
    back = load(tmp_path / "ok.npz")
    assert back["state"][0] == {"step": 3} and back["7"] == "str"
    assert list(back["state"]) == [0, 1] and back["state"][1].tolist() == [1.0, 1.0]
    os.remove(tmp_path / "ok.npz")
    with pytest.raises(TypeError, match=r"keys must be str or int, got float 3.5 in 'model'"):
        save({"model": {3.5: np.zeros(1)}}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match=r"both as int and as str"):
        save({"m": {3: 1, "3": 2}}, tmp_path / "x.npz")
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(TypeError, match=r"'a\[0\]' contains itself"):
        save(loop, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_saving_into_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({}, tmp_path / "nope" / "x.npz")


# ---- bad files -------------------------------------------------------------------------------


def rewrite_manifest(src: Path, dst: Path, change) -> None:
    """Copy a checkpoint, passing its manifest dict through `change`."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for name in zin.namelist():
            data = zin.read(name)
            if name == MANIFEST:
                manifest = json.loads(np.load(io.BytesIO(data)).tobytes())
                change(manifest)
                buf = io.BytesIO()
                np.save(buf, np.frombuffer(json.dumps(manifest).encode(), np.uint8))
                data = buf.getvalue()
            zout.writestr(name, data)


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.npz"
    save(state(), path)
    return path


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.3, 0.5, 0.9, 0.99])
def test_truncated_file_is_refused(good, tmp_path, fraction):
    blob = good.read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(blob[: int(len(blob) * fraction)])
    with pytest.raises(CheckpointError, match="cut.npz"):
        load(bad)
    bad.write_bytes(blob[:-1])
    with pytest.raises(CheckpointError, match="cut.npz"):
        load(bad)


def test_flipped_byte_in_array_data_is_refused(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"w": np.arange(1000, dtype=np.float32)}, path)
    blob = bytearray(path.read_bytes())
    i = blob.index(np.arange(500, 510, dtype=np.float32).tobytes())
    blob[i] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="ckpt.npz"):
        load(path)


def load_flipped(blob: bytes, path: Path, positions) -> Iterator[tuple[str, Any]]:
    """For each byte position in `positions` and each of three masks, write `blob` with that byte
    flipped to `path` and yield (a label, what load returned, or REFUSED for a CheckpointError)."""
    for i in positions:
        for mask in (0x01, 0x80, 0xFF):
            flipped = bytearray(blob)
            flipped[i] ^= mask
            path.write_bytes(bytes(flipped))
            try:
                got = load(path)
            except CheckpointError:
                got = REFUSED
            yield f"byte {i} ^ {mask:#x}", got


REFUSED = object()


def test_every_single_byte_flip_is_refused_or_harmless(tmp_path):
    """Zip leaves a few bytes unchecked (timestamps, attributes); no flip may give wrong data."""
    want = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, "s", None], "c": np.int64(7)}
    path = tmp_path / "ckpt.npz"
    save(want, path)
    blob = path.read_bytes()
    results = list(load_flipped(blob, tmp_path / "bad.npz", range(len(blob))))
    for label, got in results:
        if got is not REFUSED:
            assert_same(got, want, label)
    assert sum(got is REFUSED for _, got in results) > 0.75 * len(results)


def test_a_header_that_disagrees_with_the_manifest_is_refused(good, tmp_path):
    """A damaged shape must not make numpy allocate what the header claims."""
    bad = tmp_path / "bad.npz"

    def grow(manifest):
        manifest["root"]["items"]["model"]["items"]["fc1.weight"]["shape"] = [40000, 30000]

    rewrite_manifest(good, bad, grow)
    with pytest.raises(CheckpointError, match="corrupted"):
        load(bad)


def test_plain_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("epoch 3, loss 0.1\n")
    with pytest.raises(CheckpointError, match="notes.txt.*not a valid zip"):
        load(path)


def test_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, w=np.ones(3))
    with pytest.raises(CheckpointError, match=r"plain.npz.*no 'manifest.npy' entry"):
        load(path)


def test_npz_with_an_unrelated_manifest_entry_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, manifest=np.frombuffer(b'{"format": "other", "version": 1}', np.uint8))
    with pytest.raises(CheckpointError, match="not a tinygrad_kr checkpoint"):
        load(path)
    np.savez(path, manifest=np.ones(3))
    with pytest.raises(CheckpointError, match="not a uint8 vector"):
        load(path)


def test_newer_format_version_is_refused_naming_both_versions(good, tmp_path):
    newer = tmp_path / "newer.npz"
    rewrite_manifest(good, newer, lambda m: m.update(version=FORMAT_VERSION + 1))
    message = rf"newer.npz.*version {FORMAT_VERSION + 1}.*up to {FORMAT_VERSION}"
    with pytest.raises(CheckpointError, match=message):
        load(newer)
    same = tmp_path / "same.npz"
    rewrite_manifest(good, same, lambda m: None)
    assert_same(load(same), state())


def test_unknown_node_and_missing_entry_are_refused(good, tmp_path):
    bad = tmp_path / "bad.npz"
    rewrite_manifest(good, bad, lambda m: m["root"]["items"].update(epoch={"type": "set"}))
    with pytest.raises(CheckpointError, match="unknown node"):
        load(bad)
    rewrite_manifest(good, bad, lambda m: m["root"]["items"]["model"]["items"]["mask"].update(entry="x"))
    with pytest.raises(CheckpointError, match="missing entry 'x'"):
        load(bad)


# ---- hostile files: sizes and shapes ---------------------------------------------------------
# A checkpoint may come from anyone. Loading must never allocate far more than the file holds
# (a 60 KB file must not take 64 MB, a 1 MB file not 1 GB) and never end in a raw MemoryError.
# These files are built field by field: zipfile itself would not write sizes that lie.


def npy_bytes(descr: str, shape, payload: bytes = b"") -> bytes:
    """An npy entry whose header declares `descr` and `shape`, followed by `payload` as it is."""
    buf = io.BytesIO()
    npformat.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": tuple(shape)})
    return buf.getvalue() + payload


def manifest_npy(arrays: dict) -> bytes:
    """manifest.npy for a dict of arrays: key -> (entry name, dtype str, shape list)."""
    items = {
        key: {"type": "array", "entry": entry, "dtype": dtype, "shape": shape}
        for key, (entry, dtype, shape) in arrays.items()
    }
    text = json.dumps(
        {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": {"type": "dict", "items": items}}
    )
    return npy_bytes("|u1", (len(text),), text.encode())


def local_header(name: str, method: int, crc: int, stored: int, size: int) -> bytes:
    """A zip local file header (sizes as given, not as checked)."""
    return struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc, stored, size, len(name), 0
    ) + (name.encode())


def finish_zip(local: bytes, entries: list) -> bytes:
    """`local` followed by a central directory of (name, offset, method, crc, stored, size)."""
    central = b"".join(
        struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            0,
            method,
            0,
            0x21,
            crc,
            stored,
            size,
            len(name),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        + name.encode()
        for name, offset, method, crc, stored, size in entries
    )
    end = struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(local), 0
    )
    return local + central + end


def raw_zip(members: list) -> bytes:
    """Members (name, bytes as stored, method, crc, declared uncompressed size) one after another."""
    local, entries = b"", []
    for name, data, method, crc, size in members:
        entries.append((name, len(local), method, crc, len(data), size))
        local += local_header(name, method, crc, len(data), size) + data
    return finish_zip(local, entries)


def stored(name: str, data: bytes) -> tuple:
    return (name, data, zipfile.ZIP_STORED, zlib.crc32(data), len(data))


def bomb(name: str, prefix: bytes, n_zeros: int, size: int | None = None) -> tuple:
    """A deflate member of `prefix` and n_zeros zero bytes (compressed in 1 MB steps, about
    1000:1); it declares `size` uncompressed bytes (the true size by default)."""
    c, crc, chunk = zlib.compressobj(9, zlib.DEFLATED, -15), zlib.crc32(prefix), bytes(2**20)
    parts = [c.compress(prefix)]
    for _ in range(n_zeros // len(chunk)):
        parts.append(c.compress(chunk))
        crc = zlib.crc32(chunk, crc)
    true_size = len(prefix) + n_zeros // len(chunk) * len(chunk)
    return (name, b"".join(parts) + c.flush(), zipfile.ZIP_DEFLATED, crc, true_size if size is None else size)


BOMB = 64 * 2**20  # what a bomb inflates to; its file is about 64 KB


def load_measured(path: Path) -> tuple[Exception | None, int]:
    """(the CheckpointError load raised, or None; the peak bytes allocated meanwhile)."""
    tracemalloc.start()
    try:
        load(path)
        error = None
    except CheckpointError as e:
        error = e
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


def assert_refused_cheaply(path: Path, match: str) -> None:
    """load(path) raises CheckpointError matching `match` and allocates at most about the file size."""
    error, peak = load_measured(path)
    size = path.stat().st_size
    assert error is not None, "the hostile file was loaded"
    assert re.search(match, str(error)) and path.name in str(error), str(error)
    assert peak < 2 * size + 2**20, f"{peak} bytes allocated to refuse a {size} byte file"


def test_deflated_array_that_inflates_far_beyond_the_file_is_refused(tmp_path):
    """The manifest, the npy header and the zip sizes all agree on 64 MB; the file is 64 KB."""
    n = BOMB // 4
    path = tmp_path / "bomb.npz"
    members = [
        stored(MANIFEST, manifest_npy({"w": ("arrays/0.npy", "<f4", [n])})),
        bomb("arrays/0.npy", npy_bytes("<f4", (n,)), BOMB),
    ]
    path.write_bytes(raw_zip(members))
    assert path.stat().st_size < 2**17
    assert_refused_cheaply(path, "compressed")


def test_manifest_that_inflates_beyond_its_npy_header_is_refused(tmp_path):
    """manifest.npy declares a few hundred bytes of JSON, then inflates to 64 MB of zeros."""
    good_manifest = manifest_npy({})
    path = tmp_path / "bomb.npz"
    path.write_bytes(raw_zip([bomb(MANIFEST, good_manifest, BOMB)]))
    assert_refused_cheaply(path, "compressed")


def test_deflate_stream_longer_than_its_declared_size_is_refused(tmp_path):
    """The zip entry declares the true npy size, but its stream would inflate to 64 MB."""
    want = np.arange(4, dtype=np.float32)
    entry = npy_bytes("<f4", (4,), want.tobytes())
    path = tmp_path / "long.npz"
    members = [
        stored(MANIFEST, manifest_npy({"w": ("arrays/0.npy", "<f4", [4])})),
        bomb("arrays/0.npy", entry, BOMB, size=len(entry))[:3] + (zlib.crc32(entry), len(entry)),
    ]  # the CRC of the declared bytes: zipfile alone would read them and stop
    path.write_bytes(raw_zip(members))
    assert_refused_cheaply(path, "compressed")


def test_stored_entry_with_more_bytes_than_its_header_declares_is_refused(tmp_path):
    entry = npy_bytes("<f4", (4,), np.zeros(4, np.float32).tobytes() + b"\0" * 1000)
    path = tmp_path / "long.npz"
    path.write_bytes(
        raw_zip(
            [
                stored(MANIFEST, manifest_npy({"w": ("arrays/0.npy", "<f4", [4])})),
                stored("arrays/0.npy", entry),
            ]
        )
    )
    assert_refused_cheaply(path, r"'arrays/0.npy' holds 1\d\d\d bytes .* declares 16 bytes")


def test_stored_entry_whose_declared_size_differs_from_its_stored_size_is_refused(tmp_path):
    entry = npy_bytes("<f4", (4,), np.zeros(4, np.float32).tobytes())
    name, data, method, crc, _ = stored("arrays/0.npy", entry)
    path = tmp_path / "lie.npz"
    path.write_bytes(
        raw_zip(
            [
                stored(MANIFEST, manifest_npy({"w": ("arrays/0.npy", "<f4", [4])})),
                (name, data, method, crc, 2**31),
            ]
        )
    )
    assert_refused_cheaply(path, "arrays/0.npy")


def test_overlapping_entries_cannot_multiply_the_file(tmp_path):
    """The "quoted overlap" zip bomb, uncompressed: entry i's bytes hold the local headers and
    data of entries i+1.., so 40 entries in a 1 MB file would be 40 MB of arrays."""
    k, payload = 40, bytes(2**20)
    blob, entries, arrays = payload, [], {}
    for i in reversed(range(k)):  # wrap the entries after i into entry i
        name, npy = f"arrays/{i}.npy", npy_bytes("|u1", (len(blob),), blob)
        head = local_header(name, 0, zlib.crc32(npy), len(npy), len(npy))
        entries = [(name, -len(head), 0, zlib.crc32(npy), len(npy), len(npy))] + entries
        arrays[f"a{i}"] = (name, "|u1", [len(blob)])
        blob = head + npy
    # each entry's offset is where its header ends up: from the end of the blob, it is a fixed distance
    for j, (name, _, method, crc, size, _) in enumerate(entries):
        entries[j] = (name, len(blob) - (30 + len(name) + size), method, crc, size, size)
    manifest = manifest_npy(arrays)
    local = blob + local_header(MANIFEST, 0, zlib.crc32(manifest), len(manifest), len(manifest)) + manifest
    entries.append((MANIFEST, len(blob), 0, zlib.crc32(manifest), len(manifest), len(manifest)))
    path = tmp_path / "overlap.npz"
    path.write_bytes(finish_zip(local, entries))
    with zipfile.ZipFile(path) as zf:  # a well-formed zip as far as zipfile can tell
        assert len(zf.read("arrays/1.npy")) > len(payload)
    assert_refused_cheaply(path, "overlap")


ABSURD_SHAPES = [(2**40,), (2**31, 2**31), (2**62, 2**62, 0), (3, 2**63)]


@pytest.mark.parametrize("shape", ABSURD_SHAPES)
def test_absurd_shape_in_both_manifest_and_npy_header_is_refused(tmp_path, shape):
    """The manifest and the header agree on a shape far larger than the 16 bytes of data."""
    entry = npy_bytes("<f4", shape, bytes(16))
    path = tmp_path / "absurd.npz"
    path.write_bytes(
        raw_zip(
            [
                stored(MANIFEST, manifest_npy({"w": ("arrays/0.npy", "<f4", list(shape))})),
                stored("arrays/0.npy", entry),
            ]
        )
    )
    assert_refused_cheaply(path, "shape")


@pytest.mark.parametrize("shape", [[-4], [4.0], ["4"], [True, 4], 4, [1] * 65, None])
def test_malformed_shape_in_the_manifest_is_refused(tmp_path, shape):
    entry = npy_bytes("<f4", (4,), bytes(16))
    path = tmp_path / "odd.npz"
    path.write_bytes(
        raw_zip(
            [
                stored(MANIFEST, manifest_npy({"w": ("arrays/0.npy", "<f4", shape)})),
                stored("arrays/0.npy", entry),
            ]
        )
    )
    assert_refused_cheaply(path, "shape")


def test_manifest_whose_npy_header_claims_a_terabyte_is_refused(tmp_path):
    text = b'{"format": "tinygrad_kr.checkpoint", "version": 1, "root": 1}'
    path = tmp_path / "huge_manifest.npz"
    path.write_bytes(raw_zip([stored(MANIFEST, npy_bytes("|u1", (2**40,), text))]))
    assert_refused_cheaply(path, "manifest.npy")


def test_deeply_nested_manifest_is_refused(tmp_path):
    text = (
        b'{"format": "tinygrad_kr.checkpoint", "version": 1, "root": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    )
    path = tmp_path / "deep.npz"
    path.write_bytes(raw_zip([stored(MANIFEST, npy_bytes("|u1", (len(text),), text))]))
    assert_refused_cheaply(path, "deep.npz")


# ---- atomicity -------------------------------------------------------------------------------


def test_failed_save_keeps_the_previous_checkpoint_and_leaves_no_temp_file(good, tmp_path):
    before = good.read_bytes()
    big = {f"layer{i}": np.full((256, 256), i, np.float32) for i in range(8)}
    with pytest.raises(TypeError, match="layer7.bad"):
        save({**big, "layer7": {"ok": np.ones(9), "bad": Opaque()}}, good)
    assert good.read_bytes() == before
    assert os.listdir(tmp_path) == ["good.npz"]


def test_interrupted_save_removes_its_temp_file(good, tmp_path, monkeypatch):
    before = good.read_bytes()
    calls = []
    write_array = serialize.npformat.write_array

    def interrupt(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return write_array(*args, **kwargs)

    monkeypatch.setattr(serialize.npformat, "write_array", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save({"a": np.ones(3), "b": np.ones(3), "c": np.ones(3)}, good)
    assert good.read_bytes() == before
    assert os.listdir(tmp_path) == ["good.npz"]


BOTH_FORMATS = pytest.mark.parametrize("name", ["ckpt.npz", "model.safetensors"])


@BOTH_FORMATS
def test_failed_rename_removes_the_temp_file(tmp_path, name):
    (tmp_path / name).mkdir()
    with pytest.raises(OSError):
        save({"a": np.ones(3)}, tmp_path / name)
    assert os.listdir(tmp_path) == [name]


@BOTH_FORMATS
def test_data_is_fsynced_before_the_rename(tmp_path, monkeypatch, name):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    save({"a": np.ones(3)}, tmp_path / name)
    assert events[:2] == ["fsync", "replace"]


@BOTH_FORMATS
def test_interrupted_before_the_rename_keeps_the_old_file(tmp_path, monkeypatch, name):
    path = tmp_path / name
    save({"a": np.zeros(3)}, path)
    before = path.read_bytes()

    def interrupt(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save({"a": np.ones(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [name]


CHILD = """
    import sys, time
    import numpy as np
    from tinygrad_kr import serialize

    write_array = serialize.npformat.write_array

    def write_then_hang(*args, **kwargs):
        write_array(*args, **kwargs)
        print("writing", flush=True)  # the temp file now holds a partial zip
        time.sleep(600)

    serialize.npformat.write_array = write_then_hang
    big = {"w%d" % i: np.full(25_000_000, i, np.float32) for i in range(2)}  # 200 MB
    serialize.save(big, sys.argv[1])
"""


def run_child(script: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args], stdout=subprocess.PIPE, text=True, env=env
    )


def test_process_killed_mid_save_leaves_previous_checkpoint_intact(good, tmp_path):
    before = good.read_bytes()
    child = run_child(CHILD, str(good))
    try:
        assert child.stdout.readline() == "writing\n"
        temps = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
        assert len(temps) == 1 and temps[0].stat().st_size >= 100_000_000  # really mid-write
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert good.read_bytes() == before
    assert_same(load(good), state())
    with pytest.raises(CheckpointError):  # what a non-atomic save would have left at the path
        load(temps[0])


LOOP_CHILD = """
    import sys
    import numpy as np
    from tinygrad_kr import serialize

    big = {"w": np.full(50_000_000, 1.0, np.float32), "epoch": 0}  # 200 MB
    print("saving", flush=True)
    for epoch in range(1, 1000):
        big["epoch"] = epoch
        serialize.save(big, sys.argv[1])
"""


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.05, 0.3, 0.8])
def test_killed_at_any_moment_the_path_holds_one_whole_checkpoint(tmp_path, delay):
    path = tmp_path / "ckpt.npz"
    save({"epoch": -1}, path)
    child = run_child(LOOP_CHILD, str(path))
    try:
        assert child.stdout.readline() == "saving\n"
        time.sleep(delay)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    got = load(path)
    if got["epoch"] == -1:
        assert got == {"epoch": -1}
    else:
        assert got["epoch"] >= 1 and got["w"].shape == (50_000_000,) and (got["w"] == 1.0).all()


# ---- no pickle -------------------------------------------------------------------------------


def test_module_never_uses_pickle():
    tree = ast.parse(Path(serialize.__file__).read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {alias.name for alias in node.names} | {getattr(node, "module", None) or ""}
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {"read_array", "write_array"}:
            flag = [k.value for k in node.keywords if k.arg == "allow_pickle"]
            assert len(flag) == 1 and isinstance(flag[0], ast.Constant) and flag[0].value is False
    assert not [name for name in names if "pickle" in name]
