"""Task generators: shapes, bit-for-bit seeding, targets by brute force, criteria, bad input."""

import itertools

import numpy as np
import pytest

import rnnlab
from rnnlab.tasks import TASKS, Batch, get_task, mackey_glass, slide_network, slide_network_logits
from rnnlab.tasks.reber import SYMBOLS as REBER_SYMBOLS

SMALL = {  # settings that keep the suite fast
    "adding": {"length": 30},
    "multiplication": {"length": 30},
    "temporal_order": {"length": 40},
    "temporal_order_3": {"length": 40},
    "two_sequence": {"length": 30},
    "long_lag": {"length": 12},
    "copy": {"length": 15, "copy_length": 4},
    "parity": {"length": 9, "min_length": 3},
    "binary_addition": {"bits": 5, "test_bits": 9},
    "feature_total": {},
    "sine": {"length": 30},
    "mackey_glass": {"length": 30, "series_length": 2000},
    "reber": {},
}


def _perfect_outputs(task, batch):
    """Outputs that match the targets exactly (one-hot for ce, values otherwise)."""
    T, B = batch.x.shape[:2]
    K = task.output_size
    y = batch.y
    if task.loss == "ce":
        y = np.eye(K)[y]
    if task.target == "every":
        return y.astype(float)
    out = np.zeros((T, B, K))
    out[batch.last, np.arange(B)] = y
    return out


@pytest.mark.parametrize("name", sorted(TASKS))
def test_shapes_seeding_and_perfect_outputs(name):
    task = get_task(name, **SMALL[name])
    b = task.sample(6, rng=11)
    T, B, I = b.x.shape
    assert (B, I) == (6, task.input_size) and b.x.dtype == np.float64
    lead = (T, B) if task.target == "every" else (B,)
    assert b.y.shape == (lead if task.loss == "ce" else lead + (task.output_size,))
    assert b.last.shape == (B,) and b.last.max() == T - 1
    if b.mask is not None:
        np.testing.assert_array_equal(b.mask.sum(axis=0), b.last + 1)
        assert np.all(b.x[b.mask == 0] == 0)  # padding is zeros
    again = task.sample(6, rng=np.random.default_rng(11))
    for f in ("x", "y", "mask", "last"):
        a1, a2 = getattr(b, f), getattr(again, f)
        assert (a1 is None and a2 is None) or np.array_equal(a1, a2), f
    if name != "long_lag":  # only two sequences exist there
        assert not np.array_equal(b.x, task.sample(6, rng=12).x)
    ok = task.correct(_perfect_outputs(task, b), b)
    assert ok.shape == (B,) and ok.all()
    assert task.solved(ok) and not task.solved(np.array([True] * 9 + [False]))
    d = task.describe()
    assert d["source"] and d["criterion"] and d["loss"] in ("mse", "bce", "ce")


def test_adding_targets_and_tolerance():
    task = get_task("adding", length=40)
    b = task.sample(300, rng=0)
    for j in range(300):
        n = b.last[j] + 1
        x = b.x[:n, j]
        marked = np.flatnonzero(x[:, 1] == 1.0)
        assert len(marked) == 2
        assert marked[0] < 10 and marked[1] < 40 // 2 - 1 or marked[1] < 10
        assert 40 <= n <= 44
        ends = {0, n - 1} - set(marked)
        assert all(x[e, 1] == -1.0 for e in ends)
        assert np.count_nonzero(x[:, 1]) == 2 + len(ends)
        assert np.all(np.abs(x[:, 0]) <= 1)
        if 0 in marked:
            assert x[0, 0] == 0.0
        assert b.y[j, 0] == 0.5 + (x[marked[0], 0] + x[marked[1], 0]) / 4.0
    out = _perfect_outputs(task, b)
    out[b.last[0], 0, 0] += 0.039
    out[b.last[1], 1, 0] -= 0.041
    ok = task.correct(out, b)
    assert ok[0] and not ok[1] and ok[2:].all()
    assert task.test_size == 2560


