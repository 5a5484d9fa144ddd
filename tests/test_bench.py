"""`rnnlab bench`'s arithmetic and table (not its timings: benchmarks are not tests)."""

import math

import numpy as np
import pytest

from rnnlab import bench


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def test_gflop_count_is_three_times_the_forward_gemms():
    p = bench.Point("lstm", B=2, H=3, T=5, I=7)
    forward = 2 * p.T * p.B * (4 * p.H) * (p.I + p.H)  # W_xh x_t and W_hh h_{t-1}, every step
    assert p.gflop == pytest.approx(3 * forward / 1e9)


def test_row_uses_the_rate_measured_beside_the_point():
    p = bench.Point("rnn", B=32, H=256, T=100, I=256)
    r = bench.Result(p, rnnlab_ms=10.0, torch_ms=25.0, repeats=5, gemm_gflops=200.0)
    cells = _cells(bench.format_row(r, gemm=999.0))
    header = _cells(bench.header("float32").splitlines()[0])
    assert len(cells) == len(header)
    row = dict(zip(header, cells))
    assert float(row["ratio"]) == pytest.approx(2.5)
    assert float(row["GFLOP/s"]) == pytest.approx(p.gflop / 0.010, abs=0.05)
    assert float(row["SGEMM"]) == 200.0
    assert float(row["%SGEMM"]) == pytest.approx(100 * p.gflop / 0.010 / 200.0, abs=0.05)
    # without a rate of its own, the report's rate is the denominator
    r.gemm_gflops = None
    assert float(_cells(bench.format_row(r, gemm=400.0))[-1]) == pytest.approx(
        100 * p.gflop / 0.010 / 400.0, abs=0.05
    )


def test_report_geometric_mean_and_worst_point():
    results = [
        bench.Result(bench.Point("rnn", 1, 8, 10, 8), 1.0, 4.0, 5, 100.0),
        bench.Result(bench.Point("gru", 1, 8, 10, 8), 2.0, 1.0, 5, 120.0),
    ]
    report = bench.Report("float64", 2, 110.0, True, results)
    assert report.geomean == pytest.approx(math.sqrt(4.0 * 0.5))
    text = bench.format_report(report)
    assert "100-120 beside the points" in text
    assert "%DGEMM" in text
    assert text.splitlines()[-1].startswith(
        "Geometric mean of ratio (torch ms / rnnlab ms): **1.41**"
    )
    assert "worst 0.50 (GRU B=1 H=8 T=10)" in text


def test_measure_times_both_libraries_and_probes_the_gemm_rate():
    pytest.importorskip("torch")
    point = bench.Point("lstm", B=2, H=8, T=5, I=3)
    probe = bench.GemmProbe(np.float64, n=64)
    r = bench.measure(point, np.dtype(np.float64), True, min_repeats=3, budget_s=0.01, probe=probe)
    assert r.repeats >= 3
    assert r.rnnlab_ms > 0 and r.torch_ms > 0 and r.gemm_gflops > 0
    assert r.ratio == pytest.approx(r.torch_ms / r.rnnlab_ms)


def test_bad_probe_arguments_are_named():
    with pytest.raises(ValueError, match="n"):
        bench.GemmProbe(np.float32, n=0)
    with pytest.raises(ValueError, match="repeats"):
        bench.GemmProbe(np.float32, n=8).rate(0)


def test_gemm_rate_is_the_median_of_probes_between_the_repeats():
    class CountingProbe:
        def __init__(self):
            self.rates = iter([50.0, 10.0, 30.0, 20.0, 40.0, 60.0, 70.0, 80.0])
            self.calls = 0

        def rate(self, repeats):
            assert repeats == 1
            self.calls += 1
            return next(self.rates)

    probe = CountingProbe()
    point = bench.Point("rnn", B=1, H=4, T=3, I=2)
    r = bench.measure(point, np.dtype(np.float64), False, min_repeats=5, budget_s=0.0, probe=probe)
    assert r.repeats == 5 and probe.calls == 5  # one probe per round while rounds <= PROBES
    assert r.gemm_gflops == 30.0  # median of 50, 10, 30, 20, 40
    probe = CountingProbe()
    r = bench.measure(
        point,
        np.dtype(np.float64),
        False,
        min_repeats=20,
        max_repeats=20,
        budget_s=0.0,
        probe=probe,
    )
    assert probe.calls == 7  # every third round of 20


