"""Datasets: MNIST and Fashion-MNIST from IDX files, an embedded mini MNIST, and the course's toy sets.

    x, y = MNIST(subset="mini")              # (5000, 28, 28) uint8, (5000,) int64, no files needed
    x, y = MNIST(train=False)                # the full set from <root>/mnist/*.gz
    X, y = spiral(seed=0)                    # (300, 2) float32, (300,) int64

The data root is, in order: the `root` argument, the environment variable TINYGRAD_KR_DATA,
`~/.tinygrad_kr/datasets`. MNIST files live in `<root>/mnist/`, Fashion-MNIST files in
`<root>/fashion-mnist/`, under their standard gzip names; each is checked against its md5.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import urllib.request
import zlib
from pathlib import Path

import numpy as np

from .random import get_generator

_SPLITS = {
    True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

_MD5 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
}

_MIRRORS = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    ],
}

_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}
_TIMEOUT = 5.0  # seconds per request: an offline machine should fail fast
_MINI = Path(__file__).resolve().parent / "_data" / "mnist-mini.npz"

# IDX type codes -> big-endian numpy dtypes
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


# ---- IDX files ---------------------------------------------------------------------------------


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not, told apart by the magic bytes).

    Returns an array of the header's shape, e.g. (N, 28, 28) uint8 for images, (N,) uint8 for
    labels, in native byte order. Raises ValueError naming the file when the gzip stream or the
    IDX header is broken or the payload length disagrees with the header.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise ValueError(f"load_idx: {path} is a damaged or truncated gzip file ({e})") from None
    if len(raw) < 4:
        raise ValueError(f"load_idx: {path} is truncated: {len(raw)} bytes, an IDX header needs 4 or more")
    if raw[:2] != b"\x00\x00":
        raise ValueError(
            f"load_idx: {path} is not an IDX file: its magic number starts with "
            f"0x{raw[:2].hex()}, expected 0x0000"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise ValueError(f"load_idx: {path} has unknown IDX data type code 0x{code:02X} (known: {known})")
    if ndim == 0:
        raise ValueError(f"load_idx: {path} declares 0 dimensions")
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise ValueError(
            f"load_idx: {path} is truncated inside its header: {ndim} dimensions need {start} bytes, "
            f"the file has {len(raw)}"
        )
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = _IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    got = len(raw) - start
    if got != expected:
        what = "truncated" if got < expected else "longer than its header says"
        raise ValueError(
            f"load_idx: {path} is {what}: shape {shape} of {dtype.name} needs {expected} bytes of data, "
            f"found {got}"
        )
    return np.frombuffer(raw, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))


# ---- MNIST and Fashion-MNIST -------------------------------------------------------------------


def _root(root: str | os.PathLike | None) -> Path:
    return Path(root or os.environ.get("TINYGRAD_KR_DATA") or "~/.tinygrad_kr/datasets").expanduser()


def _md5(path: Path) -> str:
    h = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _where_to_put(name: str, folder: Path, files: list[str]) -> str:
    lines = "\n".join(f"  {f}  (md5 {_MD5[name][f]})" for f in files)
    return (
        f"Put these files into {folder}:\n{lines}\n"
        f"(or pass root=... / set TINYGRAD_KR_DATA to a folder holding {name}/)."
    )


def _download(name: str, folder: Path, files: list[str]) -> None:
    """Fetch `files` into `folder` from the public mirrors; RuntimeError listing what is missing."""
    mirrors = list(_MIRRORS[name])
    failed, errors = [], []
    for f in files:
        for base in list(mirrors):
            url = base + f
            try:
                with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:
                    data = response.read()
            except (OSError, ValueError) as e:  # URLError, timeouts, refused connections
                errors.append(f"{url}: {e}")
                mirrors.remove(base)  # an unreachable mirror is not tried again for the next files
                continue
            if hashlib.md5(data, usedforsecurity=False).hexdigest() != _MD5[name][f]:
                errors.append(f"{url}: md5 mismatch")
                continue
            folder.mkdir(parents=True, exist_ok=True)
            part = folder / (f + ".part")
            part.write_bytes(data)
            part.replace(folder / f)
            break
        else:
            failed.append(f)
    if failed:
        hint = "\nMNIST(subset='mini') works without any files." if name == "mnist" else ""
        raise RuntimeError(
            f"{_TITLES[name]}: could not download {len(failed)} file(s) (is this machine offline?).\n"
            f"{_where_to_put(name, folder, failed)}\n"
            "Tried:\n  " + "\n  ".join(errors) + hint
        )


def _load(name: str, root: str | os.PathLike | None, train: bool, download: bool) -> tuple:
    """(images (N, 28, 28) uint8, labels (N,) int64) of one split, downloading missing files."""
    folder = _root(root) / name
    files = [folder / f for f in _SPLITS[bool(train)]]
    missing = [p.name for p in files if not p.is_file()]
    if missing and not download:
        raise FileNotFoundError(
            f"{_TITLES[name]}: files missing and download=False.\n{_where_to_put(name, folder, missing)}"
        )
    if missing:
        _download(name, folder, missing)
    for path in files:
        got, expected = _md5(path), _MD5[name][path.name]
        if got != expected:
            raise ValueError(
                f"{_TITLES[name]}: {path} has md5 {got}, expected {expected}; the file is damaged or not "
                "the original: delete it and download it again"
            )
    images, labels = load_idx(files[0]), load_idx(files[1])
    return images, labels.astype(np.int64)


def MNIST(
    root: str | os.PathLike | None = None,
    train: bool = True,
    download: bool = True,
    subset: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST handwritten digits: images (N, 28, 28) uint8 in 0..255, labels (N,) int64 in 0..9.

    N is 60000 (train) or 10000 (test). subset="mini" returns the embedded subset instead, with no
    network or files: 5000 class-balanced train images or the first 1000 test images.
    """
    if subset is None:
        return _load("mnist", root, train, download)
    if subset != "mini":
        raise ValueError(f"MNIST: unknown subset {subset!r}; expected None or 'mini'")
    with np.load(_MINI, allow_pickle=False) as f:
        return (f["x_train"], f["y_train"]) if train else (f["x_test"], f["y_test"])


