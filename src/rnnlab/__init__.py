"""rnnlab: recurrent networks with hand-written, verified backpropagation through time."""

from . import activations, cells, kernels
from .cells import GRUCell, LSTMCell, RNNCell
from .layers import GRU, LSTM, RNN, LayerCache, RecurrentLayer

__all__ = [
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LayerCache",
    "RNN",
    "RNNCell",
    "RecurrentLayer",
    "activations",
    "cells",
    "kernels",
]
__version__ = "0.1.0"