@pytest.mark.parametrize(
    "length,batch,low,high,first",
    [(100, 8, -1.0, 1.0, 0.0), (12, 64, 0.0, 1.0, 1.0), (1000, 3, -1.0, 1.0, 0.0)],
)
def test_marked_sequences_compiled_draws_the_reference_bits(length, batch, low, high, first):
    from rnnlab.tasks.adding import marked_sequences, marked_sequences_reference

    for seed in range(10):
        fast_rng, ref_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        fast = marked_sequences(length, batch, fast_rng, low, high, first)
        ref = marked_sequences_reference(length, batch, ref_rng, low, high, first)
        assert len(fast) == len(ref) == 7
        for f, r in zip(fast, ref):
            assert f.dtype == r.dtype and np.array_equal(f, r)
        # the generator is left where the reference leaves it: the next draws agree too
        assert fast_rng.bit_generator.state == ref_rng.bit_generator.state


@pytest.mark.parametrize("name", ["temporal_order", "temporal_order_3"])
@pytest.mark.parametrize("length,batch", [(100, 8), (20, 64), (1000, 1), (57, 5)])
def test_temporal_order_compiled_draws_the_reference_bits(name, length, batch):
    from rnnlab.tasks.temporal_order import order_sequences, order_sequences_reference

    task = get_task(name, length=length)
    for seed in range(10):
        fast_rng, ref_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        fast = order_sequences(task, batch, fast_rng)
        ref = order_sequences_reference(task, batch, ref_rng)
        assert len(fast) == len(ref) == 5
        for f, r in zip(fast, ref):
            assert f.dtype == r.dtype and np.array_equal(f, r)
        # the generator is left where the reference leaves it: the next draws agree too
        assert fast_rng.bit_generator.state == ref_rng.bit_generator.state


def test_multiplication_targets():
    task = get_task("multiplication", length=20)
    b = task.sample(200, rng=1)
    for j in range(200):
        x = b.x[: b.last[j] + 1, j]
        marked = np.flatnonzero(x[:, 1] == 1.0)
        assert np.all((x[:, 0] >= 0) & (x[:, 0] <= 1))
        if 0 in marked:
            assert x[0, 0] == 1.0
        assert b.y[j, 0] == x[marked[0], 0] * x[marked[1], 0]


@pytest.mark.parametrize("name,k", [("temporal_order", 2), ("temporal_order_3", 3)])
def test_temporal_order_targets(name, k):
    task = get_task(name)  # the paper's length 100..110
    b = task.sample(100, rng=2)
    windows = {2: [(10, 20), (50, 60)], 3: [(10, 20), (33, 43), (66, 76)]}[k]
    for j in range(100):
        idx = b.x[: b.last[j] + 1, j].argmax(axis=1)
        assert idx[0] == 4 and idx[-1] == 5 and 100 <= len(idx) <= 110
        pos = np.flatnonzero(idx >= 6)  # 0-based indices; the paper's positions are 1-based
        assert len(pos) == k and all(lo <= p + 1 <= hi for p, (lo, hi) in zip(pos, windows))
        assert np.all(idx[1:-1][~np.isin(np.arange(1, len(idx) - 1), pos)] < 4)
        cls = int("".join(str(idx[p] - 6) for p in pos), 2)
        assert b.y[j] == cls
    p = np.full((b.x.shape[0], 100, 2**k), 0.0)
    p[b.last, np.arange(100), b.y] = 0.71  # others 0 -> all within 0.3
    assert task.correct(p, b).all()
    p[b.last[0], 0, (b.y[0] + 1) % 2**k] = 0.3  # a wrong class at 0.3 is not < 0.3 away
    assert not task.correct(p, b)[0]


