"""rnnlab against PyTorch autograd with identical weights (through interop.from_torch)."""

import zlib

import numpy as np
import pytest

from rnnlab.gradcheck import relative_error
from rnnlab.interop import from_torch, to_torch, torch_grads
from tolerances import TORCH_REL_F32, TORCH_REL_F64

torch = pytest.importorskip("torch")

MODULES = {
    "rnn-tanh": lambda I, H, **kw: torch.nn.RNN(I, H, nonlinearity="tanh", **kw),
    "rnn-relu": lambda I, H, **kw: torch.nn.RNN(I, H, nonlinearity="relu", **kw),
    "lstm": lambda I, H, **kw: torch.nn.LSTM(I, H, **kw),
    "gru": lambda I, H, **kw: torch.nn.GRU(I, H, **kw),
}
LAYOUTS = {
    "1-layer": dict(num_layers=1, bidirectional=False),
    "2-layers": dict(num_layers=2, bidirectional=False),
    "bidirectional": dict(num_layers=1, bidirectional=True),
    "2-layers-bidirectional": dict(num_layers=2, bidirectional=True),
}
DTYPES = {
    "float64": (np.float64, torch.float64, TORCH_REL_F64),
    "float32": (np.float32, torch.float32, TORCH_REL_F32),
}


def run_torch(module, x, states, w_y, w_s):
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    y, s_T = module(xt, tuple(st) if len(st) == 2 else st[0])
    s_T = list(s_T) if isinstance(s_T, tuple) else [s_T]
    loss = (y * torch.tensor(w_y)).sum() + sum(
        (s * torch.tensor(w)).sum() for s, w in zip(s_T, w_s)
    )
    loss.backward()
    return (
        y.detach().numpy(),
        [s.detach().numpy() for s in s_T],
        xt.grad.numpy(),
        [s.grad.numpy() for s in st],
        torch_grads(module),
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("kind", MODULES)
def test_matches_torch_autograd(kind, layout, dtype):
    np_dtype, t_dtype, tol = DTYPES[dtype]
    seed = zlib.crc32(f"{kind}/{layout}/{dtype}".encode())  # random shapes, reproducible
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    T, B, I, H = (int(v) for v in rng.integers([3, 1, 1, 2], [12, 6, 7, 9]))  # random shapes
    module = MODULES[kind](I, H, **LAYOUTS[layout]).to(t_dtype)
    layer = from_torch(module)
    assert layer.dtype == np_dtype
    n_states = 2 if kind == "lstm" else 1
    L = module.num_layers * (2 if module.bidirectional else 1)
    x = rng.standard_normal((T, B, I)).astype(np_dtype)
    states = [(0.5 * rng.standard_normal((L, B, H))).astype(np_dtype) for _ in range(n_states)]
    w_y = rng.standard_normal((T, B, H * (2 if module.bidirectional else 1))).astype(np_dtype)
    w_s = [rng.standard_normal((L, B, H)).astype(np_dtype) for _ in range(n_states)]

    y_t, s_t, dx_t, ds_t, g_t = run_torch(module, x, states, w_y, w_s)

    state = tuple(states) if n_states == 2 else states[0]
    y, s_T, cache = layer.forward(x, state)
    dx, ds0, grads = layer.backward(w_y, cache, tuple(w_s) if n_states == 2 else w_s[0])
    s_T = list(s_T) if n_states == 2 else [s_T]
    ds0 = list(ds0) if n_states == 2 else [ds0]

    errors = {"y": relative_error(y, y_t), "dx": relative_error(dx, dx_t)}
    for k in range(n_states):
        errors[f"state_T[{k}]"] = relative_error(s_T[k], s_t[k])
        errors[f"dstate0[{k}]"] = relative_error(ds0[k], ds_t[k])
    assert set(grads) == set(g_t) == set(layer.params)
    for name in grads:
        errors[name] = relative_error(grads[name], g_t[name])
    worst = max(errors, key=errors.get)
    assert errors[worst] <= tol, f"{worst}: {errors[worst]:.2e} > {tol:.0e}"


@pytest.mark.parametrize("kind", MODULES)
def test_round_trip_to_torch(kind):
    torch.manual_seed(0)
    module = MODULES[kind](3, 5, num_layers=2, bidirectional=True).double()
    back = to_torch(from_torch(module)).double()
    x = torch.randn(4, 2, 3, dtype=torch.float64)
    with torch.no_grad():
        np.testing.assert_allclose(back(x)[0].numpy(), module(x)[0].numpy(), rtol=1e-12, atol=1e-14)


def test_to_torch_refuses_what_torch_cannot_express():
    import rnnlab

    with pytest.raises(ValueError, match="peepholes"):
        to_torch(rnnlab.LSTM(2, 3, peepholes=True))
    with pytest.raises(ValueError, match="forget_gate"):
        to_torch(rnnlab.LSTM(2, 3, forget_gate=False))
    with pytest.raises(ValueError, match="sigmoid"):
        to_torch(rnnlab.RNN(2, 3, nonlinearity="sigmoid"))
    with pytest.raises(TypeError, match="module: expected torch.nn.RNN"):
        from_torch(torch.nn.Linear(2, 3))
    with pytest.raises(ValueError, match="proj_size"):
        from_torch(torch.nn.LSTM(2, 4, proj_size=2))
