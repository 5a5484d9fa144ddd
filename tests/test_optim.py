"""Optimisers against torch.optim, schedules against torch's, clipping per Pascanu et al. 2013."""

import math

import numpy as np
import pytest
import torch

from rnnlab import optim
from rnnlab.gradcheck import relative_error
from tolerances import TORCH_REL_F64

SHAPES = {"W_hh_l0": (4, 4), "W_xh_l0": (4, 3), "b_h_l0": (4,)}


def _params(rng):
    return {k: rng.standard_normal(s) for k, s in SHAPES.items()}


CASES = [
    ("sgd", {}, torch.optim.SGD, {}),
    ("momentum", {"momentum": 0.9}, torch.optim.SGD, {"momentum": 0.9}),
    ("nesterov", {"momentum": 0.8}, torch.optim.SGD, {"momentum": 0.8, "nesterov": True}),
    ("adam", {}, torch.optim.Adam, {}),
    ("adam", {"beta1": 0.8, "beta2": 0.99, "eps": 1e-6}, torch.optim.Adam,
     {"betas": (0.8, 0.99), "eps": 1e-6}),
    ("rmsprop", {}, torch.optim.RMSprop, {}),
    ("adagrad", {}, torch.optim.Adagrad, {}),
]  # fmt: skip


@pytest.mark.parametrize("name,kw,tcls,tkw", CASES)
def test_steps_match_torch(name, kw, tcls, tkw, rng):
    params = _params(rng)
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    opt = optim.make_optimizer(name, 0.05, **kw)
    topt = tcls(list(tparams.values()), lr=0.05, **tkw)
    for _ in range(6):
        grads = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
        opt.step(params, grads)
        for k, p in tparams.items():
            p.grad = torch.tensor(grads[k])
        topt.step()
    for k in params:
        assert relative_error(params[k], tparams[k].detach().numpy()) < TORCH_REL_F64, k


@pytest.mark.parametrize(
    "ours,theirs",
    [
        (lambda: optim.StepDecay(0.1, 3, 0.5),
         lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
        (lambda: optim.ExponentialDecay(0.1, 0.9),
         lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
        (lambda: optim.CosineDecay(0.1, 10, 0.01),
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, 0.01)),
    ],
)  # fmt: skip
def test_schedules_match_torch(ours, theirs):
    sched = ours()
    topt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    tsched = theirs(topt)
    for step in range(11):
        assert sched(step) == pytest.approx(tsched.get_last_lr()[0], rel=1e-12)
        topt.step()
        tsched.step()


def test_schedule_drives_the_optimiser():
    p = {"w": np.zeros(1)}
    opt = optim.make_optimizer("sgd", optim.StepDecay(1.0, 2, 0.1))
    for _ in range(4):
        opt.step(p, {"w": np.ones(1)})
    assert p["w"][0] == pytest.approx(-(1 + 1 + 0.1 + 0.1))


def test_clip_grad_norm_is_algorithm_1(rng):
    g = {k: rng.standard_normal(s) * 10 for k, s in SHAPES.items()}
    before = {k: v.copy() for k, v in g.items()}
    norm = math.sqrt(sum(float(np.sum(v * v)) for v in before.values()))
    returned = optim.clip_grad_norm(g, 1.0)
    assert returned == pytest.approx(norm, rel=1e-14)
    assert optim.global_norm(g) == pytest.approx(1.0, rel=1e-14)  # ||g|| = threshold after
    for k in g:  # g <- threshold / ||g|| * g: same direction
        np.testing.assert_allclose(g[k], before[k] / norm, rtol=1e-14)
    # Below the threshold nothing changes, bit for bit.
    small = {k: v.copy() for k, v in g.items()}
    optim.clip_grad_norm(small, 2.0)
    for k in g:
        np.testing.assert_array_equal(small[k], g[k])


def test_clip_grad_norm_leaves_non_finite_gradients_alone():
    g = {"w": np.array([np.inf, 1.0])}
    assert optim.clip_grad_norm(g, 1.0) == math.inf
    np.testing.assert_array_equal(g["w"], [np.inf, 1.0])


def test_clip_grad_value_matches_torch(rng):
    g = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    t = [torch.tensor(v.copy()) for v in g.values()]
    for x in t:
        x.grad = x.clone()
    changed = optim.clip_grad_value(g, 0.5)
    torch.nn.utils.clip_grad_value_(t, 0.5)
    assert changed == sum(int((x.grad != x).sum()) for x in t)
    for v, x in zip(g.values(), t):
        np.testing.assert_array_equal(v, x.grad.numpy())


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad"])
def test_state_dict_resume_is_exact(name, rng):
    grads = [{k: rng.standard_normal(s) for k, s in SHAPES.items()} for _ in range(6)]
    p1 = _params(rng)
    p2 = {k: v.copy() for k, v in p1.items()}
    sched = optim.CosineDecay(0.05, 6)
    a = optim.make_optimizer(name, sched)
    for g in grads:
        a.step(p1, {k: v.copy() for k, v in g.items()})
    b = optim.make_optimizer(name, sched)
    for g in grads[:3]:
        b.step(p2, {k: v.copy() for k, v in g.items()})
    state = b.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    c = optim.make_optimizer(name, sched)
    c.load_state_dict(state)
    for g in grads[3:]:
        c.step(p2, {k: v.copy() for k, v in g.items()})
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])


