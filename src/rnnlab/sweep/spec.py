"""A sweep spec (TOML) and its expansion into independent training jobs.

A spec file::

    [sweep]
    name = "adding-lengths"      # label stored with every job
    seeds = 3                    # seeds 0, 1, 2 (or a list: [0, 5, 7])
    fresh_eval = 2560            # fresh test sequences each finished run is judged on again

    [base]                       # TrainConfig fields shared by every job
    max_sequences = 20000
    time_budget = 120

    [grid]                       # every combination of these lists is one setting
    task = ["adding", "temporal_order"]
    model = ["lstm", "gru"]
    length = [50, 100]
    "task_kwargs.symbols" = [2]  # a task setting (dotted key)

``[[extra]]`` tables add single settings outside the grid (each merged over ``[base]``). Every
setting runs once per seed. A job is identified by the hash of its full config, so the same
setting and seed in two sweeps is the same job.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..training.config import TrainConfig, config_from_dict, make_source

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SWEEP_KEYS = ("name", "seeds", "fresh_eval")
TOP_KEYS = ("sweep", "base", "grid", "extra")
CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in ("out",))


@dataclass
class Job:
    """One training run of a sweep."""

    config: dict[str, Any]  # TrainConfig fields (no ``out``; the runner sets the run folder)
    sweep: str = ""  # the sweep's name
    fresh_eval: int | None = None  # fresh test sequences for the second verdict (None: task's)
    key: str = field(init=False)  # hash of the config: the job's identity in the results file

    def __post_init__(self) -> None:
        self.key = config_hash(self.config)

    def train_config(self, out: str | None) -> TrainConfig:
        return config_from_dict({**self.config, "out": out}, where=f"job {self.key}")


def config_hash(config: dict[str, Any]) -> str:
    """A stable 16-hex-digit hash of a config dict (key order and int/float spelling ignored)."""

    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: norm(v[k]) for k in sorted(v)}
        if isinstance(v, float) and v.is_integer():
            return int(v)
        return v

    text = json.dumps(norm({k: v for k, v in config.items() if k != "out"}), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _check_keys(where: str, table: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise TypeError(f"{where}: expected a table, got {type(table).__name__}")
    for k in table:
        key = k.split(".", 1)[0] if k.startswith("task_kwargs.") else k
        if key not in allowed:
            raise ValueError(
                f"{where}.{k}: unknown key; expected one of {', '.join(allowed)}"
                + (" or task_kwargs.NAME" if "task_kwargs" in allowed else "")
            )
    return table


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` on ``base``; dotted ``task_kwargs.NAME`` keys go into ``task_kwargs``."""
    out = {**base, "task_kwargs": dict(base.get("task_kwargs", {}))}
    for k, v in over.items():
        if k.startswith("task_kwargs."):
            out["task_kwargs"][k.split(".", 1)[1]] = v
        elif k == "task_kwargs":
            out["task_kwargs"].update(v)
        else:
            out[k] = v
    if not out["task_kwargs"]:
        del out["task_kwargs"]
    return out


def _seeds(v: Any) -> list[int]:
    if isinstance(v, int) and not isinstance(v, bool):
        if v < 1:
            raise ValueError(f"sweep.seeds: expected a positive count or a list of seeds, got {v}")
        return list(range(v))
    if isinstance(v, list) and v and all(isinstance(s, int) and s >= 0 for s in v):
        return list(dict.fromkeys(v))
    raise ValueError(f"sweep.seeds: expected a positive count or a list of seeds >= 0, got {v!r}")


def expand(spec: dict[str, Any]) -> list[Job]:
    """Every job of the spec (a dict as read from TOML), checked; duplicates dropped.

    Raises ValueError naming the key for unknown keys or values, and for an empty grid.
    """
    _check_keys("spec", spec, TOP_KEYS)
    head = _check_keys("sweep", spec.get("sweep", {}), SWEEP_KEYS)
    base = _check_keys("base", spec.get("base", {}), CONFIG_KEYS)
    grid = _check_keys("grid", spec.get("grid", {}), CONFIG_KEYS)
    extra = spec.get("extra", [])
    if not isinstance(extra, list):
        raise TypeError("extra: expected an array of tables ([[extra]])")
    if "seed" in grid or "seed" in base:
        raise ValueError("grid.seed: seeds are set by sweep.seeds, not by the grid")
    seeds = _seeds(head.get("seeds", 1))
    name = str(head.get("name", ""))
    fresh = head.get("fresh_eval")
    if fresh is not None and (not isinstance(fresh, int) or fresh < 1):
        raise ValueError(f"sweep.fresh_eval: expected a positive int, got {fresh!r}")
    for k, v in grid.items():
        if not isinstance(v, list) or not v:
            raise ValueError(f"grid.{k}: expected a non-empty list of values, got {v!r}")
    settings = []
    if grid:
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            settings.append(_merge(base, dict(zip(keys, combo))))
    for i, e in enumerate(extra):
        settings.append(_merge(base, _check_keys(f"extra[{i}]", e, CONFIG_KEYS)))
    if not settings:
        raise ValueError("grid: the sweep has no jobs (give [grid] lists or [[extra]] settings)")
    jobs: dict[str, Job] = {}
    for s in settings:
        for seed in seeds:
            cfg = {**s, "seed": seed}
            where = f"grid setting {_describe(s)}"
            try:  # bad values fail here, before anything runs, and say which setting
                make_source(config_from_dict(cfg, where=where))
            except (ValueError, TypeError) as exc:
                raise type(exc)(f"{where}: {exc}") from None
            job = Job(cfg, sweep=name, fresh_eval=fresh)
            jobs.setdefault(job.key, job)
    return list(jobs.values())


def _describe(s: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in s.items() if k in ("task", "model", "length"))


def read_spec(path: str | os.PathLike) -> list[Job]:
    """The jobs of the spec file ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"spec: no such file {str(path)!r}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"spec: cannot read {str(path)!r} ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"spec: {str(path)!r} is not valid TOML ({exc})") from None
    return expand(data)
