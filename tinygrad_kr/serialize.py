"""Checkpoints: `save(obj, path)` and `load(path)`, in two formats, with no pickle anywhere.

The path's suffix picks the format, for saving and loading alike:

* `.safetensors` (any case): the safetensors format, the standard way to hand weights to and
  from PyTorch (`safetensors.torch.load_file` / `save_file`). It holds ONE flat mapping of str
  names to arrays, i.e. a state dict: `tg.save(model.state_dict(), "model.safetensors")`.
* anything else (`.npz`, `.ckpt`, no suffix...): tinygrad_kr's own format, for everything a
  training run needs to resume: nested dicts, optimizer state, plain values.

The default format holds nested dicts with str or int keys, lists and tuples, whose leaves are
numpy arrays, numpy scalars, Tensors (anything with an ndarray `.data` and a `.grad`; saved as
`.data`) and Python None / bool / int / float / str. For example
`{"model": model.state_dict(), "optim": opt.state_dict(), "epoch": 3}`.

`load` gives the same structure back, with arrays where Tensors were (copy them into a model
with `load_state_dict`). Dtypes, shapes and values are exact; tuples come back as tuples, dict
subclasses as dicts; an array saved under two keys (tied weights) is stored once and comes back
as one shared array.

Default file layout (version 1): a zip without compression, readable by `np.load`:
    manifest.npy   uint8 array holding UTF-8 JSON:
                   {"format": "tinygrad_kr.checkpoint", "version": 1, "root": <node>}
    arrays/<i>.npy one npy entry per distinct array
A node is a JSON null/bool/number/string (a plain value), a JSON list (a Python list), or an
object: {"type": "dict", "items": {key: node}, "int_keys": [keys that were ints]},
{"type": "tuple", "items": [node]}, or
{"type": "array" | "scalar", "entry": name, "dtype": dtype.str, "shape": [...]}.

safetensors layout (https://github.com/huggingface/safetensors): 8 bytes, a little-endian
uint64 N; N bytes of UTF-8 JSON {name: {"dtype": "F32", "shape": [...], "data_offsets":
[begin, end]}, "__metadata__": {str: str}}; then the data buffer, the tensors' little-endian
C-order bytes back to back (offsets count from the buffer's start). `save` writes it with the
`safetensors` package and `{"format": "np"}` as metadata; see `_load_safetensors` for reading.

Both formats are written atomically (`_atomic_write`), and `load` checks every size and shape a
file declares before it allocates anything, so a damaged or hostile file raises CheckpointError
instead of executing code, filling memory or ending in a raw MemoryError.
"""

from __future__ import annotations

import json
import math
import os
import uuid
import zipfile
from collections.abc import Mapping
from typing import Any, BinaryIO, Callable

import numpy as np
from numpy.lib import format as npformat

