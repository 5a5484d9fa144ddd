"""The echo state network: readout, spectral radius, fast path, teacher forcing, free run."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from rnnlab.reservoir import ESN, EchoStateWarning, ridge_readout


def _esn(**kw):
    kw = {"units": 40, "spectral_radius": 0.9, "rng": 0, **kw}
    return ESN(kw.pop("input_size", 1), kw.pop("output_size", 1), **kw)


def test_import_rnnlab_does_not_load_numba():
    code = "import rnnlab, rnnlab.reservoir, sys; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("ridge", [0.0, 1e-3, 2.5])
def test_ridge_readout_matches_lstsq(rng, ridge):
    S, Y = rng.standard_normal((200, 12)), rng.standard_normal((200, 3))
    W = ridge_readout(S, Y, ridge)
    # the same problem as one least-squares system: [1, S] W^T ~ Y and sqrt(ridge) W[:, 1:] ~ 0
    A = np.concatenate([np.ones((200, 1)), S], axis=1)
    pen = np.sqrt(ridge) * np.eye(13)[1:]
    ref = np.linalg.lstsq(np.vstack([A, pen]), np.vstack([Y, np.zeros((12, 3))]), rcond=None)[0]
    np.testing.assert_allclose(W, ref.T, rtol=1e-9, atol=1e-10)


def test_fit_solves_the_ridge_problem_on_the_states(rng):
    esn = _esn(readout_input=True)
    x, y = rng.uniform(-1, 1, (300, 1)), rng.standard_normal((300, 1))
    esn.fit(x, y, washout=50, ridge=1e-2)
    H = esn.states(x)
    np.testing.assert_allclose(esn.W_hy, ridge_readout(np.hstack([x, H])[50:], y[50:], 1e-2))


@pytest.mark.parametrize("radius", [0.5, 0.95, 1.3])
def test_spectral_radius_is_exact(radius):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EchoStateWarning)
        esn = _esn(units=60, spectral_radius=radius, connectivity=0.2)
    lam = np.linalg.eigvals(esn.W_hh.toarray())
    assert abs(np.max(np.abs(lam)) - radius) < 1e-12
    assert esn.W_hh.nnz < 0.3 * 60 * 60  # sparse


def test_effective_radius_warning():
    with pytest.warns(EchoStateWarning, match="effective spectral radius"):
        _esn(spectral_radius=1.2, leak_rate=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EchoStateWarning)
        esn = _esn(spectral_radius=0.9, leak_rate=0.3)
    assert esn.effective_radius < 1


def test_fast_path_matches_numpy_loop(rng):
    x = rng.uniform(-1, 1, (120, 3, 2))
    kw = dict(input_size=2, units=50, leak_rate=0.4, bias_scaling=0.3, rng=3)
    h0 = rng.standard_normal((3, 50)) * 0.1
    for act in ("tanh", "identity"):
        fast = _esn(backend="fast", activation=act, **kw).states(x, h0=h0)
        ref = _esn(backend="numpy", activation=act, **kw).states(x, h0=h0)
        np.testing.assert_allclose(fast, ref, rtol=0, atol=1e-12)


def test_teacher_forced_and_free_running_paths_agree_on_the_truth(rng):
    # closed loop (input = previous output) and output feedback: when the network's outputs are
    # exactly the truth, the free run must reproduce the teacher-forced states step by step
    esn = _esn(feedback=True, feedback_scaling=0.3, input_scaling=0.5)
    s = np.sin(0.3 * np.arange(400))[:, None]
    esn.fit(s[:-1], s[1:], washout=50, ridge=1e-8)
    # training fed back y(t-1) = s(t), the same value as the input x(t) = s(t)
    y_tf, h_tf = esn.predict(s[:299], y_prev=np.vstack([np.zeros((1, 1)), s[1:299]]))
    assert np.sqrt(np.mean((y_tf[50:] - s[51:300]) ** 2)) < 1e-3  # teacher-forced one-step fit
    free, _ = esn.generate(20, h0=h_tf, y0=s[299])
    assert np.max(np.abs(free[:, 0] - s[300:320, 0])) < 0.05  # free run follows the sine
    # one step by hand equals the first free-running step
    y1, _ = esn.step(s[299][None], h_tf[None], s[299][None])
    assert np.allclose(y1[0], free[0])


def test_bad_arguments():
    with pytest.raises(ValueError, match="spectral_radius"):
        _esn(spectral_radius=0.0)
    with pytest.raises(ValueError, match="spectral_radius"):
        _esn(spectral_radius=-1.0)
    with pytest.raises(ValueError, match="leak_rate"):
        _esn(leak_rate=1.5)
    with pytest.raises(ValueError, match="connectivity"):
        _esn(connectivity=0.0)
    esn = _esn()
    with pytest.raises(ValueError, match="W_hy"):
        esn.predict(np.zeros((5, 1)))
    with pytest.raises(ValueError, match="washout"):
        esn.fit(np.zeros((10, 1)), np.zeros((10, 1)), washout=9)
    with pytest.raises(ValueError, match="x: expected finite|x: expected at least"):
        esn.fit(np.full((10, 1), np.nan), np.zeros((10, 1)), washout=2)


def test_ridge_chosen_on_validation(rng):
    x = rng.uniform(-1, 1, (600, 1))
    y = np.roll(x, 2, axis=0) + 0.05 * rng.standard_normal((600, 1))
    esn = _esn().fit(x, y, washout=50)
    assert esn.ridge_ in esn.validation_errors_
    assert esn.validation_errors_[esn.ridge_] == min(esn.validation_errors_.values())
