"""Losses and readout: finite differences (float64), PyTorch parity, normalisation, bad input."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnlab import losses
from rnnlab.gradcheck import numerical_gradients, relative_error
from rnnlab.readout import Readout, readout_loss, readout_value
from tolerances import FD_REL, TORCH_REL_F64

T, B, K, H = 4, 3, 5, 6


def _targets(kind, rng, last):
    lead = (B,) if last else (T, B)
    if kind == "mse":
        return rng.standard_normal(lead + (K,))
    if kind == "bce":
        return rng.uniform(0, 1, lead + (K,))
    return rng.integers(0, K, size=lead)


def _mode(mode, rng):
    if mode == "mask":
        m = (rng.uniform(size=(T, B)) > 0.3).astype(float)
        m[0] = 1.0
        return {"mask": m}
    if mode == "last":
        return {"last": rng.integers(0, T, size=B)}
    return {}


@pytest.mark.parametrize("kind", ["mse", "bce", "ce"])
@pytest.mark.parametrize("mode", ["every", "mask", "last"])
def test_loss_gradient_matches_finite_differences(kind, mode, rng):
    z = rng.standard_normal((T, B, K))
    o = _targets(kind, rng, mode == "last")
    kw = _mode(mode, rng)
    fn = losses.get(kind)
    _, dz = fn(z, o, **kw)
    num = numerical_gradients(lambda: fn(z, o, **kw)[0], {"z": z})["z"]
    assert relative_error(dz, num) < FD_REL


@pytest.mark.parametrize("mode", ["every", "mask", "last"])
def test_losses_match_torch(mode, rng):
    kw = _mode(mode, rng)
    if mode == "last":
        w = np.zeros((T, B))
        w[kw["last"], np.arange(B)] = 1.0
    else:
        w = kw.get("mask", np.ones((T, B)))
    n = w.sum()
    wt = torch.tensor(w)
    z = rng.standard_normal((T, B, K))

    def full(o):  # place last-step targets at their steps for torch
        if mode != "last":
            return o
        out = np.zeros((T, B) + o.shape[1:], dtype=o.dtype)
        out[kw["last"], np.arange(B)] = o
        return out

    for kind in ("mse", "bce", "ce"):
        o = _targets(kind, rng, mode == "last")
        loss, dz = losses.get(kind)(z, o, **kw)
        zt = torch.tensor(z, requires_grad=True)
        ot = torch.tensor(full(o))
        if kind == "mse":
            per = 0.5 * F.mse_loss(zt, ot, reduction="none").sum(-1)
        elif kind == "bce":
            per = F.binary_cross_entropy_with_logits(zt, ot, reduction="none").sum(-1)
        else:
            per = F.cross_entropy(zt.reshape(-1, K), ot.reshape(-1), reduction="none")
            per = per.reshape(T, B)
        ref = (per * wt).sum() / (B if mode == "last" else n)
        ref.backward()
        assert abs(loss - ref.item()) <= TORCH_REL_F64 * abs(ref.item())
        assert relative_error(dz, zt.grad.numpy()) < TORCH_REL_F64


def test_cross_entropy_accepts_probability_targets(rng):
    z = rng.standard_normal((T, B, K))
    idx = rng.integers(0, K, size=(T, B))
    a = losses.softmax_cross_entropy(z, idx)
    b = losses.softmax_cross_entropy(z, np.eye(K)[idx])
    assert a[0] == pytest.approx(b[0], rel=1e-14)
    np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-15)
    soft = rng.dirichlet(np.ones(K), size=(T, B))
    loss, _ = losses.softmax_cross_entropy(z, soft)
    ref = F.cross_entropy(torch.tensor(z).reshape(-1, K), torch.tensor(soft).reshape(-1, K))
    assert loss == pytest.approx(ref.item(), rel=TORCH_REL_F64)


def test_time_average_is_mean_of_per_step_losses():
    # L = 1/T sum_t L^t with L^t = 1/2 (y - o)^2, one sequence, one output.
    y = np.array([1.0, 2.0, 4.0]).reshape(3, 1, 1)
    o = np.zeros((3, 1, 1))
    loss, dy = losses.mse(y, o)
    assert loss == (0.5 + 2.0 + 8.0) / 3
    np.testing.assert_array_equal(dy[:, 0, 0], np.array([1.0, 2.0, 4.0]) / 3)


def test_mask_averages_over_unmasked_steps_only():
    y = np.array([[1.0, 3.0], [2.0, 100.0]]).reshape(2, 2, 1)  # (T=2, B=2, 1)
    mask = np.array([[1, 1], [1, 0]])
    loss, dy = losses.mse(y, np.zeros_like(y), mask=mask)
    assert loss == pytest.approx((0.5 + 4.5 + 2.0) / 3)
    assert dy[1, 1, 0] == 0.0


def test_bce_is_finite_for_huge_logits():
    z = np.array([-1000.0, 1000.0]).reshape(1, 2, 1)
    loss, dz = losses.sigmoid_bce(z, np.array([0.0, 1.0]).reshape(1, 2, 1))
    assert loss == 0.0 and np.all(dz == 0.0)
    loss, dz = losses.sigmoid_bce(z, np.array([1.0, 0.0]).reshape(1, 2, 1))
    assert loss == pytest.approx(1000.0) and np.all(np.isfinite(dz))


@pytest.mark.parametrize(
    "activation,kind",
    [("identity", "mse"), ("tanh", "mse"), ("sigmoid", "mse"), ("softmax", "mse"),
     ("sigmoid", "bce"), ("softmax", "ce")],
)  # fmt: skip
def test_readout_gradients_match_finite_differences(activation, kind, rng):
    ro = Readout(H, K, activation=activation, rng=rng)
    ro.params["b_y"][:] = rng.standard_normal(K)
    h = rng.standard_normal((T, B, H))
    o = _targets(kind, rng, False)
    kw = {"mask": (rng.uniform(size=(T, B)) > 0.2).astype(float)}
    kw["mask"][0] = 1
    _, dh, grads, _ = readout_loss(ro, h, o, kind, **kw)
    arrays = {"h": h, **ro.params}
    num = numerical_gradients(lambda: readout_loss(ro, h, o, kind, **kw)[0], arrays)
    assert relative_error(dh, num["h"]) < FD_REL
    for k in ro.params:
        assert relative_error(grads[k], num[k]) < FD_REL, k


@pytest.mark.parametrize("activation", ["identity", "tanh", "sigmoid", "softmax"])
def test_readout_matches_torch(activation, rng):
    ro = Readout(H, K, activation=activation, rng=rng)
    ro.params["b_y"][:] = rng.standard_normal(K)
    h = rng.standard_normal((T, B, H))
    o = rng.standard_normal((T, B, K))
    loss, dh, grads, y = readout_loss(ro, h, o, "mse")
    ht = torch.tensor(h, requires_grad=True)
    W = torch.tensor(ro.params["W_hy"], requires_grad=True)
    b = torch.tensor(ro.params["b_y"], requires_grad=True)
    z = F.linear(ht, W, b)
    act = {"identity": lambda a: a, "tanh": torch.tanh, "sigmoid": torch.sigmoid}
    yt = act[activation](z) if activation in act else torch.softmax(z, -1)
    ref = 0.5 * ((yt - torch.tensor(o)) ** 2).sum() / (T * B)
    ref.backward()
    assert relative_error(y, yt.detach().numpy()) < TORCH_REL_F64
    assert loss == pytest.approx(ref.item(), rel=TORCH_REL_F64)
    assert relative_error(dh, ht.grad.numpy()) < TORCH_REL_F64
    assert relative_error(grads["W_hy"], W.grad.numpy()) < TORCH_REL_F64
    assert relative_error(grads["b_y"], b.grad.numpy()) < TORCH_REL_F64


def test_readout_init_is_seeded():
    a, b = Readout(H, K, rng=7), Readout(H, K, rng=7)
    np.testing.assert_array_equal(a.params["W_hy"], b.params["W_hy"])
    assert np.all(np.abs(a.params["W_hy"]) <= 1 / np.sqrt(H))
    assert not np.array_equal(a.params["W_hy"], Readout(H, K, rng=8).params["W_hy"])


# -- bad input: one test per class --------------------------------------------------------------
def test_unknown_loss_lists_choices():
    with pytest.raises(ValueError, match="loss: expected one of mse, bce, ce"):
        losses.get("hinge")


def test_mask_and_last_together_rejected(rng):
    z = rng.standard_normal((T, B, K))
    with pytest.raises(ValueError, match="mask, last"):
        losses.mse(z, z[0], mask=np.ones((T, B)), last=np.zeros(B, dtype=int))


def test_bad_mask_rejected(rng):
    z = rng.standard_normal((T, B, K))
    with pytest.raises(ValueError, match="mask: expected only 0/1"):
        losses.mse(z, z, mask=np.full((T, B), 0.5))
    with pytest.raises(ValueError, match="mask: expected at least one"):
        losses.mse(z, z, mask=np.zeros((T, B)))
    with pytest.raises(ValueError, match=r"mask: expected shape \(4, 3\)"):
        losses.mse(z, z, mask=np.ones((B, T)))


def test_bad_last_rejected(rng):
    z = rng.standard_normal((T, B, K))
    with pytest.raises(ValueError, match=r"last: expected indices in \[0, 3\]"):
        losses.mse(z, z[0], last=np.array([0, 1, T]))
    with pytest.raises(TypeError, match="last: expected an integer numpy array"):
        losses.mse(z, z[0], last=np.zeros(B))


def test_bad_target_shape_rejected(rng):
    z = rng.standard_normal((T, B, K))
    with pytest.raises(ValueError, match=r"targets: expected shape \(4, 3, 5\)"):
        losses.mse(z, z[:, :, :2])


def test_bad_class_targets_rejected(rng):
    z = rng.standard_normal((T, B, K))
    with pytest.raises(ValueError, match=r"targets: expected class indices in \[0, 4\]"):
        losses.softmax_cross_entropy(z, np.full((T, B), K))
    with pytest.raises(ValueError, match="rows of probabilities"):
        losses.softmax_cross_entropy(z, np.ones((T, B, K)))
    with pytest.raises(ValueError, match=r"targets: expected values in \[0, 1\]"):
        losses.sigmoid_bce(z, np.full((T, B, K), 2.0))


def test_bad_outputs_rejected(rng):
    with pytest.raises(ValueError, match="y: expected a 3-d array"):
        losses.mse(np.zeros((T, B)), np.zeros((T, B)))
    with pytest.raises(ValueError, match="z: expected finite values"):
        losses.sigmoid_bce(np.full((T, B, K), np.nan), np.zeros((T, B, K)))


def test_readout_bad_input(rng):
    with pytest.raises(ValueError, match="activation: expected one of"):
        Readout(H, K, activation="relu")
    ro = Readout(H, K, activation="identity")
    with pytest.raises(ValueError, match="readout.activation: loss 'ce' needs activation"):
        readout_loss(ro, rng.standard_normal((T, B, H)), np.zeros((T, B), int), "ce")
    with pytest.raises(ValueError, match=r"h: expected shape \(\*, \*, 6\)"):
        ro.forward(np.zeros((T, B, H + 1)))


@pytest.mark.parametrize("loss", ["mse", "ce"])
@pytest.mark.parametrize("mode", ["every", "last"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_readout_loss_matches_the_general_route(loss, mode, dtype, rng, monkeypatch):
    """The fused route (one-pass softmax cross-entropy; backward GEMMs over the target rows
    only) against the general one: readout, loss, then the readout's own backward."""
    import rnnlab.readout as readout_mod

    T, B, H, K = 7, 5, 6, 4
    ro = Readout(H, K, activation="softmax" if loss == "ce" else "identity", rng=0, dtype=dtype)
    ro.params["b_y"][:] = rng.standard_normal(K)
    h = rng.standard_normal((T, B, H)).astype(dtype) * 3.0
    last = rng.integers(0, T, size=B) if mode == "last" else None
    lead = (B,) if mode == "last" else (T, B)
    tgt = rng.integers(0, K, size=lead) if loss == "ce" else rng.standard_normal(lead + (K,))
    kw = {"last": last} if mode == "last" else {}
    assert readout_mod._fused_applies(ro, h, tgt, loss, None)
    fused = readout_loss(ro, h, tgt, loss, **kw)
    monkeypatch.setattr(readout_mod, "_fused_applies", lambda *a: False)
    general = readout_loss(ro, h, tgt, loss, **kw)
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(fused[0], general[0], rtol=rtol)
    for a, b in [(fused[1], general[1]), (fused[3], general[3])] + [
        (fused[2][k], general[2][k]) for k in ("W_hy", "b_y")
    ]:
        assert a.dtype == b.dtype == dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())