# -- bad input: one test per class --------------------------------------------------------------
def test_unknown_optimizer_lists_choices():
    with pytest.raises(ValueError, match="optimizer: expected one of sgd, momentum, .*adagrad"):
        optim.make_optimizer("lbfgs", 0.1)


def test_bad_numbers_rejected():
    with pytest.raises(ValueError, match="lr: expected a positive finite number, got -0.1"):
        optim.make_optimizer("adam", -0.1)
    with pytest.raises(ValueError, match="max_norm: expected a positive finite number, got 0"):
        optim.clip_grad_norm({"w": np.ones(2)}, 0)
    with pytest.raises(ValueError, match="clip: expected a positive finite number"):
        optim.clip_grad_value({"w": np.ones(2)}, -1.0)
    with pytest.raises(ValueError, match=r"beta1: expected a number in \[0, 1\)"):
        optim.Adam(0.1, beta1=1.0)


def test_mismatched_grads_rejected():
    opt = optim.SGD(0.1)
    with pytest.raises(ValueError, match="grads: expected the same keys as params"):
        opt.step({"w": np.ones(2)}, {"v": np.ones(2)})
    with pytest.raises(ValueError, match=r"grads\['w'\]: expected shape \(2,\)"):
        opt.step({"w": np.ones(2)}, {"w": np.ones(3)})
    with pytest.raises(TypeError, match="grads: expected a dict"):
        optim.global_norm([np.ones(2)])


def test_bad_state_dict_rejected():
    with pytest.raises(ValueError, match="state: expected a dict from state_dict"):
        optim.Adam(0.1).load_state_dict({"m.w": np.ones(1)})
    with pytest.raises(ValueError, match=r"state\['q.w'\]"):
        optim.Adam(0.1).load_state_dict({"t": np.array(1), "q.w": np.ones(1)})


