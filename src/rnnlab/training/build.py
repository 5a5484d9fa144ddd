"""The model and the optimiser a resolved config describes (initial weights from its seed), and
the one-BLAS-thread setting runs train under."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np

from ..data import DataSource, model_io
from ..init import initialize, scale_recurrent_blocks
from ..layers import GRU, LSTM, RNN, RecurrentLayer
from ..model import SequenceModel
from ..optim import make_optimizer
from ..readout import LOSS_ACTIVATION, Readout
from ..schedules import make_schedule
from .config import TrainConfig, make_source, resolve_config


def seed_streams(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """``(model, data)``: the two independent streams one seed spawns (initial weights; the
    training batches)."""
    model_ss, data_ss = np.random.SeedSequence(seed).spawn(2)
    return model_ss, data_ss


def build_model(c: TrainConfig, source: DataSource | None = None) -> SequenceModel:
    """The model a (resolved) config describes, with its initial weights from ``c.seed``.

    The layer's input and the readout's output size and loss come from ``source`` (or, for a
    saved run, from the data spec its config records, so no data is needed to rebuild it).
    """
    if c.hidden is None:
        source = source if source is not None else make_source(c)
        c = resolve_config(c, source)
    if source is not None:
        I, K, loss = source.input_size, source.output_size, source.loss
    elif c.data:
        I, K, loss = model_io(c.data)
    else:
        src = make_source(c)
        I, K, loss = src.input_size, src.output_size, src.loss
    dtype = np.dtype(c.dtype)
    gen = np.random.default_rng(seed_streams(c.seed)[0])
    H, L = c.hidden, c.layers
    layer: RecurrentLayer
    if c.model == "rnn":
        layer = RNN(I, H, num_layers=L, nonlinearity=c.nonlinearity, rng=gen, dtype=dtype)
    elif c.model == "gru":
        layer = GRU(I, H, num_layers=L, rng=gen, dtype=dtype)
    else:
        fb = float(c.forget_bias) if c.forget_bias is not None else 0.0
        ib = float(c.input_bias) if c.input_bias is not None else 0.0
        layer = LSTM(
            I,
            H,
            num_layers=L,
            forget_gate=c.forget_gate,
            forget_bias=fb if c.forget_gate else 0.0,
            input_bias=ib,
            rng=gen,
            dtype=dtype,
        )
    if c.init != "default":
        initialize(
            layer.params,
            c.init,
            rng=gen,
            radius=c.radius,
            forget_bias=c.forget_bias,
            cell=c.model,
            input_bias=c.input_bias,
        )
    elif c.radius is not None:
        scale_recurrent_blocks(layer.params, c.radius)
    act = LOSS_ACTIVATION.get(loss, "identity")
    readout = Readout(H * layer.num_directions, K, activation=act, rng=gen, dtype=dtype)
    return SequenceModel(layer, readout, loss=loss)


def make_optimizer_for(c: TrainConfig):
    """The optimiser and learning-rate schedule ``c`` names."""
    sched_kw: dict[str, Any] = {}
    if c.schedule == "step":
        sched_kw = {"step_size": 1000, "gamma": 0.5}
    elif c.schedule == "exponential":
        sched_kw = {"gamma": 0.999}
    elif c.schedule == "cosine":
        sched_kw = {"total_steps": c.steps or max(1, (c.max_sequences or 100_000) // c.batch)}
    return make_optimizer(c.optimizer, make_schedule(c.schedule, c.lr, **sched_kw))


def single_thread_blas():
    """Tiny matrices run fastest on one BLAS thread (and leave the other core to the OS)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
