"""Checkpoints: round trip, atomic replacement, no pickle, run folders."""

import json
import os

import numpy as np
import pytest

from rnnlab import checkpoint as ckpt
from rnnlab.optim import Adam


def _params(rng):
    return {
        "W_xh_l0": rng.standard_normal((8, 2)),
        "b_y": rng.standard_normal(3).astype(np.float32),
    }


def test_round_trip_params_optimizer_metadata(tmp_path, rng):
    params = _params(rng)
    opt = Adam(1e-2)
    opt.step(params, {k: np.ones_like(v) for k, v in params.items()})
    gen = np.random.default_rng(7)
    gen.random(3)
    meta = {"step": 3, "rng_state": gen.bit_generator.state, "note": "x", "nan": None}
    path = tmp_path / "m.safetensors"
    ckpt.save_checkpoint(path, params, opt.state_dict(), meta)
    back = ckpt.load_checkpoint(path)
    assert set(back.params) == set(params)
    for k in params:
        assert back.params[k].dtype == params[k].dtype
        assert np.array_equal(back.params[k], params[k])
    opt2 = Adam(1e-2)
    opt2.load_state_dict(back.optimizer_state)
    assert opt2.t == opt.t
    for k, v in opt.state_dict().items():
        assert np.array_equal(opt2.state_dict()[k], v)
    assert back.metadata["step"] == 3
    gen2 = np.random.default_rng(0)
    gen2.bit_generator.state = back.metadata["rng_state"]
    assert np.array_equal(gen2.random(5), gen.random(5))  # 128-bit state survives JSON


def test_atomic_write_keeps_old_file_on_failure(tmp_path, rng, monkeypatch):
    path = tmp_path / "m.safetensors"
    ckpt.save_checkpoint(path, _params(rng))
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(path, {"a": np.zeros(2)})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]  # no temp left


def test_written_through_a_temporary_name(tmp_path, rng, monkeypatch):
    seen = []
    real = os.replace

    def spy(src, dst):
        seen.append((os.path.dirname(src), os.path.basename(src), dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    ckpt.save_checkpoint(tmp_path / "m.safetensors", _params(rng))
    ((folder, name, dst),) = seen
    assert folder == str(tmp_path) and name != "m.safetensors"
    assert str(dst) == str(tmp_path / "m.safetensors")


def test_load_never_unpickles_and_rejects_other_files(tmp_path):
    import pickle

    bad = tmp_path / "evil.safetensors"
    bad.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not an rnnlab checkpoint"):
        ckpt.load_checkpoint(bad)
    with pytest.raises(FileNotFoundError):
        ckpt.load_checkpoint(tmp_path / "missing.safetensors")
    import inspect

    src = inspect.getsource(ckpt)
    assert "import pickle" not in src and "allow_pickle" not in src


def test_metadata_is_json_in_the_header(tmp_path, rng):
    path = tmp_path / "m.safetensors"
    ckpt.save_checkpoint(path, _params(rng), metadata={"config": {"task": "adding"}})
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    assert json.loads(header["__metadata__"]["rnnlab"])["metadata"]["config"]["task"] == "adding"


def test_bad_params(tmp_path):
    with pytest.raises(TypeError, match="params"):
        ckpt.save_checkpoint(tmp_path / "m.safetensors", {"a": [1, 2]})
    assert not any(tmp_path.iterdir())


def test_ordered_writer_keeps_order_bounds_its_queue_and_raises_failures(tmp_path, monkeypatch):
    import threading

    from rnnlab._files import OrderedWriter

    gate, order, real = threading.Event(), [], os.replace

    def slow(src, dst):  # the first write waits until the test lets it go
        gate.wait(5)
        order.append(os.path.basename(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", slow)
    w = OrderedWriter(depth=2)
    w.write((tmp_path / "m.csv", b"1"), (tmp_path / "m.bin", b"1"))
    w.write((tmp_path / "m.csv", b"2"), (tmp_path / "m.bin", b"2"))
    assert order == [] and len(w._pending) == 2  # handed over, not written yet
    threading.Timer(0.2, gate.set).start()
    w.write((tmp_path / "m.csv", b"3"), (tmp_path / "m.bin", b"3"))  # waits for the first
    assert len(w._pending) <= 2
    w.flush()
    assert order == ["m.csv", "m.bin"] * 3 and (tmp_path / "m.bin").read_bytes() == b"3"
    assert w._pool is None  # the thread ends with the flush

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    w.write((tmp_path / "m.bin", b"4"))
    with pytest.raises(OSError, match="disk full"):
        w.flush()
    assert (tmp_path / "m.bin").read_bytes() == b"3" and w._pool is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "m.csv"]  # no temporaries


def test_deferred_checkpoint_is_the_same_file_made_later(tmp_path, rng):
    # checked and copied when called, encoded when its function is called: the same bytes as
    # checkpoint_bytes, whatever the caller changes in between
    from rnnlab._files import OrderedWriter

    params = {"W": rng.standard_normal((5, 3)).astype(np.float32), "b": np.zeros(3)}
    optim = {"t": np.array(3), "m.W": rng.standard_normal((5, 3)), "lr": 0.1}
    meta = {"step": 3, "loss": float("nan"), "pair": (1, 2), "keys": {1: "é"}}
    extra = {"state": {"0": rng.standard_normal((2, 4))}}
    want = ckpt.checkpoint_bytes(params, optim, meta, extra)
    make = ckpt.deferred_checkpoint(params, optim, meta, extra)
    params["W"][:] = 7.0
    optim["m.W"][0, 0] = 1e9
    extra["state"]["0"][:] = 0.0
    meta["step"], meta["keys"][1] = 9, "changed"
    assert make() == want and make() == want
    w = OrderedWriter()
    w.write((tmp_path / "m.safetensors", make))  # made on the writer's thread
    w.flush()
    assert (tmp_path / "m.safetensors").read_bytes() == want
    with pytest.raises(TypeError, match="metadata"):  # bad input fails at the call, not later
        ckpt.deferred_checkpoint(params, optim, {"x": object()})
    with pytest.raises(TypeError, match="optimizer_state"):
        ckpt.deferred_checkpoint(params, {"t": np.array(1), "odd": object()})
    with pytest.raises(TypeError, match="params"):
        ckpt.deferred_checkpoint({"W": [1.0]})
