"""Fast whole-sequence kernels against the reference step loop, for every cell option."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import rnnlab
from cases import cell_cases
from rnnlab import cells, kernels
from rnnlab.gradcheck import relative_error
from rnnlab.kernels import _blas, _common, _packed
from tolerances import FAST_REL_F32, FAST_REL_F64

T, B, I, H = 6, 3, 4, 5

CASES = cell_cases(I, H)
SHAPES = {
    "1-layer": dict(num_layers=1),
    "2-layers-bidirectional": dict(num_layers=2, bidirectional=True),
}


def _pair(case, dtype=np.float64, **kw):
    """The same network twice (same seed): fast backend, reference backend in float64."""
    fast = CASES[case](rng=7, dtype=dtype, backend="fast", **kw)
    ref = CASES[case](rng=7, dtype=np.float64, backend="reference", **kw)
    for name, value in ref.params.items():  # identical weights, also for float32
        fast.params[name][...] = value
    return fast, ref


def _run(layer, x, state, dy, dstate):
    dt = layer.dtype

    def cast(s):
        return (
            None
            if s is None
            else (tuple(a.astype(dt) for a in s) if isinstance(s, tuple) else s.astype(dt))
        )

    y, s_T, cache = layer.forward(x.astype(dt), cast(state))
    dx, ds0, grads = layer.backward(dy.astype(dt), cache, cast(dstate))
    return y, s_T, cache, dx, ds0, grads


def _as_list(s):
    return list(s) if isinstance(s, tuple) else [s]


def _errors(a, b):
    (y, s_T, cache, dx, ds0, grads), (y2, s_T2, cache2, dx2, ds02, grads2) = a, b
    err = {"y": relative_error(y, y2), "dx": relative_error(dx, dx2)}
    for k, (u, v) in enumerate(zip(_as_list(s_T), _as_list(s_T2))):
        err[f"state_T[{k}]"] = relative_error(u, v)
    for k, (u, v) in enumerate(zip(_as_list(ds0), _as_list(ds02))):
        err[f"dstate0[{k}]"] = relative_error(u, v)
    assert len(cache.steps) == len(cache2.steps)
    for row, (c, c2) in enumerate(zip(cache.steps, cache2.steps)):
        assert list(c) == list(c2), "fast and reference caches hold different keys"
        for key in c:
            assert c[key].shape == c2[key].shape
            err[f"cache[{row}][{key}]"] = relative_error(c[key], c2[key])
    assert list(grads) == list(grads2)
    for name in grads:
        err[name] = relative_error(grads[name], grads2[name])
    return err


def _inputs(layer, rng, Tn=T, Bn=B):
    L = layer.num_layers * layer.num_directions
    x = rng.standard_normal((Tn, Bn, I))
    parts = [0.5 * rng.standard_normal((L, Bn, H)) for _ in layer.cell.state_names]
    dparts = [rng.standard_normal((L, Bn, H)) for _ in layer.cell.state_names]
    state = parts[0] if len(parts) == 1 else tuple(parts)
    dstate = dparts[0] if len(dparts) == 1 else tuple(dparts)
    dy = rng.standard_normal((Tn, Bn, H * layer.num_directions))
    return x, state, dy, dstate


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", CASES)
def test_fast_equals_reference_float64(case, shape, rng):
    fast, ref = _pair(case, **SHAPES[shape])
    assert kernels.lookup(fast.cell) is not None, "no fast kernel registered for this cell"
    if case == "rnn-relu":  # keep pre-activations away from relu's kink
        for layer in (fast, ref):
            for name, p in layer.params.items():
                if name.startswith("b_h"):
                    p += 0.5
    args = _inputs(fast, rng)
    err = _errors(_run(fast, *args), _run(ref, *args))
    worst = max(err, key=err.get)
    assert err[worst] <= FAST_REL_F64, f"{case}/{shape}: {worst} {err[worst]:.2e}"


@pytest.mark.parametrize("chunk_rows", [3, 1024])
@pytest.mark.parametrize("case", ["lstm", "lstm-peepholes", "lstm-no-forget", "rnn-tanh", "gru"])
def test_one_hot_input_gather_and_scatter(case, chunk_rows, rng, monkeypatch):
    """One-hot inputs (characters) take a gather for W_xh x and a scatter-add for dW_xh: held to
    the reference loop, to the GEMM route (the forward bits are the same), in both dtypes,
    across backward chunks, with one input column never set."""
    from rnnlab.kernels import _input

    monkeypatch.setattr(_common, "CHUNK_ROWS", chunk_rows)
    codes = rng.integers(I - 1, size=(7, 2))  # column I-1 never set: its gradient stays zero
    x = np.eye(I)[codes]
    assert np.array_equal(_common.one_hot_codes(x), codes.reshape(-1))
    fast, ref = _pair(case, num_layers=2)
    _, state, dy, dstate = _inputs(fast, rng, Tn=7, Bn=2)
    gathered = _run(fast, x, state, dy, dstate)
    err = _errors(gathered, _run(ref, x, state, dy, dstate))
    worst = max(err, key=err.get)
    assert err[worst] <= FAST_REL_F64, f"{case}: {worst} {err[worst]:.2e}"
    assert not gathered[5]["W_xh_l0"][:, I - 1].any()
    gemm_route = lambda x: np.empty(0, np.int64)  # noqa: E731 - what a non-one-hot x gets
    for dtype in (np.float64, np.float32):
        layer, _ = _pair(case, dtype=dtype, num_layers=2)
        a = _run(layer, x, state, dy, dstate)
        with monkeypatch.context() as m:
            m.setattr(_input, "one_hot_codes", gemm_route)
            b = _run(layer, x, state, dy, dstate)
        assert np.array_equal(a[0], b[0])  # forward: the gather is the GEMM's exact value
        tol = FAST_REL_F64 if dtype == np.float64 else FAST_REL_F32
        assert relative_error(a[5]["W_xh_l0"], b[5]["W_xh_l0"]) <= tol


def test_one_hot_codes_rejects_other_inputs():
    eye = np.eye(4)[[0, 2, 3, 1, 1]][:, None, :]  # (5, 1, 4)
    assert np.array_equal(_common.one_hot_codes(eye), [0, 2, 3, 1, 1])
    bad = [(2, [0, 0, 0, 0]), (1, [0, 2, 0, 0]), (3, [1, 0, -1, 0]), (4, [1, 1, 0, 0])]
    bad += [(0, [np.nan, 1, 0, 0]), (2, [0, 0.5, 0.5, 0])]
    for row, value in bad:
        x = eye.copy()
        x[row, 0] = value
        assert _common.one_hot_codes(x).size == 0, (row, value)
    assert _common.one_hot_codes(np.ones((3, 2, 1))).size == 6  # one column of ones is one-hot


@pytest.mark.parametrize("case", ["rnn-tanh", "lstm-peepholes", "gru"])
def test_fast_equals_reference_across_backward_chunks(case, rng, monkeypatch):
    """Several backward chunks, the last one partial: 3 rows per chunk, B=2, T=7."""
    monkeypatch.setattr(_common, "CHUNK_ROWS", 3)
    fast, ref = _pair(case, bidirectional=True)
    args = _inputs(fast, rng, Tn=7, Bn=2)
    err = _errors(_run(fast, *args), _run(ref, *args))
    worst = max(err, key=err.get)
    assert err[worst] <= FAST_REL_F64, f"{case}: {worst} {err[worst]:.2e}"


@pytest.mark.parametrize("cblas", [True, False], ids=["cblas", "np.dot"])
@pytest.mark.parametrize("case", ["rnn-tanh", "lstm", "lstm-peepholes", "lstm-no-forget", "gru"])
def test_fast_equals_reference_batch_of_one_and_both_blas_routes(case, cblas, rng, monkeypatch):
    """B=1 takes the GEMV route of NumPy's CBLAS; the np.dot route serves NumPys without one."""
    if cblas and not _blas.CBLAS_FOUND:
        pytest.skip("this NumPy has no CBLAS that rnnlab can call")
    monkeypatch.setattr(_blas, "USE_CBLAS", cblas)
    monkeypatch.setattr(_common, "CHUNK_ROWS", 4)  # several chunks: beta = 1 accumulation
    for Bn in (1, 3):
        fast, ref = _pair(case, bidirectional=True)
        args = _inputs(fast, rng, Tn=9, Bn=Bn)
        err = _errors(_run(fast, *args), _run(ref, *args))
        worst = max(err, key=err.get)
        assert err[worst] <= FAST_REL_F64, f"{case}, B={Bn}: {worst} {err[worst]:.2e}"