def test_temporal_order_argmax_rule_and_criterion_text():
    """``argmax=True`` scores Pascanu et al.'s classification error; the criterion says so."""
    task = get_task("temporal_order", argmax=True, test_size=100)
    b = task.sample(50, rng=3)
    p = np.full((b.x.shape[0], 50, 4), 0.2)
    p[b.last, np.arange(50), b.y] = 0.4  # the largest, though 0.6 from 1: correct by argmax
    assert task.correct(p, b).all()
    assert not get_task("temporal_order").correct(p, b).any()  # not within 0.3
    p[b.last[0], 0, (b.y[0] + 1) % 4] = 0.5
    assert not task.correct(p, b)[0]
    assert task.criterion.startswith("the most probable class") and "100 fresh" in task.criterion
    assert "within 0.3" in get_task("temporal_order").criterion
    assert "|output - (0.5 + (X1 + X2)/4)| < 0.2 at" in get_task("adding", tolerance=0.2).criterion
    assert "X1*X2| < 0.04" in get_task("multiplication").criterion
    with pytest.raises(TypeError, match="argmax: expected True or False, got 'yes'"):
        get_task("temporal_order", argmax="yes")


def test_two_sequence_targets():
    task = get_task("two_sequence", length=50, relevant=3)
    b = task.sample(400, rng=3)
    for j in range(400):
        x = b.x[: b.last[j] + 1, j, 0]
        assert np.all(x[:3] == (1.0 if b.y[j, 0] == 1.0 else -1.0))
    noise = np.concatenate([b.x[3 : b.last[j] + 1, j, 0] for j in range(400)])
    assert noise.var() == pytest.approx(0.2, rel=0.05)


def _all_embedded_reber(max_len):
    """Every embedded Reber string up to ``max_len`` symbols, by walking the grammar."""
    edges = {0: "T1 P2", 1: "S1 X3", 2: "T2 V4", 3: "X2 S5", 4: "P3 V5"}
    inner, frontier = [], [("B", 0)]
    while frontier:
        s, q = frontier.pop()
        if q == 5:
            inner.append(s + "E")
            continue
        for e in edges[q].split():
            if len(s) + 1 < max_len - 3:
                frontier.append((s + e[0], int(e[1])))
    return {"B" + tp + r + tp + "E" for tp in "TP" for r in inner if len(r) + 4 <= max_len}


def test_reber_targets_by_brute_force():
    task = get_task("reber")
    b = task.sample(200, rng=4)
    # Short strings only, so the enumeration stays small; +6 covers the shortest completion.
    short = [j for j, s in enumerate(b.info["strings"]) if len(s) <= 13]
    assert len(short) >= 50
    allowed = _all_embedded_reber(13 + 6)
    for j in short:
        s = b.info["strings"][j]
        assert s in allowed
        x = "".join(REBER_SYMBOLS[i] for i in b.x[: b.last[j] + 1, j].argmax(axis=1))
        assert x == s[:-1]
        for t in range(len(s) - 1):
            prefix = s[: t + 1]
            nxt = {a[t + 1] for a in allowed if a.startswith(prefix)}
            got = {REBER_SYMBOLS[i] for i in np.flatnonzero(b.y[t, j])}
            assert got == nxt, (s, t)


def test_reber_criterion_is_most_active():
    task = get_task("reber")
    b = task.sample(3, rng=5)
    out = np.where(b.y > 0, 0.6, 0.4)
    assert task.correct(out, b).all()
    t = b.last[0]  # the hard step: the remembered T/P
    out[t, 0] = 0.4
    out[t, 0, 1 if b.y[t, 0, 2] else 2] = 0.7  # the wrong one of T/P is most active
    assert list(task.correct(out, b)) == [False, True, True]


