"""Diagnostics: Jacobian products and per-step gradients against finite differences, the bound,
the verdicts, the spectrum, the impulse response, the deep MLP, and the `rnnlab diagnose` report."""

import json

import numpy as np
import pytest

import rnnlab
from rnnlab import diagnostics as dg
from rnnlab.cli import main
from rnnlab.gradcheck import relative_error
from rnnlab.init import orthogonal
from rnnlab.reports import diagnose, fresh_layer
from tolerances import FD_REL, STEPWISE_REL

EPS = 1e-6  # central-difference step


def _layer(family, I=3, H=5, **kw):
    if family == "rnn":
        return rnnlab.RNN(I, H, rng=kw.pop("rng", 0), **kw)
    if family == "lstm":
        return rnnlab.LSTM(I, H, rng=kw.pop("rng", 0), **kw)
    return rnnlab.GRU(I, H, rng=kw.pop("rng", 0), **kw)


def _state_after(layer, x, k, t, state_k, b=0):
    """Run the cell of layer 0 from the state at step k (a tuple of (H,) arrays) to step t."""
    p = layer.cell_params(0)
    state = tuple(s[None, :] for s in state_k)
    for i in range(k, t):
        state, _ = layer.cell.step(p, x[i, b : b + 1], state)
    return np.concatenate([s[0] for s in state])


def _fd_state_jacobian(layer, x, cache, k, t, b=0):
    """d state_t / d state_k by central differences (state = h, or (h, c) stacked)."""
    step = cache.steps[0]
    names = layer.cell.state_names
    s_k = np.concatenate([step[n][k, b] for n in names])
    H = layer.hidden_size
    S = s_k.size
    J = np.empty((S, S))
    for j in range(S):
        cols = []
        for sign in (1.0, -1.0):
            v = s_k.copy()
            v[j] += sign * EPS
            parts = tuple(v[m * H : (m + 1) * H] for m in range(len(names)))
            cols.append(_state_after(layer, x, k, t, parts, b))
        J[:, j] = (cols[0] - cols[1]) / (2 * EPS)
    return J


# -- Jacobian products vs finite differences --
@pytest.mark.parametrize("phi", ["tanh", "sigmoid", "relu", "identity"])
def test_rnn_jacobian_products_match_finite_differences(phi, rng):
    layer = _layer("rnn", nonlinearity=phi, rng=1)
    # W_hh = Q / gamma keeps the products O(1), so that central differences resolve them
    layer.params["W_hh_l0"][...] = orthogonal((5, 5), rng=2) / rnnlab.activations.get(phi).gamma
    x = rng.standard_normal((9, 2, 3))
    _, _, cache = layer.forward(x)
    jac = dg.step_jacobians(layer, cache, b=1)
    jp = dg.jacobian_products(jac, t=9, max_points=None, keep_products=True)
    assert list(jp.lags) == list(range(10))
    for lag in (1, 2, 5, 9):
        fd = _fd_state_jacobian(layer, x, cache, 9 - lag, 9, b=1)
        assert relative_error(jp.products[lag], fd) < FD_REL, (phi, lag)
        got = 10.0 ** jp.log10_norm["h"][lag]
        assert abs(got / np.linalg.norm(fd, 2) - 1) < FD_REL


@pytest.mark.parametrize(
    "family, kw",
    [
        ("lstm", {}),
        ("lstm", {"peepholes": True}),
        ("lstm", {"forget_gate": False, "peepholes": True}),
        ("gru", {}),
    ],
)
def test_gated_state_jacobians_match_finite_differences(family, kw, rng):
    layer = _layer(family, rng=2, **kw)
    for v in layer.params.values():  # peepholes start at zero: give them weight
        v += 0.3 * rng.standard_normal(v.shape)
    x = rng.standard_normal((7, 2, 3))
    _, _, cache = layer.forward(x)
    jac = dg.step_jacobians(layer, cache, b=0)
    H = layer.hidden_size
    for i in (1, 4, 7):
        fd = _fd_state_jacobian(layer, x, cache, i - 1, i)
        assert relative_error(jac.matrix(i), fd) < FD_REL, (family, kw, i)
    jp = dg.jacobian_products(jac, t=7, max_points=None, keep_products=True)
    fd = _fd_state_jacobian(layer, x, cache, 1, 7)
    assert relative_error(jp.products[6], fd) < FD_REL
    assert abs(10.0 ** jp.log10_norm["h"][6] / np.linalg.norm(fd[:H, :H], 2) - 1) < FD_REL
    if family == "lstm":
        assert abs(10.0 ** jp.log10_norm["c"][6] / np.linalg.norm(fd[H:, H:], 2) - 1) < FD_REL


