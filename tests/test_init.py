"""Initialisers: orthogonality, exact spectral radius, bounds, schemes applied by key."""

import numpy as np
import pytest

import rnnlab
from rnnlab import init


@pytest.mark.parametrize("shape", [(6, 6), (8, 3), (3, 8)])
def test_orthogonal_is_orthogonal(shape):
    W = init.orthogonal(shape, rng=0)
    small = min(shape)
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(gram, np.eye(small), atol=1e-13)
    np.testing.assert_array_equal(W, init.orthogonal(shape, rng=0))
    assert not np.array_equal(W, init.orthogonal(shape, rng=1))


def test_orthogonal_sign_fix_gives_positive_r():
    # With the sign fix, re-running QR on the result's Gaussian source yields Q itself; check
    # the property that defines it: W = Q with diag(R) > 0 for A = Q R.
    rng = np.random.default_rng(3)
    A = rng.standard_normal((5, 5))
    W = init.orthogonal((5, 5), rng=np.random.default_rng(3))
    R = W.T @ A
    assert np.all(np.diag(R) > 0)
    np.testing.assert_allclose(np.tril(R, -1), 0, atol=1e-12)


def test_scale_spectral_radius_is_exact(rng):
    W = rng.standard_normal((7, 7))
    for rho in (0.5, 1.0, 1.7):
        S = init.scale_spectral_radius(W, rho)
        assert init.spectral_radius(S) == pytest.approx(rho, rel=1e-12)
        np.testing.assert_allclose(S / W, S[0, 0] / W[0, 0])  # a pure rescaling


def test_xavier_and_uniform_bounds():
    W = init.xavier((200, 100), rng=0)
    a = np.sqrt(6 / 300)
    assert np.abs(W).max() <= a and np.abs(W).max() > 0.99 * a
    assert W.std() == pytest.approx(a / np.sqrt(3), rel=0.02)  # U(-a, a) has std a/sqrt(3)
    U = init.uniform((50, 50), 0.3, rng=0, dtype=np.float32)
    assert U.dtype == np.float32 and np.abs(U).max() <= 0.3


def test_identity():
    np.testing.assert_array_equal(init.identity((3, 3), 0.5), 0.5 * np.eye(3))


def test_initialize_lstm_by_key():
    layer = rnnlab.LSTM(3, 5, peepholes=True, rng=0)
    W_hh = layer.params["W_hh_l0"]
    init.initialize(layer.params, "orthogonal", rng=1, forget_bias=1.0, radius=0.9)
    assert layer.params["W_hh_l0"] is W_hh  # in place: the layer sees the new values
    H = 5
    for g in range(4):
        block = W_hh[g * H : (g + 1) * H]
        assert init.spectral_radius(block) == pytest.approx(0.9, rel=1e-12)
        np.testing.assert_allclose(block.T @ block, 0.81 * np.eye(H), atol=1e-12)
    b = layer.params["b_h_l0"]
    np.testing.assert_array_equal(b[H : 2 * H], 1.0)
    np.testing.assert_array_equal(np.delete(b, np.s_[H : 2 * H]), 0.0)
    for k in ("w_ic_l0", "w_fc_l0", "w_oc_l0"):
        np.testing.assert_array_equal(layer.params[k], 0.0)
    x = np.random.default_rng(0).standard_normal((4, 2, 3))
    y, _, _ = layer.forward(x)
    assert np.all(np.isfinite(y))


def test_initialize_identity_rnn_and_gru():
    rnn = rnnlab.RNN(3, 4, num_layers=2, bidirectional=True, nonlinearity="relu", rng=0)
    init.initialize(rnn.params, "identity", rng=0, cell="rnn")
    for k, v in rnn.params.items():
        if k.startswith("W_hh"):
            np.testing.assert_array_equal(v, np.eye(4))
        elif k.startswith("b_"):
            np.testing.assert_array_equal(v, 0.0)
        else:  # Le et al. 2015: small Gaussian input weights
            assert 0 < np.abs(v).max() < 0.01
    gru = rnnlab.GRU(3, 4, rng=0)
    init.initialize(gru.params, "identity", rng=0, cell="gru")
    np.testing.assert_array_equal(gru.params["W_hh_l0"], np.vstack([np.eye(4)] * 3))
    np.testing.assert_array_equal(gru.params["b_hn_l0"], 0.0)


def test_initialize_is_seeded_and_order_free():
    a = rnnlab.LSTM(3, 5, rng=0).params
    b = dict(reversed(list(rnnlab.LSTM(3, 5, rng=0).params.items())))
    init.initialize(a, "xavier", rng=4)
    init.initialize(b, "xavier", rng=4)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


# -- bad input: one test per class --------------------------------------------------------------
def test_unknown_scheme_lists_choices():
    with pytest.raises(ValueError, match="scheme: expected one of uniform, xavier, orthogonal"):
        init.initialize(rnnlab.RNN(2, 3).params, "he", rng=0, cell="rnn")


@pytest.mark.parametrize("forget_gate", [True, False])
def test_initialize_input_bias_sets_the_i_block(forget_gate):
    layer = rnnlab.LSTM(2, 3, forget_gate=forget_gate, rng=0)
    init.initialize(layer.params, "uniform", rng=1, input_bias=-3.0)
    b = layer.params["b_h_l0"]
    np.testing.assert_array_equal(b[:3], -3.0)
    np.testing.assert_array_equal(b[3:], 0.0)
    with pytest.raises(ValueError, match="input_bias: only an LSTM"):
        init.initialize(rnnlab.GRU(2, 3).params, "uniform", rng=0, input_bias=-1.0, cell="gru")


def test_forget_bias_without_forget_gate_rejected():
    with pytest.raises(ValueError, match="forget_bias: only an LSTM"):
        init.initialize(rnnlab.GRU(2, 3).params, "uniform", rng=0, forget_bias=1.0, cell="gru")
    p = rnnlab.LSTM(2, 3, forget_gate=False).params
    with pytest.raises(ValueError, match="forget_bias: params\\['b_h_l0'\\] has 3 gate blocks"):
        init.initialize(p, "uniform", rng=0, forget_bias=1.0)


def test_wrong_cell_for_params_rejected():
    with pytest.raises(ValueError, match=r"params\['W_hh_l0'\]: expected shape \(G\*H, H\)"):
        init.initialize(rnnlab.LSTM(2, 3).params, "uniform", rng=0, cell="rnn")
    with pytest.raises(ValueError, match="params: unknown key 'foo'"):
        init.initialize({"foo": np.ones(2)}, "uniform", rng=0)


def test_bad_numbers_rejected():
    with pytest.raises(ValueError, match="rho: expected a positive finite number, got -1"):
        init.scale_spectral_radius(np.eye(2), -1)
    with pytest.raises(ValueError, match="W: expected a non-zero eigenvalue|spectral radius 0"):
        init.scale_spectral_radius(np.array([[0.0, 1.0], [0.0, 0.0]]), 1.0)
    with pytest.raises(ValueError, match="shape: expected a tuple of two positive ints"):
        init.orthogonal((3, 0), rng=0)
    with pytest.raises(TypeError, match="rng: expected an int seed or numpy.random.Generator"):
        init.xavier((2, 2), rng="seed")
