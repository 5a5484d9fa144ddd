"""Jobs per hour of ``rnnlab sweep`` with 1 worker, 2 local processes and a 2-worker Dask cluster.

Every configuration runs the same kind of job (an LSTM on the adding problem, T=100, a fixed
number of updates, so every job costs the same), each configuration its own seeds and results
file. Printed per configuration: wall time, jobs per hour, the machine's load average before and
after (other processes on the machine take cores away from the sweep), and the CPU seconds the
sweep's processes used per job (``resource.getrusage`` of the children, or of the Dask workers),
which contention does not change.

    python benchmarks/sweep_scale.py [--jobs 8] [--steps 600] [--out /tmp/sweep-scale]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import time
from pathlib import Path

from rnnlab.sweep import expand, run_sweep


def jobs_for(n: int, steps: int, offset: int) -> list:
    spec = {
        "sweep": {"name": "scale", "seeds": list(range(offset, offset + n)), "fresh_eval": 256},
        "base": {
            "steps": steps,
            "dtype": "float64",  # the README's table was measured so
            "eval_every": 10**6,
            "eval_size": 256,
            "screen_size": None,
            "time_budget": None,
        },
        "grid": {"task": ["adding"], "model": ["lstm"], "length": [100]},
    }
    return expand(spec)


def dask_worker_cpu(client) -> float:
    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    return sum(client.run(cpu).values())


def measure(name: str, jobs: list, out: Path, **kw) -> dict:
    db = out / f"{name}.sqlite"
    load0 = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    if kw.get("scheduler") == "local:2":
        from distributed import Client

        from rnnlab.sweep.runner import local_cluster

        # what --scheduler local:2 starts
        with local_cluster(2) as cluster, Client(cluster) as client:
            addr = cluster.scheduler_address
            t0 = time.perf_counter()  # the cluster is up: time the sweep as on an existing one
            r = run_sweep(jobs, db, runs_dir=out / name, scheduler=addr, progress=False)
            cpu = dask_worker_cpu(client)
    else:
        r = run_sweep(jobs, db, runs_dir=out / name, progress=False, **kw)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    wall = time.perf_counter() - t0
    assert r.failed == 0 and r.ran == len(jobs), r
    row = {
        "config": name,
        "jobs": len(jobs),
        "wall_s": round(wall, 1),
        "jobs_per_hour": round(3600 * len(jobs) / wall, 1),
        "cpu_s_per_job": round(cpu / len(jobs), 2),
        "load_before": round(load0, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=8)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--out", type=str, default="/tmp/sweep-scale")
    a = ap.parse_args()
    out = Path(a.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = [
        measure("1-worker", jobs_for(a.jobs, a.steps, 0), out, workers=1),
        measure("2-processes", jobs_for(a.jobs, a.steps, 100), out, workers=2),
        measure("dask-2-workers", jobs_for(a.jobs, a.steps, 200), out, scheduler="local:2"),
    ]
    base = rows[0]["jobs_per_hour"]
    for r in rows[1:]:
        print(f"{r['config']}: {r['jobs_per_hour'] / base:.2f}x the jobs per hour of 1 worker")


if __name__ == "__main__":
    main()
