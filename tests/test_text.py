"""Character models on text: vocabulary, stateful TBPTT, sampling, evaluation, bad input."""

import json
import math
import re

import numpy as np
import pytest

import rnnlab
from rnnlab.cli import main
from rnnlab.text import TextSource, Vocabulary, load_text_run, sample, text_config, train_text
from rnnlab.text import sampling as sampling_mod
from rnnlab.text.inspect import run_cells, text_features
from rnnlab.training import build_model, resolve_config

QUIET = dict(progress=False, log=lambda s: None)
CODE = '''def f(x, y):
    """Add two numbers."""
    # a comment
    return (x + y) * 2


class A:
    name = "alpha"

'''


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    (d / "a.py").write_text(CODE * 30)
    (d / "b.py").write_text(CODE.replace("alpha", "beta") * 10)
    return d


@pytest.fixture(scope="module")
def text_run(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "r"
    src = TextSource(str(corpus), seq_length=20, val_fraction=0.1)
    cfg = text_config(hidden=16, batch=8, steps=40, eval_every=10, out=str(out))
    run = train_text(cfg, src, **QUIET)
    return run, out


def _cli(capsys, argv):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_vocabulary_maps_unseen_characters_to_the_reserved_symbol_and_round_trips(tmp_path):
    v = Vocabulary.from_text("hello world")
    codes = v.encode("hello, world")
    assert codes.dtype == np.uint8 and codes[5] == 0  # "," is unseen
    assert v.decode(codes) == "hello\ufffd world"
    v.save(tmp_path)
    assert Vocabulary.load(tmp_path) == v
    big = Vocabulary([chr(0x1F600 + i) for i in range(3)] + ["a"])  # code points above 2**16
    assert big.decode(big.encode("a\U0001f601?")) == "a\U0001f601\ufffd"


def test_source_spec_pins_the_files_and_the_vocabulary_comes_from_training_text(tmp_path):
    (tmp_path / "a.txt").write_text("ab" * 500 + "Z" * 100)  # Z only in the held-out tail
    src = TextSource(str(tmp_path), seq_length=10, val_fraction=0.1)
    assert src.vocab.chars == ["a", "b"] and src.val_unknown == 100
    spec = src.spec()
    assert spec["files"] == [f"{tmp_path.as_posix()}/a.txt"] and len(spec["sha256"]) == 64
    b1 = src.next_batch(4, np.random.default_rng(0))
    b2 = src.next_batch(4, np.random.default_rng(0))
    assert b1.x.shape == (10, 4, 3) and not b1.carry and b2.carry
    assert np.array_equal(np.argmax(b1.x[1:], -1), b1.y[:-1])  # targets are the next chars
    assert np.array_equal(b1.y[-1], np.argmax(b2.x[0], -1))  # b2 continues each stream
    (tmp_path / "a.txt").write_text("ab" * 499 + "ba" + "Z" * 100)
    with pytest.raises(ValueError, match="text differs"):
        TextSource.from_spec(spec)


def test_stdlib_corpus_is_pinned_with_python_version_file_list_and_hash():
    files = rnnlab.text.find_files(["stdlib"])
    assert files.python and len(files.names) > 100
    assert all(n.startswith("stdlib/") and n.endswith(".py") for n in files.names)
    assert not any("/test/" in n for n in files.names)


def test_stateful_tbptt_gradient_matches_central_differences(corpus):
    src = TextSource(str(corpus), seq_length=6, val_fraction=0.1)
    cfg = resolve_config(rnnlab.TrainConfig(layers=2, hidden=4, dtype="float64"), src)
    model = build_model(cfg, src)
    gen = np.random.default_rng(0)
    b1, b2 = src.next_batch(3, gen), src.next_batch(3, gen)
    assert b2.carry
    b1.x, b2.x = b1.x.astype(np.float64), b2.x.astype(np.float64)
    _, _, state, _ = model.loss_and_grads(b1.x, b1.y)  # the carried state: a constant
    value, grads, _, _ = model.loss_and_grads(b2.x, b2.y, state=state)
    rng = np.random.default_rng(1)
    for name, p in model.params.items():
        for flat in rng.choice(p.size, size=min(4, p.size), replace=False):
            i = np.unravel_index(flat, p.shape)
            old, eps = p[i], 1e-6
            p[i] = old + eps
            up = model.loss_and_grads(b2.x, b2.y, state=state)[0]
            p[i] = old - eps
            down = model.loss_and_grads(b2.x, b2.y, state=state)[0]
            p[i] = old
            num = (up - down) / (2 * eps)
            assert abs(num - grads[name][i]) <= 1e-6 * max(1.0, abs(num)), (name, i)
    assert value > 0


def test_tiny_corpus_drops_below_its_unigram_entropy_within_seconds(tmp_path):
    text = "the cat sat on the mat. the dog sat on the log. " * 60
    (tmp_path / "t.txt").write_text(text)
    _, counts = np.unique(list(text), return_counts=True)
    p = counts / counts.sum()
    unigram = float(-(p * np.log(p)).sum())  # nats/char
    src = TextSource(str(tmp_path / "t.txt"), seq_length=25, val_fraction=0.1)
    cfg = text_config(hidden=32, layers=1, batch=8, lr=1e-2, time_budget=8.0, eval_every=25)
    run = train_text(cfg, src, **QUIET)
    assert run.test_loss < 0.7 * unigram, (run.test_loss, unigram)


def test_run_folder_keeps_vocab_best_checkpoint_and_resumes_exactly(corpus, tmp_path):
    def go(steps, out, resume=False):
        src = None if resume else TextSource(str(corpus), seq_length=20, val_fraction=0.1)
        cfg = text_config(hidden=8, batch=4, steps=steps, eval_every=3, out=str(out))
        return train_text(
            cfg if not resume else rnnlab.TrainConfig(steps=steps, out=str(out)),
            src,
            resume=resume,
            **QUIET,
        )

    whole = go(9, tmp_path / "a")
    go(4, tmp_path / "b")
    resumed = go(9, tmp_path / "b", resume=True)
    for k, v in whole.model.params.items():
        assert np.array_equal(v, resumed.model.params[k]), k
    names = {p.name for p in (tmp_path / "b").iterdir()}
    assert {"vocab.json", "best.safetensors", "model.safetensors", "config.toml"} <= names
    header = (tmp_path / "a" / "metrics.csv").read_text().splitlines()[0]
    assert "bits_per_char" in header and "test_bits_per_char" in header
    assert Vocabulary.load(tmp_path / "b") == Vocabulary.load(tmp_path / "a")


def test_sampling_is_reproducible_by_seed_and_greedy_at_temperature_zero(text_run, monkeypatch):
    _, out = text_run
    tr = load_text_run(out)
    a = sample(tr.model, tr.vocab, length=200, seed=3, prime="def ")
    assert a == sample(tr.model, tr.vocab, length=200, seed=3, prime="def ")
    assert a != sample(tr.model, tr.vocab, length=200, seed=4, prime="def ")
    assert "\ufffd" not in a and len(a) == 200
    g1 = sample(tr.model, tr.vocab, length=50, temperature=0.0, seed=1)
    assert g1 == sample(tr.model, tr.vocab, length=50, temperature=0.0, seed=2)
    k1 = sample(tr.model, tr.vocab, length=100, top_k=1, seed=5)
    assert k1 == sample(tr.model, tr.vocab, length=100, temperature=0.0, seed=0)
    tr.model.load_params({k: v.astype(np.float64) for k, v in tr.model.params.items()})
    monkeypatch.setattr(sampling_mod, "_lstm_arrays", lambda *a: None)  # the generic path
    assert g1 == sample(tr.model, tr.vocab, length=50, temperature=0.0, seed=1)


def test_sampling_text_does_not_depend_on_the_threads():
    """The compiled loop on 1, 2 and 4 threads (each owning a slice of the units, meeting at a
    spin barrier after every layer) draws the same characters, sampled and greedy."""
    V = 30
    vocab = Vocabulary([chr(40 + i) for i in range(V - 1)])
    layer = rnnlab.LSTM(V, 16, num_layers=2, rng=0, dtype=np.float32)
    for k in layer.params:
        layer.params[k] *= 4.0  # a model far from uniform, so a wrong unit changes the text
    model = rnnlab.SequenceModel(
        layer, rnnlab.Readout(16, V, activation="softmax", rng=1, dtype=np.float32), loss="ce"
    )
    for temperature in (1.0, 0.0):
        texts = {
            n: sample(model, vocab, length=400, temperature=temperature, seed=2, threads=n)
            for n in (1, 2, 4)
        }
        assert texts[1] == texts[2] == texts[4]
        assert len(set(texts[1])) > 3
    with pytest.raises(ValueError, match="threads: expected a divisor of the hidden size 16"):
        sample(model, vocab, length=5, threads=3)
    with pytest.raises(ValueError, match="threads: expected a positive int"):
        sample(model, vocab, length=5, threads=0)


def test_generate_with_sampled_feedback_returns_the_indices():
    model = rnnlab.SequenceModel(
        rnnlab.LSTM(5, 8, rng=0), rnnlab.Readout(8, 5, activation="softmax", rng=1), loss="ce"
    )
    x0 = np.zeros((2, 5))
    x0[:, 1] = 1
    y, _, cache = model.generate(x0, 7, feedback="sample", rng=0)
    assert cache.indices.shape == (7, 2) and cache.indices.dtype == np.int64
    _, _, again = model.generate(x0, 7, feedback="sample", rng=0)
    assert np.array_equal(cache.indices, again.indices)


def test_cli_sample_evaluate_json_and_inspect(text_run, corpus, tmp_path, capsys):
    _, out = text_run
    code, text1, _ = _cli(capsys, ["sample", str(out), "--length", "80", "--seed", "7"])
    assert code == 0 and len(text1) >= 80
    assert _cli(capsys, ["sample", str(out), "--length", "80", "--seed", "7"])[1] == text1
    code, js, _ = _cli(capsys, ["evaluate", str(out), "--text", str(corpus / "a.py"), "--json"])
    r = json.loads(js)
    assert code == 0 and math.isclose(r["bits_per_char"], r["nats_per_char"] / math.log(2))
    assert r["unknown_fraction"] == 0.0 and r["characters"] == len(CODE) * 30
    code, listed, err = _cli(
        capsys,
        [
            "inspect",
            str(out),
            "--text",
            str(corpus),
            "--out",
            str(tmp_path / "i"),
            "--chars",
            "300",
            "--measure-chars",
            "2000",
        ],
    )
    assert code == 0, err
    names = {p.name for p in (tmp_path / "i").iterdir()}
    assert {"inspect.html", "inspect.json", "saturation.png", "cell-1.png"} <= names
    info = json.loads((tmp_path / "i" / "inspect.json").read_text())
    assert info["best"] and set(info["saturation"]) == {"i", "f", "o"}


def test_streamed_cell_correlations_and_saturation_match_direct_computation(text_run):
    _, out = text_run
    tr = load_text_run(out)
    text = (CODE * 20)[:1200]
    cells = run_cells(tr.model, tr.vocab.encode(text), text, passage_chars=1200, top=10, chunk=500)
    feats = text_features(text)
    assert cells.acts["h"].shape == (2, 16, 1200) and cells.top_p.shape == (1200, 5)
    for fi, name in enumerate(cells.features):
        for k, j in ((0, 3), (1, 7)):
            direct = np.corrcoef(cells.acts["tanh_c"][k, j].astype(np.float64), feats[name])[0, 1]
            assert abs(cells.corr["tanh_c"][fi, k, j] - direct) < 1e-4, (name, k, j)
    assert cells.best and abs(cells.best[0]["r"]) >= abs(cells.best[-1]["r"])
    sat = cells.saturation["f"]
    assert sat.shape == (2, 16, 2) and np.all(sat.sum(-1) <= 1 + 1e-12)
    assert np.all(np.diff(cells.top_p, axis=1) <= 0)  # the top 5, likeliest first


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["sample", "RUN", "--prime", "déf"], "prime: expected characters of the model"),
        (["sample", "RUN", "--temperature", "-1"], "temperature: expected a finite number >= 0"),
        (["sample", "RUN", "--length", "0"], "length: expected a positive"),
        (["sample", "RUN", "--top-k", "0"], "top_k: expected a positive"),
        (["sample", "RUN", "--threads", "7"], "threads: expected a divisor of the hidden size"),
        (["train", "--text", "EMPTY"], "the corpus is empty"),
        (["train", "--text", "SHORT", "--length", "50"], "shorter than one chunk"),
        (["train", "--text", "A", "--val-fraction", "0.00001"], "holds out 0"),
        (["train", "--text", "BIN"], "NUL byte at byte offset 3"),
        (["train", "--text", "LATIN1"], "byte 0xe9 at byte offset 5"),
        (["train", "--text", "NOPE"], "no such file or folder"),
    ],
)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(
    argv, needle, text_run, corpus, tmp_path, capsys
):
    _, out = text_run
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "short.txt").write_text("abcdefghij" * 4)
    (tmp_path / "bin.dat").write_bytes(b"abc\x00def")
    (tmp_path / "latin.txt").write_bytes(b"abcde\xe9" + b"x" * 200)
    files = {
        "RUN": str(out),
        "EMPTY": str(tmp_path / "empty.txt"),
        "SHORT": str(tmp_path / "short.txt"),
        "A": str(corpus / "b.py"),
        "BIN": str(tmp_path / "bin.dat"),
        "LATIN1": str(tmp_path / "latin.txt"),
        "NOPE": str(tmp_path / "nope"),
    }
    argv = [files.get(a, a) for a in argv]
    outdir = tmp_path / "o"
    if argv[0] == "train":
        argv += ["--out", str(outdir), "--quiet"]
    code, _, err = _cli(capsys, argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and needle in err, err
    if "prime" in needle:
        assert "'é'" in err
    assert not outdir.exists()


def test_encoding_errors_replace_is_an_explicit_choice(tmp_path):
    (tmp_path / "x.txt").write_bytes(b"ab\xffcd" * 100)
    with pytest.raises(ValueError, match="byte offset 2"):
        TextSource(str(tmp_path), seq_length=10)
    src = TextSource(str(tmp_path), seq_length=10, encoding_errors="replace")
    assert "\ufffd" in src.vocab.chars


def test_the_verdict_counts_held_out_characters(corpus, tmp_path, capsys):
    # a text evaluation's size is characters scored, not sequences (DataSource.eval_unit)
    argv = ["train", "--text", str(corpus), "--length", "20", "--hidden", "8", "--batch", "4"]
    argv += ["--steps", "3", "--quiet", "--out", str(tmp_path / "r")]
    code, out, err = _cli(capsys, argv)
    assert code == 0, err
    line = next(s for s in out.splitlines() if s.startswith("FINISHED"))
    assert re.search(r"held-out loss [\d.]+ on [\d,]+ characters\.$", line), line


@pytest.mark.parametrize("family,layers", [("lstm", 2), ("lstm", 3), ("gru", 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scoring_on_two_threads_gives_the_same_nats(family, layers, dtype, monkeypatch):
    """A stacked model's held-out score with the bottom layer and the rest on two threads (a
    second core free) is the one-thread score, bit for bit, and does run on two threads."""
    import threading

    import rnnlab.kernels._split as split
    from rnnlab.model import SequenceModel
    from rnnlab.readout import Readout
    from rnnlab.text.source import score

    V = 11
    cls = {"lstm": rnnlab.LSTM, "gru": rnnlab.GRU}[family]
    layer = cls(V, 8, num_layers=layers, rng=3, dtype=dtype)
    readout = Readout(8, V, activation="softmax", rng=4, dtype=dtype)
    model = SequenceModel(layer, readout, loss="ce")
    codes = np.random.default_rng(5).integers(0, V, 1000)
    runs, seen = {}, set()
    forward = type(layer).forward

    def spied(self, *args, **kw):
        seen.add(threading.get_ident())
        return forward(self, *args, **kw)

    monkeypatch.setattr(type(layer), "forward", spied)
    for free in (False, True):
        monkeypatch.setattr(split, "second_core_free", lambda free=free: free)
        seen.clear()
        runs[free] = score(model, codes, chunk=64)  # 16 chunks, the last one short
        assert len(seen) == (2 if free else 1)
    assert runs[True] == runs[False]


def test_no_second_core_while_one_is_lent():
    # a background evaluation runs on the core the trainer lent it: its scoring stays on it
    import rnnlab.kernels._split as split

    split.lend_second_core()
    try:
        assert not split.second_core_free()
    finally:
        split.return_second_core()
