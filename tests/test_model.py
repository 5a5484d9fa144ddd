"""Sequence models: every mode's hand-written gradient against central finite differences."""

import numpy as np
import pytest

import rnnlab
from rnnlab.gradcheck import numerical_gradients, relative_error
from rnnlab.model import EncoderDecoder, SequenceModel
from rnnlab.readout import Readout
from tolerances import FD_REL

LAYERS = {
    "rnn": lambda i, h, r: rnnlab.RNN(i, h, rng=r),
    "lstm": lambda i, h, r: rnnlab.LSTM(i, h, forget_bias=1.0, rng=r),
    "gru": lambda i, h, r: rnnlab.GRU(i, h, rng=r),
}
ACT = {"mse": "identity", "ce": "softmax", "bce": "sigmoid"}


def _model(kind, loss, I=3, H=4, K=2, seed=0, layers=1):
    if layers == 1:
        layer = LAYERS[kind](I, H, seed)
    else:
        layer = rnnlab.LSTM(I, H, num_layers=layers, rng=seed)
    return SequenceModel(layer, Readout(H, K, activation=ACT[loss], rng=seed + 1), loss=loss)


def _targets(loss, lead, K, gen):
    if loss == "ce":
        return gen.integers(0, K, size=lead)
    if loss == "bce":
        return gen.integers(0, 2, size=lead + (K,)).astype(np.float64)
    return gen.standard_normal(lead + (K,))


def _fd_check(model, loss_fn, analytic):
    numeric = numerical_gradients(loss_fn, model.params)
    assert set(analytic) == set(model.params)
    for name in model.params:
        err = relative_error(analytic[name], numeric[name])
        assert err < FD_REL, (name, err)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["mse", "ce", "bce"])
def test_many_to_many_masked_fd(kind, loss, rng):
    T, B, I, K = 5, 3, 3, 2
    model = _model(kind, loss, I=I, K=K)
    x = rng.standard_normal((T, B, I))
    o = _targets(loss, (T, B), K, rng)
    mask = np.ones((T, B))
    mask[3:, 1] = 0  # sequence 1 has length 3
    mask[4:, 2] = 0
    value, grads, _, _ = model.loss_and_grads(x, o, mask=mask)
    _fd_check(model, lambda: model.loss_and_grads(x, o, mask=mask)[0], grads)
    assert np.isfinite(value)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["mse", "ce"])
def test_many_to_one_last_step_fd(kind, loss, rng):
    T, B, I, K = 6, 3, 3, 2
    model = _model(kind, loss, I=I, K=K)
    x = rng.standard_normal((T, B, I))
    last = np.array([5, 2, 4])
    o = _targets(loss, (B,), K, rng)
    _, grads, _, _ = model.loss_and_grads(x, o, last=last)
    _fd_check(model, lambda: model.loss_and_grads(x, o, last=last)[0], grads)


def test_many_to_one_ignores_padding(rng):
    """Reading out at each sequence's own last step equals running it alone, unpadded."""
    model = _model("lstm", "mse")
    T, B = 7, 3
    x = rng.standard_normal((T, B, 3))
    last = np.array([6, 2, 4])
    y = model.predict(x, last=last)  # (B, K)
    for b in range(B):
        alone = model.predict(x[: last[b] + 1, b : b + 1])[-1, 0]
        assert relative_error(y[b], alone) < 1e-12
    x_changed = x.copy()
    x_changed[3:, 1] = 99.0  # padding after sequence 1's end must not matter
    assert np.array_equal(model.predict(x_changed, last=last)[1], y[1])


def test_two_layer_many_to_one_fd(rng):
    model = _model("lstm", "mse", layers=2)
    x = rng.standard_normal((4, 2, 3))
    last = np.array([3, 1])
    o = rng.standard_normal((2, 2))
    _, grads, _, _ = model.loss_and_grads(x, o, last=last)
    _fd_check(model, lambda: model.loss_and_grads(x, o, last=last)[0], grads)


