"""IDX reading, MNIST/Fashion-MNIST loading (md5, root, offline errors), the mini subset, toy sets."""

import gzip
import io
import struct
import urllib.error
from pathlib import Path

import numpy as np
import pytest

import tinygrad_kr as tg
from tinygrad_kr import datasets
from tinygrad_kr.datasets import (
    MNIST,
    FashionMNIST,
    and_gate,
    digits5x5,
    load_idx,
    nand_gate,
    or_gate,
    spiral,
    xor,
)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
MNIST_FILES = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
]


def _shared(name):
    folder = SHARED / name
    if not all((folder / f).is_file() for f in MNIST_FILES):
        pytest.skip(f"real {name} files not found in {folder}")
    return folder


def _idx_bytes(a, code):
    header = b"\x00\x00" + bytes([code, a.ndim]) + struct.pack(f">{a.ndim}I", *a.shape)
    return header + a.astype(a.dtype.newbyteorder(">")).tobytes()


@pytest.fixture
def offline(monkeypatch):
    """Every download attempt fails as on a machine without network; returns the URLs tried."""
    tried = []

    def urlopen(url, timeout=None):
        tried.append(url)
        raise urllib.error.URLError("offline (test)")

    monkeypatch.setattr(datasets.urllib.request, "urlopen", urlopen)
    return tried


# ---- load_idx ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, code",
    [
        (np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4), 0x08),
        (np.array([-3, 0, 7], dtype=np.int8), 0x09),
        (np.array([[-300, 2], [3, 30000]], dtype=np.int16), 0x0B),
        (np.array([1, -2, 2**30], dtype=np.int32), 0x0C),
        (np.array([[0.5, -1.25]], dtype=np.float32), 0x0D),
        (np.array([np.pi, -1e300]), 0x0E),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_round_trip(tmp_path, a, code, compress):
    data = _idx_bytes(a, code)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    path.write_bytes(gzip.compress(data) if compress else data)
    b = load_idx(path)
    assert b.shape == a.shape and b.dtype == a.dtype and b.dtype.isnative
    np.testing.assert_array_equal(b, a)
    b[...] = 0  # writable, owns its memory


def test_load_idx_sniffs_gzip_by_magic_not_name(tmp_path):
    a = np.arange(6, dtype=np.uint8)
    path = tmp_path / "plain-name.idx"
    path.write_bytes(gzip.compress(_idx_bytes(a, 0x08)))
    np.testing.assert_array_equal(load_idx(path), a)


GOOD = _idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4), 0x08)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00\x00", "truncated"),
        (b"\x01\x00\x08\x01" + GOOD[4:], "magic number"),
        (b"\x00\x00\x07\x02" + GOOD[4:], "data type code 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (GOOD[:9], "inside its header"),
        (GOOD[:-1], "truncated: shape \\(3, 4\\) of uint8 needs 12 bytes of data, found 11"),
        (GOOD + b"\x00", "longer than its header says"),
        (gzip.compress(GOOD)[:-10], "gzip"),
        (b"\x1f\x8b" + b"\x00" * 20, "gzip"),
    ],
)
def test_load_idx_rejects_malformed_files(tmp_path, data, message):
    path = tmp_path / "bad-file.idx"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=message) as info:
        load_idx(path)
    assert "bad-file.idx" in str(info.value)


# ---- MNIST / Fashion-MNIST: roots, md5, offline errors -----------------------------------------