# -- per-step gradients vs finite differences -----------------------------------------------------
@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
def test_gradient_flow_matches_finite_differences(family, rng):
    layer = _layer(family, rng=3)
    T, B, H = 6, 2, layer.hidden_size
    x = rng.standard_normal((T, B, 3))
    _, _, cache = layer.forward(x)
    u = rng.standard_normal((T, B, H))  # L = sum_t <u_t, h_t>
    sweep = dg.gradient_flow(layer, cache, u)["l0"]
    names = layer.cell.state_names
    step = cache.steps[0]
    for k in (0, 2, 5):
        for b in range(B):

            def loss(state_k, k=k, b=b):
                L = float(u[k - 1, b] @ state_k[0]) if k else 0.0  # the output at k itself
                p = layer.cell_params(0)
                s = tuple(v[None, :] for v in state_k)
                for i in range(k, T):
                    s, _ = layer.cell.step(p, x[i, b : b + 1], s)
                    L += float(u[i, b] @ s[0][0])
                return L

            s_k = [step[n][k, b].copy() for n in names]
            for m, n in enumerate(names):
                fd = np.empty(H)
                for j in range(H):
                    vals = []
                    for sign in (1.0, -1.0):
                        pert = [v.copy() for v in s_k]
                        pert[m][j] += sign * EPS
                        vals.append(loss(pert))
                    fd[j] = (vals[0] - vals[1]) / (2 * EPS)
                got = (sweep.dh_true() if n == "h" else sweep.dc_true())[k, b]
                assert relative_error(got, fd) < FD_REL, (family, k, b, n)
                logn = (sweep.dh_log10 if n == "h" else sweep.dc_log10)[k, b]
                assert abs(10.0**logn / np.linalg.norm(fd) - 1) < FD_REL


def test_sweep_contributions_sum_to_the_layer_gradient(rng):
    layer = rnnlab.LSTM(3, 4, num_layers=2, bidirectional=True, peepholes=True, rng=4)
    x = rng.standard_normal((8, 3, 3))
    _, _, cache = layer.forward(x)
    dy = rng.standard_normal((8, 3, 8))
    dstate = (rng.standard_normal((4, 3, 4)), rng.standard_normal((4, 3, 4)))
    flow = dg.gradient_flow(layer, cache, dy, dstate)
    assert list(flow) == ["l0", "l0_reverse", "l1", "l1_reverse"]
    _, (dh0, dc0), grads = layer.backward(dy, cache, dstate)
    for key, sweep in flow.items():
        for name, g in sweep.grads.items():
            assert relative_error(g, grads[f"{name}_{key}"]) < STEPWISE_REL, (key, name)
    for row, key in enumerate(flow):
        assert relative_error(flow[key].dh_true()[0], dh0[row]) < STEPWISE_REL
        assert relative_error(flow[key].dc_true()[0], dc0[row]) < STEPWISE_REL
    # step 1's term dz_1 h_0^T is exactly zero from the zero initial state; the others are not
    c = flow["l1"].contrib_log10
    assert np.isnan(c[0]) and np.all(np.isfinite(c[1:]))


# -- the bound, exactness and the verdicts --
@pytest.mark.parametrize("phi", ["tanh", "sigmoid", "relu", "identity"])
def test_bound_holds_on_random_models(phi):
    gamma = rnnlab.activations.get(phi).gamma
    for seed in range(4):
        gen = np.random.default_rng(seed)
        H = int(gen.integers(4, 12))
        layer = rnnlab.RNN(2, H, nonlinearity=phi, rng=seed)
        layer.params["W_hh_l0"][...] = gen.standard_normal((H, H)) * gen.uniform(0.1, 1.5)
        _, _, cache = layer.forward(gen.standard_normal((40, 1, 2)))
        jp = dg.jacobian_products(dg.step_jacobians(layer, cache), max_points=None)
        bound = dg.bound_log10(gamma, layer.params["W_hh_l0"], jp.lags)
        ok = np.isfinite(jp.log10_norm["h"])
        assert ok.sum() >= 2  # not vacuous: the products were measured
        assert np.all(jp.log10_norm["h"][ok] <= bound[ok] + 1e-9), (phi, seed)


