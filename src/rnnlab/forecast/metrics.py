"""Forecast errors: RMSE, MAE and NRMSE (RMSE over the standard deviation of the truth)."""

from __future__ import annotations

import numpy as np

__all__ = ["rmse", "mae", "nrmse", "errors"]


def _pair(truth: np.ndarray, pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(truth, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if truth.shape != pred.shape or truth.size == 0:
        raise ValueError(f"pred: expected the truth's shape {truth.shape}, got {pred.shape}")
    return truth, pred


def rmse(truth: np.ndarray, pred: np.ndarray) -> float:
    """Root mean squared error."""
    truth, pred = _pair(truth, pred)
    return float(np.sqrt(np.mean((truth - pred) ** 2)))


def mae(truth: np.ndarray, pred: np.ndarray) -> float:
    """Mean absolute error."""
    truth, pred = _pair(truth, pred)
    return float(np.mean(np.abs(truth - pred)))


def nrmse(truth: np.ndarray, pred: np.ndarray, scale: float | None = None) -> float:
    """RMSE / std(truth) (or / ``scale``); NaN when the truth is constant (undefined)."""
    truth, pred = _pair(truth, pred)
    s = float(np.std(truth)) if scale is None else float(scale)
    return rmse(truth, pred) / s if s > 0 else float("nan")


def errors(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """``{"rmse", "mae", "nrmse"}`` of one forecast."""
    return {"rmse": rmse(truth, pred), "mae": mae(truth, pred), "nrmse": nrmse(truth, pred)}
