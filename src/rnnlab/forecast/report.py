"""A comparison's outputs: the table, ``metrics.json`` and ``forecast.png`` (atomic writes)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from .._files import atomic_write_text
from .compare import ForecastResult

__all__ = ["metrics_dict", "format_table", "write_outputs", "format_benchmark"]


def _clean(v: float) -> float | None:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def metrics_dict(result: ForecastResult) -> dict[str, dict[str, float | None]]:
    """``{model: {"rmse", "mae", "nrmse", "seconds"}}``; an undefined NRMSE is ``None``."""
    return {m: {k: _clean(v) for k, v in d.items()} for m, d in result.metrics.items()}


def format_table(result: ForecastResult) -> str:
    """The metrics as an aligned text table, best RMSE first."""
    s = result.series
    n_test = s.values.size - result.split
    what = "one-step" if result.horizon == 1 else f"free-running, blocks of {result.horizon}"
    head = (
        f"{s.name}: train {s.labels[0]}..{s.labels[result.split - 1]} ({result.split}), "
        f"test {s.labels[result.split]}..{s.labels[-1]} ({n_test}), {what}"
    )
    rows = sorted(result.metrics.items(), key=lambda kv: kv[1]["rmse"])
    width = max(12, *(len(m) for m, _ in rows))
    lines = [head, f"{'model':<{width}}  {'RMSE':>10}  {'MAE':>10}  {'NRMSE':>8}  {'seconds':>8}"]
    for m, d in rows:
        nr = "undefined" if not math.isfinite(d["nrmse"]) else f"{d['nrmse']:.4f}"
        lines.append(
            f"{m:<{width}}  {d['rmse']:>10.4g}  {d['mae']:>10.4g}  {nr:>8}  {d['seconds']:>8.2f}"
        )
    if any(not math.isfinite(d["nrmse"]) for _, d in rows):
        lines.append("NRMSE undefined: the test part is constant (zero variance).")
    return "\n".join(lines)


def write_outputs(result: ForecastResult, out: str | os.PathLike) -> list[Path]:
    """Write ``metrics.json`` and ``forecast.png`` into the folder ``out`` (created)."""
    from ..figures._save import save_figure
    from ..figures.forecast import plot_forecast

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    s = result.series
    doc = {"series": s.name, "split": result.split, "first_test": s.labels[result.split],
           "horizon": result.horizon, "metrics": metrics_dict(result),
           "config": result.config}  # fmt: skip
    paths = [out / "metrics.json", out / "forecast.png"]
    atomic_write_text(paths[0], json.dumps(doc, indent=2, default=str) + "\n")
    fig = plot_forecast(s.time, s.values, result.split, result.forecasts, horizon=result.horizon,
                        title=f"{s.name}: forecasts of the test part", unit=s.unit,
                        time_unit=s.time_unit)  # fmt: skip
    save_figure(fig, paths[1])
    return paths


def format_benchmark(res: dict) -> str:
    """A benchmark's headline numbers as text."""
    name = res["benchmark"]
    if name == "mackey_glass_jaeger2001":
        c = res["config"]
        return (f"Mackey-Glass tau=17 (Jaeger 2001): NRMSE84 = {res['nrmse84']:.3g} over "
                f"{c['runs']} runs, {c['units']} units ({res['seconds']:.1f} s)")  # fmt: skip
    if name == "narma10":
        parts = [
            f"{n} units: NRMSE {v:.4f} ({res['seconds'][n]:.2f} s)" for n, v in res["nrmse"].items()
        ]
        return "NARMA-10: " + "; ".join(parts)
    parts = [f"{a} {v:.2f}" for a, v in res["capacity"].items()]
    return f"memory capacity (bound N = {res['bound']}): " + "; ".join(parts)