__all__ = ["save", "load", "CheckpointError", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "tinygrad_kr.checkpoint"
FORMAT_VERSION = 1
MANIFEST = "manifest.npy"
SAFETENSORS_SUFFIX = ".safetensors"

# bool, ints, floats, complex, fixed-width str/bytes, datetimes: all stored by npy without pickle
_ARRAY_KINDS = "biufcUSmM"
_HEADER_READERS = {(1, 0): npformat.read_array_header_1_0, (2, 0): npformat.read_array_header_2_0}
_MAX_DIMS = 64  # numpy's limit on the number of dimensions
_MAX_BYTES = 2**63 - 1  # no array (not even an empty one) may have a larger extent


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint: truncated, corrupted, foreign or too new."""


# ---- save ------------------------------------------------------------------------------------


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` to `path`, atomically, in the format the suffix names (module docstring).

    `path.safetensors`: `obj` must be a flat mapping of str names to arrays/Tensors (a state
    dict). Arrays are written C-contiguous and little-endian; 0-d arrays stay 0-d. Dtypes: bool,
    int8..int64, uint8..uint64, float16, float32, float64, complex64 (numpy has no bfloat16;
    others, e.g. float128, complex128, str, are refused). The same array under two names (tied
    weights) is written under each name and loads as two separate arrays: PyTorch's
    `save_file` refuses shared tensors because torch storages can be shared, but numpy arrays
    carry no storage to restore, and `load_state_dict` copies each name into its parameter
    anyway. The file is assembled in memory by the `safetensors` package, then written.

    Any other path: the default format; the path is used exactly as given (no `.npz` is
    appended, unlike `np.savez`).

    The data goes to a temporary file next to `path`, is flushed and fsynced, then renamed over
    `path`, so a crash or an error mid-save leaves any previous checkpoint at `path` intact. On
    an error the temporary file is removed; only a hard kill (SIGKILL, power loss) can leave one
    behind, named `.<name>.<random>.tmp`.

    Raises TypeError, naming the key (e.g. "model.fc1.weight"), for a value that cannot be
    saved: object arrays, other objects, non-str dict keys, cycles; for safetensors also nested
    dicts, non-array values and dtypes the format cannot hold.
    """
    path = os.fspath(path)
    if _is_safetensors(path):
        blob = _safetensors_bytes(_flat_tensors(obj))  # every check runs before the disk is touched
        _atomic_write(path, lambda f: f.write(blob))
    else:
        _atomic_write(path, lambda f: _write_zip(obj, f))


def _is_safetensors(path: str | bytes) -> bool:
    return os.path.splitext(os.fsdecode(path))[1].lower() == SAFETENSORS_SUFFIX


def _atomic_write(path: str, write: Callable[[BinaryIO], Any]) -> None:
    """Call `write(f)` on a new temporary file beside `path`, fsync it and rename it over `path`.

    The one writer of both formats. The temporary file is removed on any error (KeyboardInterrupt
    included); the rename is atomic, so `path` always holds either the old or the new file.
    """
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: directory {directory!r} does not exist (saving to {path!r})")
    tmp = os.path.join(directory, f".{name}.{uuid.uuid4().hex[:12]}.tmp")
    # os.open with 0o666 lets the umask pick the final permissions, as a plain open() would
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:  # never created, or already renamed: nothing to clean up
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
    except OSError:  # a file system that cannot sync a directory: the rename stands regardless
        pass
    finally:
        os.close(fd)


def _array_of(x: Any) -> np.ndarray | None:
    """The array a leaf stands for: itself for an ndarray, `.data` for a Tensor, else None."""
    if isinstance(x, np.ndarray):
        return x
    data = getattr(x, "data", None)
    if isinstance(data, np.ndarray) and hasattr(x, "grad"):
        return data
    return None


# ---- the default format: a zip of npy entries and a JSON manifest ------------------------------


def _write_zip(obj: Any, f: BinaryIO) -> None:
    with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zf:
        root = _Writer(zf).encode(obj, "")
        manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root}
        text = json.dumps(manifest, ensure_ascii=True)
        with zf.open(MANIFEST, "w") as entry:
            npformat.write_array(entry, np.frombuffer(text.encode(), np.uint8), allow_pickle=False)


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
        arr = _array_of(x)
        if arr is not None:
            return self.array(arr, where, "array")
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


# ---- the safetensors format -------------------------------------------------------------------

# The format's dtype codes and the numpy dtypes they are stored as (little-endian). BF16 has no
# numpy dtype: it is read as its 16-bit patterns and widened to float32 exactly (see
# _read_tensor); it is never written.
_ST_STORED = {
    "BOOL": np.dtype("|b1"), "U8": np.dtype("|u1"), "I8": np.dtype("|i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"), "BF16": np.dtype("<u2"),
    "U32": np.dtype("<u4"), "I32": np.dtype("<i4"), "F32": np.dtype("<f4"),
    "U64": np.dtype("<u8"), "I64": np.dtype("<i8"), "F64": np.dtype("<f8"), "C64": np.dtype("<c8"),
}  # fmt: skip
# numpy dtype (kind and size, any byte order) -> code, for saving
_ST_CODE = {dt.kind + str(dt.itemsize): code for code, dt in _ST_STORED.items() if code != "BF16"}
_ST_MAX_HEADER = 100_000_000  # the safetensors library refuses longer headers, so we do too
_ST_HINT = (
    "a .safetensors file holds one flat mapping of str names to arrays/Tensors (a state dict, "
    "e.g. model.state_dict()); save optimizer state and nested checkpoints in the default "
    "format (any other suffix, e.g. 'ckpt.npz')"
)


