"""Exact weight exchange with ``torch.nn.RNN``, ``torch.nn.LSTM`` and ``torch.nn.GRU``.

PyTorch keeps two biases per layer (``bias_ih`` and ``bias_hh``); rnnlab keeps the notes' one
``b_h`` (their sum), except for the GRU's ``b_hn``, which the reset gate multiplies and so
cannot be merged. Weights keep PyTorch's layout and gate order, so the exchange is a copy.
PyTorch is imported only when these functions are called.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .gradcheck import relative_error
from .layers import GRU, LSTM, RNN, RecurrentLayer

_TORCH_MODES = {"RNN_TANH": "rnn", "RNN_RELU": "rnn", "LSTM": "lstm", "GRU": "gru"}


def _torch() -> Any:
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised only without torch
        raise ImportError("rnnlab.interop needs PyTorch: pip install 'rnnlab[torch]'") from exc
    return torch


def _suffixes(module: Any):
    dirs = 2 if module.bidirectional else 1
    for layer in range(module.num_layers):
        for d in range(dirs):
            yield f"_l{layer}" + ("_reverse" if d else "")


def _check_module(module: Any) -> str:
    torch = _torch()
    if not isinstance(module, torch.nn.RNNBase) or module.mode not in _TORCH_MODES:
        raise TypeError(
            "module: expected torch.nn.RNN, torch.nn.LSTM or torch.nn.GRU, "
            f"got {type(module).__name__}"
        )
    if getattr(module, "proj_size", 0):
        raise ValueError(
            f"module: LSTM projections have no rnnlab counterpart, got proj_size={module.proj_size}"
        )
    return _TORCH_MODES[module.mode]


def from_torch(module: Any) -> RecurrentLayer:
    """Build the rnnlab layer that computes exactly what ``module`` computes.

    ``module`` is a ``torch.nn.RNN`` (tanh or relu), ``torch.nn.LSTM`` or ``torch.nn.GRU``; its
    dtype (float32 or float64) is kept. rnnlab is time-major, like ``batch_first=False``.
    """
    family = _check_module(module)
    weight = module.weight_ih_l0
    dtype = {"torch.float32": np.float32, "torch.float64": np.float64}.get(str(weight.dtype))
    if dtype is None:
        raise TypeError(f"module: expected float32 or float64 weights, got {weight.dtype}")
    kw = dict(num_layers=module.num_layers, bidirectional=module.bidirectional, dtype=dtype)
    if family == "rnn":
        nonlin = "tanh" if module.mode == "RNN_TANH" else "relu"
        layer: RecurrentLayer = RNN(
            module.input_size, module.hidden_size, nonlinearity=nonlin, **kw
        )
    elif family == "lstm":
        layer = LSTM(module.input_size, module.hidden_size, **kw)
    else:
        layer = GRU(module.input_size, module.hidden_size, **kw)
    H = module.hidden_size

    def get(name: str) -> np.ndarray:
        return getattr(module, name).detach().cpu().numpy().astype(dtype)

    for sfx in _suffixes(module):
        layer.params["W_xh" + sfx][...] = get("weight_ih" + sfx)
        layer.params["W_hh" + sfx][...] = get("weight_hh" + sfx)
        if not module.bias:
            layer.params["b_h" + sfx][...] = 0.0
            if family == "gru":
                layer.params["b_hn" + sfx][...] = 0.0
            continue
        b_ih, b_hh = get("bias_ih" + sfx), get("bias_hh" + sfx)
        if family == "gru":
            b_hh_rz = np.concatenate([b_hh[: 2 * H], np.zeros(H, dtype)])
            layer.params["b_h" + sfx][...] = b_ih + b_hh_rz
            layer.params["b_hn" + sfx][...] = b_hh[2 * H :]
        else:
            layer.params["b_h" + sfx][...] = b_ih + b_hh
    return layer


def to_torch(layer: RecurrentLayer) -> Any:
    """Build the ``torch.nn`` module that computes exactly what ``layer`` computes.

    A peephole LSTM, an LSTM without forget gate, and an RNN with a sigmoid or identity
    nonlinearity have no PyTorch counterpart and raise ``ValueError``.
    """
    torch = _torch()
    if not isinstance(layer, RecurrentLayer):
        raise TypeError(f"layer: expected an rnnlab RNN, LSTM or GRU, got {type(layer).__name__}")
    kw = dict(num_layers=layer.num_layers, bidirectional=layer.bidirectional)
    family = layer.family
    if family == "rnn":
        if layer.cell.nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                "layer: torch.nn.RNN supports nonlinearity tanh or relu, "
                f"got {layer.cell.nonlinearity!r}"
            )
        module = torch.nn.RNN(
            layer.input_size, layer.hidden_size, nonlinearity=layer.cell.nonlinearity, **kw
        )
    elif family == "lstm":
        if layer.cell.peepholes or not layer.cell.forget_gate:
            raise ValueError(
                "layer: torch.nn.LSTM has no peepholes and always has a forget gate, got "
                f"peepholes={layer.cell.peepholes}, forget_gate={layer.cell.forget_gate}"
            )
        module = torch.nn.LSTM(layer.input_size, layer.hidden_size, **kw)
    else:
        module = torch.nn.GRU(layer.input_size, layer.hidden_size, **kw)
    tdtype = torch.float64 if layer.dtype == np.float64 else torch.float32
    module = module.to(tdtype)
    H = layer.hidden_size
    with torch.no_grad():
        for sfx in _suffixes(module):
            getattr(module, "weight_ih" + sfx).copy_(torch.from_numpy(layer.params["W_xh" + sfx]))
            getattr(module, "weight_hh" + sfx).copy_(torch.from_numpy(layer.params["W_hh" + sfx]))
            getattr(module, "bias_ih" + sfx).copy_(torch.from_numpy(layer.params["b_h" + sfx]))
            b_hh = getattr(module, "bias_hh" + sfx)
            b_hh.zero_()
            if family == "gru":
                b_hh[2 * H :] = torch.from_numpy(layer.params["b_hn" + sfx])
    return module


def rnnlab_parameters(module: Any) -> list:
    """The parameters of a torch RNN/LSTM that rnnlab's layer has, for an optimiser: every one
    but ``bias_hh``, which is frozen (left at the zeros :func:`to_torch` wrote).

    PyTorch's two biases get the same gradient; an optimiser over both moves their sum, the one
    bias rnnlab has, twice as far per step (with Adam, exactly twice), so a comparison of
    training runs would compare two models. A GRU keeps ``bias_hh`` (its n-block is rnnlab's
    ``b_hn``), so it is returned whole and its r/z blocks stay duplicated.
    """
    out = []
    for name, p in module.named_parameters():
        if name.startswith("bias_hh") and module.mode != "GRU":
            p.requires_grad_(False)
        else:
            out.append(p)
    return out


def torch_grads(module: Any) -> dict[str, np.ndarray]:
    """The ``.grad`` of a torch module's parameters under rnnlab's keys.

    ``b_h``'s gradient equals ``bias_ih.grad`` (the sum rule makes it the same as ``bias_hh``'s
    for RNN and LSTM); a GRU's ``b_hn`` gradient is the n-block of ``bias_hh.grad``.
    """
    family = _check_module(module)
    H = module.hidden_size
    out: dict[str, np.ndarray] = {}

    def grad(name: str) -> np.ndarray:
        g = getattr(module, name).grad
        if g is None:
            raise ValueError(f"module: parameter {name} has no gradient; call backward() first")
        return g.detach().cpu().numpy()

    for sfx in _suffixes(module):
        out["W_xh" + sfx] = grad("weight_ih" + sfx)
        out["W_hh" + sfx] = grad("weight_hh" + sfx)
        out["b_h" + sfx] = grad("bias_ih" + sfx)
        if family == "gru":
            out["b_hn" + sfx] = grad("bias_hh" + sfx)[2 * H :]
    return out


def compare_with_torch(layer: RecurrentLayer, x: np.ndarray, rng: np.random.Generator) -> float:
    """Largest relative error between ``layer`` and its ``torch.nn`` twin (``to_torch``).

    Compares the outputs, dL/dx and every parameter gradient for a random linear loss
    ``L = sum(w * y)``. Raises ``ImportError`` without PyTorch and ``ValueError`` for a layer
    that has no PyTorch counterpart.
    """
    torch = _torch()
    module = to_torch(layer)
    y, _, cache = layer.forward(x)
    w_y = rng.standard_normal(y.shape).astype(layer.dtype)  # (T, B, D*H)
    dx, _, grads = layer.backward(w_y, cache)
    xt = torch.tensor(x, requires_grad=True)
    yt, _ = module(xt)
    (yt * torch.tensor(w_y)).sum().backward()
    g_t = torch_grads(module)
    errors = [relative_error(y, yt.detach().numpy()), relative_error(dx, xt.grad.numpy())]
    errors += [relative_error(grads[k], g_t[k]) for k in grads]
    return max(errors)
