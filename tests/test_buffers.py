"""The kernels' buffer pool: arrays are reused only when nothing outside the pool holds them."""

import threading

import numpy as np
import pytest

import rnnlab
from rnnlab.kernels._buffers import ALIGN, MIN_BYTES, POOL, BufferPool, Scratch

BIG = (MIN_BYTES // 8 + 1,)  # float64 elements just over the pooling threshold


def _addr(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def test_released_buffer_is_reused():
    pool = BufferPool()
    a = pool.empty(BIG, np.float64)
    first = _addr(a)
    del a
    assert _addr(pool.empty(BIG, np.float64)) == first


def test_a_view_keeps_its_buffer_out_of_reuse():
    pool = BufferPool()
    a = pool.empty((4, BIG[0]), np.float64)
    a[...] = 1.0
    first = _addr(a)
    y = a[1:]  # like the layer output, a view of h
    del a
    b = pool.empty((4, BIG[0]), np.float64)
    b[...] = 2.0
    assert _addr(b) != first and np.all(y == 1.0)
    del y
    assert _addr(pool.empty((4, BIG[0]), np.float64)) == first  # free again; b is still held


def test_small_requests_are_not_pooled():
    pool = BufferPool()
    a = pool.empty((10,), np.float64)
    del a
    assert pool.idle_bytes == 0 and not pool._bufs


@pytest.mark.parametrize("shape", [(1,), (3, 5), (7,) + BIG])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8])
def test_arrays_start_on_a_cache_line(shape, dtype):
    """Two threads writing neighbouring rows must not share a line (kernels/_split.py)."""
    pool = BufferPool()
    held = [pool.empty(shape, dtype) for _ in range(5)]  # fresh buffers, each its own offset
    for a in held:
        assert _addr(a) % ALIGN == 0 and a.shape == shape and a.flags.c_contiguous
        a[...] = 1  # the whole array lies inside its buffer
    del held
    again = pool.empty(shape, dtype)  # a reused buffer
    assert _addr(again) % ALIGN == 0


def test_sizes_reuse_within_a_factor_of_two_and_any_dtype():
    pool = BufferPool()
    a = pool.empty((2 * BIG[0],), np.float64)
    first = _addr(a)
    del a
    b = pool.empty((2 * BIG[0] + 2,), np.float32)  # about half the bytes: reused
    assert _addr(b) == first and b.dtype == np.float32 and b.flags.c_contiguous
    del b
    c = pool.empty((BIG[0] // 2,), np.float64)  # below half: a fresh buffer
    assert _addr(c) != first


def test_idle_limit_zero_turns_reuse_off_and_clear_lets_go():
    pool = BufferPool(idle_limit=0)
    a = pool.empty(BIG, np.float64)
    del a
    pool.empty(BIG, np.float64)
    assert len(pool._bufs) == 1  # the idle one was dropped before the second request
    pool = BufferPool()
    pool.empty(BIG, np.float64)
    assert pool.idle_bytes > 0
    pool.clear()
    assert pool.idle_bytes == 0


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), (True, TypeError)])
def test_bad_idle_limit_is_named(bad, error):
    with pytest.raises(error, match="idle_limit"):
        BufferPool(idle_limit=bad)


def test_threads_never_share_a_buffer():
    pool = BufferPool()
    got: list[np.ndarray] = []
    lock = threading.Lock()

    def take():
        arrays = [pool.empty(BIG, np.float64) for _ in range(20)]
        with lock:
            got.extend(arrays)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({_addr(a) for a in got}) == len(got)


def test_scratch_hands_the_same_array_to_a_tag_and_shape_on_one_thread():
    scratch = Scratch()
    a = scratch.get("panels", (3, 5), np.float32)
    assert a.dtype == np.float32 and a.shape == (3, 5) and a.flags.c_contiguous
    assert not a.any() and _addr(a) % ALIGN == 0  # zeros when made, on a cache line
    a[...] = 7.0
    b = scratch.get("panels", (3, 5), np.float32)
    assert b is a and (b == 7.0).all()  # what the last call left
    assert scratch.get("rows", (3, 5), np.float32) is not a  # another tag: another array
    assert scratch.get("panels", (3, 6), np.float32) is not a  # another shape
    assert scratch.get("panels", (3, 5), np.float64) is not a  # another dtype


def test_scratch_drops_the_least_recently_used_and_threads_have_their_own():
    scratch = Scratch()
    first = scratch.get("t0", (2,), np.float64)
    keep = scratch.get("t1", (2,), np.float64)
    for k in range(2, Scratch.max_entries + 1):
        if k == 10:
            assert scratch.get("t1", (2,), np.float64) is keep  # used again: kept
        scratch.get(f"t{k}", (2,), np.float64)
    assert scratch.get("t1", (2,), np.float64) is keep
    assert scratch.get("t0", (2,), np.float64) is not first  # dropped, made anew
    other: list[np.ndarray] = []
    t = threading.Thread(target=lambda: other.append(scratch.get("t1", (2,), np.float64)))
    t.start()
    t.join()
    assert other[0] is not keep


@pytest.mark.parametrize("family", ["rnn", "lstm", "gru"])
def test_layer_outputs_and_caches_survive_later_calls(family):
    """A second forward/backward never overwrites what the caller still holds from the first."""
    T, B, I, H = 20, 32, 256, 256  # h, gates and dx over 1 MiB each: pooled
    cls = {"rnn": rnnlab.RNN, "lstm": rnnlab.LSTM, "gru": rnnlab.GRU}[family]
    layer = cls(I, H, rng=0, dtype=np.float64)
    rng = np.random.default_rng(0)
    x1, x2 = rng.standard_normal((2, T, B, I))
    dy = rng.standard_normal((T, B, H))
    y1, _, cache1 = layer.forward(x1)
    y1_copy = y1.copy()
    dx1, _, g1 = layer.backward(dy, cache1)
    dx1_copy, g1_copy = dx1.copy(), {k: v.copy() for k, v in g1.items()}
    for _ in range(2):  # runs that would reuse every released buffer
        y2, _, cache2 = layer.forward(x2)
        layer.backward(dy, cache2)
        del y2, cache2
    np.testing.assert_array_equal(y1, y1_copy)
    np.testing.assert_array_equal(dx1, dx1_copy)
    dx1_again, _, g1_again = layer.backward(dy, cache1)  # cache1 is intact
    np.testing.assert_array_equal(dx1_again, dx1_copy)
    for k in g1:
        np.testing.assert_array_equal(g1_again[k], g1_copy[k])


def _pool_buffer_id(a: np.ndarray) -> int:
    (found,) = [id(b) for b in POOL._bufs if np.shares_memory(a, b)]
    return found


def test_layer_reuses_the_released_cache():
    POOL.clear()
    layer = rnnlab.LSTM(256, 256, rng=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((20, 32, 256))
    _, _, cache = layer.forward(x)
    first = _pool_buffer_id(cache.steps[0]["gates"])
    del cache
    _, _, cache = layer.forward(x)
    assert _pool_buffer_id(cache.steps[0]["gates"]) == first