def test_write_section_replaces_only_its_own_block(tmp_path):
    path = tmp_path / "results.md"
    bench.write_section(path, "layer", "layer table v1")
    bench.write_section(path, "train", "train table v1")
    bench.write_section(path, "layer", "layer table v2")
    text = path.read_text()
    assert "layer table v2" in text and "layer table v1" not in text
    assert text.index("layer table v2") < text.index("train table v1")
    assert text.count("<!-- begin layer -->") == 1 and text.count("<!-- end train -->") == 1


def test_training_step_workloads_and_report():
    from rnnlab import bench_train

    names = [w.name for w in bench_train.workloads()]
    assert {"adding", "temporal order", "min-char-rnn", "2-layer bi tagger"} <= set(names)
    w = bench_train.Workload("t", "lstm", B=3, H=4, T=5, I=6, K=6, loss="ce", target="every")
    x, tgt = bench_train.make_batch(w, np.dtype(np.float32))
    assert x.shape == (5, 3, 6) and tgt.shape == (5, 3) and np.all(x.sum(axis=2) == 1.0)
    results = [
        bench_train.StepResult(w, rnnlab_ms=1.0, torch_ms=4.0, repeats=7),
        bench_train.StepResult(w, rnnlab_ms=2.0, torch_ms=1.0, repeats=7),
    ]
    report = bench_train.StepReport("float32", 1, results, loadavg="0.5 0.5 0.5")
    assert report.geomean == pytest.approx(math.sqrt(4.0 * 0.5))
    text = bench_train.format_step_report(report)
    assert "load average 0.5 0.5 0.5" in text and "worst 0.50 (t)" in text


@pytest.mark.parametrize("cell,loss,target", [("gru", "mse", "last"), ("rnn", "ce", "every")])
def test_training_steps_run_on_both_sides(cell, loss, target):
    pytest.importorskip("torch")
    from rnnlab import bench_train

    w = bench_train.Workload("t", cell, B=2, H=4, T=3, I=5, K=5, loss=loss, target=target)
    r = bench_train.measure_step(w, np.dtype(np.float64), min_repeats=2, max_repeats=2)
    assert r.repeats == 2 and r.rnnlab_ms > 0 and r.torch_ms > 0
    # a tiny step is timed in blocks of consecutive steps; a block of one with no block time
    assert r.steps_per_block > 1
    r = bench_train.measure_step(w, np.dtype(np.float64), min_repeats=2, max_repeats=2, block_s=0)
    assert r.steps_per_block == 1


def test_trainer_timing_counts_every_part_once(tmp_path):
    from rnnlab.bench_trainer import format_trainer_row, time_trainer

    settings = dict(length=20, hidden=8, eval_every=5, eval_size=64, screen_size=16)
    bare = time_trainer("float32", 0, steps=20, background=False, **settings)
    t = time_trainer("float32", 0, steps=20, background=False, run_folder=True, **settings)
    assert bare.steps == t.steps == 20 and not bare.run_folder and t.run_folder
    assert bare.checkpoints == bare.figure == 0.0 and t.checkpoints > 0.0 and t.figure > 0.0
    # the parts are disjoint: together no more than the wall time
    assert t.step + t.batches + t.evaluation + t.checkpoints + t.figure <= t.wall
    assert t.evaluation >= 0.0 and 0.0 < t.outside_loop < t.outside < 1.0
    assert "| written |" in format_trainer_row(t) and "| none |" in format_trainer_row(bare)


def test_command_timing_runs_the_console_script_whole():
    from rnnlab.bench_trainer import command_runs, format_command_row, time_command

    runs = command_runs(["float32"], quick=True)
    assert [what for what, _ in runs] == ["adding T=100", "temporal order", "char model, 5 steps"]
    c = time_command(["--task", "adding", "--dtype", "float32", "--steps", "5"], "adding")
    # the fresh process ran its 5 steps, timed inside it; its wall time holds the interpreter's
    # start and the imports, so it is longer than the steps
    assert c.steps == 5 and c.dropped == 0 and c.wall > 0.5 and 0.0 < c.step < c.wall
    assert 0.0 < c.outside < 1.0
    assert format_command_row(c).startswith("| adding | float32 | 5 | ")
    with pytest.raises(RuntimeError, match="exited with 2"):
        time_command(["--task", "nonsense"], "bad")
