"""The training configuration: one dataclass, its checks, its defaults, and its TOML file."""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._files import atomic_write_text
from .._validate import check_choice, check_finite_float
from ..activations import HIDDEN
from ..data import DataSource, TaskSource, load_source
from ..init import CELLS, SCHEMES
from ..optim import OPTIMIZERS
from ..schedules import SCHEDULES
from ..tasks import TASKS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

MODELS = CELLS  # the recurrent layers the trainer builds: rnn | lstm | gru
INITS = ("default", *SCHEMES)
NONLINEARITIES = HIDDEN
DTYPES = ("float64", "float32")

# Settings for a source that brings none of its own (see DataSource.defaults).
GENERIC_DEFAULTS: dict[str, Any] = {
    "hidden": 32,
    "lr": 1e-2,
    "batch": 32,
    "forget_bias": 1.0,
    "input_bias": 0.0,
    "dtype": "float64",
}


@dataclass
class TrainConfig:
    """Everything that defines a training run; ``None`` means "the data source's default".

    Examples:
        >>> cfg = TrainConfig(task="adding", model="lstm", length=100, seed=0)
        >>> cfg.model, cfg.clip
        ('lstm', 1.0)
    """

    task: str | None = "adding"  # task name (see `rnnlab tasks`); None when `data` names a source
    length: int | None = None  # sequence length T handed to the task (None: the task's default)
    task_kwargs: dict[str, Any] = field(default_factory=dict)  # further task settings
    data: dict[str, Any] = field(default_factory=dict)  # spec of a non-task source (its .spec())
    model: str = "lstm"  # recurrent layer: rnn | lstm | gru
    hidden: int | None = None  # hidden units per layer
    layers: int = 1  # stacked recurrent layers
    nonlinearity: str = "tanh"  # vanilla RNN's phi: tanh | sigmoid | relu | identity
    optimizer: str = "adam"  # sgd | momentum | nesterov | adam | rmsprop | adagrad
    lr: float | None = None  # learning rate (start value of the schedule)
    schedule: str = "constant"  # constant | step | exponential | cosine
    clip: float | None = 1.0  # gradient-norm threshold (Pascanu et al. 2013, Alg. 1); None: off
    clip_value: float | None = None  # clip each gradient entry to [-v, v]; None: off
    tbptt: int | None = None  # truncated BPTT chunk length l; None: full BPTT
    omega: float | None = None  # weight alpha of Pascanu et al.'s Omega on W_hh; None: off
    init: str = (
        "default"  # default (PyTorch's U(+-1/sqrt(H))) | uniform | xavier | orthogonal | identity
    )
    radius: float | None = None  # rescale each W_hh gate block to this spectral radius
    forget_bias: float | None = None  # LSTM forget-gate bias at start (Gers et al. 2000)
    input_bias: float | None = None  # LSTM input-gate bias at start (H&S 1997: negative)
    forget_gate: bool = True  # LSTM forget gate; False: the 1997 LSTM (CEC self-weight fixed at 1)
    batch: int | None = None  # sequences per update
    steps: int | None = None  # updates (batches) at most; None: no limit
    max_sequences: int | None = None  # training sequences at most; None: the source's budget
    epochs: int | None = None  # passes over a finite source at most (sets max_sequences)
    time_budget: float | None = 600.0  # seconds of training at most; None: no limit
    eval_every: int = 50  # evaluate on held-out / fresh test sequences every this many steps
    eval_size: int | None = None  # test sequences per evaluation; None: the source's default
    screen_size: int | None = 256  # a quick check on this many fresh test sequences comes first;
    # the full eval_size set is drawn only when the check meets the criterion. None: always full
    patience: int | None = None  # stop after this many evaluations without a lower held-out loss
    seed: int = 0  # the one seed every random stream is derived from
    dtype: str | None = None  # float64 | float32; None: the source's default (float64 but where
    # measured to solve the same: see rnnlab.data.tasks.TASK_DEFAULTS, and text)
    out: str | None = None  # run folder; None: write nothing


def _positive_int(name: str, v: Any, allow_none: bool = True) -> None:
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name}: expected a positive int, got {type(v).__name__} {v!r}")
    if v < 1:
        raise ValueError(f"{name}: expected a positive int, got {v}")


def _positive_float(name: str, v: Any, allow_none: bool = True) -> None:
    if v is None and allow_none:
        return
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name}: expected a positive number, got {type(v).__name__} {v!r}")
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: expected a positive number, got {v}")