def _flat_tensors(obj: Any) -> dict[str, np.ndarray]:
    """The mapping `obj` as {name: C-contiguous little-endian array}, or a TypeError saying
    what a safetensors file can hold."""
    if not isinstance(obj, Mapping):
        raise TypeError(f"save: cannot save a {type(obj).__name__} as safetensors: {_ST_HINT}")
    out = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise TypeError(
                f"save: safetensors names must be str, got {type(key).__name__} {key!r:.40}; {_ST_HINT}"
            )
        if key == "__metadata__":
            raise TypeError(
                f"save: the name '__metadata__' is reserved by the safetensors format; {_ST_HINT}"
            )
        arr = _array_of(value)
        if arr is None:
            what = "a nested mapping" if isinstance(value, Mapping) else f"a {type(value).__qualname__}"
            raise TypeError(f"save: {key!r} is {what}, not an array or Tensor; {_ST_HINT}")
        if isinstance(arr, np.ma.MaskedArray):
            raise TypeError(f"save: {key!r} is a masked array; its mask would be lost")
        code = _ST_CODE.get(arr.dtype.kind + str(arr.dtype.itemsize)) if arr.dtype.names is None else None
        if code is None:
            raise TypeError(
                f"save: {key!r} has dtype {arr.dtype} (shape {arr.shape}), which safetensors cannot "
                "hold; it holds bool, int8..int64, uint8..uint64, float16, float32, float64 and "
                "complex64 (convert with .astype), and the default format (e.g. 'ckpt.npz') holds "
                "any numeric dtype"
            )
        # astype keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d)
        out[key] = arr.astype(_ST_STORED[code], order="C", copy=False)
    return out


def _safetensors_bytes(tensors: dict[str, np.ndarray]) -> bytes:
    """The safetensors file of `tensors`, made by the safetensors package."""
    try:
        from safetensors.numpy import save as safetensors_save
    except ImportError as e:
        raise ImportError(
            "save: writing .safetensors needs the 'safetensors' package (pip install safetensors)"
        ) from e
    return safetensors_save(tensors, metadata={"format": "np"})


class _Entry:
    """One tensor of a safetensors header, checked: name, dtype code, shape, byte range."""

    __slots__ = ("name", "code", "shape", "begin", "end")

    def __init__(self, name: str, code: str, shape: tuple[int, ...], begin: int, end: int):
        self.name, self.code, self.shape, self.begin, self.end = name, code, shape, begin, end


def _load_safetensors(f: BinaryIO, path: str, size: int) -> dict[str, np.ndarray]:
    """The tensors of a safetensors file, as {name: writable numpy array} in header order.

    The whole header is checked first (_safetensors_index), then each tensor is read from the
    file straight into its own new array: the arrays are all the memory a load takes, and no
    byte is interpreted before its range, dtype and shape are known to agree. The safetensors
    package is not used for reading: its numpy `load` takes the whole file as one bytes object
    and copies every tensor out of it (twice the memory), `safe_open` keeps the file mapped, and
    neither knows BF16 for numpy. `__metadata__` is checked (str -> str) and dropped; read it
    with `safetensors.safe_open(path, "np").metadata()` if you need it.
    """

    def fail(problem: str) -> CheckpointError:
        return CheckpointError(f"cannot load {path!r}: {problem}")

    entries, start = _safetensors_index(f, size, fail)
    return {e.name: _read_tensor(f, start + e.begin, e, fail) for e in entries}


