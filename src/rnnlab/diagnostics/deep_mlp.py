"""The feed-forward analogue (seed 002's 19-layer slide): per-layer gradient norms at init.

A deep MLP is an unrolled RNN whose layers do not share weights: the gradient reaching layer
``l`` is multiplied by ``diag(phi'(z)) W`` once per layer above it. On scikit-learn's bundled
handwritten digits (8x8 images, 10 classes) we measure ``||dL/dW_l||_F`` for every layer of a
``depth``-layer network at initialisation, for ELU, ReLU, sigmoid and tanh. Forward and backward
are written here by hand (NumPy, float64).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._validate import as_rng, check_array, check_choice, check_positive_int

ACTIVATIONS = ("elu", "relu", "sigmoid", "tanh")
INITS = ("xavier", "he", "uniform")


def _act(name: str, z: np.ndarray) -> np.ndarray:
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic
    return np.where(z > 0, z, np.expm1(np.minimum(z, 0.0)))  # elu, alpha = 1


def _dact_from_y(name: str, y: np.ndarray) -> np.ndarray:
    """phi'(z) through the output y = phi(z)."""
    if name == "relu":
        return (y > 0).astype(y.dtype)
    if name == "tanh":
        return 1.0 - y * y
    if name == "sigmoid":
        return y * (1.0 - y)
    return np.where(y > 0, 1.0, y + 1.0)  # elu: phi'(z) = exp(z) = y + 1 for z <= 0


def init_mlp(
    sizes: Sequence[int], rng: int | np.random.Generator, init: str = "xavier"
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Weights ``(fan_out, fan_in)`` and zero biases for consecutive layer ``sizes``.

    ``xavier``: U(+-sqrt(6/(fan_in+fan_out))) (Glorot & Bengio 2010); ``he``: N(0, 2/fan_in);
    ``uniform``: U(+-1/sqrt(fan_in)) (PyTorch's nn.Linear default).
    """
    init = check_choice("init", init, INITS)
    if len(sizes) < 2:
        raise ValueError(f"sizes: expected at least two layer sizes, got {list(sizes)}")
    for s in sizes:
        check_positive_int("sizes", s)
    gen = as_rng(rng)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        if init == "xavier":
            a = np.sqrt(6.0 / (fan_in + fan_out))
            W = gen.uniform(-a, a, size=(fan_out, fan_in))
        elif init == "he":
            W = gen.standard_normal((fan_out, fan_in)) * np.sqrt(2.0 / fan_in)
        else:
            a = 1.0 / np.sqrt(fan_in)
            W = gen.uniform(-a, a, size=(fan_out, fan_in))
        layers.append((W, np.zeros(fan_out)))
    return layers


def mlp_loss_and_grads(
    layers: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray, y: np.ndarray, activation: str
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """Mean softmax cross-entropy of the MLP and its gradients, by hand.

    Every layer but the last is followed by ``activation``; the last gives the logits.
    ``X (N, F)``, ``y (N,)`` integer classes. Returns ``(L, [(dW, db), ...])``.
    """
    activation = check_choice("activation", activation, ACTIVATIONS)
    check_array("X", X, ndim=2)
    if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind not in "iu":
        raise TypeError("y: expected a 1-d integer numpy array of class indices")
    N = X.shape[0]
    if y.shape[0] != N:
        raise ValueError(f"y: expected {N} labels (one per row of X), got {y.shape[0]}")
    acts = [X]  # acts[l] is the input of layer l
    a = X
    for li, (W, b) in enumerate(layers):
        z = a @ W.T + b  # (N, fan_out)
        a = z if li == len(layers) - 1 else _act(activation, z)
        acts.append(a)
    logits = acts[-1]  # (N, K)
    shift = logits - logits.max(axis=1, keepdims=True)
    logp = shift - np.log(np.exp(shift).sum(axis=1, keepdims=True))
    loss = float(-logp[np.arange(N), y].mean())
    dz = np.exp(logp)  # softmax
    dz[np.arange(N), y] -= 1.0
    dz /= N  # dL/dlogits
    grads: list[tuple[np.ndarray, np.ndarray]] = [None] * len(layers)  # type: ignore[list-item]
    for li in range(len(layers) - 1, -1, -1):
        W, _ = layers[li]
        grads[li] = (dz.T @ acts[li], dz.sum(axis=0))  # z = a W^T + b
        if li:
            da = dz @ W
            dz = da * _dact_from_y(activation, acts[li])  # a = phi(z) of the layer below
    return loss, grads


def load_digits_data(
    n_samples: int | None = 512, rng: int | np.random.Generator = 0
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits, pixels scaled to [0, 1]; ``n_samples`` rows drawn with rng.

    The file ships inside scikit-learn; it is read directly when present because importing
    scikit-learn costs seconds, and through ``sklearn.datasets.load_digits`` otherwise (the test
    suite checks that both give the same arrays).
    """
    data = None
    spec = importlib.util.find_spec("sklearn")  # locates the package without importing it
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            data = np.loadtxt(path, delimiter=",")  # (1797, 65): 64 pixels, then the label
    if data is not None and data.shape == (1797, 65):
        X, y = data[:, :-1] / 16.0, data[:, -1].astype(np.int64)
    else:  # pragma: no cover - a scikit-learn whose layout changed
        from sklearn.datasets import load_digits

        d = load_digits()
        X, y = d.data / 16.0, d.target.astype(np.int64)
    if n_samples is not None:
        n_samples = check_positive_int("n_samples", n_samples)
        idx = as_rng(rng).permutation(X.shape[0])[: min(n_samples, X.shape[0])]
        X, y = X[idx], y[idx]
    return X, y


def deep_mlp_gradients(
    activations: Sequence[str] = ACTIVATIONS,
    depth: int = 19,
    width: int = 64,
    n_samples: int | None = 512,
    init: str = "xavier",
    rng: int | np.random.Generator = 0,
) -> dict[str, object]:
    """``||dL/dW_l||_F`` for layers ``l = 1..depth`` (1 = next to the input) at initialisation.

    ``depth`` weight layers: ``depth - 1`` hidden layers of ``width`` units and a 10-way softmax
    output. The same initial weights (drawn once from ``rng``) serve every activation, so the
    curves differ only by ``phi``. Returns ``{"depth", "width", "init", "n_samples", "layers",
    "grad_norms": {activation: (depth,)}, "loss": {activation: float}}``.
    """
    depth = check_positive_int("depth", depth)
    if depth < 2:
        raise ValueError(f"depth: expected at least 2 layers, got {depth}")
    width = check_positive_int("width", width)
    for a in activations:
        check_choice("activations", a, ACTIVATIONS)
    gen = as_rng(rng)
    X, y = load_digits_data(n_samples, gen)
    sizes = [X.shape[1], *([width] * (depth - 1)), 10]
    layers = init_mlp(sizes, gen, init)
    norms, losses = {}, {}
    for a in activations:
        loss, grads = mlp_loss_and_grads(layers, X, y, a)
        norms[a] = np.array([np.linalg.norm(dW) for dW, _ in grads])
        losses[a] = loss
    return {
        "depth": depth,
        "width": width,
        "init": init,
        "n_samples": int(X.shape[0]),
        "layers": np.arange(1, depth + 1),
        "grad_norms": norms,
        "loss": losses,
    }