@pytest.mark.parametrize(
    "Bn,threads", [(_packed.MR + 3, 1), (_packed.MR + 3, 2), (_packed.MAX_ROWS + 1, 1)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES)
def test_fast_equals_reference_on_both_step_product_routes(
    case, dtype, Bn, threads, rng, monkeypatch
):
    """With one BLAS thread, float32 batches of 2..MAX_ROWS take the per-step products on packed
    weights (here several row tiles, and panels that 4H and H do not fill); float64, two
    threads or more rows take OpenBLAS (and the np.dot route)."""
    packed = dtype == np.float32 and threads == 1 and Bn <= _packed.MAX_ROWS
    assert _packed.use_packed(Bn, dtype, threads=threads) == packed
    routes = [True, False] if not packed and _blas.CBLAS_FOUND else [_blas.USE_CBLAS]
    tol = FAST_REL_F32 if dtype == np.float32 else FAST_REL_F64
    for cblas in routes:
        monkeypatch.setattr(_blas, "USE_CBLAS", cblas)
        fast, ref = _pair(case, dtype=dtype)
        if case == "rnn-relu":  # keep pre-activations away from relu's kink
            for layer in (fast, ref):
                layer.params["b_h_l0"] += 0.5
        args = _inputs(fast, rng, Tn=4, Bn=Bn)
        with threadpool_limits(threads):
            assert _packed.use_packed(Bn, dtype) == packed or _blas.blas_threads() != threads
            err = _errors(_run(fast, *args), _run(ref, *args))
        worst = max(err, key=err.get)
        assert err[worst] <= tol, f"{case}, B={Bn}: {worst} {err[worst]:.2e}"


def test_numpy_cblas_is_used_where_numpy_bundles_it():
    if _blas._numpy_blas_candidates():
        assert _blas.CBLAS_FOUND, "NumPy bundles an ILP64 OpenBLAS, but its CBLAS was not found"


@pytest.mark.parametrize("cblas", [True, False], ids=["cblas", "np.dot"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gemm_matches_numpy_for_every_transpose_and_beta(cblas, dtype, rng):
    if cblas and not _blas.CBLAS_FOUND:
        pytest.skip("this NumPy has no CBLAS that rnnlab can call")
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for M, N, K in [(1, 7, 5), (3, 7, 5), (4, 1, 6), (2, 3, 0), (1, 1, 1), (6, 8, 2)]:
        for ta in (False, True):
            for tb in (False, True):
                for beta in (0.0, 1.0):
                    for block in (False, True):  # blocks of columns of wider arrays too
                        A = _operand(rng, (K, M) if ta else (M, K), dtype, block)
                        Bm = _operand(rng, (N, K) if tb else (K, N), dtype, block)
                        wide = _operand(rng, (M, N), dtype, block, whole=True)
                        C, before = wide[:, 2 : 2 + N], wide.copy()
                        want = (A.T if ta else A) @ (Bm.T if tb else Bm) + beta * C
                        _blas.gemm(cblas, ta, tb, A, Bm, beta, C)
                        np.testing.assert_allclose(C, want, rtol=tol, atol=tol)
                        outside = np.ones(wide.shape, bool)
                        outside[:, 2 : 2 + N] = False
                        assert np.array_equal(wide[outside], before[outside])


def _operand(rng, shape, dtype, block, whole=False):
    """A random matrix, or with ``block`` the columns 2.. of a wider one (rows not adjacent);
    ``whole``: the wide array itself (columns 2..2+shape[1] are the operand)."""
    rows, cols = shape
    wide = rng.standard_normal((rows, cols + (5 if block or whole else 0))).astype(dtype)
    return wide if whole else (wide[:, 2 : 2 + cols] if block else wide)


@pytest.mark.parametrize("case", ["rnn-tanh", "rnn-sigmoid", "lstm", "lstm-peepholes", "gru"])
def test_float32_fast_close_to_float64_reference(case, rng):
    fast, ref = _pair(case, dtype=np.float32, num_layers=2)
    args = _inputs(fast, rng)
    out32 = _run(fast, *args)
    assert out32[0].dtype == out32[3].dtype == np.float32
    assert all(g.dtype == np.float32 for g in out32[5].values())
    err = _errors(out32, _run(ref, *args))
    worst = max(err, key=err.get)
    assert err[worst] <= FAST_REL_F32, f"{case}: {worst} {err[worst]:.2e}"


def test_a_wrong_kernel_is_caught(rng, monkeypatch):
    """The comparison can fail: a 1% error in one gradient of the fast LSTM is flagged."""
    fast, ref = _pair("lstm")
    fwd, bwd = kernels.lookup(fast.cell)

    def broken(cell, p, dy, dstate_T, cache):
        dx, ds0, grads = bwd(cell, p, dy, dstate_T, cache)
        grads["W_hh"] = grads["W_hh"] * 1.01
        return dx, ds0, grads

    monkeypatch.setattr(fast, "_sequence_fns", lambda: (fwd, broken))
    args = _inputs(fast, rng)
    err = _errors(_run(fast, *args), _run(ref, *args))
    assert err["W_hh_l0"] > 1e-3


def test_backend_selects_the_loop(rng, monkeypatch):
    """backend="reference" runs the reference step loop; "fast" runs the registered kernel."""
    calls = []
    for family in ("rnn", "lstm", "gru"):
        fwd, bwd, supports = kernels._KERNELS[family]

        def spy_f(*a, _f=fwd, _n=family):
            calls.append(("fast-forward", _n))
            return _f(*a)

        def spy_b(*a, _b=bwd, _n=family):
            calls.append(("fast-backward", _n))
            return _b(*a)

        monkeypatch.setitem(kernels._KERNELS, family, (spy_f, spy_b, supports))
    steps = []
    original = cells.GRUCell.step
    monkeypatch.setattr(
        cells.GRUCell, "step", lambda self, *a: steps.append(1) or original(self, *a)
    )
    x = rng.standard_normal((4, 2, I))
    ref = rnnlab.GRU(I, H, backend="reference")
    y, _, cache = ref.forward(x)
    ref.backward(np.ones_like(y), cache)
    assert calls == [] and len(steps) == 4
    fast = rnnlab.GRU(I, H, backend="fast")
    y, _, cache = fast.forward(x)
    fast.backward(np.ones_like(y), cache)
    assert calls == [("fast-forward", "gru"), ("fast-backward", "gru")] and len(steps) == 4


def test_every_option_has_a_fast_kernel():
    """So that the finite-difference and PyTorch tests (default backend) check the kernels."""
    for case in CASES:
        layer = CASES[case]()
        assert layer.backend == "fast" and kernels.lookup(layer.cell) is not None, case


def test_kernels_work_where_numpy_has_no_cblas():
    """A NumPy without a bundled ILP64 OpenBLAS (conda/MKL, Accelerate): the symbols point to a
    stub, the kernels (loaded from the on-disk cache) take the np.dot route and still match."""
    import subprocess
    import sys

    script = (
        "import glob\n"
        "glob.glob = lambda pattern: []  # no NumPy BLAS library to be found\n"
        "import numpy as np, rnnlab\n"
        "from rnnlab.kernels import _blas\n"
        "assert not _blas.CBLAS_FOUND and not _blas.USE_CBLAS\n"
        "x = np.random.default_rng(0).standard_normal((7, 2, 3))\n"
        "out = {}\n"
        "for backend in ('fast', 'reference'):\n"
        "    layer = rnnlab.LSTM(3, 4, rng=0, backend=backend)\n"
        "    y, _, cache = layer.forward(x)\n"
        "    dx, _, grads = layer.backward(np.ones_like(y), cache)\n"
        "    out[backend] = (y, dx, *(grads[k] for k in sorted(grads)))\n"
        "for a, b in zip(out['fast'], out['reference']):\n"
        "    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)\n"
        "print('ok')\n"
    )
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr[-2000:]


@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_backward_without_dx_gives_the_same_gradients(family, dtype):
    """need_dx=False skips the bottom layer's dx GEMM: dx is None, the rest is the same bits;
    the forward pass gives the same bits with its weights transposed or not."""
    import rnnlab
    from rnnlab.kernels import _common, gru, lstm, rnn

    cls = {"rnn": rnnlab.RNN, "lstm": rnnlab.LSTM, "gru": rnnlab.GRU}[family]
    layer = cls(3, 5, num_layers=2, bidirectional=True, rng=0, dtype=dtype)
    gen = np.random.default_rng(1)
    x = gen.standard_normal((6, 4, 3)).astype(dtype)
    y, _, cache = layer.forward(x)
    dy = gen.standard_normal(y.shape).astype(dtype)
    dx, ds, g = layer.backward(dy, cache)
    none, ds2, g2 = layer.backward(dy, cache, need_dx=False)
    assert dx is not None and none is None
    for k in g:
        np.testing.assert_array_equal(g[k], g2[k])
    for a, b in zip(
        ds if isinstance(ds, tuple) else (ds,), ds2 if isinstance(ds2, tuple) else (ds2,)
    ):
        np.testing.assert_array_equal(a, b)
    module = {"rnn": rnn, "lstm": lstm, "gru": gru}[family]
    wt = _common.forward_wt(np.dtype(dtype), 4)
    try:
        module.forward_wt = lambda d, b: not wt
        y_other, _, _ = layer.forward(x)
    finally:
        module.forward_wt = _common.forward_wt
    np.testing.assert_allclose(y_other, y, rtol=1e-12 if dtype == np.float64 else 1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "family,kw",
    [
        ("lstm", {}),
        ("lstm", {"peepholes": True}),
        ("lstm", {"forget_gate": False}),
        ("lstm", {"peepholes": True, "forget_gate": False}),
        ("gru", {}),
        ("rnn", {}),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("one_hot", [False, True])
# (T, B): the cache-free LSTM projects the inputs of ceil(64 / B) steps at a time (65 and 130
# steps of one sequence end with a block of 1 and 2 steps; one step alone is the whole sequence)
@pytest.mark.parametrize("T,B", [(7, 4), (65, 1), (130, 1), (1, 1), (40, 3)])
def test_forward_without_cache_gives_the_same_outputs(family, kw, dtype, one_hot, T, B):
    """keep_cache=False (evaluation): the LSTM runs its cache-free kernel, the same bits (one-hot
    inputs: both gather rows of W_xh), one sequence alone included."""
    cls = {"rnn": rnnlab.RNN, "lstm": rnnlab.LSTM, "gru": rnnlab.GRU}[family]
    layer = cls(3, 5, num_layers=2, bidirectional=True, rng=0, dtype=dtype, **kw)
    gen = np.random.default_rng(2)
    if one_hot:
        x = np.eye(3, dtype=dtype)[gen.integers(0, 3, (T, B))]
    else:
        x = gen.standard_normal((T, B, 3)).astype(dtype)
    state = layer.zero_state(B)
    state = tuple(s + 0.1 for s in state) if isinstance(state, tuple) else state + 0.1
    y, s_T, cache = layer.forward(x, state)
    y2, s_T2, none = layer.forward(x, state, keep_cache=False)
    assert cache is not None and none is None
    np.testing.assert_array_equal(y2, y)
    for a, b in zip(
        s_T if isinstance(s_T, tuple) else (s_T,), s_T2 if isinstance(s_T2, tuple) else (s_T2,)
    ):
        np.testing.assert_array_equal(b, a)