def _safetensors_index(f: BinaryIO, size: int, fail: Callable[[str], CheckpointError]) -> tuple[list, int]:
    """The checked tensor entries of the header and where the data buffer starts in the file.

    Checks, in order: the 8-byte header length against the file size and the format's limit;
    the header is UTF-8 JSON of one object, without repeated names; `__metadata__` maps str to
    str; every tensor has a known dtype, a shape numpy can hold, and data_offsets within the
    buffer spanning exactly shape * itemsize bytes; the tensors tile the buffer (sorted by
    offset, each starts where the previous ends, the last ends where the file does).
    """
    head = f.read(8)
    if len(head) < 8:
        raise fail(f"the file is {size} bytes long, too short for a safetensors header (truncated?)")
    n = int.from_bytes(head, "little")
    if n > size - 8:
        hint = (
            " (it is a zip: a default-format checkpoint? load it under another suffix)"
            if head[:2] == b"PK"
            else ""
        )
        raise fail(
            f"the header length field says {n} bytes but only {size - 8} follow: truncated or "
            f"not a safetensors file{hint}"
        )
    if n > _ST_MAX_HEADER:
        raise fail(f"the header is {n} bytes, more than the {_ST_MAX_HEADER} the safetensors format allows")
    try:
        header = json.loads(f.read(n).decode("utf-8"), object_pairs_hook=_unique_keys)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise fail(
            f"the {n}-byte header is not valid UTF-8 JSON ({type(e).__name__}: {e}): corrupted or "
            "not a safetensors file"
        ) from e
    if not isinstance(header, dict):
        raise fail(f"the header is a JSON {type(header).__name__}, not an object {{name: tensor}}")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (
        isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())
    ):
        raise fail(f"__metadata__ must map str to str, got {json.dumps(metadata)[:80]}")
    buffer = size - 8 - n
    entries = [_header_entry(name, info, buffer, fail) for name, info in header.items()]
    pos = 0
    for e in sorted(entries, key=lambda e: (e.begin, e.end)):
        if e.begin != pos:
            how = (
                "overlaps the tensor before it"
                if e.begin < pos
                else f"leaves bytes {pos}..{e.begin} of the data to no tensor"
            )
            raise fail(f"tensor {e.name!r} (data_offsets [{e.begin}, {e.end}]) {how}: corrupted")
        pos = e.end
    if pos != buffer:
        raise fail(
            f"the tensors cover {pos} of the {buffer} data bytes: the file is corrupted or has data appended"
        )
    return entries, 8 + n


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json object_pairs_hook: the object as a dict; a name given twice is an error (which one
    would be the tensor?)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the name {key!r} appears twice")
        out[key] = value
    return out


def _header_entry(name: str, info: Any, buffer: int, fail: Callable[[str], CheckpointError]) -> _Entry:
    """One tensor's header entry, checked against the format and the buffer's size."""
    what = f"tensor {name!r}"
    if not (isinstance(info, dict) and {"dtype", "shape", "data_offsets"} <= info.keys()):
        raise fail(f"{what}: expected {{'dtype', 'shape', 'data_offsets'}}, got {json.dumps(info)[:80]}")
    code = info["dtype"]
    if not isinstance(code, str) or code not in _ST_STORED:
        raise fail(
            f"{what} has dtype {code!r:.20}, which numpy cannot hold or which is not a safetensors dtype; "
            f"known: {', '.join(_ST_STORED)} (convert float8 tensors to float32 in PyTorch first)"
        )
    shape, nbytes = _checked_shape(info["shape"], _ST_STORED[code].itemsize, what, fail)
    offsets = info["data_offsets"]
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
        raise fail(f"{what}: data_offsets must be [begin, end] (two ints), got {json.dumps(offsets)[:40]}")
    begin, end = offsets
    if not 0 <= begin <= end:
        raise fail(f"{what}: data_offsets [{begin}, {end}] are not a byte range (0 <= begin <= end)")
    if end > buffer:
        raise fail(
            f"{what}: data_offsets [{begin}, {end}] reach past the end of the {buffer}-byte data "
            "buffer: the file is truncated or corrupted"
        )
    if end - begin != nbytes:
        raise fail(
            f"{what} is {code} of shape {shape}, {nbytes} bytes, but its data_offsets span "
            f"{end - begin} bytes"
        )
    return _Entry(name, code, shape, begin, end)