def test_long_lag_sequences():
    task = get_task("long_lag", length=8, predict="every")
    b = task.test_set(rng=0)
    assert b.x.shape == (8, 2, 9)
    seq = np.concatenate([b.x.argmax(axis=2), b.y[-1:]], axis=0)  # (9, 2) full sequences
    np.testing.assert_array_equal(seq[:, 0], [7, 0, 1, 2, 3, 4, 5, 6, 7])  # x a1..a7 x
    np.testing.assert_array_equal(seq[:, 1], [8, 0, 1, 2, 3, 4, 5, 6, 8])  # y a1..a7 y
    last = get_task("long_lag", length=8).test_set(rng=0)  # predict="last": the final symbol only
    np.testing.assert_array_equal(last.x, b.x)
    np.testing.assert_array_equal(last.y, [7, 8])
    task = get_task("long_lag", length=8)
    out = np.zeros((8, 2, 9))
    out[-1, [0, 1], [7, 8]] = 0.51  # the most active output, but 0.49 away from its target
    out[-1, [0, 1], [8, 7]] = 0.49
    assert not task.correct(out, last).any()
    out[-1, [0, 1], [7, 8]], out[-1, [0, 1], [8, 7]] = 0.8, 0.2  # every output within 0.25
    assert task.correct(out, last).all()


def test_copy_layout():
    task = get_task("copy", length=6, copy_length=3, n_symbols=4)
    b = task.sample(5, rng=6)
    idx = b.x.argmax(axis=2)  # (12, 5)
    for j in range(5):
        data = idx[:3, j]
        assert np.all((data >= 1) & (data <= 4))
        np.testing.assert_array_equal(idx[3:8, j], 0)
        assert idx[8, j] == 5  # delimiter after gap - 1 blanks
        np.testing.assert_array_equal(b.y[:9, j], 0)
        np.testing.assert_array_equal(b.y[9:, j], data)
    out = np.eye(5)[b.y].astype(float)
    out[2, 0] = np.eye(5)[3]  # errors outside the recall steps do not count
    assert task.correct(out, b).all()
    out[10, 1] = np.eye(5)[(b.y[10, 1] % 4) + 1]
    assert not task.correct(out, b)[1]


def test_parity_targets_by_brute_force():
    for target in ("last", "every"):
        task = get_task("parity", length=9, min_length=2, target=target)
        b = task.sample(50, rng=7)
        for j in range(50):
            bits = [int(v) for v in b.x[: b.last[j] + 1, j, 0]]
            if target == "last":
                assert b.y[j, 0] == sum(bits) % 2
            else:
                for t in range(len(bits)):
                    assert b.y[t, j, 0] == sum(bits[: t + 1]) % 2


def test_binary_addition_by_python_ints_and_test_bits():
    task = get_task("binary_addition", bits=6, test_bits=11)
    for split, n in (("train", 6), ("test", 11)):
        b = task.sample(40, rng=8, split=split)
        assert b.x.shape == (n + 1, 40, 2)
        for j in range(40):
            a = sum(int(b.x[t, j, 0]) << t for t in range(n))
            c = sum(int(b.x[t, j, 1]) << t for t in range(n))
            s = sum(int(b.y[t, j, 0]) << t for t in range(n + 1))
            assert s == a + c
    assert task.test_set(rng=0).x.shape[0] == 12


def test_feature_total_targets_and_slide_network():
    task = get_task("feature_total", length=12)
    b = task.sample(200, rng=9)
    for j in range(0, 200, 7):
        for t in range(12):
            s1, s2 = b.x[: t + 1, j, 0].sum(), b.x[: t + 1, j, 1].sum()
            assert b.y[t, j, 0] == float(s1 > s2)

    def probs(x, act):
        return 1.0 / (1.0 + np.exp(-slide_network_logits(x, act)))

    # The slide's own example (2,1), (0,2), (1,4): larger, not larger, not larger.
    ex = np.array([[2.0, 1.0], [0.0, 2.0], [1.0, 4.0]])[:, None, :]
    np.testing.assert_array_equal(slide_network_logits(ex)[:, 0, 0] > 0, [True, False, False])
    # With identity it is an exact integrator: it solves the task.
    test = task.test_set(rng=10)
    assert task.solved(task.correct(probs(test.x, "identity"), test))
    # With tanh (as on the slide) a large lead is squashed: (4,0), (0,2) flips too early.
    counter = np.array([[4.0, 0.0], [0.0, 2.0]])[:, None, :]
    assert slide_network_logits(counter)[1, 0, 0] < 0  # yet 4 > 2
    assert not task.solved(task.correct(probs(test.x, "tanh"), test))
    # The weights are in the layer's key layout and give the same outputs through rnnlab.RNN.
    for act in ("tanh", "identity"):
        p, ro, nl = slide_network(act)
        layer = rnnlab.RNN(2, 1, nonlinearity=nl)
        for k in layer.params:
            layer.params[k][...] = p[k]
        h, _, _ = layer.forward(test.x)
        z = h @ ro["W_hy"].T + ro["b_y"]
        np.testing.assert_allclose(z, slide_network_logits(test.x, act), rtol=1e-14, atol=1e-15)


