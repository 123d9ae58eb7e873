"""Layer errors name the layer by its place in the model and give expected vs actual shapes.

The engine-level messages (MatMul alignment, broadcasting, dtypes, graph misuse) are tested
in test_ops.py / test_autograd.py; Linear's in test_nn_module.py; losses in test_nn_loss.py.
This file checks the remaining layers inside a nested model, where the qualified name is
what tells a learner which of several identical layers got the wrong input.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import nn
import tinygrad_kr as tg


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = Encoder()
        self.norm = nn.BatchNorm1d(3)
        self.emb = nn.Embedding(10, 5)
        self.rnn = nn.LSTM(5, 6)
        self.layers = nn.Sequential(nn.Linear(6, 6), nn.Linear(6, 2))


@pytest.fixture
def model():
    return Model()


@pytest.mark.parametrize(
    "call, kind, message",
    [
        (lambda m: m.enc.conv1(tg.randn(2, 3, 8, 8)), ValueError,
         "enc.conv1 (Conv2d): expected input (N, 1, H, W), got (2, 3, 8, 8)"),
        (lambda m: m.enc.conv1(tg.randn(2, 8, 8)), ValueError,
         "enc.conv1 (Conv2d): expected a 4-D input (N, C, H, W), got shape (2, 8, 8)"),
        (lambda m: m.enc.conv1(tg.randn(1, 1, 2, 2)), ValueError,
         "enc.conv1 (Conv2d): the kernel (3, 3)"),
        (lambda m: m.enc.bn1(tg.randn(2, 3, 4, 4)), ValueError,
         "enc.bn1 (BatchNorm2d): expected input (N, C, H, W) with C=4, got shape (2, 3, 4, 4)"),
        (lambda m: m.enc.pool(tg.randn(2, 4)), ValueError,
         "enc.pool (MaxPool2d): expected a 4-D input (N, C, H, W), got shape (2, 4)"),
        (lambda m: m.norm(tg.randn(2, 4)), ValueError,
         "norm (BatchNorm1d): expected input (N, C) or (N, C, L) with C=3, got shape (2, 4)"),
        (lambda m: m.emb(np.array([1, 12])), IndexError,
         "emb (Embedding): index 12 is out of range for 10 embeddings"),
        (lambda m: m.emb(np.array([1.0])), TypeError,
         "emb (Embedding): indices must be integers"),
        (lambda m: m.rnn(tg.randn(2, 7, 4)), ValueError,
         "rnn (LSTM): expected input of shape (N, T, input_size) or (T, input_size) with input_size=5, "
         "got shape (2, 7, 4)"),
        (lambda m: m.layers(tg.randn(2, 5)), ValueError,
         "layers.0 (Linear): expected input with last dim 6, got shape (2, 5)"),
        (lambda m: m.enc.conv1(tg.randn(2, 1, 8, 8).astype(np.float64)), TypeError,
         "enc.conv1 (Conv2d): input dtype float64 differs from the weight dtype float32"),
    ],
)
def test_layer_errors_name_the_layer_and_shapes(model, call, kind, message):
    with pytest.raises(kind, match="^" + re.escape(message)):
        call(model)


def test_a_root_layer_is_named_by_its_class():
    with pytest.raises(ValueError, match=r"^Conv2d: expected input \(N, 1, H, W\)"):
        nn.Conv2d(1, 2, 3)(tg.randn(1, 2, 5, 5))


def test_moving_a_layer_renames_it_in_errors():
    """Names are cached for speed; re-parenting a layer must not leave a stale name."""
    m = Model()
    conv = m.enc.conv1
    with pytest.raises(ValueError, match=r"^enc\.conv1 \(Conv2d\)"):
        conv(tg.randn(1, 3, 5, 5))
    del m.enc.conv1
    holder = nn.Sequential(nn.Identity(), conv)
    with pytest.raises(ValueError, match=r"^1 \(Conv2d\)"):
        holder[1](tg.randn(1, 3, 5, 5))
