"""Memory of a recurrence: the response ||h(t)|| to a single input at t = 0 (seed 002).

``h(t) = f(W h(t-1) + C x(t))`` with ``x(t) = 0`` for ``t > 0`` and ``h(-1) = 0``, so
``h(0) = f(C x(0))`` and ``h(t) = f(W h(t-1))``. For the linear recursion (``f`` = identity)
``h(t) = W^t C x(0)``: its length grows or shrinks like ``|lambda_max|^t``. The sweep repeats this
for sigmoid, tanh and relu over a range of largest eigenvalues, from a positive start
``C x(0) = [1, ..., 1]/sqrt(N)`` and a negative one ``-[1, ..., 1]/sqrt(N)``, as in the notes.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .._validate import as_rng, check_array, check_positive_int
from ..activations import get as get_activation

NONLINEARITIES = ("identity", "sigmoid", "tanh", "relu")


def impulse_response(
    W: np.ndarray, u0: np.ndarray, steps: int, nonlinearity: str = "identity"
) -> np.ndarray:
    """``||h(t)||_2`` for ``t = 0..steps`` after the single input ``u0 = C x(0)`` (N,).

    Returns ``(steps + 1,)``; entries beyond float64's range are ``inf`` (the linear system with
    ``|lambda| > 1`` does blow up).
    """
    check_array("W", W, ndim=2)
    N = W.shape[0]
    if W.shape != (N, N):
        raise ValueError(f"W: expected a square matrix, got shape {W.shape}")
    check_array("u0", u0, ndim=1, shape=(N,))
    steps = check_positive_int("steps", steps)
    f = get_activation(nonlinearity).f
    out = np.empty(steps + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        h = f(np.asarray(u0, dtype=np.float64))
        out[0] = np.linalg.norm(h)
        for t in range(1, steps + 1):
            h = f(W @ h)
            out[t] = np.linalg.norm(h)
    return out


def matrix_with_eigenvalue(N: int, lam: float, rng: int | np.random.Generator) -> np.ndarray:
    """A symmetric ``(N, N)`` matrix whose largest eigenvalue is ``lam`` and every other one lies
    in ``(-|lam|, |lam|)``: real eigenvalues, so the linear response does not oscillate.

    ``W = Q diag(lambda) Q^T`` with ``Q`` Haar-orthogonal and ``lambda_1 = lam``, the rest drawn
    uniformly from ``(-|lam|, |lam|)``.
    """
    N = check_positive_int("N", N)
    if isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not np.isfinite(lam):
        raise ValueError(f"lam: expected a finite number, got {lam!r}")
    gen = as_rng(rng)
    q, r = np.linalg.qr(gen.standard_normal((N, N)))
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)
    lams = gen.uniform(-abs(lam), abs(lam), size=N)
    lams[0] = lam
    return (q * lams) @ q.T


def impulse_sweep(
    eigenvalues: Sequence[float] = (0.5, 0.9, 1.0, 1.1, 1.5, 2.0),
    nonlinearities: Sequence[str] = NONLINEARITIES,
    N: int = 32,
    steps: int = 50,
    rng: int | np.random.Generator = 0,
) -> dict[str, object]:
    """The notes' figure grid: response norms for each start, nonlinearity and largest eigenvalue.

    One matrix per eigenvalue (from ``rng``) is shared by all nonlinearities and starts.
    Returns ``{"eigenvalues", "steps", "N", "norms": {start: {nonlinearity: (E, steps+1)}}}``
    with ``start`` in ``("positive", "negative")``.
    """
    N = check_positive_int("N", N)
    steps = check_positive_int("steps", steps)
    lams = [float(v) for v in eigenvalues]
    if not lams or not all(np.isfinite(v) and v > 0 for v in lams):
        raise ValueError(f"eigenvalues: expected positive finite numbers, got {list(eigenvalues)}")
    for name in nonlinearities:
        get_activation(name)  # raises on an unknown name
    gen = as_rng(rng)
    mats = [matrix_with_eigenvalue(N, lam, gen) for lam in lams]
    ones = np.ones(N) / np.sqrt(N)
    norms: dict[str, dict[str, np.ndarray]] = {}
    for start, u0 in (("positive", ones), ("negative", -ones)):
        norms[start] = {
            name: np.stack([impulse_response(W, u0, steps, name) for W in mats])
            for name in nonlinearities
        }
    return {"eigenvalues": np.array(lams), "steps": steps, "N": N, "norms": norms}