def _read_tensor(f: BinaryIO, offset: int, e: _Entry, fail: Callable[[str], CheckpointError]) -> np.ndarray:
    """Read one checked tensor from `offset` into a new native-order array."""
    arr = np.empty(e.shape, _ST_STORED[e.code] if e.code != "BOOL" else np.uint8)
    if arr.size:
        f.seek(offset)
        if f.readinto(arr.reshape(-1).view(np.uint8)) != arr.nbytes:
            raise fail(f"tensor {e.name!r}: the file ended before its data (it changed while loading?)")
    if e.code == "BOOL":
        top = arr.max(initial=0)
        if top > 1:
            raise fail(f"tensor {e.name!r} of dtype BOOL holds the byte {top} (only 0 and 1 are booleans)")
        return arr.view(np.bool_)
    if e.code == "BF16":  # bfloat16 is the top half of a float32: widening is exact
        return (arr.astype(np.uint32) << 16).view(np.float32)
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


# ---- checks shared by both formats -------------------------------------------------------------


def _checked_shape(
    shape: Any, itemsize: int, what: str, fail: Callable[[str], CheckpointError]
) -> tuple[tuple[int, ...], int]:
    """`shape` as a tuple and its size in bytes, once it is known to be a shape numpy can hold.

    Callers then compare the size with the bytes the file really has for it, before anything
    is allocated. `what` names the array in the error, `fail(problem)` makes the error.
    """
    if (
        not isinstance(shape, (list, tuple))
        or len(shape) > _MAX_DIMS
        or not all(type(n) is int for n in shape)
    ):
        raise fail(
            f"{what} has a malformed shape {shape!r:.60} (expected a list of at most {_MAX_DIMS} ints)"
        )
    if any(n < 0 for n in shape):
        raise fail(f"{what} has a negative size in its shape {tuple(shape)}")
    if math.prod(n for n in shape if n) * max(itemsize, 1) > _MAX_BYTES:
        raise fail(f"{what} has an absurd shape {tuple(shape)}, larger than any array can be")
    return tuple(shape), math.prod(shape) * itemsize


# ---- load ------------------------------------------------------------------------------------