def test_md5_mismatch_names_the_file(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in MNIST_FILES:
        (folder / f).write_bytes(gzip.compress(GOOD))
    with pytest.raises(ValueError, match="md5") as info:
        MNIST(root=tmp_path, download=False)
    assert "train-images-idx3-ubyte.gz" in str(info.value)
    assert "f68b3c2dcbeaaa9fbdd348bbdeb94873" in str(info.value)


def test_offline_error_names_files_and_folder(tmp_path, offline):
    with pytest.raises(RuntimeError) as info:
        MNIST(root=tmp_path, train=False)
    msg = str(info.value)
    assert str(tmp_path / "mnist") in msg
    assert "t10k-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg
    assert "train-images" not in msg.split("Tried:")[0]
    assert "subset='mini'" in msg
    assert offline and all(url.startswith("http") for url in offline)
    # An unreachable mirror is tried once, not once per file.
    assert len(offline) == len(set(u.rsplit("/", 1)[0] for u in offline))
    assert not (tmp_path / "mnist").exists()


def test_offline_error_fashion_mnist(tmp_path, offline):
    with pytest.raises(RuntimeError, match="Fashion-MNIST") as info:
        FashionMNIST(root=tmp_path)
    assert str(tmp_path / "fashion-mnist") in str(info.value)
    assert "train-labels-idx1-ubyte.gz" in str(info.value)


def test_download_false_names_missing_files(tmp_path, offline):
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte.gz"):
        MNIST(root=tmp_path, download=False)
    assert offline == []


def test_root_from_env_var_and_argument_precedence(tmp_path, monkeypatch, offline):
    env_root, arg_root = tmp_path / "env", tmp_path / "arg"
    monkeypatch.setenv("TINYGRAD_KR_DATA", str(env_root))
    with pytest.raises(FileNotFoundError, match=str(env_root / "mnist")):
        MNIST(download=False)
    with pytest.raises(FileNotFoundError, match=str(arg_root / "mnist")):
        MNIST(root=arg_root, download=False)
    monkeypatch.delenv("TINYGRAD_KR_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "home" / ".tinygrad_kr" / "datasets")):
        MNIST(download=False)


def test_env_var_root_loads_real_files(tmp_path, monkeypatch):
    src = _shared("mnist")
    (tmp_path / "mnist").symlink_to(src, target_is_directory=True)
    monkeypatch.setenv("TINYGRAD_KR_DATA", str(tmp_path))
    x, y = MNIST(train=False, download=False)
    assert x.shape == (10000, 28, 28) and y.shape == (10000,)


def test_download_writes_checked_files(tmp_path, monkeypatch):
    src = _shared("mnist")
    tried = []

    def urlopen(url, timeout=None):
        tried.append(url)
        if len(tried) == 1:
            raise urllib.error.URLError("first mirror down (test)")
        return io.BytesIO((src / url.rsplit("/", 1)[1]).read_bytes())

    monkeypatch.setattr(datasets.urllib.request, "urlopen", urlopen)
    x, y = MNIST(root=tmp_path, train=False)
    assert x.shape == (10000, 28, 28) and y.dtype == np.int64
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == MNIST_FILES[2:]
    assert len(tried) == 3  # the dead mirror once, then one request per file


def test_download_rejects_corrupt_payload(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets.urllib.request, "urlopen", lambda url, timeout=None: io.BytesIO(b"junk"))
    with pytest.raises(RuntimeError, match="md5 mismatch"):
        MNIST(root=tmp_path, train=False)
    assert not (tmp_path / "mnist").exists()


# ---- full sets from the shared data folder -----------------------------------------------------


@pytest.mark.parametrize("name, loader", [("mnist", MNIST), ("fashion-mnist", FashionMNIST)])
def test_full_sets_load(name, loader):
    _shared(name)
    for train, n in ((True, 60000), (False, 10000)):
        x, y = loader(root=SHARED, train=train, download=False)
        assert x.shape == (n, 28, 28) and x.dtype == np.uint8
        assert y.shape == (n,) and y.dtype == np.int64
        counts = np.bincount(y, minlength=10)
        assert counts.sum() == n and len(counts) == 10
        if name == "fashion-mnist":
            assert (counts == n // 10).all()
        assert x.max() == 255 and x.min() == 0


# ---- embedded mini MNIST -----------------------------------------------------------------------


def test_mini_subset_needs_no_files_or_network(tmp_path, monkeypatch, offline):
    monkeypatch.setenv("TINYGRAD_KR_DATA", str(tmp_path / "nowhere"))
    x, y = MNIST(subset="mini")
    xt, yt = MNIST(subset="mini", train=False)
    assert x.shape == (5000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (5000,) and y.dtype == np.int64
    assert xt.shape == (1000, 28, 28) and xt.dtype == np.uint8
    assert yt.shape == (1000,) and yt.dtype == np.int64
    assert (np.bincount(y, minlength=10) == 500).all()
    assert set(np.unique(yt)) == set(range(10))
    assert x.max() == 255 and len(np.unique(x.reshape(5000, -1), axis=0)) == 5000
    assert offline == [] and not (tmp_path / "nowhere").exists()


def test_mini_subset_is_a_subset_of_mnist():
    _shared("mnist")
    x, y = MNIST(root=SHARED, download=False)
    xt, yt = MNIST(root=SHARED, train=False, download=False)
    with np.load(datasets._MINI, allow_pickle=False) as f:
        index = f["train_index"]
        np.testing.assert_array_equal(f["x_train"], x[index])
        np.testing.assert_array_equal(f["y_train"], y[index])
        np.testing.assert_array_equal(f["x_test"], xt[:1000])
        np.testing.assert_array_equal(f["y_test"], yt[:1000])


def test_mini_file_is_small():
    assert datasets._MINI.stat().st_size < 2_000_000


def test_unknown_subset():
    with pytest.raises(ValueError, match="subset"):
        MNIST(subset="tiny")


# ---- toy sets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fn, table",
    [(xor, [0, 1, 1, 0]), (and_gate, [0, 0, 0, 1]), (or_gate, [0, 1, 1, 1]), (nand_gate, [1, 1, 1, 0])],
)
def test_gates(fn, table):
    X, y = fn()
    assert X.shape == (4, 2) and X.dtype == np.float32
    assert y.shape == (4, 1) and y.dtype == np.float32
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y[:, 0], table)


def test_digits5x5():
    x, y, xt, yt = digits5x5()
    assert x.shape == xt.shape == (5, 5, 5) and x.dtype == xt.dtype == np.float32
    np.testing.assert_array_equal(y, np.arange(5))
    np.testing.assert_array_equal(yt, np.arange(5))
    assert y.dtype == yt.dtype == np.int64
    assert set(np.unique(x)) == set(np.unique(xt)) == {0.0, 1.0}
    assert len(np.unique(x.reshape(5, 25), axis=0)) == 5
    flips = (x != xt).reshape(5, 25).sum(axis=1)
    assert (flips > 0).all()
    # The digit 1 is a vertical stroke in the middle column with a base.
    np.testing.assert_array_equal(x[0][:, 2], 1)
    np.testing.assert_array_equal(x[0][4], [0, 1, 1, 1, 0])


def test_spiral():
    X, y = spiral(n_per_class=50, classes=4, seed=0)
    assert X.shape == (200, 2) and X.dtype == np.float32
    assert y.shape == (200,) and y.dtype == np.int64
    assert (np.bincount(y) == 50).all()
    radius = np.linalg.norm(X, axis=1).reshape(4, 50)
    np.testing.assert_allclose(radius, np.tile(np.linspace(0, 1, 50), (4, 1)), atol=1e-6)
    np.testing.assert_array_equal(X, spiral(n_per_class=50, classes=4, seed=0)[0])
    assert not np.array_equal(X, spiral(n_per_class=50, classes=4, seed=1)[0])


def test_spiral_uses_project_generator_without_seed():
    tg.manual_seed(3)
    a, _ = spiral()
    tg.manual_seed(3)
    b, _ = spiral()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (300, 2)
