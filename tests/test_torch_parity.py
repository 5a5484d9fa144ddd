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


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_rnnlab_parameters_train_the_same_model_as_rnnlab(kind):
    """Three Adam steps with clipping in PyTorch over ``rnnlab_parameters`` (the second bias
    frozen) reach rnnlab's weights; over all of PyTorch's parameters the sum of the two biases
    moves twice as far, so that would be another model."""
    from rnnlab import LSTM, RNN
    from rnnlab.interop import rnnlab_parameters
    from rnnlab.optim import Adam, clip_grad_norm

    layer = (LSTM if kind == "lstm" else RNN)(3, 5, num_layers=2, rng=0)
    x = np.random.default_rng(1).standard_normal((6, 4, 3))
    dh = np.random.default_rng(2).standard_normal((6, 4, 5))  # dL/dh of L = sum(h * dh)

    def torch_run(all_params: bool):
        module = to_torch(layer)
        params = list(module.parameters()) if all_params else rnnlab_parameters(module)
        opt = torch.optim.Adam(params, lr=0.05)
        for _ in range(3):
            opt.zero_grad()
            h, _ = module(torch.from_numpy(x))
            (h * torch.from_numpy(dh)).sum().backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        return from_torch(module).params

    same, both = torch_run(False), torch_run(True)  # from the initial weights
    ours, opt = layer.params, Adam(0.05)  # rnnlab's update is in place
    for _ in range(3):
        _, _, cache = layer.forward(x)
        _, _, grads = layer.backward(dh, cache)
        clip_grad_norm(grads, 1.0)
        opt.step(ours, grads)
    # Adam divides by sqrt(v): where a gradient entry is near zero its rounding (1e-16) moves the
    # step by far more than that, so the weights agree to 1e-7, not to the gradients' 1e-10;
    # the two-bias model is 1e-3 or more away
    for k in ours:
        assert relative_error(same[k], ours[k]) < 1e-7, k
    assert relative_error(both["b_h_l0"], ours["b_h_l0"]) > 1e-3