def validate_config(c: TrainConfig) -> TrainConfig:
    """Check every field; raise ValueError/TypeError naming the field. Returns ``c``."""
    if not isinstance(c, TrainConfig):
        raise TypeError(f"config: expected a TrainConfig, got {type(c).__name__}")
    if not isinstance(c.data, dict):
        raise TypeError(f"data: expected a table describing the data source, got {c.data!r}")
    if c.task is not None:  # None: the data is given from Python (train(config, data))
        check_choice("task", c.task, tuple(TASKS))
    check_choice("model", c.model, MODELS)
    check_choice("nonlinearity", c.nonlinearity, NONLINEARITIES)
    check_choice("optimizer", c.optimizer, tuple(OPTIMIZERS))
    check_choice("schedule", c.schedule, tuple(SCHEDULES))
    check_choice("init", c.init, INITS)
    if c.dtype is not None:
        check_choice("dtype", c.dtype, DTYPES)
    for name in ("length", "hidden", "layers", "batch", "steps", "max_sequences", "tbptt"):
        _positive_int(name, getattr(c, name), allow_none=name != "layers")
    for name in ("epochs", "eval_size", "screen_size", "patience"):
        _positive_int(name, getattr(c, name))
    _positive_int("eval_every", c.eval_every, allow_none=False)
    for name in ("lr", "clip", "clip_value", "radius", "time_budget"):
        _positive_float(name, getattr(c, name))
    for name in ("forget_bias", "input_bias"):
        if getattr(c, name) is not None:
            check_finite_float(name, getattr(c, name))
    if not isinstance(c.forget_gate, bool):
        raise TypeError(f"forget_gate: expected true or false, got {c.forget_gate!r}")
    if c.omega is not None:
        check_finite_float("omega", c.omega)
        if c.omega < 0:
            raise ValueError(f"omega: expected a weight >= 0, got {c.omega}")
        if c.tbptt is not None:
            raise ValueError(f"omega: expected full BPTT (tbptt unset), got tbptt={c.tbptt}")
    if isinstance(c.seed, bool) or not isinstance(c.seed, int) or c.seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {c.seed!r}")
    if not isinstance(c.task_kwargs, dict):
        raise TypeError(f"task_kwargs: expected a table of task settings, got {c.task_kwargs!r}")
    if c.out is not None and not isinstance(c.out, str):
        raise TypeError(f"out: expected a folder path string, got {type(c.out).__name__}")
    _check_applies(c)
    return c


def _check_applies(c: TrainConfig) -> None:
    """Settings that the chosen model or source would silently ignore are errors."""
    for name in ("forget_bias", "input_bias"):
        if getattr(c, name) is not None and c.model != "lstm":
            raise ValueError(f"{name}: only an LSTM has that gate; got it with model {c.model!r}")
    if c.nonlinearity != "tanh" and c.model != "rnn":
        raise ValueError(
            f"nonlinearity: only the vanilla RNN takes one (LSTM and GRU cells fix theirs); got "
            f"{c.nonlinearity!r} with model {c.model!r}"
        )
    if "length" in c.task_kwargs and c.length is not None and c.task_kwargs["length"] != c.length:
        raise ValueError(
            f"length: {c.length} contradicts the task setting length={c.task_kwargs['length']!r}"
        )
    if c.data and (c.task_kwargs or c.length is not None) and c.task is None:
        raise ValueError("task_kwargs: task settings do not apply to data given from Python")


def make_source(c: TrainConfig, data: DataSource | None = None) -> DataSource:
    """The data source a config describes: ``data`` when given (checked against ``c.data`` if the
    config already records one), else the source ``c.data`` names, else the task ``c.task``."""
    if data is not None:
        if not c.data and (c.task_kwargs or c.length is not None):
            raise ValueError("length: task settings do not apply to data given from Python")
        if not isinstance(data, DataSource):
            raise TypeError(
                f"data: expected an rnnlab.data.DataSource (e.g. ArrayDataset), got "
                f"{type(data).__name__}"
            )
        if c.data and c.data != data.spec():
            diff = sorted(
                k for k in {**c.data, **data.spec()} if c.data.get(k) != data.spec().get(k)
            )
            raise ValueError(
                f"data: expected the data this run was trained on; it differs in {', '.join(diff)}"
            )
        return data
    if c.data:
        return load_source(c.data)
    if c.task is None:
        raise ValueError("task: expected a task name, or the data to train on (data=...); got None")
    kw = dict(c.task_kwargs)
    if c.length is not None:
        kw["length"] = c.length
    return TaskSource.from_name(str(c.task), **kw)


