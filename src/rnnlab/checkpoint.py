"""Checkpoints: parameters, optimiser state and metadata in one safetensors file.

Arrays go in as safetensors tensors; everything else (config, step counters, the random generator's
state, scalar optimiser state) goes in as JSON inside the safetensors metadata. Loading never
unpickles: safetensors reads raw buffers and ``json`` reads text. Every file is written to a
temporary name in the destination folder and then renamed with ``os.replace``, so a crash leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as _st_load
from safetensors.numpy import save as _st_save

from ._files import atomic_write_bytes, atomic_write_text, atomic_write_with

__all__ = [
    "Checkpoint",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_with",
    "load_checkpoint",
    "save_checkpoint",
]

MODEL_FILE = "model.safetensors"
CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.csv"
CURVE_FILE = "loss-curve.png"
_META_KEY = "rnnlab"  # the one metadata entry; its value is JSON
_FORMAT = 2  # 2: the header holds a SHA-256 of the tensors (format 1 had none)


def tensors_sha256(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a)  # contiguous: hashed where it lies (no copy)
    return h.hexdigest()


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
    extra: dict[str, Any] | None = None,
) -> None:
    """Save ``params``, a (nested) optimiser ``state_dict``, JSON-able ``metadata`` and a nested
    dict of ``extra`` arrays (e.g. a carried hidden state) atomically.

    Tensor names are ``params/<name>``, ``optim/<path>`` and ``extra/<path>``; non-array entries
    and the metadata travel as JSON in the safetensors header.
    """
    atomic_write_bytes(path, checkpoint_bytes(params, optimizer_state, metadata, extra))


def checkpoint_bytes(
    params: dict[str, np.ndarray],
    optimizer_state: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    """The file :func:`save_checkpoint` writes, as bytes (a copy: the arrays may change after)."""
    return deferred_checkpoint(params, optimizer_state, metadata, extra, copy=False)()


def deferred_checkpoint(
    params: dict[str, np.ndarray],
    optimizer_state: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    *,
    copy: bool = True,
) -> Callable[[], bytes]:
    """:func:`checkpoint_bytes` in two halves: the checks and the copies of what the caller may
    change after now, the hashing and encoding when the returned function is called (by a
    writer thread: a run folder's saves then cost the training thread a fifth of a full
    encoding, ``benchmarks/NOTES.md``). ``copy=False`` leaves the arrays uncopied, for a caller
    that encodes at once. Bad arguments raise here, not in the returned function.
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
    if extra:
        _flatten({"extra": extra}, "", arrays, rest)
    if copy:  # _flatten keeps contiguous arrays as they are
        arrays = {k: a.copy() for k, a in arrays.items()}
    # the JSON parts as text now: checked here, and fixed against later changes (loaded again
    # and dumped in the header, they give the same text)
    try:
        leaves = json.dumps(rest, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"optimizer_state: expected JSON-serialisable values ({exc})") from None
    try:
        meta = json.dumps(metadata or {}, allow_nan=True)
    except TypeError as exc:
        raise TypeError(f"metadata: expected JSON-serialisable values ({exc})") from None
    return functools.partial(_encode, arrays, leaves, meta)


def _encode(arrays: dict[str, np.ndarray], leaves: str, meta: str) -> bytes:
    # safetensors stores 0-d arrays as shape (1,); remember which ones to restore their shape.
    scalars = sorted(k for k, a in arrays.items() if a.ndim == 0)
    header = {
        "format": _FORMAT,
        "leaves": json.loads(leaves),
        "scalars": scalars,
        "metadata": json.loads(meta),
        "sha256": tensors_sha256(arrays),
    }
    return _st_save(arrays, metadata={_META_KEY: json.dumps(header, allow_nan=True)})


@dataclass
class Checkpoint:
    """What :func:`load_checkpoint` returns."""

    params: dict[str, np.ndarray]  # parameter name -> array
    optimizer_state: dict[str, Any] | None  # the optimiser's state_dict, or None if none was saved
    metadata: dict[str, Any]  # config, counters, random-generator state, ...
    extra: dict[str, Any] = field(default_factory=dict)  # further saved arrays (carried state)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` (no unpickling anywhere)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint: no such file {str(path)!r}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"checkpoint: cannot read {str(path)!r} ({exc.strerror})") from None
    try:
        arrays = _st_load(raw)
        header_len = int.from_bytes(raw[:8], "little")
        st_meta = json.loads(raw[8 : 8 + header_len]).get("__metadata__") or {}
        header = json.loads(st_meta[_META_KEY])
        scalars = list(header.get("scalars", []))
        metadata = dict(header["metadata"])
    except (SafetensorError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"checkpoint: {str(path)!r} is not an rnnlab checkpoint ({exc})") from None
    arrays = {k: np.array(v) for k, v in arrays.items()}
    for k in scalars:
        if k in arrays:
            arrays[k] = arrays[k].reshape(())
    want = header.get("sha256")
    if want is not None and tensors_sha256(arrays) != want:
        raise ValueError(
            f"checkpoint: {str(path)!r} is corrupt: its tensors do not match the SHA-256 written "
            "with them"
        )
    tree = _unflatten(arrays, header.get("leaves", {}))
    if "params" not in tree:
        raise ValueError(f"checkpoint: {str(path)!r} holds no parameters")
    return Checkpoint(
        params=tree["params"],
        optimizer_state=tree.get("optim"),
        metadata=metadata,
        extra=tree.get("extra", {}),
    )
