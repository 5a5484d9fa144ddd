"""The ``>>>`` examples in the public docstrings run and print what they say."""

import doctest
import importlib

import pytest

MODULES = [
    "rnnlab.layers",
    "rnnlab._stack",
    "rnnlab._states",
    "rnnlab.model",
    "rnnlab.readout",
    "rnnlab.init",
    "rnnlab.activations",
    "rnnlab.cells.base",
    "rnnlab.training.api",
    "rnnlab.training.config",
    "rnnlab.data.arrays",
    "rnnlab.data.tasks",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_documented_classes_have_examples():
    import rnnlab
    from rnnlab.model import SequenceModel
    from rnnlab.readout import Readout

    for cls in (rnnlab.RNN, rnnlab.LSTM, rnnlab.GRU, SequenceModel, Readout):
        for section in ("Parameters", "Inputs", "Outputs", "Attributes", "Examples", ">>>"):
            assert section in cls.__doc__, f"{cls.__name__}: no {section!r} in the docstring"
