"""Property-based tests of the clean-error contract (Hypothesis).

Whatever is generated, the public API either works (and its results have the promised shapes) or
raises a ValueError/TypeError whose message starts with the name of the argument at fault; the
command line exits 2 with one line on stderr and writes nothing. Over 1,000 generated cases in
all; the examples are derandomised, so CI sees the same cases every run.
"""

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlab
from rnnlab.cli import main
from rnnlab.data import ArrayDataset
from rnnlab.training import TrainConfig, read_config, validate_config

SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
FIELDS = [f.name for f in dataclasses.fields(TrainConfig)]


def _named(exc: Exception, names) -> bool:
    """The message starts with one of ``names`` followed by ':' (or '[' / ' (' for parts)."""
    head = str(exc).split(":")[0]
    return any(head == n or head.startswith((f"{n}[", f"{n} (")) for n in names)


# -- arrays given to the data interface -----
DTYPES = ["float64", "float32", "int64", "bool", "complex128", "object", "U2"]


@st.composite
def array(draw, rank_max=4):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=rank_max)))
    dtype = draw(st.sampled_from(DTYPES))
    a = np.zeros(shape, dtype=dtype)
    if a.dtype.kind == "f" and a.size and draw(st.booleans()):
        a.flat[draw(st.integers(0, a.size - 1))] = draw(st.sampled_from([np.nan, np.inf]))
    return a


@settings(max_examples=250, **SETTINGS)
@given(
    x=st.one_of(array(), st.just([[1.0]]), st.none()),
    y=st.one_of(array(), st.just(3)),
    target=st.sampled_from(["every", "last", "all"]),
    loss=st.sampled_from(["mse", "ce", "bce", "l1"]),
    val_fraction=st.one_of(st.floats(allow_nan=True), st.sampled_from([0.25, 0.5])),
)
def test_array_dataset_works_or_names_the_argument(x, y, target, loss, val_fraction):
    try:
        ds = ArrayDataset(x, y, target=target, loss=loss, val_fraction=val_fraction)
    except (ValueError, TypeError) as exc:
        assert _named(exc, ["x", "y", "target", "loss", "val_fraction", "lengths", "classes"]), exc
        return
    assert ds.train_size + ds.val_size == x.shape[1] and ds.input_size == x.shape[2]


# -- training configs -----
VALUES = st.one_of(
    st.integers(-3, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["tanh", "lstm", "rnn", "gru", "adam", "sgd", "cosine", "orthogonal", "x", ""]),
    st.none(),
    st.booleans(),
    st.just({"symbols": 3}),
    st.just([1]),
)


@settings(max_examples=300, **SETTINGS)
@given(changes=st.dictionaries(st.sampled_from(FIELDS), VALUES, min_size=1, max_size=4))
def test_train_config_is_valid_or_names_the_field(changes):
    cfg = dataclasses.replace(TrainConfig(), **changes)
    try:
        validate_config(cfg)
    except (ValueError, TypeError) as exc:
        assert _named(exc, [*FIELDS, "config"]), exc


@settings(max_examples=150, **SETTINGS)
@given(
    table=st.dictionaries(
        st.sampled_from([*FIELDS, "width", "Task"]),
        st.one_of(
            st.integers(-2, 3), st.floats(allow_nan=True), st.text(max_size=3), st.booleans()
        ),
        max_size=4,
    )
)
def test_config_files_load_or_fail_with_one_clear_error(table):
    import tomli_w

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.toml"
        path.write_text(tomli_w.dumps(table))
        try:
            read_config(path)
        except (ValueError, TypeError) as exc:
            assert _named(exc, [*FIELDS, "config", f"config {str(path)!r}"]), exc


# -- layers -----
@settings(max_examples=150, **SETTINGS)
@given(
    family=st.sampled_from(["RNN", "LSTM", "GRU"]),
    I=st.integers(1, 3),
    H=st.integers(1, 3),
    layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    x=array(rank_max=4),
    state_shape=st.one_of(st.none(), st.lists(st.integers(0, 3), min_size=1, max_size=3)),
    broken=st.sampled_from([None, "shape", "nan", "dtype", "missing"]),
)
def test_layers_forward_or_name_the_argument(
    family, I, H, layers, bidirectional, x, state_shape, broken
):
    layer = getattr(rnnlab, family)(I, H, num_layers=layers, bidirectional=bidirectional, rng=0)
    key = "W_hh_l0"
    if broken == "shape":
        layer.params[key] = np.zeros((H + 1, H))
    elif broken == "nan":
        layer.params[key][0, 0] = np.nan
    elif broken == "dtype":
        layer.params[key] = layer.params[key].astype(np.float32)
    elif broken == "missing":
        del layer.params[key]
    state = None
    if state_shape is not None:
        s = np.zeros(tuple(state_shape))
        state = (s, s) if family == "LSTM" else s
    try:
        y, _, cache = layer.forward(x, state)
    except (ValueError, TypeError) as exc:
        assert _named(exc, ["x", "state", "params"]), exc
        return
    assert broken is None
    D = 2 if bidirectional else 1
    assert y.shape == x.shape[:2] + (D * H,)
    dx, _, grads = layer.backward(np.ones_like(y), cache)
    assert dx.shape == x.shape and set(grads) == set(layer.params)


# -- the command line -----
BAD_OPTIONS = st.sampled_from(
    [
        ("--hidden", st.sampled_from(["0", "-4", "2.5", "x", "1e3"])),
        ("--batch", st.sampled_from(["0", "-1", "nan", ""])),
        ("--length", st.sampled_from(["0", "-3", "5", "abc"])),
        ("--lr", st.sampled_from(["0", "-1", "nan", "inf", "abc"])),
        ("--clip", st.sampled_from(["0", "-2", "nan"])),
        (
            "--model",
            st.text(min_size=1, max_size=6).filter(lambda s: s not in ("rnn", "lstm", "gru")),
        ),
        ("--task", st.text(min_size=1, max_size=6).map(lambda s: "x" + s)),
        ("--task-option", st.sampled_from(["symbols", "=3", "colour=3", "length=abc", "1x=2"])),
        ("--forget-bias", st.sampled_from(["nan", "inf", "abc"])),
        ("--nonlinearity", st.sampled_from(["relu6", "", "TANH"])),
        ("--seed", st.sampled_from(["-1", "x", "1.5"])),
        ("--dtype", st.sampled_from(["float16", "int", "f8"])),
        ("--eval-every", st.sampled_from(["0", "-5"])),
        ("--time-budget", st.sampled_from(["0", "-1", "nan"])),
        ("--tbptt", st.sampled_from(["0", "-1"])),
        ("--optimizer", st.sampled_from(["lbfgs", "ADAMW", ""])),
    ]
)


@settings(max_examples=200, **SETTINGS)
@given(
    data=st.data(), extra=st.lists(BAD_OPTIONS, min_size=1, max_size=2, unique_by=lambda o: o[0])
)
def test_cli_bad_options_exit_2_with_one_line_and_write_nothing(data, extra, capsys):
    argv = ["train", "--quiet"]
    for option, values in extra:
        argv += [option, data.draw(values)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        code = main([*argv, "--out", str(out)])
        _, err = capsys.readouterr()
        assert code == 2, (argv, err)
        assert len(err.strip().splitlines()) == 1 and err.startswith("rnnlab: error"), err
        assert not out.exists()