@pytest.mark.parametrize("rho", [0.8, 1.0, 1.3])
def test_identity_phi_with_scaled_orthogonal_is_exact(rho):
    H, T = 8, 60
    layer = rnnlab.RNN(2, H, nonlinearity="identity", rng=0)
    layer.params["W_hh_l0"][...] = rho * orthogonal((H, H), rng=5)
    _, _, cache = layer.forward(np.random.default_rng(0).standard_normal((T, 2, 2)))
    jp = dg.jacobian_products(dg.step_jacobians(layer, cache), max_points=None)
    got = 10.0 ** jp.log10_norm["h"]
    want = rho ** jp.lags.astype(float)
    assert np.max(np.abs(got / want - 1)) < 1e-10


def test_norms_beyond_float64_stay_exact_in_log10():
    """3^800 and 0.3^800 are outside float64; the rescaled products and sweep still give them."""
    H, T = 6, 800
    for rho in (3.0, 0.3):
        layer = rnnlab.RNN(1, H, nonlinearity="identity", rng=0)
        layer.params["W_hh_l0"][...] = rho * orthogonal((H, H), rng=1)
        layer.params["W_xh_l0"][...] = 0.0  # the inputs would overflow h itself
        _, _, cache = layer.forward(np.zeros((T, 1, 1)))
        jp = dg.jacobian_products(dg.step_jacobians(layer, cache), max_points=50)
        assert np.max(np.abs(jp.log10_norm["h"] - jp.lags * np.log10(rho))) < 1e-9
        dy = dg.last_step_loss_gradient(T, 1, H, np.random.default_rng(0))
        sweep = dg.gradient_flow(layer, cache, dy)["l0"]
        want = (T - np.arange(T + 1)) * np.log10(rho)
        assert np.max(np.abs(sweep.dh_log10[:, 0] - want)) < 1e-9


def _verdict_for_radius(radius, T=100):
    layer = fresh_layer("rnn", "tanh", "orthogonal", radius=radius, hidden=32, rng=0)
    gen = np.random.default_rng(1)
    x = gen.standard_normal((T, 4, 1))
    _, _, cache = layer.forward(x)
    dy = dg.last_step_loss_gradient(T, 4, 32, gen)
    s = dg.gradient_flow(layer, cache, dy)["l0"]
    mean = np.nanmean(s.dh_log10, axis=1)
    rate = dg.growth_rate(T - np.arange(T + 1), mean)
    return dg.classify_growth(rate, T), rate


def test_tanh_rnn_radius_half_vanishes_and_three_explodes():
    v, rate = _verdict_for_radius(0.5)
    assert v == "vanishing" and rate < 0.6
    v, rate = _verdict_for_radius(3.0)
    assert v == "exploding" and rate > 1.05
    g = rnnlab.activations.get("tanh").gamma
    assert dg.classify_bound(g, 0.5) == "vanishing"
    assert dg.classify_bound(g, 3.0) == "may explode"


def _lstm_cell_product(forget_bias):
    H, T = 8, 200
    layer = rnnlab.LSTM(2, H, rng=0)
    p = layer.params
    p["W_hh_l0"][...] *= 0.1
    p["b_h_l0"][:H] = -8.0  # input gate nearly shut
    p["b_h_l0"][H : 2 * H] = forget_bias
    _, _, cache = layer.forward(np.random.default_rng(0).standard_normal((T, 2, 2)))
    jac = dg.step_jacobians(layer, cache)
    return dg.jacobian_products(jac, max_points=None), jac.cec_log10(T)


def test_lstm_cell_state_does_not_decay_with_forget_gate_near_one():
    jp, cec = _lstm_cell_product(forget_bias=12.0)
    c = jp.log10_norm["c"]
    assert c[-1] > np.log10(0.9)  # after 200 steps ||dc_t/dc_k|| is still above 0.9
    assert dg.classify_growth(dg.growth_rate(jp.lags, c), 200) == "neutral"
    assert cec[-1] > np.log10(0.9)
    # the same cell with a forget gate near 1/2 forgets: the test can fail
    jp, cec = _lstm_cell_product(forget_bias=0.0)
    assert dg.classify_growth(dg.growth_rate(jp.lags, jp.log10_norm["c"]), 200) == "vanishing"


