"""``rnnlab forecast``: networks and classical baselines on a series; the ESN benchmarks."""

from __future__ import annotations

import json

import click

from ..forecast.benchmarks import BENCHMARKS, run_benchmark
from ..forecast.compare import MODELS, ForecastConfig, run_forecast
from ..forecast.report import format_benchmark, format_table, metrics_dict, write_outputs
from ..forecast.series import PACKAGED, load_series, read_csv


def _parse_value(text: str):
    text = text.strip()
    if text.lower() == "none":
        return None
    if "," in text:
        return tuple(_parse_value(t) for t in text.split(",") if t.strip())
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _options(items: tuple[str, ...]) -> dict:
    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"option: expected KEY=VALUE, got {item!r}")
        out[key.strip()] = _parse_value(text)
    return out


def _tuple(name: str, text: str | None, n: int) -> tuple[int, ...] | None:
    if text is None:
        return None
    try:
        vals = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise ValueError(f"{name}: expected {n} comma-separated integers, got {text!r}") from None
    if len(vals) != n or min(vals) < 0:
        raise ValueError(f"{name}: expected {n} comma-separated integers >= 0, got {text!r}")
    return vals


_SERIES_HELP = "A packaged real series: " + "; ".join(f"{k} ({v[1]})" for k, v in PACKAGED.items())


@click.command("forecast")
@click.option("--benchmark", type=str, default=None,
              help=f"Run a literature benchmark: {', '.join(BENCHMARKS)}.")  # fmt: skip
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A benchmark setting, e.g. runs=50 or units=100,200 (repeatable).")  # fmt: skip
@click.option("--series", type=str, default=None, help=_SERIES_HELP)
@click.option("--csv", "csv_path", type=str, default=None, help="Your own series: a CSV file.")
@click.option("--column", type=str, default=None, help="The CSV column with the values.")
@click.option("--time-column", type=str, default=None, help="The CSV column with time stamps.")
@click.option("--fill", type=click.Choice(["ffill", "interpolate"]), default=None,
              help="Fill missing CSV values (default: missing values are an error).")  # fmt: skip
@click.option("--model", "models", multiple=True,
              help=f"Repeatable or comma-separated: {', '.join(MODELS)}."
              "  [persistence,ar,esn]")  # fmt: skip
@click.option("--horizon", type=int, default=1, show_default=True,
              help="Steps each forecast runs freely (1: one-step).")  # fmt: skip
@click.option("--test-fraction", type=float, default=0.2, show_default=True)
@click.option("--test-start", type=str, default=None, help="Time label of the first test value.")
@click.option("--test-end", type=str, default=None, help="Time label of the last test value.")
@click.option("--period", type=int, default=None, help="Season length (seasonal-naive, ...).")
@click.option("--order", type=int, default=9, show_default=True, help="AR order p.")
@click.option("--log", "log_", is_flag=True, help="Model the log of the series.")
@click.option("--difference", type=int, default=0, show_default=True,
              help="Difference at this lag before the learned models (0: none).")  # fmt: skip
@click.option("--lags", type=int, default=9, show_default=True, help="Network inputs: lags.")
@click.option("--units", type=int, default=100, show_default=True, help="ESN reservoir size.")
@click.option("--spectral-radius", type=float, default=0.9, show_default=True)
@click.option("--leak-rate", type=float, default=1.0, show_default=True)
@click.option("--input-scaling", type=float, default=0.5, show_default=True)
@click.option("--ridge", type=float, default=None, help="ESN ridge.  [chosen on validation]")
@click.option("--ensemble", type=int, default=10, show_default=True, help="ESNs averaged.")
@click.option("--hidden", type=int, default=32, show_default=True, help="rnn/lstm/gru units.")
@click.option("--steps", type=int, default=2000, show_default=True, help="rnn/lstm/gru updates.")
@click.option("--time-budget", type=float, default=60.0, show_default=True,
              help="rnn/lstm/gru seconds of training each.")  # fmt: skip
@click.option("--arima-order", type=str, default=None, help="statsmodels ARIMA p,d,q.  [0,1,1]")
@click.option("--seasonal-order", type=str, default=None, help="statsmodels P,D,Q,s.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--out", type=str, default="forecast", show_default=True, help="Output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object.")
def command(benchmark, options, series, csv_path, column, time_column, fill, models, horizon,
            test_fraction, test_start, test_end, period, order, log_, difference, lags, units,
            spectral_radius, leak_rate, input_scaling, ridge, ensemble, hidden, steps,
            time_budget, arima_order, seasonal_order, seed, out, as_json) -> None:  # fmt: skip
    """Forecast a series with networks and baselines, or run an ESN benchmark.

    Writes metrics.json and forecast.png to --out and prints a table.
    """
    if benchmark is not None:
        if series or csv_path:
            raise ValueError("benchmark: runs on its own series; drop --series/--csv")
        res = run_benchmark(benchmark, **_options(options))
        click.echo(json.dumps(res) if as_json else format_benchmark(res))
        return
    if options:
        raise ValueError("option: only for --benchmark")
    if (series is None) == (csv_path is None):
        raise ValueError("series: give exactly one of --series NAME, --csv PATH, --benchmark NAME")
    if csv_path is not None:
        if column is None:
            raise ValueError("column: --csv needs --column NAME")
        s = read_csv(csv_path, column, time_column=time_column, fill=fill)
    else:
        if column or time_column or fill:
            raise ValueError("column: --column/--time-column/--fill go with --csv")
        s = load_series(series)
    names = tuple(m.strip() for spec in models for m in spec.split(",") if m.strip())
    cfg = ForecastConfig(
        models=names or ForecastConfig.models, horizon=horizon,
        test_fraction=None if test_start else test_fraction, test_start=test_start,
        test_end=test_end, period=period, order=order, log=log_, difference=difference,
        lags=lags, units=units, spectral_radius=spectral_radius, leak_rate=leak_rate,
        input_scaling=input_scaling, ridge=ridge, ensemble=ensemble, hidden=hidden,
        steps=steps, time_budget=time_budget,
        arima_order=_tuple("arima_order", arima_order, 3) or (0, 1, 1),
        seasonal_order=_tuple("seasonal_order", seasonal_order, 4) or (0, 0, 0, 0), seed=seed,
    )  # fmt: skip
    result = run_forecast(s, cfg)  # validates everything before computing; nothing written yet
    paths = write_outputs(result, out)
    if as_json:
        click.echo(json.dumps(metrics_dict(result)))
    else:
        click.echo(format_table(result))
        click.echo("wrote " + ", ".join(str(p) for p in paths))