def test_forward_backward_match_loss_and_grads(rng):
    model = _model("gru", "mse")
    x = rng.standard_normal((4, 2, 3))
    o = rng.standard_normal((4, 2, 2))
    value, grads, _, y = model.loss_and_grads(x, o)
    y2, _, cache = model.forward(x)
    assert np.array_equal(y, y2)
    dy = (y2 - o) / (4 * 2)
    _, _, grads2 = model.backward(dy, cache)
    for k in grads:
        assert relative_error(grads[k], grads2[k]) < 1e-12


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_generation_identity_feedback_fd(kind, rng):
    """One-to-many: outputs fed back as inputs; gradients flow through the feedback."""
    I = K = 2
    model = _model(kind, "mse", I=I, K=K)
    x0 = rng.standard_normal((3, I))
    w = rng.standard_normal((5, 3, K))
    ys, _, cache = model.generate(x0, 5)
    dx0, _, grads = model.generate_backward(w, cache)

    def loss():
        return float(np.sum(w * model.generate(x0, 5)[0]))

    _fd_check(model, loss, grads)
    numeric_x0 = numerical_gradients(loss, {"x0": x0})["x0"]
    assert relative_error(dx0, numeric_x0) < FD_REL


def test_generation_feeds_outputs_back(rng):
    model = _model("rnn", "mse", I=2, K=2)
    x0 = rng.standard_normal((1, 2))
    ys, _, _ = model.generate(x0, 3)
    # Step by step by hand: the input of step t+1 is the output of step t.
    state, x_t = None, x0
    for t in range(3):
        y, state, _ = model.forward(x_t[None], state)
        assert relative_error(ys[t], y[0]) < 1e-12
        x_t = y[0]


def test_generation_sample_needs_rng_and_is_seeded():
    model = _model("lstm", "ce", I=2, K=2)
    x0 = np.eye(2)[[0, 1, 0]]
    with pytest.raises(ValueError, match="rng"):
        model.generate(x0, 4, feedback="sample")
    a = model.generate(x0, 6, feedback="sample", rng=5)[0]
    b = model.generate(x0, 6, feedback="sample", rng=5)[0]
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_encoder_decoder_unequal_lengths_fd(kind, rng):
    H, K = 4, 2
    enc = LAYERS[kind](3, H, 0)
    dec = LAYERS[kind](K, H, 1)
    model = EncoderDecoder(enc, dec, Readout(H, K, rng=2), loss="mse")
    x = rng.standard_normal((6, 2, 3))  # T_in = 6
    x_dec = rng.standard_normal((3, 2, K))  # T_out = 3
    o = rng.standard_normal((3, 2, K))
    value, grads, y = model.loss_and_grads(x, x_dec, o)
    assert y.shape == (3, 2, K)
    assert any(k.startswith("encoder.") for k in grads)
    _fd_check(model, lambda: model.loss_and_grads(x, x_dec, o)[0], grads)
    # The encoder matters: changing the input changes the decoder's outputs.
    assert not np.allclose(model.generate(x, x_dec[0], 3), model.generate(x + 1, x_dec[0], 3))


def test_params_are_live_and_load_params_copies():
    model = _model("lstm", "mse")
    p = model.params
    p["W_hy"][0, 0] = 123.0
    assert model.readout.params["W_hy"][0, 0] == 123.0
    new = {k: np.zeros_like(v) for k, v in p.items()}
    model.load_params(new)
    assert all(not v.any() for v in model.params.values())
    with pytest.raises(ValueError, match="values"):
        model.load_params({"W_hy": new["W_hy"]})


def test_bad_arguments():
    layer = rnnlab.RNN(3, 4)
    with pytest.raises(ValueError, match="readout.hidden_size"):
        SequenceModel(layer, Readout(5, 2))
    with pytest.raises(ValueError, match="readout.activation"):
        SequenceModel(layer, Readout(4, 2), loss="ce")
    with pytest.raises(TypeError, match="layer"):
        SequenceModel("rnn", Readout(4, 2))
    model = SequenceModel(layer, Readout(4, 3))
    with pytest.raises(ValueError, match="feedback"):
        model.generate(np.zeros((1, 3)), 2, feedback="nope")
    with pytest.raises(ValueError, match="output size"):
        SequenceModel(layer, Readout(4, 2)).generate(np.zeros((1, 3)), 2)