def test_sine_next_value():
    task = get_task("sine", length=25)
    b = task.sample(4, rng=11)
    np.testing.assert_array_equal(b.y[:-1], b.x[1:])  # the target is the next input
    assert np.abs(b.x).max() <= 1.0


def test_mackey_glass_integration_converges():
    # RK4 with Hermite-interpolated delays is fourth order: halving dt cuts the error ~16x.
    ref = mackey_glass(300, dt=0.025, washout=0.0)
    e1 = np.max(np.abs(mackey_glass(300, dt=0.2, washout=0.0) - ref))
    e2 = np.max(np.abs(mackey_glass(300, dt=0.1, washout=0.0) - ref))
    assert e2 < 1e-8 and e1 / e2 > 12
    s = mackey_glass(1500)
    assert 0.2 < s.min() and s.max() < 1.5  # the attractor's range for tau = 17
    task = get_task("mackey_glass", length=30, series_length=2000)
    tr, te = task.sample(50, rng=0), task.sample(50, rng=0, split="test")
    np.testing.assert_array_equal(tr.y[:-1], tr.x[1:])
    assert not np.array_equal(tr.x, te.x)


def test_forecast_criterion():
    task = get_task("sine", length=40)
    b = task.sample(20, rng=12)
    out = b.y.copy()
    out[: task.warmup] += 5.0  # warm-up steps are not judged
    assert task.correct(out, b).all()
    out[task.warmup :, 0] += 0.2  # > 0.1 * std
    assert not task.correct(out, b)[0]
    assert task.solved(0.95) and not task.solved(0.94)


# -- bad input: one test per class --------------------------------------------------------------
def test_unknown_task_lists_choices():
    with pytest.raises(ValueError, match="task: expected one of adding, multiplication, "):
        get_task("xor")


def test_unknown_setting_lists_fields():
    with pytest.raises(TypeError, match="hidden: not a setting of task 'adding'; expected one of"):
        get_task("adding", hidden=3)


@pytest.mark.parametrize(
    "name,kw,match",
    [
        ("adding", {"length": 0}, "length: expected an int >= 12, got 0"),
        ("parity", {"length": 3, "min_length": 5}, "min_length: expected an int <= length=3"),
        ("temporal_order", {"symbols": 4}, "symbols: expected 2 or 3, got 4"),
        ("parity", {"target": "first"}, "target: expected one of last, every"),
        ("two_sequence", {"length": 5, "relevant": 5}, "relevant: expected an int below"),
    ],
)
def test_bad_settings_rejected(name, kw, match):
    with pytest.raises(ValueError, match=match):
        get_task(name, **kw)


def test_bad_length_type_rejected():
    with pytest.raises(TypeError, match="length: expected an int >= 12, got float 100.0"):
        get_task("adding", length=100.0)