# -- spectrum, impulse, gates, contributions, deep MLP, training --
def test_spectrum_flags_rotations_and_measures_radius():
    th = 0.3
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) * 1.5
    s = dg.spectrum(R)
    assert s["n_complex"] == 2 and s["spectral_radius"] == pytest.approx(1.5, rel=1e-12)
    s = dg.spectrum(np.diag([2.0, -0.5, 0.1]))
    assert s["n_complex"] == 0 and s["spectral_radius"] == pytest.approx(2.0)
    assert np.allclose(s["singular_values"], [2.0, 0.5, 0.1])
    blocks = dg.recurrent_blocks(np.arange(12.0).reshape(6, 2), ("r", "z", "n"))
    assert list(blocks) == ["r", "z", "n"] and blocks["n"].shape == (2, 2)


def test_impulse_response_linear_is_the_matrix_power():
    W = dg.matrix_with_eigenvalue(6, 1.2, rng=0)
    assert np.max(np.linalg.eigvalsh(W)) == pytest.approx(1.2, rel=1e-12)
    u0 = np.ones(6) / np.sqrt(6)
    got = dg.impulse_response(W, u0, 10)
    want = [np.linalg.norm(np.linalg.matrix_power(W, t) @ u0) for t in range(11)]
    assert np.allclose(got, want, rtol=1e-12)
    assert np.all(dg.impulse_response(W, -u0, 10, "relu") == 0)  # no response to a negative start
    sw = dg.impulse_sweep(eigenvalues=(0.5, 2.0), N=6, steps=30, rng=0)
    lin = sw["norms"]["positive"]["identity"]
    assert lin[0, -1] < 1e-6 and lin[1, -1] > 1e6  # decays below 1, blows up above


def test_gate_statistics():
    H = 2
    gates = np.concatenate(
        [
            np.full((3, 1, H), 0.01),
            np.full((3, 1, H), 0.99),
            np.zeros((3, 1, H)),
            np.full((3, 1, H), 0.5),
        ],
        axis=2,
    )
    st = dg.gate_statistics(gates, ("i", "f", "g", "o"), "lstm")
    assert st["gates"]["i"]["saturated_low"] == 1.0 and st["gates"]["f"]["saturated_high"] == 1.0
    assert st["gates"]["g"]["saturated_low"] == 0.0 and st["gates"]["o"]["saturated_high"] == 0.0
    assert np.allclose(st["forget_mean_over_time"], 0.99)


def test_contribution_summary():
    s = dg.contribution_summary(np.log10(np.array([1.0, 1.0, 2.0, 6.0])))
    assert np.allclose(s["share"], [0.1, 0.1, 0.2, 0.6])
    assert s["horizon"] == 3 and s["oldest_half_share"] == pytest.approx(0.2)


@pytest.mark.parametrize("act", ["elu", "relu", "sigmoid", "tanh"])
def test_deep_mlp_backward_matches_finite_differences(act, rng):
    layers = dg.init_mlp([4, 5, 5, 3], rng=0)
    X = rng.standard_normal((6, 4))
    y = rng.integers(0, 3, size=6)
    _, grads = dg.mlp_loss_and_grads(layers, X, y, act)
    for li, (W, _b) in enumerate(layers):
        fd = np.empty_like(W)
        for idx in np.ndindex(W.shape):
            vals = []
            for sign in (1.0, -1.0):
                W[idx] += sign * EPS
                vals.append(dg.mlp_loss_and_grads(layers, X, y, act)[0])
                W[idx] -= sign * EPS
            fd[idx] = (vals[0] - vals[1]) / (2 * EPS)
        assert relative_error(grads[li][0], fd) < FD_REL, (act, li)


def test_deep_mlp_on_digits_sigmoid_vanishes():
    from sklearn.datasets import load_digits

    X, y = dg.load_digits_data(n_samples=None)
    d = load_digits()
    assert np.array_equal(X, d.data / 16.0) and np.array_equal(y, d.target)
    res = dg.deep_mlp_gradients(depth=19, n_samples=128, rng=0)
    assert res["grad_norms"]["sigmoid"].shape == (19,)
    sig = res["grad_norms"]["sigmoid"]
    assert sig[0] < 1e-6 * sig[-1]  # first layer's gradient is a vanishing fraction of the last's


