"""Subset, random_split, ConcatDataset, the samplers, and DataLoader's sampler= / batch_sampler= /
collate_fn= / num_workers= and repr: exact indices against hand counts and torch.utils.data
(when installed), reproducibility through seeds and tg.manual_seed, and the argument errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_kr as tg
from tinygrad_kr.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    WeightedRandomSampler,
    random_split,
)


def _ids(n):
    """Sample i is (float row [i, -i], label i)."""
    X = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float32)
    return TensorDataset(X, np.arange(n))


class Plain(Dataset):
    """A Python dataset without arrays (the per-sample path): sample i is (float i, label i)."""

    def __init__(self, n, offset=0):
        self.n, self.offset = n, offset

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return float(i + self.offset), i + self.offset


def _labels(loader):
    return np.concatenate([b[1].data for b in loader]).tolist()


# ---- Subset, random_split, ConcatDataset ---------------------------------------------------------


def test_subset_indexes_through_its_indices():
    ds = _ids(10)
    sub = Subset(ds, [7, 2, 2, 9])
    assert len(sub) == 4
    np.testing.assert_array_equal(sub[0][0], [7.0, -7.0])
    assert sub[-1][1] == 9
    xs, ys = sub[[1, 3]]  # a list of positions reaches the dataset as one fancy index
    np.testing.assert_array_equal(ys, [2, 9])
    assert repr(sub) == "Subset(TensorDataset(10 samples; float32 (2,), int64 ()), 4 of 10 samples)"


@pytest.mark.filterwarnings("ignore::UserWarning")  # n = 1: [0, 1] reads as fractions (PyTorch's rule)
@given(
    n=st.integers(0, 80), cuts=st.lists(st.integers(0, 80), min_size=0, max_size=4), seed=st.integers(0, 5)
)
def test_random_split_with_integer_lengths_partitions_the_dataset(n, cuts, seed):
    cuts = sorted(min(c, n) for c in cuts)
    lengths = np.diff([0, *cuts, n]).tolist()
    parts = random_split(_ids(n), lengths, seed=seed)
    assert [len(p) for p in parts] == lengths
    seen = [i for p in parts for i in p.indices]
    assert sorted(seen) == list(range(n))
    again = random_split(_ids(n), lengths, seed=seed)
    assert [p.indices for p in parts] == [p.indices for p in again]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_random_split_fractions_hand_out_the_remainder_round_robin_like_pytorch():
    assert [len(p) for p in random_split(_ids(10), [0.5, 0.25, 0.25], seed=0)] == [6, 2, 2]
    assert [len(p) for p in random_split(_ids(11), [0.3, 0.3, 0.4], seed=0)] == [4, 3, 4]
    assert [len(p) for p in random_split(_ids(7), [1 / 3, 1 / 3, 1 / 3], seed=0)] == [3, 2, 2]
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 200))
        w = rng.random(int(rng.integers(1, 5)))
        fractions = (w / w.sum()).tolist()
        if sum(fractions) > 1:  # torch 2.13 rejects a sum of 1 + 1e-16; we accept it (isclose)
            continue
        theirs = torch.utils.data.random_split(range(n), fractions)
        assert [len(p) for p in random_split(_ids(n), fractions, seed=0)] == [len(t) for t in theirs]


def test_random_split_order_comes_from_the_seed_or_the_project_generator():
    a = random_split(_ids(50), [25, 25], seed=3)
    assert a[0].indices + a[1].indices == np.random.default_rng(3).permutation(50).tolist()
    tg.manual_seed(5)
    b = random_split(_ids(50), [0.6, 0.4])
    tg.manual_seed(5)
    c = random_split(_ids(50), [0.6, 0.4])
    assert [p.indices for p in b] == [p.indices for p in c]
    assert sorted(b[0].indices) != list(range(30))  # shuffled, not the first 30


def test_random_split_errors_name_the_lengths():
    with pytest.raises(ValueError, match=r"lengths \[5, 4\] add up to 9, but the dataset has 10 samples"):
        random_split(_ids(10), [5, 4])
    with pytest.raises(ValueError, match=r"lengths \[0.5, 0.4\] add up to 0.9"):
        random_split(_ids(10), [0.5, 0.4])
    with pytest.raises(ValueError, match=r"lengths\[1\] must be a number >= 0, got -2"):
        random_split(_ids(10), [12, -2])
    with pytest.raises(ValueError, match=r"lengths \[2.5, 7.5\] add up to 10.0"):
        random_split(_ids(10), [2.5, 7.5])
    with pytest.raises(TypeError, match="expected a dataset"):
        random_split(5, [2, 3])
    with pytest.warns(UserWarning, match="split 1 is empty"):
        random_split(_ids(2), [0.9, 0.1])


def test_concat_dataset_indexes_across_the_parts():
    cat = ConcatDataset([Plain(3), Plain(0), Plain(4, offset=100)])
    assert len(cat) == 7 and cat.cumulative_sizes == [3, 3, 7]
    assert [cat[i][1] for i in range(7)] == [0, 1, 2, 100, 101, 102, 103]
    assert cat[-1][1] == 103 and cat[-7][1] == 0
    with pytest.raises(IndexError, match="index 7 is out of range for 7 samples"):
        cat[7]
    with pytest.raises(IndexError):
        cat[-8]
    with pytest.raises(ValueError, match="at least one dataset"):
        ConcatDataset([])
    with pytest.raises(TypeError, match=r"ConcatDataset \(dataset 1\): expected a dataset"):
        ConcatDataset([Plain(2), 5])
    assert _labels(DataLoader(cat, batch_size=3)) == [0, 1, 2, 100, 101, 102, 103]


# ---- samplers ------------------------------------------------------------------------------------


def test_sequential_and_random_samplers():
    ds = _ids(10)
    assert list(SequentialSampler(ds)) == list(range(10)) and len(SequentialSampler(ds)) == 10
    a = RandomSampler(ds, seed=1)
    first, second = list(a), list(a)
    assert sorted(first) == list(range(10)) and first != second  # a new order every epoch
    assert first == np.random.default_rng(1).permutation(10).tolist()
    tg.manual_seed(2)
    unseeded = list(RandomSampler(ds))
    tg.manual_seed(2)
    assert list(RandomSampler(ds)) == unseeded


def test_random_sampler_num_samples_and_replacement():
    ds = _ids(4)
    long = RandomSampler(ds, num_samples=10, seed=0).indices()
    assert len(long) == 10
    for block in (long[:4], long[4:8]):  # whole permutations first, then part of one
        assert sorted(block.tolist()) == [0, 1, 2, 3]
    assert len(set(long[8:].tolist())) == 2
    draws = RandomSampler(ds, replacement=True, num_samples=1000, seed=0).indices()
    assert draws.dtype == np.int64 and draws.min() == 0 and draws.max() == 3
    assert len(np.unique(draws)) == 4 and len(RandomSampler(ds, True, 7)) == 7
    with pytest.raises(ValueError, match="num_samples must be an integer >= 1, got 0"):
        RandomSampler(ds, num_samples=0)
    with pytest.raises(TypeError, match="replacement must be True or False, got 1"):
        RandomSampler(ds, replacement=1)


def test_weighted_sampler_draws_in_proportion_to_the_weights():
    w = [0.0, 1.0, 3.0, 6.0]
    draws = WeightedRandomSampler(w, num_samples=20000, seed=0).indices()
    counts = np.bincount(draws, minlength=4)
    assert counts[0] == 0  # weight 0: never drawn
    expected = 20000 * np.array(w) / 10
    # binomial standard deviations are at most 71 here: 5 of them is a safe, still tight, bound
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected * (1 - np.array(w) / 10)) + 1)
    once = WeightedRandomSampler(w, num_samples=3, replacement=False, seed=1).indices()
    assert sorted(once.tolist()) == [1, 2, 3]
    tg.manual_seed(4)
    a = list(WeightedRandomSampler(w, 50))
    tg.manual_seed(4)
    assert list(WeightedRandomSampler(w, 50)) == a


@pytest.mark.parametrize(
    "args, match",
    [
        (([[1.0, 2.0]], 2), r"weights must be a 1-D sequence .*shape \(1, 2\)"),
        (([1.0, -1.0], 2), "weights must be finite, >= 0 and not all 0"),
        (([0.0, 0.0], 2), "not all 0"),
        (([1.0, float("nan")], 2), "finite"),
        (([1.0, 2.0], 0), "num_samples must be an integer >= 1, got 0"),
        (
            ([1.0, 0.0, 2.0], 3, False),
            "without replacement num_samples=3 can't exceed the number of nonzero weights",
        ),
    ],
)
def test_weighted_sampler_errors(args, match):
    with pytest.raises(ValueError, match=match):
        WeightedRandomSampler(*args)


def test_batch_sampler_groups_indices_like_pytorch():
    batches = list(BatchSampler(SequentialSampler(_ids(10)), 4, drop_last=False))
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert list(BatchSampler(range(10), 4, drop_last=True)) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(BatchSampler(range(10), 4, False)) == 3 and len(BatchSampler(range(10), 4, True)) == 2
    torch = pytest.importorskip("torch")
    for n, b, drop in ((10, 3, False), (10, 3, True), (9, 3, True), (1, 5, False)):
        theirs = list(torch.utils.data.BatchSampler(range(n), b, drop))
        assert list(BatchSampler(range(n), b, drop)) == theirs
        assert len(BatchSampler(range(n), b, drop)) == len(theirs)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(TypeError, match="sampler must be an iterable of indices"):
        BatchSampler(3, 2, False)


# ---- DataLoader with samplers, batch samplers and collate_fn --------------------------------------


def test_loader_with_a_sampler_follows_its_order():
    ds = _ids(10)
    loader = DataLoader(ds, batch_size=4, sampler=[9, 0, 9, 3, 5])
    assert len(loader) == 2
    assert _labels(loader) == [9, 0, 9, 3, 5]
    assert _labels(DataLoader(ds, batch_size=4, sampler=[9, 0, 9, 3, 5], drop_last=True)) == [9, 0, 9, 3]
    weighted = DataLoader(ds, batch_size=5, sampler=WeightedRandomSampler([1.0] + [0.0] * 9, 10))
    assert _labels(weighted) == [0] * 10  # only sample 0 has weight


def test_loader_with_a_batch_sampler_yields_its_batches():
    ds = _ids(10)
    loader = DataLoader(ds, batch_sampler=[[3, 1], [0], [9, 8, 7]])
    assert len(loader) == 3
    assert [b[1].data.tolist() for b in loader] == [[3, 1], [0], [9, 8, 7]]
    loader = DataLoader(Plain(6), batch_sampler=BatchSampler(SequentialSampler(range(6)), 4, False))
    assert [b[1].data.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5]]


def test_collate_fn_gets_the_samples_and_its_result_is_yielded():
    def collate(samples):
        return {"x": [s[0] for s in samples], "n": len(samples)}

    batches = list(DataLoader(Plain(5), batch_size=2, collate_fn=collate))
    assert batches == [{"x": [0.0, 1.0], "n": 2}, {"x": [2.0, 3.0], "n": 2}, {"x": [4.0], "n": 1}]
    # with a TensorDataset the collate_fn sees the rows (the fast path is not taken)
    rows = list(DataLoader(_ids(3), batch_size=3, collate_fn=lambda s: s))[0]
    assert [int(r[1]) for r in rows] == [0, 1, 2]


def test_subsets_of_tensor_datasets_take_the_fast_path_with_the_same_batches():
    ds = _ids(30)
    train, val = random_split(ds, [20, 10], seed=0)
    nested = Subset(train, list(range(19, -1, -2)))
    for sub in (train, val, nested):
        fast = list(DataLoader(sub, batch_size=7))
        assert len(fast) == -(-len(sub) // 7)
        for k, (fx, fy) in enumerate(fast):
            rows = [sub[i] for i in range(7 * k, min(7 * k + 7, len(sub)))]  # sample by sample
            np.testing.assert_array_equal(fx.data, np.stack([r[0] for r in rows]))
            np.testing.assert_array_equal(fy.data, [r[1] for r in rows])
            assert fx.dtype == np.float32 and fy.dtype == np.int64


def test_default_loader_draws_the_same_orders_as_before():
    # shuffle with a seed: the loader's own generator, one permutation per epoch
    loader = DataLoader(_ids(12), batch_size=5, shuffle=True, seed=9)
    rng = np.random.default_rng(9)
    for _ in range(3):
        assert _labels(loader) == rng.permutation(12).tolist()
    assert isinstance(loader.sampler, RandomSampler) and loader.batch_sampler is None


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(sampler=[0, 1], shuffle=True), "sampler is mutually exclusive with shuffle=True"),
        (dict(sampler=[0, 1], seed=3), "seed=3 only seeds shuffle=True"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler is mutually exclusive .* got batch_size"),
        (dict(batch_sampler=[[0]], shuffle=True), "got shuffle"),
        (dict(batch_sampler=[[0]], sampler=[0]), "got sampler"),
        (dict(batch_sampler=[[0]], drop_last=True), "got drop_last"),
        (
            dict(num_workers=2),
            "num_workers=2 is not supported: tinygrad_kr loads batches in the main process",
        ),
        (dict(num_workers=-1), "num_workers must be an integer >= 0, got -1"),
        (dict(sampler=WeightedRandomSampler([1.0, 2.0], 4)), "has 2 weights, but the dataset has 5 samples"),
        (
            dict(sampler=RandomSampler(_ids(3))),
            "made for a dataset of 3 samples, but the loader's dataset has 5",
        ),
    ],
)
def test_loader_argument_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(_ids(5), **kwargs)


def test_loader_type_errors():
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(_ids(5), collate_fn=3)
    with pytest.raises(TypeError, match="sampler must be an iterable of indices"):
        DataLoader(_ids(5), sampler=4)
    with pytest.raises(TypeError, match="shuffle must be True or False"):
        DataLoader(_ids(5), shuffle="yes")
    with pytest.raises(TypeError, match="expected a dataset"):
        DataLoader(42)
    assert DataLoader(_ids(5), num_workers=0).num_workers == 0


def test_loader_repr_is_readable():
    r = repr(DataLoader(_ids(10), batch_size=4, shuffle=True))
    assert r == (
        "DataLoader(TensorDataset(10 samples; float32 (2,), int64 ()), batch_size=4, shuffle=True, "
        "drop_last=False, batches=3)"
    )
    r = repr(DataLoader(_ids(10), batch_size=4, sampler=WeightedRandomSampler([1.0] * 10, 6)))
    assert "sampler=WeightedRandomSampler(10 weights, num_samples=6, replacement=True)" in r
    assert r.endswith("batches=2)")
    r = repr(DataLoader(Plain(3), batch_sampler=[[0, 1], [2]], collate_fn=list))
    assert "batch_sampler=[[0, 1], [2]]" in r and "collate_fn=list" in r
