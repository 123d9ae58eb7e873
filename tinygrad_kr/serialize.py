"""Checkpoints: `save(obj, path)` and `load(path)`, one `.npz` (zip) file and no pickle.

What can be saved: nested dicts with str or int keys, lists and tuples, whose leaves are numpy arrays,
numpy scalars, Tensors (anything with an ndarray `.data` and a `.grad`; saved as `.data`) and
Python None / bool / int / float / str. For example
`{"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}`.

`load` gives the same structure back, with arrays where Tensors were (copy them into a model
with `load_state_dict`). Dtypes, shapes and values are exact; tuples come back as tuples, dict
subclasses as dicts; an array saved under two keys (tied weights) is stored once and comes back
as one shared array.

File layout (version 1): a zip without compression, readable by `np.load`:
    manifest.npy   uint8 array holding UTF-8 JSON:
                   {"format": "tinygrad_kr.checkpoint", "version": 1, "root": <node>}
    arrays/<i>.npy one npy entry per distinct array
A node is a JSON null/bool/number/string (a plain value), a JSON list (a Python list), or an
object: {"type": "dict", "items": {key: node}, "int_keys": [keys that were ints]},
{"type": "tuple", "items": [node]}, or
{"type": "array" | "scalar", "entry": name, "dtype": dtype.str, "shape": [...]}.
"""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from typing import Any

import numpy as np
from numpy.lib import format as npformat

