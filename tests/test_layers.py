"""Layer behaviour: stepping, determinism, state handling and clear errors for bad input."""

import numpy as np
import pytest

import rnnlab
from rnnlab.gradcheck import relative_error
from tolerances import STEPWISE_REL

FACTORIES = {
    "rnn": lambda **kw: rnnlab.RNN(3, 5, **kw),
    "lstm": lambda **kw: rnnlab.LSTM(3, 5, peepholes=True, **kw),
    "gru": lambda **kw: rnnlab.GRU(3, 5, **kw),
}


@pytest.mark.parametrize("kind", FACTORIES)
def test_single_steps_equal_whole_sequence(kind, rng):
    layer = FACTORIES[kind](num_layers=2, rng=0)
    x = rng.standard_normal((7, 4, 3))
    y, s_T, _ = layer.forward(x)
    state, ys = None, []
    for t in range(7):
        y_t, state, _ = layer.forward(x[t : t + 1], state)
        ys.append(y_t)
    assert relative_error(np.concatenate(ys), y) <= STEPWISE_REL
    for a, b in zip(
        state if isinstance(state, tuple) else [state], s_T if isinstance(s_T, tuple) else [s_T]
    ):
        assert relative_error(a, b) <= STEPWISE_REL


@pytest.mark.parametrize("kind", FACTORIES)
def test_same_seed_same_bits(kind, rng):
    x = rng.standard_normal((6, 3, 3))
    results = []
    for _ in range(2):
        layer = FACTORIES[kind](num_layers=2, bidirectional=True, rng=42)
        y, _, cache = layer.forward(x)
        dx, _, grads = layer.backward(np.ones_like(y), cache)
        results.append((layer.params, y, dx, grads))
    (p1, y1, dx1, g1), (p2, y2, dx2, g2) = results
    assert all(np.array_equal(p1[k], p2[k]) for k in p1)
    assert np.array_equal(y1, y2) and np.array_equal(dx1, dx2)
    assert all(np.array_equal(g1[k], g2[k]) for k in g1)
    other = FACTORIES[kind](num_layers=2, bidirectional=True, rng=43)
    assert not np.array_equal(other.params["W_hh_l0"], p1["W_hh_l0"])


def test_generator_is_accepted_and_advanced():
    gen = np.random.default_rng(0)
    a, b = rnnlab.RNN(2, 3, rng=gen), rnnlab.RNN(2, 3, rng=gen)
    assert not np.array_equal(a.params["W_hh_l0"], b.params["W_hh_l0"])


def test_parameter_keys_and_shapes():
    lstm = rnnlab.LSTM(3, 4, num_layers=2, bidirectional=True, peepholes=True)
    assert lstm.params["W_xh_l0"].shape == (16, 3)
    assert lstm.params["W_xh_l1_reverse"].shape == (16, 8)  # layer 1 reads both directions
    assert lstm.params["w_fc_l1"].shape == (4,)
    assert rnnlab.LSTM(3, 4, forget_gate=False).params["W_hh_l0"].shape == (12, 4)
    gru = rnnlab.GRU(3, 4)
    assert set(gru.params) == {"W_xh_l0", "W_hh_l0", "b_h_l0", "b_hn_l0"}


def test_forget_bias_sets_the_f_block():
    base = rnnlab.LSTM(2, 3, rng=0).params["b_h_l0"]
    biased = rnnlab.LSTM(2, 3, rng=0, forget_bias=1.0).params["b_h_l0"]
    np.testing.assert_array_equal(biased - base, np.r_[np.zeros(3), np.ones(3), np.zeros(6)])


@pytest.mark.parametrize("forget_gate, blocks", [(True, 4), (False, 3)])
def test_input_bias_sets_the_i_block(forget_gate, blocks):
    base = rnnlab.LSTM(2, 3, rng=0, forget_gate=forget_gate).params["b_h_l0"]
    biased = rnnlab.LSTM(2, 3, rng=0, forget_gate=forget_gate, input_bias=-3.0)
    np.testing.assert_allclose(
        biased.params["b_h_l0"] - base, np.r_[-3 * np.ones(3), np.zeros(3 * (blocks - 1))]
    )


def test_float32_layer_keeps_float32(rng):
    layer = rnnlab.LSTM(3, 4, dtype=np.float32)
    y, (h, c), cache = layer.forward(rng.standard_normal((3, 2, 3)).astype(np.float32))
    dx, _, grads = layer.backward(np.ones_like(y), cache)
    assert y.dtype == h.dtype == c.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())


