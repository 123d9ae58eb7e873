"""Dataset, TensorDataset and DataLoader: batch shapes and dtypes, epoch coverage, shuffling."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_kr as tg
from tinygrad_kr.data import DataLoader, Dataset, TensorDataset


def _epoch(loader):
    """The first field of every batch of one epoch, concatenated: (N,) or (N, ...)."""
    return np.concatenate([batch[0].data for batch in loader])


def _ids(n):
    """A dataset whose sample i is (float row [i, -i], label i % 7)."""
    X = np.stack([np.arange(n), -np.arange(n)], axis=1).astype(np.float64)
    return TensorDataset(X, np.arange(n, dtype=np.int32) % 7)


class PairList(Dataset):
    """A plain Python dataset (the generic, per-sample path)."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return [float(i), -float(i)], i % 7


def test_tensor_dataset_rows_and_length():
    ds = _ids(5)
    assert len(ds) == 5
    x, y = ds[3]
    np.testing.assert_array_equal(x, [3.0, -3.0])
    assert y == 3


def test_tensor_dataset_accepts_tensors():
    ds = TensorDataset(tg.Tensor(np.ones((4, 2), np.float32)), [0, 1, 2, 3])
    assert len(ds) == 4 and isinstance(ds.arrays[0], np.ndarray)


def test_tensor_dataset_length_mismatch_names_lengths():
    with pytest.raises(ValueError, match=r"\[10, 9\]"):
        TensorDataset(np.zeros((10, 3)), np.zeros(9))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(np.zeros(3), np.float32(1.0))


def test_base_dataset_is_abstract():
    with pytest.raises(NotImplementedError):
        len(Dataset())
    with pytest.raises(NotImplementedError):
        Dataset()[0]


def test_batch_shapes_and_dtypes():
    loader = DataLoader(_ids(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert [b[1].shape for b in batches] == [(4,), (4,), (2,)]
    for xb, yb in batches:
        assert isinstance(xb, tg.Tensor) and isinstance(yb, tg.Tensor)
        assert xb.dtype == np.float32 and yb.dtype == np.int64
        assert not xb.requires_grad


def test_batches_do_not_alias_the_dataset():
    X = np.zeros((4, 2), np.float32)
    (xb,) = next(iter(DataLoader(TensorDataset(X), batch_size=4)))
    xb.data += 1
    assert X.sum() == 0


def test_no_shuffle_keeps_order():
    np.testing.assert_array_equal(_epoch(DataLoader(_ids(7), batch_size=3))[:, 0], np.arange(7))


def test_drop_last():
    loader = DataLoader(_ids(10), batch_size=4, drop_last=True)
    batches = list(loader)
    assert len(loader) == len(batches) == 2
    assert all(b[0].shape == (4, 2) for b in batches)
    assert len(DataLoader(_ids(3), batch_size=4, drop_last=True)) == 0
    assert list(DataLoader(_ids(3), batch_size=4, drop_last=True)) == []


@given(n=st.integers(0, 60), batch_size=st.integers(1, 17), drop_last=st.booleans(), seed=st.integers(0, 9))
def test_every_sample_exactly_once_per_epoch(n, batch_size, drop_last, seed):
    loader = DataLoader(_ids(n), batch_size=batch_size, shuffle=True, drop_last=drop_last, seed=seed)
    batches = list(loader)
    assert len(batches) == len(loader)
    assert all(b[0].shape[0] == batch_size for b in batches[:-1])
    seen = np.concatenate([b[0].data[:, 0] for b in batches]) if batches else np.zeros(0)
    assert len(np.unique(seen)) == len(seen)
    if drop_last:
        assert len(seen) == n - n % batch_size
    else:
        np.testing.assert_array_equal(np.sort(seen), np.arange(n))


def test_labels_travel_with_their_samples():
    for xb, yb in DataLoader(_ids(50), batch_size=8, shuffle=True, seed=3):
        np.testing.assert_array_equal(yb.data, xb.data[:, 0].astype(np.int64) % 7)
        np.testing.assert_array_equal(xb.data[:, 1], -xb.data[:, 0])


def test_shuffle_differs_across_epochs_and_is_reproducible_with_seed():
    a = DataLoader(_ids(100), batch_size=10, shuffle=True, seed=42)
    b = DataLoader(_ids(100), batch_size=10, shuffle=True, seed=42)
    a1, a2 = _epoch(a), _epoch(a)
    assert not np.array_equal(a1, a2)
    assert not np.array_equal(a1[:, 0], np.arange(100))
    np.testing.assert_array_equal(a1, _epoch(b))
    np.testing.assert_array_equal(a2, _epoch(b))
    c = DataLoader(_ids(100), batch_size=10, shuffle=True, seed=43)
    assert not np.array_equal(a1, _epoch(c))


def test_shuffle_without_seed_follows_manual_seed():
    loader = DataLoader(_ids(100), batch_size=10, shuffle=True)
    tg.manual_seed(7)
    first, second = _epoch(loader), _epoch(loader)
    tg.manual_seed(7)
    np.testing.assert_array_equal(first, _epoch(loader))
    np.testing.assert_array_equal(second, _epoch(loader))
    assert not np.array_equal(first, second)


def test_order_is_fixed_when_iteration_starts():
    tg.manual_seed(0)
    loader = DataLoader(_ids(20), batch_size=5, shuffle=True)
    it = iter(loader)
    tg.manual_seed(0)  # reseeding after iter() must not change the epoch already started
    expected = _epoch(loader)
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in it]), expected)


def test_generic_dataset_matches_tensor_dataset_path():
    for shuffle in (False, True):
        fast = list(DataLoader(_ids(23), batch_size=5, shuffle=shuffle, seed=1))
        slow = list(DataLoader(PairList(23), batch_size=5, shuffle=shuffle, seed=1))
        assert len(fast) == len(slow)
        for (fx, fy), (sx, sy) in zip(fast, slow):
            assert (sx.dtype, sy.dtype) == (np.float32, np.int64)
            np.testing.assert_array_equal(fx.data, sx.data)
            np.testing.assert_array_equal(fy.data, sy.data)


def test_single_field_samples_come_as_one_tuples():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.float64(i * i)

    batches = list(DataLoader(Squares(), batch_size=2))
    assert all(isinstance(b, tuple) and len(b) == 1 for b in batches)
    np.testing.assert_array_equal(np.concatenate([b[0].data for b in batches]), [0, 1, 4, 9, 16])
    assert batches[0][0].dtype == np.float32


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_ids(4), batch_size=bad)