__all__ = ["save", "load", "CheckpointError", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "tinygrad_kr.checkpoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.npy"

# bool, ints, floats, complex, fixed-width str/bytes, datetimes: all stored by npy without pickle
_ARRAY_KINDS = "biufcUSmM"
_HEADER_READERS = {(1, 0): npformat.read_array_header_1_0, (2, 0): npformat.read_array_header_2_0}


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint: truncated, corrupted, foreign or too new."""


# ---- save ------------------------------------------------------------------------------------


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` (a state dict, see the module docstring) to `path`, atomically.

    The path is used exactly as given: no `.npz` is appended (unlike `np.savez`). The data goes
    to a temporary file next to `path`, is flushed and fsynced, then renamed over `path`, so a
    crash or an error mid-save leaves any previous checkpoint at `path` intact. On an error the
    temporary file is removed; only a hard kill (SIGKILL, power loss) can leave one behind, named
    `.<name>.<random>.tmp`.

    Raises TypeError, naming the key path (e.g. "model.fc1.weight"), for a value that cannot be
    saved: object arrays, other objects, non-str dict keys, cycles.
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist (saving to {path!r})")
    tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    # os.open with 0o666 lets the umask pick the final permissions, as a plain open() would
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
                root = _Writer(zf).encode(obj, "")
                manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root}
                text = json.dumps(manifest, ensure_ascii=True)
                with zf.open(MANIFEST, "w") as entry:
                    npformat.write_array(entry, np.frombuffer(text.encode(), np.uint8), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Writer:
    """Walks the object once: arrays go to the zip as they are met, the rest to JSON nodes."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        self.entries: dict[int, tuple[dict, np.ndarray]] = {}  # id(array) -> (node, array kept alive)
        self.open_containers: set[int] = set()  # ids of the containers on the current path: cycles

    def encode(self, x: Any, where: str) -> Any:
        if isinstance(x, np.generic):  # before the Python types: np.float64 is a float
            return self.array(np.asarray(x), where, "scalar")
        if x is None or isinstance(x, (str, bool, int, float)):
            return x
        if isinstance(x, np.ndarray):
            return self.array(x, where, "array")
        data = getattr(x, "data", None)
        if isinstance(data, np.ndarray) and hasattr(x, "grad"):
            return self.array(data, where, "array")
        if isinstance(x, (dict, list, tuple)):
            if id(x) in self.open_containers:
                raise TypeError(f"save: {_name(where)} contains itself (a cycle); cannot save it")
            self.open_containers.add(id(x))
            try:
                return self.container(x, where)
            finally:
                self.open_containers.discard(id(x))
        raise TypeError(
            f"save: cannot save {_name(where)} of type {type(x).__module__}.{type(x).__qualname__}; "
            "supported: dict (str or int keys), list, tuple, numpy array/scalar, Tensor, None, bool, int, "
            "float, str"
        )

    def container(self, x: dict | list | tuple, where: str) -> Any:
        if isinstance(x, dict):
            items, int_keys = {}, []
            for key, value in x.items():
                if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
                    key = str(int(key))  # optimizer state is keyed by parameter index
                    int_keys.append(key)
                elif not isinstance(key, str):
                    raise TypeError(
                        f"save: dict keys must be str or int, got {type(key).__name__} {key!r:.40} "
                        f"in {_name(where)}"
                    )
                if key in items:
                    raise TypeError(f"save: key {key!r} appears both as int and as str in {_name(where)}")
                items[key] = self.encode(value, f"{where}.{key}" if where else key)
            node = {"type": "dict", "items": items}
            if int_keys:
                node["int_keys"] = int_keys
            return node
        items = [self.encode(value, f"{where}[{i}]") for i, value in enumerate(x)]
        return items if isinstance(x, list) else {"type": "tuple", "items": items}

    def array(self, arr: np.ndarray, where: str, kind: str) -> dict:
        if isinstance(arr, np.ma.MaskedArray):
            raise TypeError(f"save: {_name(where)} is a masked array; its mask would be lost")
        if arr.dtype.kind not in _ARRAY_KINDS or arr.dtype.names is not None:
            raise TypeError(
                f"save: {_name(where)} has dtype {arr.dtype} (shape {arr.shape}); supported dtypes: "
                "bool, int, uint, float, complex, fixed-width str/bytes, datetime"
            )
        if kind == "array" and id(arr) in self.entries:
            return self.entries[id(arr)][0]
        node = {
            "type": kind,
            "entry": f"arrays/{len(self.entries)}.npy",
            "dtype": arr.dtype.str,
            "shape": list(arr.shape),
        }
        self.entries[id(arr)] = (node, arr)
        with self.zf.open(node["entry"], "w", force_zip64=True) as entry:
            npformat.write_array(entry, arr, allow_pickle=False)
        return node


def _name(where: str) -> str:
    return repr(where) if where else "the saved object"


# ---- load ------------------------------------------------------------------------------------

# What zipfile, the npy reader and the JSON parser raise on damaged bytes, found by flipping every
# byte of a checkpoint: e.g. OSError for a seek to a garbage offset, RuntimeError for a flipped
# "encrypted" flag. (CheckpointError is a ValueError and is re-raised unchanged.)
_DAMAGE = (
    zipfile.BadZipFile,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    OSError,
)


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by `save`; arrays come back as numpy arrays (writable).

    Raises FileNotFoundError for a missing file and CheckpointError (a ValueError) naming the file
    and the problem for anything else that is not a readable checkpoint: a truncated or corrupted
    file, a non-zip file, a zip/npz without our manifest, or a newer format version.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        try:
            with zipfile.ZipFile(f) as zf:
                return _Reader(zf, path).read()
        except CheckpointError:
            raise
        except zipfile.BadZipFile as e:
            raise CheckpointError(
                f"cannot load {path!r}: not a valid zip/npz file, truncated or corrupted ({e})"
            ) from e
        except _DAMAGE as e:
            raise CheckpointError(
                f"cannot load {path!r}: the file is corrupted ({type(e).__name__}: {e})"
            ) from e


class _Reader:
    def __init__(self, zf: zipfile.ZipFile, path: str):
        self.zf = zf
        self.path = path
        self.names = set(zf.namelist())
        self.arrays: dict[str, np.ndarray] = {}  # entry -> array: shared arrays stay shared

    def fail(self, problem: str) -> CheckpointError:
        return CheckpointError(f"cannot load {self.path!r}: {problem}")

    def read(self) -> Any:
        if MANIFEST not in self.names:
            raise self.fail(
                f"no {MANIFEST!r} entry, so it is not a tinygrad_kr checkpoint "
                "(a plain np.savez file? read it with np.load)"
            )
        # zf.read checks the CRC of the whole entry before the JSON is trusted
        raw = npformat.read_array(io.BytesIO(self.zf.read(MANIFEST)), allow_pickle=False)
        if raw.dtype != np.uint8 or raw.ndim != 1:
            raise self.fail(f"{MANIFEST!r} is not a uint8 vector, so it is not a tinygrad_kr checkpoint")
        try:
            manifest = json.loads(raw.tobytes().decode("utf-8"))
        except ValueError as e:
            raise self.fail(f"{MANIFEST!r} is not valid JSON ({e})") from e
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
            raise self.fail(
                f"{MANIFEST!r} does not name the format {FORMAT_NAME!r}; not a tinygrad_kr checkpoint"
            )
        version = manifest.get("version")
        if type(version) is not int or version < 1:
            raise self.fail(f"bad format version {version!r} in {MANIFEST!r}")
        if version > FORMAT_VERSION:
            raise self.fail(
                f"it was written with checkpoint format version {version}, but this "
                f"tinygrad_kr reads versions up to {FORMAT_VERSION}; upgrade tinygrad_kr"
            )
        return self.decode(manifest["root"])

    def decode(self, node: Any) -> Any:
        if node is None or isinstance(node, (str, bool, int, float)):
            return node
        if isinstance(node, list):
            return [self.decode(n) for n in node]
        kind = node.get("type") if isinstance(node, dict) else None
        if kind == "dict":
            ints = set(node.get("int_keys", ()))
            return {int(k) if k in ints else k: self.decode(n) for k, n in node["items"].items()}
        if kind == "tuple":
            return tuple(self.decode(n) for n in node["items"])
        if kind == "array":
            return self.array(node)
        if kind == "scalar":
            return self.array(node)[()]
        raise self.fail(f"unknown node {json.dumps(node)[:80]} in the manifest")

    def array(self, node: dict) -> np.ndarray:
        name = node["entry"]
        if name in self.arrays:
            return self.arrays[name]
        if name not in self.names:
            raise self.fail(f"the manifest refers to a missing entry {name!r}")
        dtype, shape = np.dtype(node["dtype"]), tuple(node["shape"])
        with self.zf.open(name) as f:
            # Compare the npy header with the manifest before numpy allocates the array, so a
            # damaged header can't ask for gigabytes.
            reader = _HEADER_READERS.get(npformat.read_magic(f))
            got_shape, _, got_dtype = reader(f) if reader else ((), False, None)
            if got_shape != shape or got_dtype != dtype:
                raise self.fail(
                    f"entry {name!r} holds {got_dtype} {got_shape} but the manifest "
                    f"says {dtype} {shape}: the file is corrupted"
                )
            f.seek(0)
            arr = npformat.read_array(f, allow_pickle=False)
        self.arrays[name] = arr
        return arr
