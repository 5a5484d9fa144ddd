"""rnnlab: recurrent networks with hand-written, verified backpropagation through time.

Every public name is imported on first use (PEP 562): ``import rnnlab`` itself loads none of
rnnlab's modules, no Numba kernel and no matplotlib, and never touches the matplotlib backend.
``rnnlab.LSTM``, ``rnnlab.gradcheck.check_layer`` or ``rnnlab.train`` import what they need
when first read.
"""

from __future__ import annotations

import importlib
import importlib.util

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None: the module itself
_LAZY: dict[str, tuple[str, str | None]] = {
    # modules and subpackages
    "activations": ("rnnlab.activations", None),
    "bench": ("rnnlab.bench", None),
    "cells": ("rnnlab.cells", None),
    "checkpoint": ("rnnlab.checkpoint", None),
    "data": ("rnnlab.data", None),
    "diagnostics": ("rnnlab.diagnostics", None),
    "figures": ("rnnlab.figures", None),
    "gradcheck": ("rnnlab.gradcheck", None),
    "init": ("rnnlab.init", None),
    "interop": ("rnnlab.interop", None),
    "kernels": ("rnnlab.kernels", None),
    "layers": ("rnnlab.layers", None),
    "losses": ("rnnlab.losses", None),
    "model": ("rnnlab.model", None),
    "optim": ("rnnlab.optim", None),
    "schedules": ("rnnlab.schedules", None),
    "readout": ("rnnlab.readout", None),
    "tasks": ("rnnlab.tasks", None),
    "text": ("rnnlab.text", None),
    "reservoir": ("rnnlab.reservoir", None),
    "forecast": ("rnnlab.forecast", None),
    "reports": ("rnnlab.reports", None),
    "sweep": ("rnnlab.sweep", None),
    "regularizers": ("rnnlab.regularizers", None),
    "tour": ("rnnlab.tour", None),
    "training": ("rnnlab.training", None),
    # layers and cells
    "RNN": ("rnnlab.layers", "RNN"),
    "LSTM": ("rnnlab.layers", "LSTM"),
    "GRU": ("rnnlab.layers", "GRU"),
    "LayerCache": ("rnnlab.layers", "LayerCache"),
    "RecurrentLayer": ("rnnlab.layers", "RecurrentLayer"),
    "RNNCell": ("rnnlab.cells", "RNNCell"),
    "LSTMCell": ("rnnlab.cells", "LSTMCell"),
    "GRUCell": ("rnnlab.cells", "GRUCell"),
    # models and readout
    "SequenceModel": ("rnnlab.model", "SequenceModel"),
    "EncoderDecoder": ("rnnlab.model", "EncoderDecoder"),
    "Readout": ("rnnlab.readout", "Readout"),
    "readout_loss": ("rnnlab.readout", "readout_loss"),
    "readout_value": ("rnnlab.readout", "readout_value"),
    # optimisers, schedules, clipping
    "SGD": ("rnnlab.optim", "SGD"),
    "Momentum": ("rnnlab.optim", "Momentum"),
    "Adagrad": ("rnnlab.optim", "Adagrad"),
    "RMSprop": ("rnnlab.optim", "RMSprop"),
    "Adam": ("rnnlab.optim", "Adam"),
    "ConstantLR": ("rnnlab.schedules", "ConstantLR"),
    "StepDecay": ("rnnlab.schedules", "StepDecay"),
    "ExponentialDecay": ("rnnlab.schedules", "ExponentialDecay"),
    "CosineDecay": ("rnnlab.schedules", "CosineDecay"),
    "clip_grad_norm": ("rnnlab.optim", "clip_grad_norm"),
    "clip_grad_value": ("rnnlab.optim", "clip_grad_value"),
    "global_norm": ("rnnlab.optim", "global_norm"),
    "make_optimizer": ("rnnlab.optim", "make_optimizer"),
    "make_schedule": ("rnnlab.schedules", "make_schedule"),
    # tasks and data
    "TASKS": ("rnnlab.tasks", "TASKS"),
    "Batch": ("rnnlab.tasks", "Batch"),
    "Task": ("rnnlab.tasks", "Task"),
    "get_task": ("rnnlab.tasks", "get_task"),
    "ArrayDataset": ("rnnlab.data", "ArrayDataset"),
    "ESN": ("rnnlab.reservoir", "ESN"),
    "DataSource": ("rnnlab.data", "DataSource"),
    # training and run folders
    "train": ("rnnlab.training", "train"),
    "TrainConfig": ("rnnlab.training", "TrainConfig"),
    "Run": ("rnnlab.training", "Run"),
    "evaluate": ("rnnlab.training", "evaluate"),
    "Trainer": ("rnnlab.training", "Trainer"),
    "Callback": ("rnnlab.training", "Callback"),
    "load_run": ("rnnlab.training", "load_run"),
    "LoadedRun": ("rnnlab.training", "LoadedRun"),
    "load_checkpoint": ("rnnlab.checkpoint", "load_checkpoint"),
    "save_checkpoint": ("rnnlab.checkpoint", "save_checkpoint"),
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> object:
    """Import a public name on first access and keep it in the module's namespace."""
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        # any other submodule (rnnlab.bench_trainer, ...) also loads on first access
        if name.startswith("__") or importlib.util.find_spec(f"rnnlab.{name}") is None:
            raise AttributeError(f"module 'rnnlab' has no attribute {name!r}") from None
        module_name, attr = f"rnnlab.{name}", None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