def test_bad_sample_arguments_rejected():
    task = get_task("parity", length=4)
    with pytest.raises(ValueError, match="batch: expected a positive int, got 0"):
        task.sample(0, rng=0)
    with pytest.raises(ValueError, match="split: expected one of train, test"):
        task.sample(2, rng=0, split="valid")
    with pytest.raises(TypeError, match="rng: expected an int seed"):
        task.sample(2, rng=1.5)


def test_bad_outputs_rejected():
    task = get_task("parity", length=4)
    b = task.sample(3, rng=0)
    with pytest.raises(ValueError, match=r"outputs: expected shape \(4, 3, 1\)"):
        task.correct(np.zeros((4, 3, 2)), b)
    with pytest.raises(TypeError, match="batch: expected a Batch"):
        task.correct(np.zeros((4, 3, 1)), {"x": b.x})
    with pytest.raises(ValueError, match=r"correct: expected a fraction in \[0, 1\], got 1.5"):
        task.solved(1.5)
    with pytest.raises(ValueError, match="correct: expected a non-empty 1-d bool array"):
        task.solved(np.array([], dtype=bool))


def test_batch_loss_kwargs():
    b = Batch(x=np.zeros((2, 1, 1)), y=np.zeros((1, 1)), mask=None, last=np.array([1]))
    assert set(b.loss_kwargs("last")) == {"last"} and set(b.loss_kwargs("every")) == {"mask"}


def test_every_task_is_listed_with_its_source():
    assert len(TASKS) == 13
    for name, cls in TASKS.items():
        assert cls.name == name and cls.source and cls.criterion
    assert list(itertools.islice(TASKS, 2)) == ["adding", "multiplication"]


def test_paper_sequence_counts_only_in_the_papers_setting():
    from rnnlab.tasks import get_task

    assert get_task("adding").paper_sequences == 74_000
    assert get_task("adding", length=50).paper_sequences is None
    assert get_task("multiplication").paper_sequences is None
    assert get_task("temporal_order").paper_sequences == 31_390
    assert get_task("temporal_order", symbols=3).paper_sequences == 571_100
    assert get_task("parity").paper_sequences is None


@pytest.mark.parametrize("span", [1, 2, 10, 49, 2**31 + 1, 2**32 - 1])
def test_compiled_draws_are_numpys(span):
    """The bit-generator draws (tasks/_bitgen.py) against NumPy's own: the same values and the
    same final state, for ranges where Lemire's method rejects often (2**31 + 1: about half the
    first draws) and for a range of one value (no draw at all)."""
    from numba import njit

    from rnnlab.tasks._bitgen import bitgen_address, integers, uniform

    @njit
    def draws(bitgen, n, low, high):
        ints = np.empty(n, dtype=np.int64)
        reals = np.empty(n)
        for i in range(n):
            ints[i] = integers(bitgen, low, high)
            reals[i] = uniform(bitgen, -1.5, 2.5)
        return ints, reals

    for seed in range(3):
        ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
        ints, reals = draws(bitgen_address(ours), 500, -7, -7 + span)
        want_i = np.empty(500, dtype=np.int64)
        want_r = np.empty(500)
        for i in range(500):
            want_i[i] = theirs.integers(-7, -7 + span)
            want_r[i] = theirs.uniform(-1.5, 2.5)
        assert np.array_equal(ints, want_i) and np.array_equal(reals, want_r)
        assert ours.bit_generator.state == theirs.bit_generator.state


@pytest.mark.parametrize("batch", [1, 3, 32, 300])
def test_reber_compiled_draws_the_reference_bits(batch):
    from rnnlab.tasks.reber import reber_batch, reber_batch_reference

    for seed in range(10):
        fast_rng, ref_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        fast = reber_batch(batch, fast_rng)
        ref = reber_batch_reference(batch, ref_rng)
        for f, r in zip(fast[:4], ref[:4]):
            assert f.dtype == r.dtype and np.array_equal(f, r)
        assert fast[4] == ref[4]  # the strings
        # the generator is left where the reference leaves it: the next draws agree too
        assert fast_rng.bit_generator.state == ref_rng.bit_generator.state