# What zipfile, the npy reader and the JSON parser raise on damaged bytes, found by flipping every
# byte of a checkpoint: e.g. OSError for a seek to a garbage offset, RuntimeError for a flipped
# "encrypted" flag, RecursionError (a RuntimeError) for absurdly nested JSON. (CheckpointError is
# a ValueError and is re-raised unchanged.)
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
    """Read a checkpoint written by `save` (or by `safetensors.torch.save_file`, for a
    `.safetensors` path); arrays come back as writable numpy arrays in native byte order.

    `.safetensors` (any case): a dict {name: array}, in the file's order (the safetensors package
    writes the names sorted by dtype size, then name); BF16 tensors come back as float32 (exact),
    everything else in its own dtype, 0-d tensors as 0-d arrays. Other paths: the structure that
    was saved (module docstring).

    Raises FileNotFoundError for a missing file and CheckpointError (a ValueError) naming the file
    and the problem for anything else that is not a readable checkpoint: a truncated or corrupted
    file, a foreign file, a newer format version, and any size or shape in the file that does not
    fit the bytes it has (checked before allocating, so a 1 MB file never takes 1 GB). Nothing in
    the file is ever executed. safetensors has no checksum: damaged tensor bytes load as they
    are (a damaged header is refused). The default format checks the zip CRCs.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if _is_safetensors(path):
            return _load_safetensors(f, path, size)
        try:
            with zipfile.ZipFile(f) as zf:
                return _Reader(zf, path, size).read()
        except CheckpointError:
            raise
        except zipfile.BadZipFile as e:
            f.seek(8)
            hint = (
                " (it looks like a safetensors file: load it under a name ending in .safetensors)"
                if f.read(1) == b"{"
                else ""
            )
            raise CheckpointError(
                f"cannot load {path!r}: not a valid zip/npz file, truncated or corrupted ({e}){hint}"
            ) from e
        except _DAMAGE as e:
            raise CheckpointError(
                f"cannot load {path!r}: the file is corrupted ({type(e).__name__}: {e})"
            ) from e


class _Reader:
    """Reads the default format, checking every declared size before it allocates."""

    def __init__(self, zf: zipfile.ZipFile, path: str, size: int):
        self.zf = zf
        self.path = path
        self.size = size  # of the file, in bytes
        self.names = set(zf.namelist())
        self.arrays: dict[str, np.ndarray] = {}  # entry -> array: shared arrays stay shared

    def fail(self, problem: str) -> CheckpointError:
        return CheckpointError(f"cannot load {self.path!r}: {problem}")

    def read(self) -> Any:
        self.check_entry_sizes()
        if MANIFEST not in self.names:
            raise self.fail(
                f"no {MANIFEST!r} entry, so it is not a tinygrad_kr checkpoint "
                "(a plain np.savez file? read it with np.load)"
            )
        # reading the entry checks its CRC before the JSON is trusted
        raw = self.read_npy(MANIFEST)
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

    def check_entry_sizes(self) -> None:
        """Every entry is stored uncompressed (as `save` writes them) and all of them together
        fit in the file: then no entry can inflate (a zip bomb) and no two can share bytes (the
        overlapping-entry bomb), so reading never takes more memory than the file's size."""
        total = 0
        for info in self.zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                method = zipfile.compressor_names.get(info.compress_type, f"method {info.compress_type}")
                raise self.fail(
                    f"entry {info.filename!r} is compressed ({method}); tinygrad_kr checkpoints store "
                    "every entry uncompressed, and a compressed entry can inflate far beyond the file's size"
                )
            if info.file_size != info.compress_size:
                raise self.fail(
                    f"entry {info.filename!r} declares {info.file_size} bytes but stores "
                    f"{info.compress_size}: the file is corrupted"
                )
            total += info.file_size
        if total > self.size:
            raise self.fail(
                f"its entries declare {total} bytes in all, more than the file's {self.size}: "
                "entries overlap (a zip bomb?) or the file is corrupted"
            )

    def read_npy(self, name: str) -> np.ndarray:
        """The array in entry `name`, once its npy header agrees with the entry's size."""
        info = self.zf.getinfo(name)
        with self.zf.open(info) as f:
            reader = _HEADER_READERS.get(npformat.read_magic(f))
            if reader is None:
                raise self.fail(f"entry {name!r} is not an npy array of a known version")
            shape, _, dtype = reader(f)
            if dtype.kind not in _ARRAY_KINDS or dtype.names is not None or dtype.shape != ():
                raise self.fail(
                    f"entry {name!r} holds dtype {dtype}, which tinygrad_kr checkpoints never hold"
                )
            shape, nbytes = _checked_shape(shape, dtype.itemsize, f"entry {name!r}", self.fail)
            data = info.file_size - f.tell()
            if data != nbytes:
                raise self.fail(
                    f"entry {name!r} holds {data} bytes of data, but its npy header declares "
                    f"{nbytes} bytes (dtype {dtype}, shape {shape}): the file is corrupted"
                )
            f.seek(0)
            return npformat.read_array(f, allow_pickle=False)

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
        dtype = np.dtype(node["dtype"])
        shape, _ = _checked_shape(node["shape"], dtype.itemsize, f"the manifest's array {name!r}", self.fail)
        arr = self.read_npy(name)
        if arr.shape != shape or arr.dtype != dtype:
            raise self.fail(
                f"entry {name!r} holds {arr.dtype} {arr.shape} but the manifest "
                f"says {dtype} {shape}: the file is corrupted"
            )
        self.arrays[name] = arr
        return arr
