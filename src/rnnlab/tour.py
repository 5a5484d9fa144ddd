"""A short tour of the core: build each cell, run it forward and backward, check the gradient.

It prints, for each cell family, the largest finite-difference error of the hand-written BPTT
and, when PyTorch is installed, the largest difference from PyTorch autograd with the same
weights. Everything here is also available as library calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .gradcheck import check_layer
from .interop import compare_with_torch
from .layers import GRU, LSTM, RNN, RecurrentLayer


@dataclass
class TourRow:
    """One line of the tour's table."""

    name: str  # which layer
    params: int  # number of trainable scalars
    fd_error: float  # largest relative error against finite differences (float64)
    torch_error: float | None  # largest relative error against PyTorch autograd, if available


def run_tour(
    echo: Callable[[str], None] = print, rng: int | np.random.Generator = 0
) -> list[TourRow]:
    """Check every cell family; print a table through ``echo`` and return its rows."""
    gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    I, H, T, B = 3, 4, 6, 2
    layers: dict[str, RecurrentLayer] = {
        "RNN tanh": RNN(I, H, rng=gen),
        "RNN relu, 2 layers": RNN(I, H, num_layers=2, nonlinearity="relu", rng=gen),
        "LSTM": LSTM(I, H, forget_bias=1.0, rng=gen),
        "LSTM bidirectional": LSTM(I, H, bidirectional=True, rng=gen),
        "LSTM 1997 (no forget gate)": LSTM(I, H, forget_gate=False, rng=gen),
        "LSTM peepholes": LSTM(I, H, peepholes=True, rng=gen),
        "GRU, 2 layers": GRU(I, H, num_layers=2, rng=gen),
    }
    echo(f"x: (T={T}, B={B}, I={I}), hidden size {H}, float64\n")
    echo(f"{'layer':<28}{'params':>8}{'vs finite diff.':>18}{'vs PyTorch':>14}")
    rows = []
    for name, layer in layers.items():
        x = gen.standard_normal((T, B, I))
        fd = max(check_layer(layer, x, rng=gen).values())
        try:
            te = compare_with_torch(layer, x, gen)
            te_text = f"{te:.1e}"
        except ImportError:  # PyTorch is optional: the tour works without it
            te, te_text = None, "n/a"
        except ValueError:  # no PyTorch counterpart (peepholes, no forget gate)
            te, te_text = None, "no torch twin"
        n = sum(p.size for p in layer.params.values())
        echo(f"{name:<28}{n:>8}{fd:>18.1e}{te_text:>14}")
        rows.append(TourRow(name, n, fd, te))
    echo("\nErrors are ||a - b|| / max(||a||, ||b||) over all outputs and gradients.")
    return rows
