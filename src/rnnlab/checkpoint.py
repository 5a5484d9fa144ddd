"""Checkpoints: parameters, optimiser state and metadata in one safetensors file.

Arrays go in as safetensors tensors; everything else (config, step counters, the random generator's
state, scalar optimiser state) goes in as JSON inside the safetensors metadata. Loading never
unpickles: safetensors reads raw buffers and ``json`` reads text. Every file is written to a
temporary name in the destination folder and then renamed with ``os.replace``, so a crash leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as _st_load
from safetensors.numpy import save as _st_save

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.csv"
CURVE_FILE = "loss-curve.png"
_META_KEY = "rnnlab"  # the one metadata entry; its value is JSON
_FORMAT = 1


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) atomically; see :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_with(path: str | os.PathLike, writer: Callable[[str], None]) -> None:
    """Let ``writer(tmp_path)`` write a file (e.g. ``savefig``), then rename it to ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _flatten(tree: Any, prefix: str, arrays: dict[str, np.ndarray], rest: dict[str, Any]) -> None:
    """Split a nested dict into arrays (keys joined with '/') and JSON-able leaves."""
    if isinstance(tree, dict):
        for key, value in tree.items():
            if not isinstance(key, str) or "/" in key:
                raise ValueError(f"state key: expected a str without '/', got {key!r}")
            _flatten(value, f"{prefix}/{key}" if prefix else key, arrays, rest)
    elif isinstance(tree, np.ndarray):
        arrays[prefix] = np.ascontiguousarray(tree) if tree.ndim else tree.copy()
    elif isinstance(tree, np.generic):
        rest[prefix] = tree.item()
    else:
        rest[prefix] = tree


def _unflatten(arrays: dict[str, np.ndarray], rest: dict[str, Any]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for flat, value in [*arrays.items(), *rest.items()]:
        node = tree
        *parents, leaf = flat.split("/")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return tree


def save_checkpoint(
    path: str | os.PathLike,
    params: dict[str, np.ndarray],
    optimizer_state: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Save ``params``, a (nested) optimiser ``state_dict`` and JSON-able ``metadata`` atomically.

    Tensor names are ``params/<name>`` and ``optim/<path>``; non-array optimiser entries and the
    metadata travel as JSON in the safetensors header.
    """
    if not isinstance(params, dict) or not params:
        raise TypeError(f"params: expected a non-empty dict of arrays, got {type(params).__name__}")
    arrays: dict[str, np.ndarray] = {}
    rest: dict[str, Any] = {}
    for name, value in params.items():
        if not isinstance(value, np.ndarray):
            raise TypeError(f"params[{name!r}]: expected a numpy.ndarray, got {type(value)}")
    _flatten({"params": dict(params)}, "", arrays, rest)
    if optimizer_state is not None:
        _flatten({"optim": optimizer_state}, "", arrays, rest)
    # safetensors stores 0-d arrays as shape (1,); remember which ones to restore their shape.
    scalars = sorted(k for k, a in arrays.items() if a.ndim == 0)
    header = {"format": _FORMAT, "leaves": rest, "scalars": scalars, "metadata": metadata or {}}
    try:
        text = json.dumps(header, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"metadata: expected JSON-serialisable values ({exc})") from None
    data = _st_save(arrays, metadata={_META_KEY: text})
    atomic_write_bytes(path, data)


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns."""

    params: dict[str, np.ndarray]  # parameter name -> array
    optimizer_state: dict[str, Any] | None  # the optimiser's state_dict, or None if none was saved
    metadata: dict[str, Any]  # config, counters, random-generator state, ...


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (no unpickling anywhere)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: no such file {str(path)!r}")
    raw = path.read_bytes()
    try:
        arrays = _st_load(raw)
        header_len = int.from_bytes(raw[:8], "little")
        st_meta = json.loads(raw[8 : 8 + header_len]).get("__metadata__") or {}
        header = json.loads(st_meta[_META_KEY])
    except (SafetensorError, ValueError, KeyError, json.JSONDecodeError) as exc:
        raise ValueError(f"checkpoint: {str(path)!r} is not an rnnlab checkpoint ({exc})") from None
    arrays = {k: np.array(v) for k, v in arrays.items()}
    for k in header.get("scalars", []):
        if k in arrays:
            arrays[k] = arrays[k].reshape(())
    tree = _unflatten(arrays, header.get("leaves", {}))
    if "params" not in tree:
        raise ValueError(f"checkpoint: {str(path)!r} holds no parameters")
    return Checkpoint(
        params=tree["params"], optimizer_state=tree.get("optim"), metadata=header["metadata"]
    )


@dataclass
class LoadedRun:
    """A trained run read back from its folder by :func:`load_run`."""

    path: Path  # the run folder
    config: Any  # rnnlab.train.TrainConfig
    model: Any  # rnnlab.model.SequenceModel with the trained parameters
    metadata: dict[str, Any]  # counters and status saved with the checkpoint
    optimizer_state: dict[str, Any] | None  # the optimiser's state_dict

    @property
    def metrics_path(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG_FILE


def save_run(
    run_dir: str | os.PathLike,
    model: Any,
    optimizer_state: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> None:
    """Write ``model.safetensors`` of a run folder (the config is written by the trainer)."""
    save_checkpoint(Path(run_dir) / MODEL_FILE, model.params, optimizer_state, metadata)


def load_run(path: str | os.PathLike) -> LoadedRun:
    """Load a run folder: ``config.toml`` -> TrainConfig, ``model.safetensors`` -> model.

    ``path`` may be the run folder or its ``model.safetensors``. Returns an object with
    ``.config``, ``.model`` (``.model.layer`` is the recurrent layer, ``.model.params`` all
    parameters), ``.metrics_path`` and ``.metadata``.
    """
    from .train import build_model, read_config  # train imports this module

    path = Path(path)
    run_dir = path.parent if path.is_file() else path
    if not run_dir.is_dir():
        raise FileNotFoundError(f"run: no such folder {str(run_dir)!r}")
    if not (run_dir / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"run: {str(run_dir)!r} has no {CONFIG_FILE}; is it a run folder?")
    config = read_config(run_dir / CONFIG_FILE)
    ckpt = load_checkpoint(run_dir / MODEL_FILE)
    model = build_model(config)
    model.load_params(ckpt.params)
    return LoadedRun(run_dir, config, model, ckpt.metadata, ckpt.optimizer_state)
