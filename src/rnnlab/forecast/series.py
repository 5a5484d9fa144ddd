"""Real series shipped inside installed packages, and the user's own CSV files.

Nothing is downloaded: ``sunspots`` and ``co2`` are the public-domain datasets bundled with
statsmodels, ``airline`` is Box & Jenkins' monthly airline passengers (1949-1960) bundled with
sktime (or aeon).
"""

from __future__ import annotations

import csv
import importlib.util
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["Series", "PACKAGED", "load_series", "read_csv", "check_series"]


@dataclass(frozen=True)
class Series:
    """A univariate series with its time labels."""

    values: np.ndarray  # (T,) float64, finite
    time: np.ndarray  # (T,) float64 time axis for plots (years, or decimal years)
    labels: tuple[str, ...]  # (T,) the time stamps as written by the source
    name: str  # what it is, for titles and tables
    unit: str  # the values' unit, for axis labels
    time_unit: str  # the time axis' unit, for axis labels


# name -> (package that ships it, description)
PACKAGED = {
    "sunspots": ("statsmodels", "yearly mean sunspot numbers 1700-2008 (statsmodels)"),
    "co2": ("statsmodels", "weekly atmospheric CO2 at Mauna Loa 1958-2001 (statsmodels)"),
    "airline": ("sktime or aeon", "monthly airline passengers 1949-1960 (Box & Jenkins)"),
}


def check_series(name: str, values: np.ndarray) -> np.ndarray:
    """Return ``values`` as a finite float64 vector; NaN inside is an error that counts them."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"{name}: expected a 1-d series, got shape {values.shape}")
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf of {values.size}")
    return values


def _sunspots() -> Series:
    from statsmodels.datasets import sunspots

    d = sunspots.load_pandas().data
    years = d["YEAR"].to_numpy(dtype=np.float64)
    return Series(
        d["SUNACTIVITY"].to_numpy(dtype=np.float64), years,
        tuple(str(int(y)) for y in years), "yearly sunspots", "sunspot number", "year",
    )  # fmt: skip


def _co2() -> Series:
    from statsmodels.datasets import co2

    d = co2.load_pandas().data["co2"]
    missing = int(d.isna().sum())
    # statsmodels' weekly series has gaps; carry the last reading forward (said in the name)
    d = d.ffill()
    idx = d.index
    t = idx.year + (idx.dayofyear - 1) / 365.25
    return Series(
        d.to_numpy(dtype=np.float64), np.asarray(t, dtype=np.float64),
        tuple(str(s.date()) for s in idx),
        f"weekly CO2, Mauna Loa ({missing} missing weeks carried forward)", "ppm", "year",
    )  # fmt: skip


def _airline() -> Series:
    for pkg, rel in (("sktime", ("datasets", "data", "Airline", "Airline.csv")),
                     ("aeon", ("datasets", "data", "Airline", "Airline.csv"))):  # fmt: skip
        spec = importlib.util.find_spec(pkg)  # locate the file without importing the package
        if spec is not None and spec.origin:
            path = os.path.join(os.path.dirname(spec.origin), *rel)
            if os.path.exists(path):
                break
    else:
        raise ValueError(
            "series: 'airline' ships with sktime or aeon; install one (pip install sktime)"
        )
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    labels = tuple(r[0] for r in rows)
    t = np.array([int(s[:4]) + (int(s[5:7]) - 1) / 12 for s in labels])
    values = np.array([float(r[1]) for r in rows])
    return Series(values, t, labels, "monthly airline passengers", "passengers (thousands)", "year")


_LOADERS = {"sunspots": _sunspots, "co2": _co2, "airline": _airline}


def load_series(name: str) -> Series:
    """One of :data:`PACKAGED` by name."""
    if name not in _LOADERS:
        raise ValueError(f"series: expected one of {', '.join(_LOADERS)}; got {name!r}")
    if name != "airline" and importlib.util.find_spec("statsmodels") is None:
        raise ValueError(f"series: {name!r} ships with statsmodels; pip install statsmodels")
    return _LOADERS[name]()


def _number(s: str) -> float | None:
    """A cell as float; None when empty (a missing value)."""
    s = s.strip()
    if s == "" or s.lower() in ("na", "nan", "null", "none"):
        return None
    return float(s)


def read_csv(
    path: str, column: str, *, time_column: str | None = None, fill: str | None = None
) -> Series:
    """A numeric column of a CSV file with a header row.

    Parameters
    ----------
    path : str
    column : str
        Header of the values' column.
    time_column : str, optional
        Header of the time stamps (numbers or any text: text is labelled, plotted by index).
    fill : None, "ffill" or "interpolate"
        What to do with missing cells; None makes them an error that counts them.
    """
    if fill not in (None, "ffill", "interpolate"):
        raise ValueError(f"fill: expected ffill or interpolate, got {fill!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"csv: no such file: {path}")
    with open(path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"csv: {path} is empty")
        header = [h.strip() for h in header]
        rows = [r for r in reader if any(c.strip() for c in r)]
    for role, col in (("column", column), ("time_column", time_column)):
        if col is not None and col not in header:
            raise ValueError(f"{role}: no column {col!r} in {path}; columns: {', '.join(header)}")
    j = header.index(column)
    raw: list[float | None] = []
    for n, r in enumerate(rows, start=2):
        cell = r[j] if j < len(r) else ""
        try:
            raw.append(_number(cell))
        except ValueError:
            raise ValueError(
                f"column: {column!r} expected numbers, got {cell!r} on line {n} of {path}"
            ) from None
    values = np.array([np.nan if v is None else v for v in raw], dtype=np.float64)
    missing = int(np.count_nonzero(np.isnan(values)))
    if missing and fill is None:
        raise ValueError(
            f"column: {column!r} has {missing} missing values of {values.size}; "
            "pass --fill ffill or --fill interpolate"
        )
    if missing:
        ok = ~np.isnan(values)
        if not ok.any():
            raise ValueError(f"column: {column!r} has no values")
        if fill == "ffill":
            idx = np.where(ok, np.arange(values.size), 0)
            np.maximum.accumulate(idx, out=idx)
            values = values[idx]
            values[: np.argmax(ok)] = values[np.argmax(ok)]  # leading gap: first reading
        else:
            pos = np.arange(values.size)
            values = np.interp(pos, pos[ok], values[ok])
    values = check_series(f"column {column!r}", values)
    if time_column is not None:
        k = header.index(time_column)
        labels = tuple((r[k] if k < len(r) else "").strip() for r in rows)
        try:
            t = np.array([float(s) for s in labels])
            time_unit = time_column
        except ValueError:
            try:  # ISO dates (2001-05, 2001-05-17): decimal years for the plot's axis
                days = np.array(labels, dtype="datetime64[D]").astype(np.float64)
                t, time_unit = 1970.0 + days / 365.2425, "year"
            except ValueError:
                t, time_unit = np.arange(values.size, dtype=np.float64), "step"
    else:
        t = np.arange(values.size, dtype=np.float64)
        labels, time_unit = tuple(str(i) for i in range(values.size)), "step"
    name = os.path.basename(path) + f": {column}"
    return Series(values, t, labels, name, column, time_unit)
