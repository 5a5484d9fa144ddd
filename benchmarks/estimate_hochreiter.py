"""What the full ``rnnlab reproduce hochreiter1997 --seeds 10`` costs, from a measured grid.

Reads a results file (e.g. the quick grid's) for the seconds per training sequence of each
(model row, task), scales it to the full grid's settings by sequence length (a step's cost grows
linearly with T at these sizes), and adds up two figures:

- upper bound: every run spends its whole sequence budget, capped by its time budget (3,600 s);
- expected: runs of a row that solved in the measured grid stop at that row's median sequences to
  solve (scaled by the budget ratio where the setting was not measured), the others run to the cap.

    python benchmarks/estimate_hochreiter.py reproduce/hochreiter1997-quick/results.sqlite \
        [--cpu-share 0.26]   # CPU seconds per wall second the measured runs had
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

from rnnlab.sweep import ResultsDB
from rnnlab.sweep.papers import HS_ROWS, SETTINGS, hochreiter_jobs

CAP = 3600.0  # the full grid's time budget per run (seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--cores", type=int, default=100)
    ap.add_argument(
        "--cpu-share",
        type=float,
        default=1.0,
        help="CPU seconds per wall second the measured runs got (below 1 on a loaded machine: "
        "their wall seconds overstate the CPU time)",
    )
    a = ap.parse_args()
    with ResultsDB(a.results, write=False) as db:
        rows = [r for r in db.rows() if (r["sweep"] or "").startswith("hochreiter1997|")]
    per_seq: dict[tuple[str, str], list[float]] = defaultdict(list)  # (row, task) -> s/seq/T
    solved_frac: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        if not r["sequences"] or not r["seconds"]:
            continue
        _, key, row = r["sweep"].split("|")
        s = SETTINGS[key]
        T = s.task_kwargs.get("length", 20)
        per_seq[(row, s.task)].append(a.cpu_share * r["seconds"] / r["sequences"] / T)
        budget = min(s.budget, r["config"].get("max_sequences") or s.budget)
        solved_frac[(row, key)].append(
            r["solved_at"] / budget if r["status"] == "solved" else float("nan")
        )
    by_row = {
        row: statistics.median([v for (rw, _), vs in per_seq.items() if rw == row for v in vs])
        for row in {rw for rw, _ in per_seq}
    }
    upper = expected = 0.0
    capped = 0
    jobs = hochreiter_jobs(a.seeds)
    for j in jobs:
        _, key, row = j.sweep.split("|")
        s = SETTINGS[key]
        T = s.task_kwargs.get("length", 20)
        c = statistics.median(per_seq.get((row, s.task), [by_row[row]])) * T
        full = min(CAP, s.budget * c)
        capped += full >= CAP
        upper += full
        fr = [f for f in solved_frac.get((row, key), []) if f == f]
        n = len(solved_frac.get((row, key), []))
        if n and len(fr) / n >= 0.5:  # the row mostly solves here: it stops early
            expected += min(CAP, statistics.median(fr) * s.budget * c)
        else:
            expected += full
    print(f"jobs: {len(jobs)} ({len(SETTINGS)} settings x {len(HS_ROWS)} rows x {a.seeds} seeds)")
    print(f"runs that would reach the {CAP:.0f} s cap: {capped}")
    print(f"seconds per sequence and time step, median over settings, by row: {by_row}")
    for name, cpu in (("upper bound", upper), ("expected", expected)):
        print(
            f"{name}: {cpu / 3600:.1f} CPU-hours; on {a.cores} one-thread workers at least "
            f"{cpu / 3600 / a.cores:.2f} h, and never less than the longest run "
            f"({CAP / 3600:.0f} h cap)"
        )


if __name__ == "__main__":
    main()