@pytest.mark.parametrize("loss", ["mse", "ce", "bce"])
@pytest.mark.parametrize("mode", ["every", "last"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_readout_value_is_readout_loss_without_the_backward(loss, mode, dtype, rng):
    """The evaluation's route: the same loss and outputs, bit for bit, on the fused routes and
    the general one (BCE)."""
    T, B, H, K = 9, 6, 5, 3
    act = {"ce": "softmax", "bce": "sigmoid", "mse": "identity"}[loss]
    ro = Readout(H, K, activation=act, rng=1, dtype=dtype)
    h = rng.standard_normal((T, B, H)).astype(dtype)
    lead = (B,) if mode == "last" else (T, B)
    if loss == "ce":
        tgt = rng.integers(0, K, size=lead)
    elif loss == "bce":
        tgt = rng.integers(0, 2, size=lead + (K,)).astype(float)
    else:
        tgt = rng.standard_normal(lead + (K,))
    kw = {"last": rng.integers(0, T, size=B)} if mode == "last" else {}
    value, dh, grads, y = readout_loss(ro, h, tgt, loss, **kw)
    v2, y2 = readout_value(ro, h, tgt, loss, **kw)
    assert v2 == value and np.array_equal(y2, y)
    with pytest.raises(ValueError, match="targets: expected shape"):
        readout_value(ro, h, tgt[:-1], loss, **kw)