def FashionMNIST(
    root: str | os.PathLike | None = None,
    train: bool = True,
    download: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Zalando's Fashion-MNIST: images (N, 28, 28) uint8, labels (N,) int64 in 0..9.

    N is 60000 (train) or 10000 (test); label names are in FASHION_MNIST_CLASSES.
    """
    return _load("fashion-mnist", root, train, download)


FASHION_MNIST_CLASSES = tuple(
    "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot".split(",")
)


# ---- toy sets ----------------------------------------------------------------------------------


def _gate(outputs: list[int]) -> tuple[np.ndarray, np.ndarray]:
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return X, np.array(outputs, dtype=np.float32).reshape(4, 1)


def xor() -> tuple[np.ndarray, np.ndarray]:
    """XOR truth table: X (4, 2) float32 rows 00, 01, 10, 11; y (4, 1) float32 = [0, 1, 1, 0]."""
    return _gate([0, 1, 1, 0])


def and_gate() -> tuple[np.ndarray, np.ndarray]:
    """AND truth table: X (4, 2) float32; y (4, 1) float32 = [0, 0, 0, 1]."""
    return _gate([0, 0, 0, 1])


def or_gate() -> tuple[np.ndarray, np.ndarray]:
    """OR truth table: X (4, 2) float32; y (4, 1) float32 = [0, 1, 1, 1]."""
    return _gate([0, 1, 1, 1])


def nand_gate() -> tuple[np.ndarray, np.ndarray]:
    """NAND truth table: X (4, 2) float32; y (4, 1) float32 = [1, 1, 1, 0]."""
    return _gate([1, 1, 1, 0])


# Five images per block, side by side; 1 is ink.
_DIGITS_CLEAN = """
01100 11110 11110 00010 11111
00100 00001 00001 00110 10000
00100 01110 01110 01010 11110
00100 10000 00001 11111 00001
01110 11111 11110 00010 11110
"""
_DIGITS_NOISY = """
00110 11110 11110 01110 01111
00110 00001 00001 01000 01000
01010 01110 01110 01110 01110
00010 10001 10001 00010 00010
01110 11111 11110 01110 11110
"""


def _parse_digits(block: str) -> np.ndarray:
    rows = [line.split() for line in block.strip().splitlines()]
    return np.array([[[int(c) for c in row[k]] for row in rows] for k in range(5)], dtype=np.float32)


def digits5x5() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 5x5 digits 1..5 of Phil Kim's "MATLAB Deep Learning" (multi-class and DeepReLU examples).

    Returns x_train (5, 5, 5) float32 (image k is digit k + 1, pixels 0/1, 1 = ink), y_train (5,)
    int64 = [0, 1, 2, 3, 4], and x_test (5, 5, 5), y_test (5,): the book's contaminated versions
    of the same digits (its RealMultiClass example), 1 to 12 pixels off. The fourth test image is
    far from the clean 4 and closer to a 5, so a network may well read it as a 5.
    Flatten with x.reshape(5, 25) (row-major; MATLAB's reshape reads columns first).
    """
    labels = np.arange(5, dtype=np.int64)
    return _parse_digits(_DIGITS_CLEAN), labels, _parse_digits(_DIGITS_NOISY), labels.copy()


def spiral(
    n_per_class: int = 100, classes: int = 3, seed: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The spiral toy set of CS231n / "Deep Learning from Scratch": interleaved noisy spiral arms.

    Arm k holds n_per_class points at radius r = 0..1 and angle 4k + 4r + N(0, 0.2^2), placed at
    (r sin t, r cos t). Returns X (classes * n_per_class, 2) float32 and y (N,) int64, class by
    class. Noise comes from `np.random.default_rng(seed)`, or the project generator if seed is None.
    """
    rng = np.random.default_rng(seed) if seed is not None else get_generator()
    y = np.repeat(np.arange(classes, dtype=np.int64), n_per_class)
    r = np.tile(np.linspace(0.0, 1.0, n_per_class), classes)
    t = 4.0 * y + 4.0 * r + 0.2 * rng.standard_normal(y.shape[0])
    X = np.stack([r * np.sin(t), r * np.cos(t)], axis=1).astype(np.float32)
    return X, y
