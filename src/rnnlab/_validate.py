"""Checks at the public boundary.

Every message names the argument, what was expected and what came, so a user can fix the call
without reading the source.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class NonFiniteError(ValueError):
    """An array holds NaN or inf where finite values were expected (a ValueError, so callers
    that catch bad input catch it too; the trainer catches it to call a run diverged)."""


def as_rng(rng: int | np.random.Generator | None, name: str = "rng") -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from an int seed or a Generator (never global state)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name}: expected a non-negative int seed, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name}: expected an int seed or numpy.random.Generator, got {type(rng).__name__}"
    )


def as_float_dtype(dtype: object, name: str = "dtype") -> np.dtype:
    """Return float32 or float64 as a ``np.dtype``; anything else is a TypeError."""
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"{name}: expected numpy.float32 or numpy.float64, got {dtype!r}") from None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"{name}: expected numpy.float32 or numpy.float64, got {dt}")
    return dt


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as int if it is an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a positive int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name}: expected a positive int, got {value}")
    return int(value)


def check_positive_float(name: str, value: object) -> float:
    """Return ``value`` as float if it is a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a positive finite number, got {value}")
    return float(value)


def check_finite_float(name: str, value: object) -> float:
    """Return ``value`` as float if it is a finite number (of any sign)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name}: expected a finite number, got {value}")
    return float(value)


def check_choice(name: str, value: object, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``; the error lists them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(choices)}; got {value!r}")
    return value


def check_array(
    name: str,
    a: object,
    ndim: int | None = None,
    dtype: np.dtype | type | None = None,
    shape: Sequence[int | None] | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Check an ndarray's type, rank, dtype, shape (``None`` entries are free) and finiteness."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name}: expected a numpy.ndarray, got {type(a).__name__}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name}: expected a {ndim}-d array, got shape {a.shape} ({a.ndim}-d)")
    if dtype is not None and a.dtype != np.dtype(dtype):
        raise TypeError(f"{name}: expected dtype {np.dtype(dtype)}, got {a.dtype}")
    if shape is not None:
        if len(shape) != a.ndim or any(s is not None and s != d for s, d in zip(shape, a.shape)):
            want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name}: expected shape {want}, got {a.shape}")
    # the ufunc's own .all(): np.all's Python layers cost a microsecond on every call
    if finite and a.dtype.kind in "fc" and not np.isfinite(a).all():
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise NonFiniteError(f"{name}: expected finite values, got {bad} NaN/inf entries")
    return a


def check_bool(name: str, value: object) -> bool:
    """Return ``value`` as bool if it is a Python or NumPy bool (not 0/1 or a string)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(value).__name__}")
    return bool(value)


def check_index(name: str, value: object, size: int, what: str = "an index") -> int:
    """Return ``value`` as int if it is an integer in ``0..size-1``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= value < size:
        raise ValueError(f"{name}: expected {what} in 0..{size - 1}, got {value!r}")
    return int(value)


def check_instance(name: str, value: object, cls: type | tuple[type, ...], what: str) -> object:
    """Return ``value`` if it is an instance of ``cls``; ``what`` describes it in the error."""
    if not isinstance(value, cls):
        raise TypeError(f"{name}: expected {what}, got {type(value).__name__}")
    return value


def check_last(last: object, T: int, B: int, name: str = "last") -> np.ndarray:
    """Check ``last (B,)``: each sequence's last valid time index, integers in ``0..T-1``."""
    if not isinstance(last, np.ndarray) or last.dtype.kind not in "iu":
        got = getattr(last, "dtype", type(last).__name__)
        raise TypeError(f"{name}: expected an integer numpy array (B,) of time indices, got {got}")
    check_array(name, last, ndim=1, shape=(B,))
    if last.size and (last.min() < 0 or last.max() >= T):
        raise ValueError(
            f"{name}: expected indices in [0, {T - 1}], got [{last.min()}, {last.max()}]"
        )
    return last


def available_memory() -> int | None:
    """Bytes of memory the machine has free (Linux ``MemAvailable``; else physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return None


def gib(n: float) -> str:
    """``n`` bytes in GiB (or MiB below 128 MiB), three digits."""
    return f"{n / 2**30:.3g} GiB" if n >= 2**27 else f"{n / 2**20:.3g} MiB"


def check_memory(name: str, nbytes: float, what: str, share: float = 0.8) -> None:
    """Refuse (ValueError naming ``name``) to allocate ``nbytes`` for ``what`` when that exceeds
    ``share`` of the free memory: a clear error instead of a MemoryError or the OOM killer."""
    free = available_memory()
    if free is not None and nbytes > share * free:
        raise ValueError(
            f"{name}: {what} would need about {gib(nbytes)}; the machine has {gib(free)} free "
            f"and the limit is {share:.0%} of that"
        )
