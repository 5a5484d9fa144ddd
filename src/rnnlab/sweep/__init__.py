"""Sweeps: grids of training jobs, run in local processes or on a Dask cluster, with their
results in one SQLite file (see :mod:`rnnlab.sweep.spec` for the spec format)."""

from .runner import SweepResult, connect, run_job, run_sweep
from .spec import Job, config_hash, expand, read_spec
from .store import ResultsDB

__all__ = [
    "Job",
    "ResultsDB",
    "SweepResult",
    "config_hash",
    "connect",
    "expand",
    "read_spec",
    "run_job",
    "run_sweep",
]
