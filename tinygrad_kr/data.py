"""Datasets, samplers and mini-batch loading, with PyTorch's names and rules.

    ds = TensorDataset(X, y)                  # X: (N, ...), y: (N,)
    loader = DataLoader(ds, batch_size=64, shuffle=True, seed=0)
    for xb, yb in loader:                     # xb: (64, ...) float32 Tensor, yb: (64,) int64 Tensor
        ...
    train, val = random_split(ds, [0.8, 0.2], seed=0)   # shuffled, disjoint Subsets
    loader = DataLoader(ds, batch_size=64, sampler=WeightedRandomSampler(w, num_samples=len(ds)))

Batches are tuples of Tensors: float fields become float32, integer fields int64 (labels ready
for cross-entropy), bool fields stay bool. Integer images (uint8 MNIST) therefore come out as
int64: convert them to float first, e.g. `X.astype(np.float32) / 255`. A `collate_fn` replaces
this step: it gets the list of samples of a batch and its result is yielded as it is.

Randomness: a `seed` gives the sampler (or `random_split`) its own `np.random.default_rng(seed)`;
without one, every draw comes from the project generator (`tinygrad_kr.manual_seed`
reproduces it), taken when the draw happens.
"""

from __future__ import annotations

import bisect
import math
import numbers
import warnings
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np

from ._args import check_bool, check_int
from .random import get_generator
from .tensor import Tensor

__all__ = [
    "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "Sampler", "SequentialSampler", "RandomSampler", "WeightedRandomSampler", "BatchSampler",
    "DataLoader",
]  # fmt: skip


def _rng(seed: int | None) -> np.random.Generator | None:
    return np.random.default_rng(seed) if seed is not None else None


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

    def __repr__(self) -> str:
        fields = ", ".join(f"{a.dtype} {a.shape[1:]}" for a in self.arrays)
        return f"TensorDataset({len(self)} samples; {fields})"


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order: `Subset(ds, idx)[i] == ds[idx[i]]`."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        _check_dataset(dataset, "Subset")
        self.dataset = dataset
        self.indices = indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):  # several samples at once, as PyTorch's Subset allows
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __repr__(self) -> str:
        return f"Subset({self.dataset!r}, {len(self)} of {len(self.dataset)} samples)"


class ConcatDataset(Dataset):
    """The datasets one after another: samples 0 .. len(a) - 1 are a's, then b's, ...

    `cumulative_sizes[k]`: the number of samples in the first k + 1 datasets."""

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset, got an empty list")
        for i, d in enumerate(self.datasets):
            _check_dataset(d, f"ConcatDataset (dataset {i})")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"ConcatDataset indices must be integers, not {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        index = int(index) % n
        k = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]

    def __repr__(self) -> str:
        return f"ConcatDataset({len(self.datasets)} datasets, {len(self)} samples)"


def _check_dataset(dataset: Any, who: str) -> None:
    if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
        raise TypeError(
            f"{who}: expected a dataset (an object with __len__ and __getitem__, such as TensorDataset), "
            f"got {type(dataset).__name__}"
        )


def random_split(dataset: Dataset, lengths: Sequence[int | float], seed: int | None = None) -> list[Subset]:
    """Split `dataset` into non-overlapping Subsets of the given lengths, in a random order.

    lengths: integers adding up to len(dataset), or fractions adding up to 1 (each split gets
    floor(len * fraction) samples and the remainder is handed out one by one from the first
    split on, as PyTorch does: 10 samples at [0.5, 0.25, 0.25] give 6, 2, 2). The order comes
    from np.random.default_rng(seed), or from the project generator when seed is None.
    """
    _check_dataset(dataset, "random_split")
    n = len(dataset)
    lengths = list(lengths)
    for i, v in enumerate(lengths):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v >= 0:
            raise ValueError(f"random_split: lengths[{i}] must be a number >= 0, got {v!r}")
    total = sum(lengths)
    sizes = _fractions_to_lengths(lengths, n) if math.isclose(total, 1) and total <= n else lengths
    if any(not float(v).is_integer() for v in sizes) or sum(sizes) != n:
        raise ValueError(
            f"random_split: lengths {lengths} add up to {total}, but the dataset has {n} samples; give "
            f"integer lengths that add up to {n}, or fractions that add up to 1"
        )
    order = (_rng(seed) or get_generator()).permutation(n)
    bounds = np.cumsum([0] + [int(v) for v in sizes])
    return [Subset(dataset, order[a:b].tolist()) for a, b in zip(bounds[:-1], bounds[1:])]