def test_unknown_schedule_lists_choices():
    with pytest.raises(ValueError, match="schedule: expected one of constant, step"):
        optim.make_schedule("warmup", 0.1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_adam_is_bit_identical_to_numpy(dtype, rng, monkeypatch):
    """The one-call Adam (kernels/_optim.py) gives NumPy's bits, step after step."""
    import rnnlab.optim as optim

    shapes = {"W": (37, 19), "b": (70,), "tiny": (3,)}
    start = {k: rng.standard_normal(s).astype(dtype) for k, s in shapes.items()}
    grads = [
        {
            k: (rng.standard_normal(s) * 10.0 ** rng.integers(-6, 3)).astype(dtype)
            for k, s in shapes.items()
        }
        for _ in range(6)
    ]
    runs = {}
    for fused in (True, False):
        monkeypatch.setattr(optim, "FUSED", fused)
        params = {k: a.copy() for k, a in start.items()}
        opt = optim.Adam(lr=optim.StepDecay(3e-2, step_size=2, gamma=0.5))
        for g in grads:
            opt.step(params, {k: a.copy() for k, a in g.items()})
        runs[fused] = (params, opt.state_dict())
    for k in shapes:
        np.testing.assert_array_equal(runs[True][0][k], runs[False][0][k])
        assert runs[True][0][k].dtype == dtype
    for k, a in runs[False][1].items():
        np.testing.assert_array_equal(runs[True][1][k], a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_adam_flushes_subnormal_moments_and_moves_no_weight_differently(
    dtype, rng, monkeypatch
):
    """Moments that decayed below the normal range (and their next values) are zeros on the
    one-call path on x86-64 (kernels/_fpenv.py: arithmetic on them is ~100x slower there);
    every weight keeps NumPy's bits, the normal moments too, and the caller's arithmetic keeps
    its subnormals afterwards."""
    import rnnlab.optim as optim
    from rnnlab.kernels._fpenv import X86

    tiny = np.finfo(dtype).tiny
    start = {"W": rng.standard_normal((40, 30)).astype(dtype)}
    first = {"W": rng.standard_normal((40, 30)).astype(dtype)}
    later = {"W": first["W"].copy()}
    later["W"][:20] = 0  # these rows' gradients stopped: their moments only decay
    runs = {}
    for fused in (True, False):
        monkeypatch.setattr(optim, "FUSED", fused)
        params = {k: a.copy() for k, a in start.items()}
        opt = optim.Adam(lr=1e-2)
        opt.step(params, first)
        state = opt.state_dict()
        for name in ("m.W", "v.W"):  # the stopped rows' moments, decayed to subnormals
            state[name][:20] = (tiny * rng.uniform(0.01, 0.99, (20, 30))).astype(dtype)
        opt.load_state_dict(state)
        for _ in range(3):
            opt.step(params, {k: a.copy() for k, a in later.items()})
        runs[fused] = (params["W"], opt.state_dict())
    np.testing.assert_array_equal(runs[True][0], runs[False][0])  # every weight's bits
    for name in ("m.W", "v.W"):
        fused, numpy_ = runs[True][1][name], runs[False][1][name]
        assert np.all((numpy_[:20] != 0) & (np.abs(numpy_[:20]) < tiny))  # NumPy's subnormals
        expect = np.where(np.abs(numpy_) < tiny, 0, numpy_) if X86 else numpy_
        np.testing.assert_array_equal(fused, expect)
    assert dtype(tiny) * dtype(0.5) != 0  # the caller's control word is back


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_gradient_stops_adam_before_any_change(dtype, bad, rng):
    """On the one-call path too, a NaN/inf anywhere raises naming the array, and no parameter,
    buffer or step count changes (the check comes before the first update)."""
    params = {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}
    opt = optim.Adam(1e-2)
    opt.step(params, {k: np.ones_like(a) for k, a in params.items()})  # buffers exist now
    before, state = {k: a.copy() for k, a in params.items()}, opt.state_dict()
    grads = {k: np.ones_like(a) for k, a in params.items()}
    grads["b_h_l0"][-1] = bad  # the last entry of the last array
    with pytest.raises(optim.NonFiniteError, match=r"grads\['b_h_l0'\]: expected finite"):
        opt.step(params, grads)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    after = opt.state_dict()
    assert after.keys() == state.keys()
    for k, a in state.items():
        np.testing.assert_array_equal(after[k], a)


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 1000, 4099])
def test_float32_global_norm_is_the_float64_norm(n, rng):
    """float32 gradients are summed in float64 without a copy: the float64 norm of the same
    numbers, to rounding of the float64 sum (not float32 accumulation, off by ~1e-7)."""
    g = {"a": (rng.standard_normal(n) * 1e3).astype(np.float32), "b": np.float32([[3.0, 4.0]])}
    exact = math.sqrt(math.fsum(float(v) ** 2 for a in g.values() for v in a.ravel()))
    assert optim.global_norm(g) == pytest.approx(exact, rel=1e-14)
