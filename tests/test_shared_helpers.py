"""The shared helpers: gate slices, one-step Jacobians, gate biases, block scaling, the walk."""

import numpy as np
import pytest

import rnnlab
from rnnlab import init
from rnnlab._validate import check_bool, check_index, check_last
from rnnlab.activations import get
from rnnlab.cells import GRUCell, LSTMCell, RNNCell
from rnnlab.cells.base import gate_slice
from rnnlab.gradcheck import relative_error

CELLS = {
    "rnn-tanh": lambda: RNNCell("tanh"),
    "rnn-sigmoid": lambda: RNNCell("sigmoid"),
    "lstm": lambda: LSTMCell(),
    "lstm-peep": lambda: LSTMCell(peepholes=True),
    "lstm-1997": lambda: LSTMCell(forget_gate=False, peepholes=True),
    "gru": lambda: GRUCell(),
}


def _one_step(cell, p, x, state):
    new, aux = cell.step(p, x[None], tuple(s[None] for s in state))
    return tuple(s[0] for s in new), {k: v[0] for k, v in aux.items()}


@pytest.mark.parametrize("kind", CELLS)
def test_step_jacobian_matches_central_differences(kind):
    cell, H, I = CELLS[kind](), 4, 3
    gen = np.random.default_rng(0)
    p = cell.init_params(I, H, rng=gen, dtype=np.dtype(np.float64))
    x = gen.standard_normal(I)
    prev = tuple(0.5 * gen.standard_normal(H) for _ in cell.state_names)
    new, aux = _one_step(cell, p, x, prev)
    J = cell.step_jacobian(p, prev, new, aux)
    flat = np.concatenate(prev)
    fd = np.empty((flat.size, flat.size))
    eps = 1e-6
    for j in range(flat.size):
        e = np.zeros_like(flat)
        e[j] = eps
        up = np.concatenate(_one_step(cell, p, x, np.split(flat + e, len(prev)))[0])
        down = np.concatenate(_one_step(cell, p, x, np.split(flat - e, len(prev)))[0])
        fd[:, j] = (up - down) / (2 * eps)
    assert J.shape == (flat.size, flat.size)
    assert relative_error(J, fd) < 1e-8


def test_lstm_blocks_are_the_dense_jacobian():
    cell = LSTMCell(peepholes=True)
    gen = np.random.default_rng(1)
    p = cell.init_params(2, 3, rng=gen, dtype=np.dtype(np.float64))
    prev = (gen.standard_normal(3), gen.standard_normal(3))
    new, aux = _one_step(cell, p, gen.standard_normal(2), prev)
    dh_dh, dh_dc, dc_dh, dc_dc = cell.step_jacobian_blocks(p, prev, new, aux)
    J = cell.step_jacobian(p, prev, new, aux)
    np.testing.assert_array_equal(J[:3, :3], dh_dh)
    np.testing.assert_array_equal(J[3:, :3], dc_dh)
    np.testing.assert_array_equal(np.diag(J[:3, 3:]), dh_dc)
    np.testing.assert_array_equal(np.diag(J[3:, 3:]), dc_dc)


def test_gate_slices_follow_the_gate_order():
    assert LSTMCell().gate_slice("o", 5) == slice(15, 20)
    assert LSTMCell(forget_gate=False).gate_slice("g", 5) == slice(5, 10)
    assert GRUCell().gate_slice("n", 2) == slice(4, 6)
    with pytest.raises(ValueError, match="gate: expected one of i, g, o; got 'f'"):
        LSTMCell(forget_gate=False).gate_slice("f", 5)
    blocks = LSTMCell().split_gates(np.arange(8.0))
    assert list(blocks) == ["i", "f", "g", "o"] and blocks["g"].tolist() == [4.0, 5.0]
    assert gate_slice(("r", "z", "n"), "z", 3) == slice(3, 6)


def test_set_gate_bias_sets_or_adds_on_every_layer_and_direction():
    lstm = rnnlab.LSTM(2, 3, num_layers=2, bidirectional=True, rng=0)
    before = {k: v.copy() for k, v in lstm.params.items()}
    init.set_gate_bias(lstm.params, lstm.cell, "f", 2.0)
    init.set_gate_bias(lstm.params, "lstm", "i", -1.0, add=True)
    for key in ("b_h_l0", "b_h_l0_reverse", "b_h_l1", "b_h_l1_reverse"):
        np.testing.assert_array_equal(lstm.params[key][3:6], 2.0)
        np.testing.assert_array_equal(lstm.params[key][:3], before[key][:3] - 1.0)
        np.testing.assert_array_equal(lstm.params[key][6:], before[key][6:])
    gru = rnnlab.GRU(2, 3)
    init.set_gate_bias(gru.params, "gru", "z", 1.0)
    np.testing.assert_array_equal(gru.params["b_h_l0"][3:6], 1.0)
    with pytest.raises(ValueError, match="forget_bias: params\\['b_h_l0'\\] has 3 gate blocks"):
        init.set_gate_bias(
            rnnlab.LSTM(2, 3, forget_gate=False).params, "lstm", "f", 1.0, name="forget_bias"
        )


def test_layer_biases_go_through_set_gate_bias():
    a = rnnlab.LSTM(2, 3, rng=0, forget_bias=1.0, input_bias=-2.0).params
    b = rnnlab.LSTM(2, 3, rng=0).params
    init.set_gate_bias(b, "lstm", "f", 1.0, add=True)
    init.set_gate_bias(b, "lstm", "i", -2.0, add=True)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_scale_recurrent_blocks_scales_each_gate_block():
    lstm = rnnlab.LSTM(2, 6, num_layers=2, rng=0)
    init.scale_recurrent_blocks(lstm.params, 1.3)
    for key in ("W_hh_l0", "W_hh_l1"):
        for g in lstm.cell.gates:
            block = lstm.params[key][lstm.cell.gate_slice(g, 6)]
            assert init.spectral_radius(block) == pytest.approx(1.3, rel=1e-12)
    with pytest.raises(ValueError, match="radius: expected a positive finite number"):
        init.scale_recurrent_blocks(lstm.params, -1.0)


def test_directions_walk_and_split_state():
    gru = rnnlab.GRU(2, 3, num_layers=2, bidirectional=True)
    keys = [u.key for u in gru.directions()]
    assert keys == ["l0", "l0_reverse", "l1", "l1_reverse"]
    x = np.random.default_rng(0).standard_normal((5, 2, 2))
    _, _, cache = gru.forward(x)
    u = gru.direction(1, 1, cache)
    assert u.cache is cache.steps[3] and u.params["W_hh"] is not None
    with pytest.raises(ValueError, match="direction: expected a direction in 0..1, got 2"):
        gru.direction(0, 2)
    parts = gru.split_state(None, 2)
    assert len(parts) == 1 and parts[0].shape == (4, 2, 3)


def test_one_registry_and_validators():
    assert get("softmax", kind="output").vjp is not None
    with pytest.raises(ValueError, match="nonlinearity: expected one of tanh, sigmoid"):
        get("softmax")
    assert rnnlab.losses.sigmoid is rnnlab.activations.sigmoid
    assert check_bool("flag", np.bool_(True)) is True
    with pytest.raises(TypeError, match="flag: expected a bool, got int"):
        check_bool("flag", 1)
    with pytest.raises(ValueError, match="b: expected a sequence index in 0..2, got 3"):
        check_index("b", 3, 3, "a sequence index")
    with pytest.raises(ValueError, match=r"last: expected indices in \[0, 4\]"):
        check_last(np.array([5]), 5, 1)
