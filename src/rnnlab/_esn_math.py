"""The linear algebra of echo state networks: spectral radius, closed-form ridge readout, its
choice on a validation split."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg import LinAlgError, cho_factor, cho_solve

__all__ = ["DEFAULT_RIDGES", "ridge_readout", "select_ridge", "spectral_radius"]

# Candidate ridge strengths searched on the validation split when none is given.
DEFAULT_RIDGES = tuple(10.0 ** np.arange(-12, 3))


def ridge_readout(S: np.ndarray, Y: np.ndarray, ridge: float) -> np.ndarray:
    """Closed-form ridge regression with an unpenalised bias.

    Solves ``min_W ||[1, S] W^T - Y||^2 + ridge ||W[:, 1:]||^2`` by centring ``S`` and ``Y`` (the
    bias then drops out of the penalty) and ``W_c = (S_c^T S_c + ridge I)^{-1} S_c^T Y_c``.

    Parameters
    ----------
    S : (M, P) regressors (states, with the inputs when the readout sees them).
    Y : (M, K) targets.
    ridge : float >= 0

    Returns
    -------
    W_hy : (K, 1 + P), bias in column 0.
    """
    mean_s, mean_y = S.mean(axis=0), Y.mean(axis=0)
    # centre before the products: S^T S - n m m^T would cancel digits a tiny ridge needs
    Sc = S - mean_s
    G, R = Sc.T @ Sc, Sc.T @ (Y - mean_y)
    try:  # Cholesky: several times cheaper than an eigendecomposition
        G[np.diag_indices_from(G)] += ridge
        W = cho_solve(cho_factor(G, lower=True, check_finite=False), R, check_finite=False)
    except LinAlgError:  # ridge too small for the rounding in G: solve on the spectrum
        G[np.diag_indices_from(G)] -= ridge
        e, V = np.linalg.eigh(G)
        W = V @ ((V.T @ R) / np.maximum(e + ridge, np.finfo(float).tiny)[:, None])  # (P, K)
    return np.concatenate([(mean_y - mean_s @ W)[:, None], W.T], axis=1)


def select_ridge(S, Y, ridges, val_fraction):
    """Ridge with the lowest one-step MSE on the last ``val_fraction`` of the rows."""
    n_val = max(1, int(round(val_fraction * S.shape[0])))
    if S.shape[0] - n_val < 2:
        raise ValueError(
            f"val_fraction: leaves {S.shape[0] - n_val} training rows after the washout; "
            "give more steps or a fixed ridge"
        )
    S_tr, Y_tr, S_va, Y_va = S[:-n_val], Y[:-n_val], S[-n_val:], Y[-n_val:]
    mean_s, mean_y = S_tr.mean(axis=0), Y_tr.mean(axis=0)
    Sc = S_tr - mean_s
    e, V = np.linalg.eigh(Sc.T @ Sc)  # one decomposition serves every candidate
    Z = V.T @ (Sc.T @ (Y_tr - mean_y))
    P_va = (S_va - mean_s) @ V
    errors = []
    for lam in ridges:
        pred = P_va @ (Z / (e + lam)[:, None]) + mean_y
        errors.append(float(np.mean((pred - Y_va) ** 2)))
    return float(ridges[int(np.nanargmin(errors))]), dict(zip(map(float, ridges), errors))


def spectral_radius(W: np.ndarray | sp.sparray) -> float:
    """Largest eigenvalue modulus of a square (sparse or dense) matrix.

    Computed from all eigenvalues of the dense matrix (LAPACK, exact to rounding) up to 3,000
    units; above that ARPACK's Arnoldi iteration on the sparse matrix at machine tolerance.
    """
    n = W.shape[0]
    if n <= 3000:
        dense = W.toarray() if sp.issparse(W) else np.asarray(W)
        return float(np.max(np.abs(np.linalg.eigvals(dense))))
    from scipy.sparse.linalg import eigs

    vals = eigs(sp.csr_array(W), k=1, which="LM", tol=0.0, return_eigenvectors=False)
    return float(np.abs(vals[0]))