# --- bad input: each names the argument, what was expected and what came ----------------------


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="hidden_size: expected a positive int, got 0"):
        rnnlab.RNN(3, 0)
    with pytest.raises(ValueError, match="input_size: expected a positive int, got -1"):
        rnnlab.GRU(-1, 4)
    with pytest.raises(TypeError, match="hidden_size: expected a positive int, got float"):
        rnnlab.LSTM(3, 2.5)
    with pytest.raises(ValueError, match="num_layers"):
        rnnlab.LSTM(3, 4, num_layers=0)
    with pytest.raises(
        ValueError,
        match="nonlinearity: expected one of tanh, sigmoid, relu, identity; got 'softplus'",
    ):
        rnnlab.RNN(3, 4, nonlinearity="softplus")
    with pytest.raises(
        TypeError, match="dtype: expected numpy.float32 or numpy.float64, got int64"
    ):
        rnnlab.RNN(3, 4, dtype=np.int64)
    with pytest.raises(TypeError, match="rng: expected an int seed"):
        rnnlab.RNN(3, 4, rng="zero")
    with pytest.raises(ValueError, match="backend: expected one of fast, reference"):
        rnnlab.RNN(3, 4, backend="gpu")
    with pytest.raises(ValueError, match="forget_bias"):
        rnnlab.LSTM(3, 4, forget_gate=False, forget_bias=1.0)
    with pytest.raises(ValueError, match="input_bias: expected a finite number, got nan"):
        rnnlab.LSTM(3, 4, input_bias=float("nan"))
    with pytest.raises(TypeError, match="input_bias: expected a number, got str"):
        rnnlab.LSTM(3, 4, input_bias="-3")


@pytest.fixture
def lstm():
    return rnnlab.LSTM(3, 4, num_layers=2)


def test_x_wrong_rank(lstm):
    with pytest.raises(ValueError, match=r"x: expected a 3-d array, got shape \(5, 3\)"):
        lstm.forward(np.zeros((5, 3)))


def test_x_wrong_feature_size(lstm):
    with pytest.raises(ValueError, match=r"x: expected shape \(\*, \*, 3\), got \(5, 2, 7\)"):
        lstm.forward(np.zeros((5, 2, 7)))


def test_x_empty(lstm):
    with pytest.raises(ValueError, match="x: expected at least one time step"):
        lstm.forward(np.zeros((0, 2, 3)))


def test_x_wrong_dtype(lstm):
    with pytest.raises(TypeError, match="x: expected dtype float64, got float32"):
        lstm.forward(np.zeros((5, 2, 3), dtype=np.float32))
    with pytest.raises(TypeError, match="x: expected dtype float64, got int64"):
        lstm.forward(np.zeros((5, 2, 3), dtype=np.int64))


def test_x_not_an_array(lstm):
    with pytest.raises(TypeError, match="x: expected a numpy.ndarray, got list"):
        lstm.forward([[[0.0, 0.0, 0.0]]])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_x_not_finite(lstm, bad):
    x = np.zeros((5, 2, 3))
    x[2, 1, 0] = bad
    with pytest.raises(ValueError, match="x: expected finite values, got 1 NaN/inf entries"):
        lstm.forward(x)


def test_dy_finiteness_is_checked_unless_the_caller_made_it(lstm):
    """backward(check=False) skips only the NaN scan of dy (a model's own readout gradient):
    the shape is still checked, and a NaN reaches the gradients."""
    x = np.zeros((5, 2, 3))
    _, _, cache = lstm.forward(x)
    dy = np.zeros((5, 2, 4))
    dy[3, 1, 2] = np.nan
    with pytest.raises(ValueError, match="dy: expected finite values, got 1 NaN/inf entries"):
        lstm.backward(dy, cache)
    _, _, grads = lstm.backward(dy, cache, check=False)
    assert np.isnan(grads["W_hh_l0"]).any()
    with pytest.raises(ValueError, match=r"dy: expected shape \(5, 2, 4\), got \(5, 2, 3\)"):
        lstm.backward(np.zeros((5, 2, 3)), cache, check=False)


def test_state_not_finite(lstm):
    h, c = np.zeros((2, 2, 4)), np.zeros((2, 2, 4))
    c[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"state \(c\): expected finite values"):
        lstm.forward(np.zeros((5, 2, 3)), (h, c))


def test_state_wrong_shape(lstm):
    with pytest.raises(
        ValueError, match=r"state \(h\): expected shape \(2, 2, 4\), got \(1, 2, 4\)"
    ):
        lstm.forward(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)), np.zeros((2, 2, 4))))


def test_state_wrong_structure(lstm):
    with pytest.raises(TypeError, match=r"state: expected a tuple \(h, c\)"):
        lstm.forward(np.zeros((5, 2, 3)), np.zeros((2, 2, 4)))
    with pytest.raises(TypeError, match="state: expected one array h"):
        rnnlab.GRU(3, 4).forward(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)),))


def test_backward_bad_arguments(lstm):
    y, _, cache = lstm.forward(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"dy: expected shape \(5, 2, 4\), got \(5, 2, 3\)"):
        lstm.backward(np.zeros((5, 2, 3)), cache)
    with pytest.raises(TypeError, match="cache: expected the LayerCache"):
        lstm.backward(y, {"x": 1})
    with pytest.raises(ValueError, match=r"dstate \(h\): expected shape"):
        lstm.backward(y, cache, (np.zeros((1, 2, 4)), np.zeros((2, 2, 4))))
