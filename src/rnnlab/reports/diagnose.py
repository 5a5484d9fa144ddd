"""``diagnose``: measure gradient flow; write figures, ``diagnostics.json`` and ``report.md``.

Two kinds of subject:

- a trained run (a run folder, or what :func:`rnnlab.training.load_run` returns): a batch of
  its task's sequences is run through the model and the task's loss is backpropagated;
- a recurrent layer (e.g. from :func:`fresh_layer`): random inputs ``x ~ N(0, 1)`` and a loss at
  the last step only, ``L = u . h_T`` with a random unit ``u`` per sequence, so that
  ``||dL/dh_k||`` shows the factor ``dh_T/dh_k`` of seed 004 undiluted.

The measures are the pure functions of :mod:`rnnlab.diagnostics`; this module runs them, draws
them (:mod:`rnnlab.figures.diagnostics`) and writes the files. Everything plotted is also in
``diagnostics.json`` (NaN and infinities as ``null``).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write_text
from .._validate import as_rng, check_choice, check_positive_float, check_positive_int
from ..activations import get as get_activation
from ..diagnostics import (
    LSTMJacobians,
    bound_log10,
    classify_bound,
    classify_growth,
    contribution_summary,
    deep_mlp_gradients,
    gate_statistics,
    gradient_flow,
    growth_rate,
    impulse_sweep,
    jacobian_products,
    last_step_loss_gradient,
    recurrent_blocks,
    spectrum,
    step_jacobians,
    training_gradients,
)
from ..figures import diagnostics as plots
from ..figures.training import read_metrics
from ..layers import GRU, LSTM, RNN, RecurrentLayer
from ..training.config import INITS, MODELS
from ._diagnose_text import SECTIONS, markdown, to_jsonable

__all__ = ["FIGURES", "SECTIONS", "diagnose", "fresh_layer"]

FIGURES = {
    "flow": "gradient-flow.png",
    "jacobian": "jacobian-products.png",
    "contributions": "contributions.png",
    "spectrum": "spectrum.png",
    "impulse": "impulse-response.png",
    "gates": "gates.png",
    "deep_mlp": "deep-mlp.png",
    "training": "training-gradients.png",
}


def fresh_layer(
    model: str = "rnn",
    nonlinearity: str = "tanh",
    init: str = "orthogonal",
    radius: float | None = None,
    hidden: int = 64,
    input_size: int = 1,
    forget_bias: float | None = None,
    rng: int | np.random.Generator = 0,
    dtype: object = np.float64,
) -> RecurrentLayer:
    """An untrained one-layer RNN/LSTM/GRU, initialised with :func:`rnnlab.init.initialize`.

    ``radius`` rescales each ``(H, H)`` block of ``W_hh`` to that spectral radius;
    ``init="default"`` keeps PyTorch's U(+-1/sqrt(H)) (then rescaled if ``radius`` is given).
    """
    from ..init import initialize, scale_recurrent_blocks, set_gate_bias

    model = check_choice("model", model, MODELS)
    init = check_choice("init", init, INITS)
    hidden = check_positive_int("hidden", hidden)
    input_size = check_positive_int("input_size", input_size)
    if radius is not None:
        radius = check_positive_float("radius", radius)
    gen = as_rng(rng)
    layer: RecurrentLayer
    if model == "rnn":
        layer = RNN(input_size, hidden, nonlinearity=nonlinearity, rng=gen, dtype=dtype)
    elif model == "lstm":
        layer = LSTM(input_size, hidden, rng=gen, dtype=dtype)
    else:
        layer = GRU(input_size, hidden, rng=gen, dtype=dtype)
    if model != "lstm" and forget_bias is not None:
        raise ValueError(f"forget_bias: only an LSTM has a forget gate, got model={model!r}")
    if init != "default":
        initialize(layer.params, init, rng=gen, radius=radius, forget_bias=forget_bias, cell=model)
    else:
        if radius is not None:
            scale_recurrent_blocks(layer.params, radius)
        if forget_bias is not None:
            set_gate_bias(layer.params, layer.cell, "f", forget_bias, name="forget_bias")
    return layer


def _subject(model_or_run: Any) -> tuple[str, Any]:
    """("run", LoadedRun) or ("layer", RecurrentLayer)."""
    from ..model import SequenceModel
    from ..training import LoadedRun, load_run

    if isinstance(model_or_run, (str, os.PathLike)):
        return "run", load_run(model_or_run)
    if isinstance(model_or_run, LoadedRun):
        return "run", model_or_run
    if isinstance(model_or_run, SequenceModel):
        return "layer", model_or_run.layer
    if isinstance(model_or_run, RecurrentLayer):
        return "layer", model_or_run
    raise TypeError(
        "model_or_run: expected a run folder path, a loaded run, a SequenceModel or an rnnlab "
        f"recurrent layer, got {type(model_or_run).__name__}"
    )


def _describe(layer: RecurrentLayer) -> str:
    extra = f", {layer.cell.nonlinearity}" if layer.family == "rnn" else ""
    return f"{layer.family.upper()}{extra}, H = {layer.hidden_size}"


def _run_inputs(run: Any, batch: int, gen: np.random.Generator):
    """A batch of the run's task, forward through the model, and dL/dh from the task's loss."""
    from ..readout import readout_loss
    from ..training import make_task

    task = make_task(run.config)
    b = task.sample(batch, gen, split="test")
    model = run.model
    x = b.x.astype(model.dtype, copy=False)
    h, _, cache = model.layer.forward(x)
    _, dh, _, _ = readout_loss(model.readout, h, b.y, model.loss, **b.loss_kwargs(task.target))
    return model.layer, cache, dh, f"task {run.config.task}, loss {model.loss}"


def diagnose(
    model_or_run: Any,
    out_dir: str | os.PathLike,
    length: int = 100,
    batch: int = 4,
    rng: int | np.random.Generator = 0,
    sections: Sequence[str] = SECTIONS,
    max_points: int = 200,
    x: np.ndarray | None = None,
    dy: np.ndarray | None = None,
    threads: int | None = 1,
) -> dict[str, Any]:
    """Measure gradient flow, Jacobian products, spectrum, memory, gates; write the report.

    ``model_or_run``: a run folder (or loaded run), a :class:`rnnlab.model.SequenceModel` or a
    recurrent layer. For a layer, ``x (T, B, I)`` and ``dy = dL/dy (T, B, D*H)`` may be given;
    otherwise ``x ~ N(0, 1)`` with ``T = length``, ``B = batch`` and the last-step loss. The
    Jacobian products are those of layer 0, forward direction, sequence 0, end ``t = T``, with
    spectral norms at ``max_points`` lags. ``sections`` picks what to compute (see ``SECTIONS``;
    ``gates`` applies to LSTM/GRU, ``training`` to runs). Writes ``out_dir/*.png``,
    ``diagnostics.json`` and ``report.md``; returns the dict written to the JSON.

    ``threads`` caps the BLAS/LAPACK threads while it runs (None: leave them): the matrices here
    are small, and on a busy machine one thread is several times faster than contended ones.
    """
    if threads is None:
        return _diagnose(model_or_run, out_dir, length, batch, rng, sections, max_points, x, dy)
    threads = check_positive_int("threads", threads)
    from threadpoolctl import threadpool_limits  # installed with scikit-learn

    with threadpool_limits(limits=threads):
        return _diagnose(model_or_run, out_dir, length, batch, rng, sections, max_points, x, dy)


def _diagnose(model_or_run, out_dir, length, batch, rng, sections, max_points, x, dy):
    sections = tuple(sections)
    for s in sections:
        check_choice("sections", s, SECTIONS)
    max_points = check_positive_int("max_points", max_points)
    if max_points < 2:
        raise ValueError(f"max_points: expected at least 2, got {max_points}")
    gen = as_rng(rng)
    kind, subject = _subject(model_or_run)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"out_dir: {str(out)!r} exists and is not a folder")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if kind == "run":
        batch = check_positive_int("batch", batch)
        layer, cache, dh_out, loss_desc = _run_inputs(subject, batch, gen)
        run = subject
    else:
        layer, run = subject, None
        if x is None:
            length = check_positive_int("length", length)
            batch = check_positive_int("batch", batch)
            x = gen.standard_normal((length, batch, layer.input_size)).astype(layer.dtype)
        _, _, cache = layer.forward(x)
        T, B = x.shape[:2]
        width = layer.hidden_size * layer.num_directions
        if dy is None:
            dy = last_step_loss_gradient(T, B, width, gen, layer.dtype)
            loss_desc = "L = u·h_T, u a random unit vector per sequence (loss at the last step)"
        else:
            loss_desc = "the given dL/dy"
        dh_out = dy
    T, B = cache.input_shape[:2]
    timings["forward"] = time.perf_counter() - t0
    (out).mkdir(parents=True, exist_ok=True)
    title = _describe(layer)
    res: dict[str, Any] = {
        "subject": {
            "kind": kind,
            "path": str(run.path) if run is not None else None,
            "family": layer.family,
            "nonlinearity": getattr(layer.cell, "nonlinearity", None),
            "hidden_size": layer.hidden_size,
            "input_size": layer.input_size,
            "num_layers": layer.num_layers,
            "bidirectional": layer.bidirectional,
            "T": T,
            "B": B,
            "loss": loss_desc,
        },
        "figures": {},
        "timings_s": timings,
    }
    figs: dict[str, str] = {}
    gamma = get_activation(layer.cell.nonlinearity).gamma if layer.family == "rnn" else None
    p0 = layer.cell_params(0, 0)

    flow = None
    if {"flow", "contributions"} & set(sections):
        t1 = time.perf_counter()
        flow = gradient_flow(layer, cache, dh_out)
        timings["gradient_flow"] = time.perf_counter() - t1
    if "flow" in sections and flow is not None:
        rec = {}
        for key, s in flow.items():
            with warnings.catch_warnings():  # a step with zero gradient in every sequence
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(s.dh_log10, axis=1)  # (T+1,)
            rate = growth_rate(T - np.arange(T + 1), mean, skip=1)  # against the lag T - k
            rec[key] = {
                "k": np.arange(T + 1),
                "dh_log10": s.dh_log10,
                "dc_log10": s.dc_log10,
                "growth_rate_per_step_back": rate,
                "verdict": classify_growth(rate, T) if np.isfinite(rate) and rate > 0 else None,
            }
        res["gradient_flow"] = rec
        plots.plot_gradient_flow(rec, f"gradient flow through time: {title}", out / FIGURES["flow"])
        figs["flow"] = FIGURES["flow"]

    if "contributions" in sections and flow is not None:
        rec = {}
        for key, s in flow.items():
            summ = contribution_summary(s.contrib_log10)
            rec[key] = {"contrib_log10": s.contrib_log10, **summ}
        res["contributions"] = rec
        plots.plot_contributions(
            rec, f"contributions to ∂L/∂W_hh: {title}", out / FIGURES["contributions"]
        )
        figs["contributions"] = FIGURES["contributions"]

    if "jacobian" in sections:
        t1 = time.perf_counter()
        jac = step_jacobians(layer, cache, 0, 0, b=0)
        jp = jacobian_products(jac, t=T, max_points=max_points)
        rates = {n: growth_rate(jp.lags, v) for n, v in jp.log10_norm.items()}
        rec = {
            "t": jp.t,
            "sequence": 0,
            "lags": jp.lags,
            "log10_norm": jp.log10_norm,
            "growth_rate": rates,
            "verdict": {
                n: classify_growth(r, T) if np.isfinite(r) and r > 0 else None
                for n, r in rates.items()
            },
            "bound_log10": None,
            "gamma": gamma,
            "gamma_sigma": None,
            "bound_verdict": None,
            "under_bound": None,
            "cec_log10": jac.cec_log10(T) if isinstance(jac, LSTMJacobians) else None,
        }
        if gamma is not None:
            sigma = float(np.linalg.norm(p0["W_hh"].astype(np.float64), 2))
            rec["bound_log10"] = bound_log10(gamma, p0["W_hh"], jp.lags)
            rec["gamma_sigma"] = gamma * sigma
            rec["bound_verdict"] = classify_bound(gamma, sigma)
            meas = np.asarray(jp.log10_norm["h"])
            ok = np.isfinite(meas)
            # 1e-9 decades of slack: the two sides are computed by different roundings
            rec["under_bound"] = bool(np.all(meas[ok] <= rec["bound_log10"][ok] + 1e-9))
        timings["jacobian"] = time.perf_counter() - t1
        res["jacobian"] = rec
        plots.plot_jacobians(
            rec, f"Jacobian products from t = {T} back: {title}", out / FIGURES["jacobian"]
        )
        figs["jacobian"] = FIGURES["jacobian"]

    if "spectrum" in sections:
        blocks = recurrent_blocks(p0["W_hh"], layer.cell.gates)
        if layer.family == "rnn":
            blocks = {"W_hh": blocks["h"]}
        rec = {name: spectrum(W) for name, W in blocks.items()}
        res["spectrum"] = rec
        plots.plot_spectrum(
            rec, gamma, f"spectrum of W_hh (layer 0): {title}", out / FIGURES["spectrum"]
        )
        figs["spectrum"] = FIGURES["spectrum"]

    if "impulse" in sections:
        t1 = time.perf_counter()
        rec = impulse_sweep(rng=gen)
        timings["impulse"] = time.perf_counter() - t1
        res["impulse"] = rec
        plots.plot_impulse(rec, out / FIGURES["impulse"])
        figs["impulse"] = FIGURES["impulse"]

    if "gates" in sections and layer.family in ("lstm", "gru"):
        rec = gate_statistics(cache.steps[0]["gates"], layer.cell.gates, layer.family)
        res["gates"] = rec
        plots.plot_gates(rec, f"gate statistics (layer 0): {title}", out / FIGURES["gates"])
        figs["gates"] = FIGURES["gates"]

    if "deep_mlp" in sections:
        t1 = time.perf_counter()
        rec = deep_mlp_gradients(rng=gen)
        timings["deep_mlp"] = time.perf_counter() - t1
        res["deep_mlp"] = rec
        plots.plot_deep_mlp(rec, out / FIGURES["deep_mlp"])
        figs["deep_mlp"] = FIGURES["deep_mlp"]

    if "training" in sections and run is not None and run.metrics_path.is_file():
        cols = read_metrics(run.metrics_path)
        if "grad_norm" not in cols or "step" not in cols:
            raise ValueError(
                f"metrics: expected columns step and grad_norm in {str(run.metrics_path)!r}, "
                f"got {sorted(cols)}"
            )
        rec = training_gradients(cols["step"], cols["grad_norm"])
        res["training"] = rec
        plots.plot_training(rec, out / FIGURES["training"], clip=run.config.clip)
        figs["training"] = FIGURES["training"]

    res["figures"] = figs
    timings["total"] = time.perf_counter() - t0
    atomic_write_text(out / "diagnostics.json", json.dumps(to_jsonable(res), indent=1))
    atomic_write_text(out / "report.md", markdown(res))
    return res