def test_explosion_events_flag_spikes_and_nonfinite():
    g = np.ones(40)
    g[20] = 50.0
    g[30] = np.inf
    ev = dg.explosion_events(g, factor=10.0, window=10)
    assert list(ev["events"]) == [20, 30]
    assert np.isnan(ev["running_median"][0]) and ev["running_median"][25] == 1.0


# -- bad input --
def test_bad_inputs_raise_clear_errors():
    layer = _layer("rnn")
    _, _, cache = layer.forward(np.zeros((4, 2, 3)))
    with pytest.raises(TypeError, match="layer"):
        dg.step_jacobians("rnn", cache)
    with pytest.raises(ValueError, match="b: expected a sequence index in 0..1, got 5"):
        dg.step_jacobians(layer, cache, b=5)
    jac = dg.step_jacobians(layer, cache)
    with pytest.raises(ValueError, match=r"t: expected an end step in 1..4, got 9"):
        dg.jacobian_products(jac, t=9)
    with pytest.raises(ValueError, match="dy"):
        dg.gradient_flow(layer, cache, np.zeros((4, 2, 7)))
    with pytest.raises(ValueError, match="W: expected a non-empty square matrix"):
        dg.spectrum(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="span: expected a positive int"):
        dg.classify_growth(0.9, 0)
    with pytest.raises(ValueError, match="rate"):
        dg.classify_growth(float("nan"), 10)
    with pytest.raises(ValueError, match="steps: expected a positive int, got 0"):
        dg.impulse_response(np.eye(2), np.ones(2), 0)
    with pytest.raises(ValueError, match="grad_norm: expected a 1-d array"):
        dg.explosion_events(np.ones((2, 2)))
    with pytest.raises(ValueError, match="activation"):
        dg.mlp_loss_and_grads(dg.init_mlp([2, 2], 0), np.ones((1, 2)), np.zeros(1, int), "selu")
    with pytest.raises(ValueError, match="sections: expected one of"):
        diagnose(layer, "unused", sections=("flow", "everything"))
    with pytest.raises(TypeError, match="model_or_run"):
        diagnose(42, "unused")
    with pytest.raises(ValueError, match="model: expected one of rnn, lstm, gru"):
        fresh_layer("transformer")


# -- the command --
def test_cli_fresh_model_writes_figures_json_and_report(tmp_path, capsys):
    out = tmp_path / "d"
    code = main(
        ["diagnose", "--model", "lstm", "--init", "orthogonal", "--radius", "1.1",
         "--hidden", "8", "--length", "30", "--seed", "0", "--out", str(out)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    res = json.loads((out / "diagnostics.json").read_text())
    report = (out / "report.md").read_text()
    assert set(res["figures"]) == {
        "flow", "jacobian", "contributions", "spectrum", "impulse", "gates", "deep_mlp"
    }  # fmt: skip
    for name in res["figures"].values():
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in report
    assert len(res["jacobian"]["log10_norm"]["c"]) == len(res["jacobian"]["lags"]) == 31
    assert res["subject"]["family"] == "lstm" and res["subject"]["T"] == 30


def test_cli_rejects_bad_input_in_one_line(tmp_path, capsys):
    code = main(["diagnose", "--model", "transformer", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "model: expected one of rnn, lstm, gru" in err[0]
    code = main(["diagnose", str(tmp_path), "--model", "rnn"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "drop --model" in err[0]
    assert not (tmp_path / "x").exists()


def test_diagnose_a_trained_run(tmp_path):
    from rnnlab.training import TrainConfig, train

    run_dir = tmp_path / "run"
    cfg = TrainConfig(
        task="adding", model="rnn", length=12, hidden=4, batch=4, steps=6, eval_every=3,
        eval_size=16, time_budget=None, max_sequences=None, out=str(run_dir),
    )  # fmt: skip
    train(cfg, progress=False, log=lambda s: None)
    res = diagnose(str(run_dir), tmp_path / "diag", sections=("flow", "jacobian", "training"))
    assert res["subject"]["kind"] == "run" and res["subject"]["T"] >= 12
    assert set(res["figures"]) == {"flow", "jacobian", "training"}
    assert len(res["training"]["grad_norm"]) == 6
    assert res["jacobian"]["under_bound"] is True
