"""Cell families: equations, parameter shapes, one reference step forward and backward."""

from .base import Cell, reference_backward, reference_forward
from .gru import GRUCell
from .lstm import LSTMCell
from .rnn import RNNCell

__all__ = [
    "Cell",
    "GRUCell",
    "LSTMCell",
    "RNNCell",
    "reference_backward",
    "reference_forward",
]
