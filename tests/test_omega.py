"""Pascanu et al.'s Omega: its gradient against central finite differences (errors and states held
constant), the per-step errors against the layer's own backward, and the training hook."""

from __future__ import annotations

import numpy as np
import pytest

import rnnlab
from rnnlab.regularizers import layer_omega, omega_and_grad, rnn_step_errors, step_errors


def _fd(fn, W, eps=1e-6):
    g = np.zeros_like(W)
    for idx in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        g[idx] = (fn(Wp) - fn(Wm)) / (2 * eps)
    return g


def _rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("G", [1, 3, 4])
def test_omega_gradient_matches_finite_differences(G):
    rng = np.random.default_rng(0)
    T, B, H = 7, 3, 5
    W = rng.standard_normal((G * H, H)) * 0.5
    a = rng.standard_normal((T, B, G * H))
    delta = rng.standard_normal((T, B, H))
    delta[-1, 0] = 0.0  # a step with no error counts as r = 1 (no term)
    omega, dW = omega_and_grad(W, a, delta)
    assert omega > 0
    fd = _fd(lambda w: omega_and_grad(w, a, delta)[0], W)
    assert _rel(dW, fd) < 1e-7


def test_omega_is_zero_for_a_norm_preserving_step():
    # a = delta (phi' = 1) and an orthogonal W_hh: every r_k is exactly 1
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    d = rng.standard_normal((4, 2, 6))
    omega, dW = omega_and_grad(Q, d, d)
    assert omega == pytest.approx(0.0, abs=1e-24)
    assert np.abs(dW).max() < 1e-12


def test_all_errors_below_bound_give_zero():
    omega, dW = omega_and_grad(np.eye(3), np.zeros((2, 1, 3)), np.zeros((2, 1, 3)))
    assert omega == 0.0 and not dW.any()


@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
def test_step_errors_match_the_layers_backward(family):
    """delta_0 -> dL/dh_0 and sum_k a_k^T h_{k-1} == dL/dW_hh from the layer's own BPTT."""
    rng = np.random.default_rng(2)
    T, B, I, H = 6, 3, 2, 4
    kw = {"nonlinearity": "tanh"} if family == "rnn" else {}
    layer = {"rnn": rnnlab.RNN, "lstm": rnnlab.LSTM, "gru": rnnlab.GRU}[family](I, H, rng=0, **kw)
    x = rng.standard_normal((T, B, I))
    dy = rng.standard_normal((T, B, H))
    _, _, cache = layer.forward(x)
    _, _, grads = layer.backward(dy, cache)
    unit = layer.direction(0, 0, cache)
    delta, a = step_errors(layer.cell, unit.params, unit.cache, dy)
    h = unit.cache["h"]
    assert _rel(np.einsum("tbi,tbj->ij", a, h[:-1]), grads["W_hh_l0"]) < 1e-12
    if family == "rnn":
        d2, a2 = rnn_step_errors(layer.cell, unit.params, unit.cache, dy)
        assert _rel(delta, d2) < 1e-12 and _rel(a, a2) < 1e-12


def test_layer_omega_rejects_stacks():
    layer = rnnlab.RNN(2, 3, num_layers=2, rng=0)
    _, _, cache = layer.forward(np.zeros((3, 1, 2)))
    with pytest.raises(ValueError, match="omega"):
        layer_omega(layer, cache, np.zeros((3, 1, 3)))


def test_training_with_omega_adds_alpha_domega_to_w_hh_only():
    from rnnlab.training import TrainConfig, train

    base = dict(
        task="adding",
        model="rnn",
        length=20,
        hidden=8,
        steps=1,
        batch=4,
        seed=0,
        eval_every=1000,
        optimizer="sgd",
        lr=0.01,
        clip=None,
    )
    quiet = dict(progress=False, log=lambda s: None)
    r0 = train(TrainConfig(**base), **quiet)
    r1 = train(TrainConfig(**base, omega=2.0), **quiet)
    p0, p1 = r0.model.params, r1.model.params
    # one SGD step from the same start on the same batch: only W_hh moves differently
    for name in p0:
        if name != "W_hh_l0":
            np.testing.assert_array_equal(p0[name], p1[name])
    assert np.abs(p0["W_hh_l0"] - p1["W_hh_l0"]).max() > 1e-8
    r2 = train(TrainConfig(**{**base, "steps": 5}, omega=2.0), **quiet)
    assert r2.config.omega == 2.0 and np.isfinite(r2.model.params["W_hh_l0"]).all()


def test_omega_config_checks():
    from rnnlab.training import TrainConfig, validate_config

    with pytest.raises(ValueError, match="omega"):
        validate_config(TrainConfig(omega=-1.0))
    with pytest.raises(ValueError, match="omega"):
        validate_config(TrainConfig(omega=1.0, tbptt=10))
