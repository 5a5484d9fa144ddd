"""Forecasting: NARMA-10, baselines, metrics, series, benchmarks and ``rnnlab forecast``."""

import json
import os

import numpy as np
import pytest

from rnnlab.cli import main
from rnnlab.forecast.baselines import AutoRegressive, Persistence, SeasonalNaive
from rnnlab.forecast.benchmarks import narma10, run_benchmark
from rnnlab.forecast.compare import ForecastConfig, run_forecast
from rnnlab.forecast.metrics import mae, nrmse, rmse
from rnnlab.forecast.series import Series, read_csv


def test_narma10_follows_its_recurrence(rng):
    u = rng.uniform(0, 0.5, 300)
    y = narma10(u)
    assert np.all(y[:10] == 0)
    for n in (9, 10, 57, 298):
        want = 0.3 * y[n] + 0.05 * y[n] * sum(y[n - i] for i in range(10))
        want += 1.5 * u[n - 9] * u[n] + 0.1
        assert y[n + 1] == pytest.approx(want, rel=1e-13)


def test_baselines_by_hand():
    h = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 7.0])
    assert Persistence().fit(h).forecast(h, 3).tolist() == [7.0, 7.0, 7.0]
    sn = SeasonalNaive(4).fit(h)
    assert sn.forecast(h, 6).tolist() == [3.0, 4.0, 5.0, 7.0, 3.0, 4.0]
    # AR(1) on an exact line y(t) = 2 y(t-1) - 1 from y(0) = 2: c = -1, a = 2
    y = np.array([2.0, 3.0, 5.0, 9.0, 17.0])
    ar = AutoRegressive(1).fit(y)
    np.testing.assert_allclose(ar.coef, [-1.0, 2.0], atol=1e-10)
    np.testing.assert_allclose(ar.forecast(y, 2), [33.0, 65.0], rtol=1e-10)


def test_metrics_by_hand():
    t, p = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 6.0])
    assert rmse(t, p) == pytest.approx(1.0)
    assert mae(t, p) == pytest.approx(0.5)
    assert nrmse(t, p) == pytest.approx(1.0 / np.std(t))
    assert np.isnan(nrmse(np.ones(3), np.zeros(3)))


def _series(values):
    n = len(values)
    return Series(np.asarray(values, float), np.arange(n, dtype=float),
                  tuple(str(i) for i in range(n)), "s", "u", "step")  # fmt: skip


def test_one_step_and_free_running_horizons(rng):
    v = 10 + np.sin(2 * np.pi * np.arange(120) / 12) + 0.01 * rng.standard_normal(120)
    s = _series(v)
    one = run_forecast(s, ForecastConfig(models=("persistence",), test_fraction=0.2, horizon=1))
    free = run_forecast(s, ForecastConfig(models=("persistence",), test_fraction=0.2, horizon=24))
    np.testing.assert_array_equal(one.forecasts["persistence"], v[95:119])  # last seen value
    np.testing.assert_array_equal(free.forecasts["persistence"], np.full(24, v[95]))
    cfg = ForecastConfig(models=("seasonal-naive", "ar", "esn"), period=12, order=12, lags=12,
                         units=30, ensemble=2, test_fraction=0.2, horizon=24)  # fmt: skip
    res = run_forecast(s, cfg)
    assert res.metrics["seasonal-naive(12)"]["rmse"] < 0.05
    assert res.metrics["esn"]["rmse"] < 0.2


def test_benchmarks_run_small():
    mg = run_benchmark("mackey_glass_jaeger2001", runs=2, units=60, train=800, washout=200,
                       warmup=200)  # fmt: skip
    assert len(mg["errors"]) == 2 and mg["nrmse84"] < 0.5
    na = run_benchmark("narma10", units=(30,), washout=50, train=400, test=200)
    assert 0 < na["nrmse"]["30"] < 1.5
    mc = run_benchmark("memory_capacity", units=10, washout=50, train=1000, test=1000)
    assert 0 < mc["capacity"]["tanh"] <= 10.5 and 0 < mc["capacity"]["identity"] <= 10.5
    with pytest.raises(ValueError, match="runs: not a setting|nope"):
        run_benchmark("narma10", nope=1)


def _write_csv(path, values, header="t,y"):
    with open(path, "w") as fh:
        fh.write(header + "\n")
        for i, v in enumerate(values):
            fh.write(f"{2000 + i},{v}\n")


def test_forecast_command_end_to_end(tmp_path, capsys):
    csv_path = tmp_path / "s.csv"
    _write_csv(csv_path, [f"{10 + np.sin(0.5 * i):.5f}" for i in range(150)])
    out = tmp_path / "out"
    code = main(["forecast", "--csv", str(csv_path), "--column", "y", "--time-column", "t",
                 "--model", "persistence,ar,esn", "--units", "30", "--ensemble", "2",
                 "--order", "4", "--lags", "4", "--out", str(out), "--json"])  # fmt: skip
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    assert set(metrics) == {"persistence", "ar(4)", "esn"}
    assert metrics["ar(4)"]["rmse"] < metrics["persistence"]["rmse"]
    assert sorted(os.listdir(out)) == ["forecast.png", "metrics.json"]
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["first_test"] == "2120" and doc["metrics"] == metrics
    assert main(["forecast", "--csv", str(csv_path), "--column", "y", "--model", "ar",
                 "--order", "3", "--out", str(tmp_path / "o2")]) == 0  # fmt: skip
    assert "ar(3)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "values, args, message",
    [
        (["1", "", "3"] * 20, [], "3 .*missing values|20 missing"),
        (["1", "x", "3"] * 20, [], "expected numbers"),
        (["1", "2", "3"] * 20, ["--column", "nope"], "no column 'nope'"),
        ([str(i) for i in range(12)], [], "training values"),
        (["4.0"] * 60, [], "constant.*NRMSE is undefined"),
        ([str(i % 7) for i in range(60)], ["--horizon", "0"], "horizon"),
        ([str(i % 7) for i in range(60)], ["--model", "ar", "--order", "0"], "order"),
        ([str(i % 7) for i in range(60)], ["--spectral-radius", "0"], "spectral_radius"),
        (["1", "nan", "3"] * 20, [], "missing values"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, values, args, message):
    csv_path = tmp_path / "s.csv"
    _write_csv(csv_path, values)
    out = tmp_path / "out"
    argv = ["forecast", "--csv", str(csv_path), "--out", str(out)]
    argv += [] if "--column" in args else ["--column", "y"]
    assert main(argv + args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("rnnlab: error:")
    import re

    assert re.search(message, err), err
    assert not out.exists()


def test_read_csv_fill(tmp_path):
    p = tmp_path / "f.csv"
    _write_csv(p, ["1", "", "3", "4"])
    assert read_csv(str(p), "y", fill="ffill").values.tolist() == [1, 1, 3, 4]
    assert read_csv(str(p), "y", fill="interpolate").values.tolist() == [1, 2, 3, 4]


def test_packaged_sunspots_if_statsmodels():
    pytest.importorskip("statsmodels", reason="statsmodels ships the sunspots series")
    from rnnlab.forecast.series import load_series

    s = load_series("sunspots")
    assert s.labels[0] == "1700" and s.values.size == 309


def test_read_csv_dates_become_years(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("month,v\n2001-01,1\n2001-07,2\n2002-01,3\n")
    s = read_csv(str(p), "v", time_column="month")
    assert s.time_unit == "year" and np.allclose(s.time, [2001.0, 2001.5, 2002.0], atol=0.01)