def _fractions_to_lengths(fractions: list[float], n: int) -> list[int]:
    for i, f in enumerate(fractions):
        if f > 1:
            raise ValueError(f"random_split: fraction lengths[{i}]={f!r} is not between 0 and 1")
    sizes = [int(math.floor(n * f)) for f in fractions]
    for i in range(n - sum(sizes)):  # the remainder, round-robin from the first split
        sizes[i % len(sizes)] += 1
    for i, size in enumerate(sizes):
        if size == 0:
            warnings.warn(f"random_split: split {i} is empty (length 0)", stacklevel=3)
    return sizes


# --------------------------------------------------------------------------------------------
# Samplers: the order of the sample indices of one epoch
# --------------------------------------------------------------------------------------------


class Sampler:
    """Base class: iterating gives one epoch's sample indices; `indices()` gives them as an
    int64 array (drawn when called). Subclasses define `__iter__` (or `indices`) and `__len__`."""

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices().tolist())

    def indices(self) -> np.ndarray:
        return np.fromiter(iter(self), dtype=np.int64)

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any):
        self.data_source = data_source

    def indices(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __len__(self) -> int:
        return len(self.data_source)

    def __repr__(self) -> str:
        return f"SequentialSampler({len(self)} samples)"


class RandomSampler(Sampler):
    """A random order of the samples of `data_source`, drawn anew every epoch.

    replacement=False: a permutation (num_samples > len: whole permutations one after another,
    then part of one, as PyTorch does); True: num_samples independent uniform draws.
    num_samples: default len(data_source). seed: own generator (else the project's).
    """

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: int | None = None,
        seed: int | None = None,
    ):
        self.data_source = data_source
        self.replacement = check_bool(replacement, "replacement", "RandomSampler")
        self._num_samples = (
            None if num_samples is None else check_int(num_samples, "num_samples", "RandomSampler", 1)
        )
        self._rng = _rng(seed)

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def indices(self) -> np.ndarray:
        n, k = len(self.data_source), self.num_samples
        rng = self._rng or get_generator()
        if self.replacement:
            return rng.integers(0, n, size=k, dtype=np.int64) if n else np.zeros(0, np.int64)
        if n == 0:
            return np.zeros(0, np.int64)
        parts = [rng.permutation(n) for _ in range(k // n)]
        if k % n:
            parts.append(rng.permutation(n)[: k % n])
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return f"RandomSampler(num_samples={self.num_samples}, replacement={self.replacement})"


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probability proportional to `weights` (one weight per
    sample of the dataset, >= 0, not all 0), with replacement by default.

    replacement=False: each index at most once (num_samples <= the number of nonzero weights).
    seed: own generator (else the project's)."""

    def __init__(
        self, weights: Sequence[float], num_samples: int, replacement: bool = True, seed: int | None = None
    ):
        w = np.asarray(weights.data if isinstance(weights, Tensor) else weights, dtype=np.float64)
        who = "WeightedRandomSampler"
        if w.ndim != 1:
            raise ValueError(
                f"{who}: weights must be a 1-D sequence (one weight per sample), got shape {w.shape}"
            )
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"{who}: weights must be finite, >= 0 and not all 0, got {_preview(w)}")
        self.weights = w
        self.num_samples = check_int(num_samples, "num_samples", who, 1)
        self.replacement = check_bool(replacement, "replacement", who)
        nonzero = int(np.count_nonzero(w))
        if not self.replacement and self.num_samples > nonzero:
            raise ValueError(
                f"{who}: without replacement num_samples={self.num_samples} can't exceed the number of "
                f"nonzero weights ({nonzero})"
            )
        self._rng = _rng(seed)

    def indices(self) -> np.ndarray:
        rng = self._rng or get_generator()
        p = self.weights / self.weights.sum()
        return rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).astype(np.int64)

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (
            f"WeightedRandomSampler({len(self.weights)} weights, num_samples={self.num_samples}, "
            f"replacement={self.replacement})"
        )


def _preview(a: np.ndarray) -> str:
    text = np.array2string(a, threshold=8, precision=4)
    return text if a.size <= 8 else f"{text} ({a.size} values)"


class BatchSampler(Sampler):
    """Group the indices of `sampler` (any iterable of indices) into lists of batch_size; the
    last, shorter one is dropped with drop_last."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool):
        if not isinstance(sampler, Iterable):
            raise TypeError(
                f"BatchSampler: sampler must be an iterable of indices, got {type(sampler).__name__}"
            )
        self.sampler = sampler
        self.batch_size = check_int(batch_size, "batch_size", "BatchSampler", 1)
        self.drop_last = check_bool(drop_last, "drop_last", "BatchSampler")

    def __iter__(self) -> Iterator[list[int]]:
        return iter(
            [batch.tolist() for batch in _chunks(_draw(self.sampler), self.batch_size, self.drop_last)]
        )

    def indices(self) -> np.ndarray:
        raise TypeError("BatchSampler yields batches (lists of indices), not single indices: iterate over it")

    def __len__(self) -> int:
        return _n_batches(len(self.sampler), self.batch_size, self.drop_last)

    def __repr__(self) -> str:
        return f"BatchSampler({self.sampler!r}, batch_size={self.batch_size}, drop_last={self.drop_last})"


def _n_batches(n: int, batch_size: int, drop_last: bool) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


def _chunks(order: np.ndarray, batch_size: int, drop_last: bool) -> list[np.ndarray]:
    """order cut into batches of batch_size (the last one shorter, or dropped)."""
    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    return [order[i : i + batch_size] for i in range(0, stop, batch_size)]


def _draw(sampler: Iterable[int]) -> np.ndarray:
    """One epoch of indices from a Sampler or any iterable of ints, as an int64 array."""
    if isinstance(sampler, Sampler):
        return sampler.indices()
    return np.fromiter((int(i) for i in sampler), dtype=np.int64)


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
    sampler: the order of the sample indices instead (a Sampler or any iterable of indices,
        e.g. WeightedRandomSampler); not with shuffle=True or seed.
    batch_sampler: yields whole batches (lists of indices) instead; not with batch_size,
        shuffle, sampler, drop_last or seed.
    collate_fn: turns the list of samples of a batch into what the loader yields (default:
        stack each field into a Tensor, see the module docstring).
    num_workers: only 0; batches are loaded in the main process.

    Yields tuples of Tensors, one per sample field, each of shape (B, ...). The order of an
    epoch is drawn when iteration starts (`iter(loader)`), not at the first batch.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        *,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[Sequence[int]] | None = None,
        num_workers: int = 0,
        collate_fn: Callable[[list], Any] | None = None,
    ):
        who = "DataLoader"
        _check_dataset(dataset, who)
        self.dataset = dataset
        self.batch_size = check_int(batch_size, "batch_size", who, 1)
        self.shuffle = check_bool(shuffle, "shuffle", who)
        self.drop_last = check_bool(drop_last, "drop_last", who)
        self.num_workers = _check_workers(num_workers)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"{who}: collate_fn must be callable, got {type(collate_fn).__name__}")
        self.collate_fn = collate_fn
        if batch_sampler is not None:
            _check_batch_sampler(batch_sampler, batch_size, shuffle, sampler, drop_last, seed)
        elif sampler is not None:
            if shuffle:
                raise ValueError(
                    "DataLoader: sampler is mutually exclusive with shuffle=True (the sampler decides the "
                    "order; for a random order pass RandomSampler(dataset))"
                )
            if seed is not None:
                raise ValueError(
                    f"DataLoader: seed={seed!r} only seeds shuffle=True; give the sampler its own seed"
                )
            _check_sampler_fits(sampler, dataset)
        elif shuffle:
            sampler = RandomSampler(dataset, seed=seed)
        else:
            sampler = SequentialSampler(dataset)
        self.sampler = sampler
        self.batch_sampler = batch_sampler

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return _n_batches(len(self.sampler), self.batch_size, self.drop_last)

    def __iter__(self) -> Iterator[Any]:
        # The order is fixed when iteration starts, not at the first next().
        return self._batches(self._index_batches())

    def _index_batches(self) -> list[np.ndarray]:
        """This epoch's batches of sample indices, drawn now."""
        if self.batch_sampler is not None:
            return [np.asarray(list(batch), dtype=np.int64) for batch in self.batch_sampler]
        return _chunks(_draw(self.sampler), self.batch_size, self.drop_last)

    def _batches(self, batches: list[np.ndarray]) -> Iterator[Any]:
        fast = _array_view(self.dataset) if self.collate_fn is None else None
        for idx in batches:
            if fast is not None:
                arrays, rows = fast
                rows_idx = idx if rows is None else rows[idx]
                fields = tuple(a[rows_idx] for a in arrays)  # fancy indexing: one copy, no Python loop
                yield tuple(_to_tensor(f) for f in fields)
                continue
            samples = [self.dataset[int(i)] for i in idx]
            if self.collate_fn is not None:
                yield self.collate_fn(samples)
            else:
                yield tuple(_to_tensor(f) for f in _collate(samples))

    def __repr__(self) -> str:
        parts = [repr(self.dataset)]
        if self.batch_sampler is not None:
            parts.append(f"batch_sampler={self.batch_sampler!r}")
        else:
            parts.append(f"batch_size={self.batch_size}")
            if (
                isinstance(self.sampler, (RandomSampler, SequentialSampler))
                and self.sampler.data_source is self.dataset
            ):
                parts.append(f"shuffle={self.shuffle}")
            else:
                parts.append(f"sampler={self.sampler!r}")
            parts.append(f"drop_last={self.drop_last}")
        if self.collate_fn is not None:
            parts.append(f"collate_fn={getattr(self.collate_fn, '__name__', type(self.collate_fn).__name__)}")
        try:
            parts.append(f"batches={len(self)}")
        except TypeError:  # a sampler without a length
            pass
        return "DataLoader(" + ", ".join(parts) + ")"


def _check_workers(num_workers: Any) -> int:
    n = check_int(num_workers, "num_workers", "DataLoader", 0)
    if n != 0:
        raise ValueError(
            f"DataLoader: num_workers={n} is not supported: tinygrad_kr loads batches in the main process "
            "(a batch of a TensorDataset is one numpy indexing call, so worker processes would only add "
            "copying); use num_workers=0"
        )
    return n


def _check_batch_sampler(
    batch_sampler: Any, batch_size: Any, shuffle: Any, sampler: Any, drop_last: Any, seed: Any
) -> None:
    given = [
        name
        for name, used in (
            ("batch_size", batch_size != 1),
            ("shuffle", bool(shuffle)),
            ("sampler", sampler is not None),
            ("drop_last", bool(drop_last)),
            ("seed", seed is not None),
        )
        if used
    ]
    if given:
        raise ValueError(
            f"DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler, drop_last "
            f"and seed (the batch sampler makes the batches), got {', '.join(given)} too"
        )
    if not isinstance(batch_sampler, Iterable):
        raise TypeError(
            "DataLoader: batch_sampler must be an iterable of index lists, got "
            f"{type(batch_sampler).__name__}"
        )


def _check_sampler_fits(sampler: Any, dataset: Any) -> None:
    """A sampler made for a dataset of another size would index past its end or miss samples."""
    if not isinstance(sampler, Iterable):
        raise TypeError(f"DataLoader: sampler must be an iterable of indices, got {type(sampler).__name__}")
    n = len(dataset)
    if isinstance(sampler, WeightedRandomSampler) and len(sampler.weights) != n:
        raise ValueError(
            f"DataLoader: the WeightedRandomSampler has {len(sampler.weights)} weights, but the dataset has "
            f"{n} samples (one weight per sample is needed)"
        )
    source = getattr(sampler, "data_source", None)
    if source is not None and source is not dataset and len(source) != n:
        raise ValueError(
            f"DataLoader: the {type(sampler).__name__} was made for a dataset of {len(source)} samples, "
            f"but the loader's dataset has {n}"
        )


def _array_view(dataset: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray | None] | None:
    """(arrays, rows) when every sample of `dataset` is a row of numpy arrays: a TensorDataset
    (rows None: the identity) or Subsets of one (rows: the index map); else None."""
    if isinstance(dataset, TensorDataset):
        return dataset.arrays, None
    if isinstance(dataset, Subset):
        inner = _array_view(dataset.dataset)
        if inner is None:
            return None
        arrays, rows = inner
        idx = np.asarray(dataset.indices, dtype=np.int64)
        return arrays, idx if rows is None else rows[idx]
    return None