def make_task(c: TrainConfig):
    """The task instance a task config describes (``length`` and ``task_kwargs`` passed through)."""
    src = make_source(c)
    if not isinstance(src, TaskSource):
        raise ValueError(f"task: this run trains on {src.kind} data, not on a task")
    return src.task


def _by_model(value: Any, model: str, otherwise: Any) -> Any:
    """A default that may depend on the model: ``{model: value}``, ``otherwise`` for the rest."""
    return value.get(model, otherwise) if isinstance(value, dict) else value


def resolve_config(c: TrainConfig, source: DataSource | None = None) -> TrainConfig:
    """Validate and fill every open (``None``) default from the source's defaults."""
    validate_config(c)
    source = source if source is not None else make_source(c)
    d = {**GENERIC_DEFAULTS, **source.defaults}
    task = source.task if isinstance(source, TaskSource) else None
    length = c.length
    if length is None and task is not None and hasattr(task, "length"):
        length = int(task.length)
    if c.epochs is not None and source.train_size is None:
        raise ValueError(f"epochs: {source.title} is an endless generator; use max_sequences")
    batch = c.batch or min(d["batch"], source.train_size or d["batch"])  # a small data set
    budget = c.max_sequences
    if budget is None and c.epochs is not None:
        budget = c.epochs * (source.train_size // batch) * batch
    lstm = c.model == "lstm"
    return dataclasses.replace(
        c,
        task=c.task if task is not None else None,
        data={} if task is not None else source.spec(),
        length=length,
        hidden=c.hidden or d["hidden"],
        lr=c.lr or d["lr"],
        batch=batch,
        max_sequences=budget or source.default_budget,
        forget_bias=(c.forget_bias if c.forget_bias is not None else d["forget_bias"])
        if lstm and c.forget_gate
        else None,
        input_bias=(c.input_bias if c.input_bias is not None else d["input_bias"])
        if lstm
        else None,
        eval_size=c.eval_size or source.default_eval_size,
        dtype=c.dtype or _by_model(d["dtype"], c.model, GENERIC_DEFAULTS["dtype"]),
    )


# -- TOML ------------------------------------------------------------------------------------------
def config_to_dict(c: TrainConfig) -> dict[str, Any]:
    """The config as a TOML-able dict.

    TOML has no null: a ``None`` field whose default is also ``None`` is left out; one whose
    default is not (``clip``, ``time_budget``, ``task``: "off") is written as ``false``.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(c):
        v = getattr(c, f.name)
        if f.name in ("task_kwargs", "data") and not v:
            continue
        if v is None:
            if f.default is not None:
                out[f.name] = False
            continue
        out[f.name] = v
    return out


def config_from_dict(d: dict[str, Any], where: str = "config") -> TrainConfig:
    """A validated TrainConfig from a dict (e.g. a parsed TOML file); unknown keys are errors."""
    if not isinstance(d, dict):
        raise TypeError(f"{where}: expected a table of settings, got {type(d).__name__}")
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(
            f"{where}: unknown setting(s) {', '.join(unknown)}; expected some of "
            f"{', '.join(sorted(names))}"
        )
    d = dict(d)
    for f in dataclasses.fields(TrainConfig):
        if d.get(f.name) is False and f.default is not None and not isinstance(f.default, bool):
            d[f.name] = None  # "off", see config_to_dict
    floats = ("lr", "clip", "clip_value", "radius", "time_budget", "forget_bias", "input_bias")
    for name in (*floats, "omega"):
        if isinstance(d.get(name), int) and not isinstance(d.get(name), bool):
            d[name] = float(d[name])  # TOML writes 1.0 as a float but people write 1
    return validate_config(TrainConfig(**d))


def read_config(path: str | os.PathLike) -> TrainConfig:
    """Read a TOML config file (a run's ``config.toml`` or one written by hand)."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"config: no such file {str(path)!r}") from None
    except OSError as exc:
        raise ValueError(f"config: cannot read {str(path)!r} ({exc.strerror})") from None
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"config: {str(path)!r} is not valid TOML ({exc})") from None
    return config_from_dict(data, where=f"config {str(path)!r}")


def write_config(path: str | os.PathLike, c: TrainConfig) -> str:
    """Write ``c`` as TOML, atomically; return the SHA-256 of the file's bytes (a checkpoint
    records it, so that an edited ``config.toml`` is caught; see :func:`file_sha256`)."""
    import tomli_w

    text = tomli_w.dumps(config_to_dict(c))
    atomic_write_text(path, text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
