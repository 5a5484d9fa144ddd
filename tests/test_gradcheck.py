"""Hand-written BPTT against central finite differences in float64, for every cell option."""

import numpy as np
import pytest

import rnnlab
from cases import cell_cases
from rnnlab.gradcheck import check_layer, relative_error
from tolerances import FD_REL

T, B, I, H = 5, 2, 3, 4

CASES = cell_cases(I, H)
SHAPES = {
    "1-layer": dict(num_layers=1),
    "2-layers": dict(num_layers=2),
    "bidirectional": dict(bidirectional=True),
    "2-layers-bidirectional": dict(num_layers=2, bidirectional=True),
}


def random_state(layer, rng):
    shape = (layer.num_layers * layer.num_directions, B, H)
    parts = [rng.standard_normal(shape) * 0.5 for _ in layer.cell.state_names]
    return parts[0] if len(parts) == 1 else tuple(parts)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", CASES)
def test_gradients_match_finite_differences(case, shape, rng):
    layer = CASES[case](rng=rng, **SHAPES[shape])
    # relu's kink: keep pre-activations away from 0 by a positive bias so that FD is smooth
    if case == "rnn-relu":
        for name, p in layer.params.items():
            if name.startswith("b_h"):
                p += 0.5
    x = rng.standard_normal((T, B, I))
    state = random_state(layer, rng)
    errors = check_layer(layer, x, state, rng=rng)
    assert set(errors) >= set(layer.params) | {"x"}
    worst = max(errors, key=errors.get)
    assert errors[worst] <= FD_REL, f"{case}/{shape}: {worst} relative error {errors[worst]:.2e}"


def test_gradcheck_detects_a_wrong_gradient(rng):
    """The check itself must be able to fail: break one backward term and see it flagged."""
    layer = rnnlab.LSTM(I, H, rng=rng, backend="reference")
    cell = layer.cell
    original = cell.step_backward

    def broken(p, x_t, prev, new, aux, dnew, grads):
        dx, (dh_prev, dc_prev) = original(p, x_t, prev, new, aux, dnew, grads)
        return dx, (dh_prev, dc_prev * 1.01)  # 1% error on the CEC path

    cell.step_backward = broken
    errors = check_layer(layer, rng.standard_normal((T, B, I)), rng=rng)
    assert max(errors.values()) > 1e-4


def test_relative_error_definition():
    a = np.array([3.0, 4.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, np.zeros(2)) == 1.0
    assert relative_error(np.zeros(2), np.zeros(2)) == 0.0
    with pytest.raises(ValueError, match="b: expected shape"):
        relative_error(a, np.zeros(3))
