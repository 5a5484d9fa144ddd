"""rnnlab: recurrent networks with hand-written, verified backpropagation through time."""

from . import activations, cells, checkpoint, init, kernels, losses, model, optim, plots, tasks
from . import train as training
from .cells import GRUCell, LSTMCell, RNNCell
from .checkpoint import load_checkpoint, load_run, save_checkpoint, save_run
from .layers import GRU, LSTM, RNN, LayerCache, RecurrentLayer
from .model import EncoderDecoder, SequenceModel
from .optim import (
    SGD,
    Adagrad,
    Adam,
    ConstantLR,
    CosineDecay,
    ExponentialDecay,
    Momentum,
    RMSprop,
    StepDecay,
    clip_grad_norm,
    clip_grad_value,
    global_norm,
    make_optimizer,
    make_schedule,
)
from .readout import Readout, readout_loss
from .tasks import TASKS, Batch, Task, get_task
from .train import Run, TrainConfig, evaluate, train

__all__ = [
    "EncoderDecoder",
    "Run",
    "SequenceModel",
    "TrainConfig",
    "checkpoint",
    "evaluate",
    "load_checkpoint",
    "load_run",
    "model",
    "plots",
    "save_checkpoint",
    "save_run",
    "train",
    "training",
    "SGD",
    "TASKS",
    "Adagrad",
    "Adam",
    "Batch",
    "ConstantLR",
    "CosineDecay",
    "ExponentialDecay",
    "Momentum",
    "RMSprop",
    "Readout",
    "StepDecay",
    "Task",
    "clip_grad_norm",
    "clip_grad_value",
    "get_task",
    "global_norm",
    "init",
    "losses",
    "make_optimizer",
    "make_schedule",
    "optim",
    "readout_loss",
    "tasks",
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
