"""Quality at equal compute on the stdlib corpus: rnnlab's default text model, the
min-char-rnn baseline and the same model in PyTorch, each trained for the same CPU budget on
one core, each scored on the held-out text by rnnlab's fixed rule.

Runs ``min_char_rnn.py``, ``torch_char_lm.py`` and ``rnnlab_char_lm.py`` one after the other
(one thread each; budgets in CPU seconds of the training process, so other load on the machine
does not shorten one side), then writes ``benchmarks/text/results.md`` (the table) and
``benchmarks/text/curves.png`` (held-out nats/char against CPU seconds). Usage::

    python benchmarks/text_bench.py [--budget 300] [--report-only]
    python benchmarks/text_bench.py --pair-seeds 1 2   # rnnlab and PyTorch again, other seeds
    python benchmarks/text_bench.py --nudge-control    # seed 0 again, weights 1e-6 apart

``--pair-seeds`` runs rnnlab and PyTorch only (min-char-rnn is far behind), each seed's two runs
side by side on the two cores (CPU-second budgets, so sharing the machine does not shorten one
side), writing ``text/rnnlab-seedN.json`` and ``text/torch-seedN.json``; the report adds a table
of every seed measured and the mean difference.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from rnnlab.sweep.runner import ONE_THREAD_ENV

HERE = Path(__file__).resolve().parent
OUT = HERE / "text"
RUNS = (
    ("min_char_rnn", "min_char_rnn.py"),
    ("torch", "torch_char_lm.py"),
    ("rnnlab", "rnnlab_char_lm.py"),
)
LABELS = {"min_char_rnn": "min-char-rnn (NumPy)", "torch": "PyTorch", "rnnlab": "rnnlab"}


ENV = {**os.environ, **ONE_THREAD_ENV}  # every run on one thread


def command(script: str, out: str, text: str, budget: float, extra: list[str]) -> list[str]:
    """The command line of one equal-compute run writing ``text/OUT.json`` (printed)."""
    cmd = [sys.executable, str(HERE / script), "--text", text, "--budget", str(budget), *extra]
    cmd += ["--out", str(OUT / f"{out}.json")]
    print("$", " ".join(cmd[1:]), flush=True)
    return cmd


def run_all(budget: float, text: str) -> None:
    for name, script in RUNS:
        subprocess.run(command(script, name, text, budget, []), check=True, env=ENV)


def run_pair(budget: float, text: str, seed: int, suffix: str, extra: list[str]) -> None:
    """rnnlab's and PyTorch's run of ``seed`` side by side, to ``NAME{suffix}.json``."""
    procs = [
        subprocess.Popen(
            command(script, name + suffix, text, budget, ["--seed", str(seed), *extra]), env=ENV
        )
        for name, script in RUNS[1:]  # torch, rnnlab
    ]
    if any(p.wait() for p in procs):
        raise SystemExit(f"a run of seed {seed} failed")


def run_pair_seeds(budget: float, text: str, seeds: list[int]) -> None:
    for seed in seeds:
        run_pair(budget, text, seed, f"-seed{seed}", [])


NUDGE = 1e-6  # the control's change of the initial weights: a few float32 roundings


def seed_table(res: dict) -> list[str]:
    """rnnlab against PyTorch for every seed measured (seed 0: the main table's runs)."""
    pairs = {0: (res["rnnlab"], res["torch"])}
    for f in sorted(OUT.glob("rnnlab-seed*.json")):
        seed = int(f.stem.split("seed")[1])
        t = OUT / f"torch-seed{seed}.json"
        if t.is_file():
            pairs[seed] = (json.loads(f.read_text()), json.loads(t.read_text()))
    if len(pairs) < 2:
        return []
    lines = [
        "",
        "## rnnlab against PyTorch over seeds "
        "(`python benchmarks/text_bench.py --pair-seeds 1 2 3 4 5`)",
        "",
        "Seed: the initial weights and the streams' offsets, the same for both sides. Held-out "
        "nats/char after the same CPU budget; difference = PyTorch - rnnlab (positive: rnnlab "
        "lower).",
        "",
        "| seed | rnnlab updates | rnnlab nats/char | PyTorch updates | PyTorch nats/char "
        "| difference |",
        "|---|---|---|---|---|---|",
    ]
    diffs = []
    for seed, (r, t) in sorted(pairs.items()):
        d = t["final_heldout_nats"] - r["final_heldout_nats"]
        diffs.append(d)
        lines.append(
            f"| {seed} | {r['steps']:,} | {r['final_heldout_nats']:.3f} | {t['steps']:,} | "
            f"{t['final_heldout_nats']:.3f} | {d:+.3f} |"
        )
    mean_r = sum(p[0]["final_heldout_nats"] for p in pairs.values()) / len(pairs)
    mean_t = sum(p[1]["final_heldout_nats"] for p in pairs.values()) / len(pairs)
    lines.append(
        f"| **mean** | | **{mean_r:.3f}** | | **{mean_t:.3f}** | "
        f"**{sum(diffs) / len(diffs):+.3f}** |"
    )
    sd = statistics.stdev(diffs)
    lines += [
        "",
        f"Differences over {len(diffs)} seeds: mean {statistics.mean(diffs):+.3f}, standard "
        f"deviation {sd:.3f}, standard error of the mean {sd / len(diffs) ** 0.5:.3f} nats/char.",
    ]
    r_n, t_n = OUT / "rnnlab-nudged.json", OUT / "torch-nudged.json"
    if r_n.is_file() and t_n.is_file():
        dr = json.loads(r_n.read_text())["final_heldout_nats"] - res["rnnlab"]["final_heldout_nats"]
        dt = json.loads(t_n.read_text())["final_heldout_nats"] - res["torch"]["final_heldout_nats"]
        lines += [
            "",
            "Control (`python benchmarks/text_bench.py --nudge-control`): each implementation "
            f"run again on seed 0 with its first recurrent matrix scaled by 1 + {NUDGE:g} (a few "
            "float32 roundings) moved its own result by "
            f"{dr:+.3f} (rnnlab) and {dt:+.3f} (PyTorch) nats/char: two runs that differ only in "
            "rounding drift apart by this much, the same implementation or not.",
        ]
    return lines


def report() -> None:
    from matplotlib.figure import Figure

    res = {n: json.loads((OUT / f"{n}.json").read_text()) for n, _ in RUNS}
    ln2 = 0.6931471805599453
    lines = [
        "# Text: quality at equal compute (stdlib corpus)",
        "",
        "Reproduce: `python benchmarks/text_bench.py` (about 3 x the budget plus scoring).",
        f"Machine: {platform.processor() or platform.machine()}, shared with other jobs; each run "
        "single-threaded, trained for the same budget of **CPU seconds** of its own process "
        "(`time.process_time`), so load from other processes does not shorten one side. "
        "Held-out: the last 5% of the stream, scored from a zero state carried to its end.",
        "",
        "| model | CPU s | wall s | updates | chars seen | held-out nats/char | bits/char |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, _ in RUNS:
        r = res[n]
        lines.append(
            f"| {r['name']} | {r['train_cpu_s']:.0f} | {r['train_wall_s']:.0f} | "
            f"{r['steps']:,} | {r['chars_seen']:,} | **{r['final_heldout_nats']:.3f}** | "
            f"{r['final_heldout_nats'] / ln2:.3f} |"
        )
    d_mcr = res["min_char_rnn"]["final_heldout_nats"] - res["rnnlab"]["final_heldout_nats"]
    d_t = res["torch"]["final_heldout_nats"] - res["rnnlab"]["final_heldout_nats"]
    lines += [
        "",
        f"rnnlab is **{d_mcr:.3f} nats/char** below min-char-rnn (goal: at least 0.3) and "
        f"{d_t:+.3f} nats/char against PyTorch (positive: rnnlab lower; goal: >= 0).",
        f"Held-out text: {res['rnnlab']['final_heldout_chars']:,} characters; the curves score "
        f"the first {res['rnnlab']['curve_chars']:,} of them at each snapshot.",
        "",
        "![curves](curves.png)",
        "",
    ]
    lines += seed_table(res)
    lines.append("")
    step, mem = OUT / "step.json", OUT / "memory.json"
    if step.is_file():
        r = json.loads(step.read_text())
        lines += [
            "## Training step and sampling (`python benchmarks/text_step.py --out "
            "benchmarks/text/step.json`)",
            "",
            f"2-layer LSTM, H={r['H']}, B={r['B']}, V={r['V']}, float32, one thread, rnnlab and "
            "PyTorch interleaved in one process; medians of the per-step CPU time.",
            "",
            "| T | rnnlab ms | PyTorch ms | PyTorch / rnnlab |",
            "|---|---|---|---|",
        ]
        for k, v in r["steps"].items():
            lines.append(
                f"| {k[2:]} | {v['rnnlab_cpu_ms']:.1f} | {v['torch_cpu_ms']:.1f} | "
                f"{v['torch_over_rnnlab_cpu']:.2f} |"
            )
        two = r.get("sample_10000_chars_wall_s_2_threads")
        lines += [
            "",
            f"Sampling 10,000 characters from the 2x{r['H']} LSTM (median of 5): on one thread "
            f"{r['sample_10000_chars_wall_s']:.2f} s wall ({r['sample_10000_chars_cpu_s']:.2f} "
            "CPU s)"
            + (
                f"; on two threads {two:.2f} s wall "
                f"({r['sample_10000_chars_cpu_s_2_threads']:.2f} CPU s)."
                if two is not None
                else "."
            ),
            "",
        ]
    if mem.is_file():
        r = json.loads(mem.read_text())
        lines += [
            "## Memory (`python benchmarks/text_memory.py --out benchmarks/text/memory.json`)",
            "",
            f"{r['files']:,} files, {r['corpus_MiB']:.1f} MiB, {r['characters']:,} characters, "
            f"{r['vocabulary']} symbols (stream {r['stream_MiB']:.1f} MiB); 20 training steps. "
            f"Peak resident memory above the process before the corpus is read: "
            f"**{r['peak_minus_before_MiB']:.1f} MiB**, against 3 x corpus + model (parameters, "
            f"gradients, Adam's buffers) = {r['limit_3x_corpus_plus_model_MiB']:.1f} MiB. "
            f"The process itself (Python, NumPy, Numba, compiled kernels) held "
            f"{r['rss_before_MiB (after warm-up)']:.0f} MiB before.",
            "",
        ]
    (OUT / "results.md").write_text("\n".join(lines))
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for n, _ in RUNS:
        c = res[n]["curve"]
        ax.plot(
            [p["cpu_s"] for p in c], [p["heldout_nats"] for p in c], marker=".", label=LABELS[n]
        )
    ax.set_xlabel("training CPU seconds (one core)")
    ax.set_ylabel("held-out nats/char")
    ax.set_title("stdlib corpus: held-out loss at equal compute")
    top = max(max(p["heldout_nats"] for p in res[n]["curve"][1:]) for n, _ in RUNS)
    ax.set_ylim(0, min(top, 6.0) * 1.05)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(OUT / "curves.png", dpi=110)
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=300.0)
    ap.add_argument("--text", default="stdlib")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--pair-seeds", type=int, nargs="*", default=None)
    ap.add_argument(
        "--nudge-control",
        action="store_true",
        help="seed 0 again on both sides with the initial weights a rounding error apart",
    )
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    if a.nudge_control:
        run_pair(a.budget, a.text, 0, "-nudged", ["--nudge", str(NUDGE)])
    elif a.pair_seeds:
        run_pair_seeds(a.budget, a.text, a.pair_seeds)
    elif not a.report_only:
        run_all(a.budget, a.text)
    report()


if __name__ == "__main__":
    main()
