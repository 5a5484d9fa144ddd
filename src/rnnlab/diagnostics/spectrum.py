"""Spectrum of the recurrent matrix (seed 002): eigenvalues, singular values, oscillation."""

from __future__ import annotations

import numpy as np

from .._validate import check_array
from ..cells.base import gate_slice


def spectrum(W: np.ndarray, imag_tol: float = 1e-9) -> dict[str, object]:
    """Eigenvalues and singular values of a square ``W (H, H)``.

    Returns ``eigenvalues`` (H,) complex sorted by decreasing modulus, ``singular_values`` (H,)
    decreasing, ``spectral_radius`` (max |eigenvalue|: the linear system's long-run growth per
    step), ``spectral_norm`` (largest singular value: the one-step worst case, the ``lambda`` of
    the bound), ``complex`` (H,) bool, True where ``|Im| > imag_tol * spectral_radius`` (such a
    pair makes the linear response oscillate), and ``n_complex``.
    """
    check_array("W", W, ndim=2)
    if W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W: expected a non-empty square matrix, got shape {W.shape}")
    if not np.isfinite(imag_tol) or imag_tol < 0:
        raise ValueError(f"imag_tol: expected a non-negative number, got {imag_tol!r}")
    W64 = np.asarray(W, dtype=np.float64)
    ev = np.linalg.eigvals(W64)
    ev = ev[np.argsort(-np.abs(ev), kind="stable")]
    sv = np.linalg.svd(W64, compute_uv=False)
    radius = float(np.abs(ev[0]))
    cplx = np.abs(ev.imag) > imag_tol * max(radius, np.finfo(np.float64).tiny)
    return {
        "eigenvalues": ev,
        "singular_values": sv,
        "spectral_radius": radius,
        "spectral_norm": float(sv[0]),
        "complex": cplx,
        "n_complex": int(cplx.sum()),
    }


def recurrent_blocks(W_hh: np.ndarray, gates: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Split a stacked ``W_hh (G*H, H)`` into its ``(H, H)`` gate blocks, keyed by gate name."""
    check_array("W_hh", W_hh, ndim=2)
    H = W_hh.shape[1]
    if W_hh.shape[0] != len(gates) * H:
        raise ValueError(
            f"W_hh: expected shape ({len(gates)}*H, H) for gates {gates}, got {W_hh.shape}"
        )
    return {g: W_hh[gate_slice(gates, g, H)] for g in gates}
