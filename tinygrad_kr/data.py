"""Datasets and mini-batch loading.

    ds = TensorDataset(X, y)                  # X: (N, ...), y: (N,)
    loader = DataLoader(ds, batch_size=64, shuffle=True, seed=0)
    for xb, yb in loader:                     # xb: (64, ...) float32 Tensor, yb: (64,) int64 Tensor
        ...

Batches are tuples of Tensors: float fields become float32, integer fields int64 (labels ready
for cross-entropy), bool fields stay bool. Integer images (uint8 MNIST) therefore come out as
int64: convert them to float first, e.g. `X.astype(np.float32) / 255`.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from .random import get_generator
from .tensor import Tensor


class Dataset:
    """A sized, indexable collection of samples; subclasses define `__len__` and `__getitem__`.

    `__getitem__(i)` returns one sample: a tuple of arrays/numbers (x, y, ...) or a single one.
    """

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples are the rows of equally long arrays: `ds[i] == (a[i], b[i], ...)`.

    arrays: numpy arrays, array-likes or Tensors, each of shape (N, ...) with the same N.
    """

    def __init__(self, *arrays: Any):
        if not arrays:
            raise ValueError("TensorDataset: needs at least one array")
        self.arrays = tuple(a.data if isinstance(a, Tensor) else np.asarray(a) for a in arrays)
        lengths = [a.shape[0] if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(
                f"TensorDataset: all arrays need the same first dimension, got lengths {lengths} "
                f"(shapes {shapes})"
            )

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index: Any) -> tuple:
        return tuple(a[index] for a in self.arrays)


def _to_tensor(x: Any) -> Tensor:
    """One batch field as a Tensor: floats -> float32, integers -> int64."""
    a = np.asarray(x)
    if a.dtype.kind == "f":
        a = a.astype(np.float32, copy=False)
    elif a.dtype.kind in "iu":
        a = a.astype(np.int64, copy=False)
    return Tensor(a)


def _collate(samples: list) -> tuple:
    """Stack a list of samples field by field: [(x0, y0), (x1, y1)] -> (X, Y)."""
    if isinstance(samples[0], tuple):
        return tuple(np.stack([np.asarray(f) for f in field]) for field in zip(*samples))
    return (np.stack([np.asarray(s) for s in samples]),)


class DataLoader:
    """Iterate over a dataset in mini-batches.

    dataset: a Dataset (anything with __len__ and __getitem__).
    batch_size: samples per batch; the last batch is smaller unless drop_last.
    shuffle: draw a new order at the start of every epoch (every `iter(loader)`).
    seed: with shuffle, the loader owns `np.random.default_rng(seed)`, so the sequence of epoch
        orders is reproducible; without it, orders come from the project generator
        (`tinygrad_kr.manual_seed`).

    Yields tuples of Tensors, one per sample field, each of shape (B, ...).
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self) -> int:
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[tuple]:
        # The order is fixed when iteration starts, not at the first next().
        n = len(self.dataset)
        if self.shuffle:
            order = (self._rng or get_generator()).permutation(n)
        else:
            order = np.arange(n)
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[tuple]:
        b = self.batch_size
        arrays = self.dataset.arrays if isinstance(self.dataset, TensorDataset) else None
        for start in range(0, len(self) * b, b):
            idx = order[start : start + b]
            if arrays is not None:
                fields = tuple(a[idx] for a in arrays)  # fancy indexing: one copy, no Python loop
            else:
                fields = _collate([self.dataset[int(i)] for i in idx])
            yield tuple(_to_tensor(f) for f in fields)
