"""Figures of the diagnostics: one function per figure, each writes a PNG atomically.

Each takes the record :func:`rnnlab.reports.diagnose` stores in ``diagnostics.json``.
Norms that span more than float64's range (3^1000) are plotted as their log10 on a linear axis
whose ticks read ``10^n``: the picture of a log axis without overflow.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
from matplotlib import colormaps
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from ._save import COLORS, new_figure, save_figure

_POW10 = FuncFormatter(lambda v, _pos: f"$10^{{{int(round(v))}}}$")


def _log10_axis(ax, label: str) -> None:
    """A linear axis holding log10 values, ticked at integer powers of ten."""
    ax.yaxis.set_major_locator(MaxNLocator(nbins=8, integer=True))
    ax.yaxis.set_major_formatter(_POW10)
    ax.set_ylabel(label)


def _finite_ylim(ax, *arrays: np.ndarray, pad: float = 0.5) -> None:
    vals = np.concatenate([np.ravel(a) for a in arrays if a is not None])
    vals = vals[np.isfinite(vals)]
    if vals.size:
        lo, hi = vals.min(), vals.max()
        if hi - lo < 1:
            lo, hi = lo - 1, hi + 1
        ax.set_ylim(lo - pad, hi + pad)


def plot_gradient_flow(flow: dict[str, dict], title: str, path: str | os.PathLike) -> None:
    """``||dL/dh_k||`` (and ``||dL/dc_k||``) against step k: batch mean of log10, min-max band."""
    fig = new_figure((7.5, 4.2))
    ax = fig.subplots()
    every = []
    for n, (key, rec) in enumerate(flow.items()):
        k = np.asarray(rec["k"])
        for name, style in (("dh_log10", "-"), ("dc_log10", "--")):
            v = rec.get(name)
            if v is None:
                continue
            v = np.asarray(v, dtype=np.float64)  # (T+1, B)
            with warnings.catch_warnings():  # all-NaN rows (zero gradient) stay NaN, undrawn
                warnings.simplefilter("ignore", RuntimeWarning)
                mean = np.nanmean(v, axis=1)
                lo, hi = np.nanmin(v, axis=1), np.nanmax(v, axis=1)
            sym = "h" if name == "dh_log10" else "c"
            c = COLORS[n % len(COLORS)]
            ax.plot(
                k,
                mean,
                style,
                color=c,
                lw=1.6,
                label=f"{key}: ‖∂L/∂{sym}_k‖, geometric mean over the batch",
            )
            if v.shape[1] > 1:
                ax.fill_between(
                    k,
                    lo,
                    hi,
                    color=c,
                    alpha=0.15,
                    lw=0,
                    label=f"{key}: min–max over the batch ({sym})",
                )
            every += [mean, lo, hi]
    _finite_ylim(ax, *every)
    ax.set_xlabel("time step k (processing order)")
    _log10_axis(ax, "gradient norm ‖∂L/∂state_k‖₂ (log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_jacobians(jac: dict, title: str, path: str | os.PathLike) -> None:
    """``||d state_t / d state_k||_2`` against the lag, with the bound and the fitted rate."""
    fig = new_figure((7.5, 4.2))
    ax = fig.subplots()
    lags = np.asarray(jac["lags"])
    every = []
    labels = {
        "h": "‖∂h_t/∂h_k‖₂ (measured)",
        "c": "‖∂c_t/∂c_k‖₂ (measured, all paths)",
    }
    for n, (name, v) in enumerate(jac["log10_norm"].items()):
        v = np.asarray(v, dtype=np.float64)
        ax.plot(lags, v, "-", color=COLORS[n], lw=1.8, label=labels.get(name, name))
        every.append(v)
        rate = jac["growth_rate"].get(name)
        if rate is not None and np.isfinite(rate) and rate > 0:
            ok = np.isfinite(v) & (lags >= 1)
            if ok.sum() >= 2:
                a = np.polyfit(lags[ok], v[ok], 1)
                ax.plot(
                    lags,
                    np.polyval(a, lags),
                    ":",
                    color=COLORS[n],
                    lw=1.2,
                    label=f"fit: ×{rate:.3g} per step ({jac['verdict'][name]})",
                )
    if jac.get("cec_log10") is not None:
        v = np.asarray(jac["cec_log10"], dtype=np.float64)
        ax.plot(
            np.arange(v.size), v, "-.", color=COLORS[3], lw=1.4, label="CEC path alone: max_j ∏ f_j"
        )
        every.append(v)
    if jac.get("bound_log10") is not None:
        b = np.asarray(jac["bound_log10"], dtype=np.float64)
        ax.plot(
            lags,
            b,
            "--",
            color="k",
            lw=1.4,
            label=f"bound (γ‖W_hh‖₂)^(t−k), γ‖W_hh‖₂ = {jac['gamma_sigma']:.3g}",
        )
        every.append(b)
    _finite_ylim(ax, *every)
    meas = np.concatenate([np.asarray(v, dtype=np.float64) for v in jac["log10_norm"].values()])
    meas = meas[np.isfinite(meas)]
    if meas.size:  # keep the measured curves readable when the bound runs far away
        lo, hi = ax.get_ylim()
        ax.set_ylim(
            max(lo, meas.min() - 0.25 * (np.ptp(meas) + 4)),
            min(hi, meas.max() + 0.25 * (np.ptp(meas) + 4)),
        )
    ax.set_xlabel(f"lag t − k (steps back from the end t = {jac['t']})")
    _log10_axis(ax, "Jacobian norm (log scale)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_contributions(rec: dict, title: str, path: str | os.PathLike) -> None:
    """Step k's contribution to dL/dW_hh (log) and the share held by the most recent steps."""
    fig = new_figure((10, 4.0))
    a1, a2 = fig.subplots(1, 2)
    for n, (key, r) in enumerate(rec.items()):
        c = np.asarray(r["contrib_log10"], dtype=np.float64)
        a1.plot(np.arange(1, c.size + 1), c, color=COLORS[n], lw=1.3, label=key)
        cum = np.asarray(r["cumulative_from_end"], dtype=np.float64)
        a2.plot(
            np.arange(1, cum.size + 1),
            cum,
            color=COLORS[n],
            lw=1.6,
            label=f"{key}: 90% within last {r['horizon']} steps",
        )
    a1.set_xlabel("time step k")
    _log10_axis(a1, "‖contribution of step k to ∂L/∂W_hh‖_F (log scale)")
    a1.set_title("per-step term dz_k h_{k−1}ᵀ")
    a1.grid(alpha=0.3)
    a1.legend(fontsize=8)
    a2.set_xscale("log")
    a2.set_xlabel("number n of most recent steps (log scale)")
    a2.set_ylabel("share of Σ_k ‖contribution_k‖ (fraction)")
    a2.set_ylim(0, 1.02)
    a2.axhline(0.9, color="gray", ls=":", lw=1)
    a2.set_title("which steps drive the update")
    a2.grid(alpha=0.3)
    a2.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_spectrum(
    blocks: dict[str, dict], gamma: float | None, title: str, path: str | os.PathLike
) -> None:
    """Eigenvalues in the complex plane with the unit circle; singular values (log scale)."""
    fig = new_figure((10, 4.5))
    a1, a2 = fig.subplots(1, 2)
    th = np.linspace(0, 2 * np.pi, 400)
    a1.plot(np.cos(th), np.sin(th), "k-", lw=1, label="unit circle |λ| = 1")
    if gamma is not None and gamma != 1.0:
        a1.plot(
            np.cos(th) / gamma, np.sin(th) / gamma, "k--", lw=1, label=f"|λ| = 1/γ = {1 / gamma:g}"
        )
    rmax = 1.0 if gamma is None else max(1.0, 1.0 / gamma)
    for n, (name, s) in enumerate(blocks.items()):
        ev = np.asarray(s["eigenvalues"])
        cplx = np.asarray(s["complex"], dtype=bool)
        c = COLORS[n % len(COLORS)]
        tag = "" if name == "W_hh" else f"{name}: "
        a1.scatter(
            ev.real[~cplx],
            ev.imag[~cplx],
            s=12,
            color=c,
            marker="o",
            label=f"{tag}real λ ({int((~cplx).sum())})",
        )
        a1.scatter(
            ev.real[cplx],
            ev.imag[cplx],
            s=12,
            color=c,
            marker="x",
            label=f"{tag}complex λ: oscillating ({int(cplx.sum())})",
        )
        rmax = max(rmax, float(np.abs(ev).max()))
        sv = np.asarray(s["singular_values"])
        a2.semilogy(
            np.arange(1, sv.size + 1),
            sv,
            "-",
            color=c,
            lw=1.5,
            label=f"{tag}σ₁ = {sv[0]:.3g}, ρ = {s['spectral_radius']:.3g}",
        )
    a1.set_xlim(-1.1 * rmax, 1.1 * rmax)
    a1.set_ylim(-1.1 * rmax, 1.1 * rmax)
    a1.set_aspect("equal")
    a1.set_xlabel("Re λ")
    a1.set_ylabel("Im λ")
    a1.set_title("eigenvalues of W_hh")
    a1.grid(alpha=0.3)
    a1.legend(fontsize=7, loc="upper right")
    a2.axhline(1.0, color="k", lw=1, label="1")
    if gamma is not None and gamma != 1.0:
        a2.axhline(1.0 / gamma, color="k", ls="--", lw=1, label=f"1/γ = {1 / gamma:g}")
    svs = np.concatenate([np.asarray(s["singular_values"]) for s in blocks.values()])
    svs = svs[svs > 0]
    if svs.size:  # at least a decade around the values and the line at 1
        lo, hi = min(svs.min(), 1.0), max(svs.max(), 1.0 if gamma is None else 1.0 / gamma)
        a2.set_ylim(lo / 3.0, hi * 3.0)
    a2.set_xlabel("index i (descending)")
    a2.set_ylabel("singular value σ_i (log scale)")
    a2.set_title("singular values of W_hh")
    a2.grid(alpha=0.3, which="both")
    a2.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_impulse(sweep: dict, path: str | os.PathLike) -> None:
    """Response norms after one input at t = 0: starts in rows, nonlinearities in columns."""
    starts = list(sweep["norms"])
    names = list(sweep["norms"][starts[0]])
    lams = np.asarray(sweep["eigenvalues"])
    cmap = colormaps["viridis"]
    fig = new_figure((3.2 * len(names), 3.0 * len(starts)))
    axes = fig.subplots(len(starts), len(names), squeeze=False)
    t = np.arange(sweep["steps"] + 1)
    for r, start in enumerate(starts):
        for c, name in enumerate(names):
            ax = axes[r][c]
            Y = np.asarray(sweep["norms"][start][name], dtype=np.float64)
            any_pos = False
            for e, lam in enumerate(lams):
                y = np.where(Y[e] > 0, Y[e], np.nan)
                any_pos |= bool(np.isfinite(y).any())
                ax.plot(
                    t, y, color=cmap(e / max(1, len(lams) - 1)), lw=1.4, label=f"λ_max = {lam:g}"
                )
            fin = Y[np.isfinite(Y) & (Y > 0)]
            if fin.size and fin.max() / fin.min() > 10.0:  # a log axis only where it spans decades
                ax.set_yscale("log")
                ax.yaxis.set_major_locator(LogLocator(numticks=6))
                ax.yaxis.set_minor_locator(NullLocator())  # minor log ticks cost most of the draw
                ax.set_ylabel("‖h(t)‖₂ (log scale)" if c == 0 else "")
            else:
                ax.set_ylabel("‖h(t)‖₂" if c == 0 else "")
            ax.set_xlim(0, sweep["steps"])
            if not any_pos:
                ax.set_yticks([])
                ax.text(
                    0.5,
                    0.5,
                    "no response\n(‖h(t)‖ = 0 for all t)",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                )
            ax.set_title(f"{'linear' if name == 'identity' else name}, {start} start", fontsize=9)
            ax.set_xlabel("time t (steps after the input)")
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"impulse response of h(t) = f(W h(t−1) + C x(t)), N = {sweep['N']}")
    save_figure(fig, path)


def plot_gates(stats: dict, title: str, path: str | os.PathLike) -> None:
    """Mean gate values over time and the fraction of saturated gate units."""
    fig = new_figure((10, 4.0))
    a1, a2 = fig.subplots(1, 2)
    names = list(stats["gates"])
    for n, name in enumerate(names):
        m = np.asarray(stats["gates"][name]["mean_over_time"], dtype=np.float64)
        lw = 2.2 if name == stats["forget_gate"] else 1.2
        a1.plot(np.arange(1, m.size + 1), m, color=COLORS[n], lw=lw, label=f"{name}")
    a1.set_xlabel("time step t")
    a1.set_ylabel("gate value, mean over batch and units")
    a1.set_title(
        "mean gate over time"
        + (f" (forget: {stats['forget_gate']})" if stats["forget_gate"] else "")
    )
    a1.grid(alpha=0.3)
    a1.legend(fontsize=8)
    x = np.arange(len(names))
    lo = [stats["gates"][g]["saturated_low"] for g in names]
    hi = [stats["gates"][g]["saturated_high"] for g in names]
    for off, vals, lab in (
        (-0.2, lo, "saturated low (≈0, or ≈−1 for tanh)"),
        (0.2, hi, "saturated high (≈1)"),
    ):
        bars = a2.bar(x + off, vals, 0.4, label=lab)
        a2.bar_label(bars, labels=[f"{v:.2f}" for v in vals], fontsize=7, padding=1)
    a2.set_xticks(x, names)
    a2.set_ylim(0, 1)
    a2.set_xlabel("gate")
    a2.set_ylabel(f"fraction of units within {stats['eps']:g} of a limit")
    a2.set_title("saturation")
    a2.grid(alpha=0.3, axis="y")
    a2.legend(fontsize=8)
    fig.suptitle(title)
    save_figure(fig, path)


def plot_deep_mlp(res: dict, path: str | os.PathLike) -> None:
    """Per-layer ``||dL/dW_l||_F`` of the deep MLP at initialisation (log scale)."""
    fig = new_figure((7.5, 4.2))
    ax = fig.subplots()
    layers = np.asarray(res["layers"])
    for n, (a, v) in enumerate(res["grad_norms"].items()):
        v = np.asarray(v, dtype=np.float64)
        ax.semilogy(layers, np.where(v > 0, v, np.nan), "o-", color=COLORS[n], ms=4, label=a)
    ax.set_xlabel("layer l (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂W_l‖_F (log scale)")
    ax.set_xticks(layers)
    ax.set_title(
        f"{res['depth']}-layer MLP on digits at initialisation "
        f"(width {res['width']}, {res['init']} init, {res['n_samples']} images)"
    )
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    save_figure(fig, path)


def plot_training(res: dict, path: str | os.PathLike, clip: float | None = None) -> None:
    """Gradient norm per update before clipping, its running median and the flagged spikes."""
    fig = new_figure((7.5, 4.2))
    ax = fig.subplots()
    step = np.asarray(res["step"], dtype=np.float64)
    g = np.asarray(res["grad_norm"], dtype=np.float64)
    pos = np.where(g > 0, g, np.nan)
    ax.semilogy(step, pos, lw=0.8, color=COLORS[0], label="‖∇L‖ before clipping")
    med = np.asarray(res["running_median"], dtype=np.float64)
    ax.semilogy(
        step,
        med * res["factor"],
        "--",
        color="gray",
        lw=1,
        label=f"{res['factor']:g} × running median ({res['window']} updates)",
    )
    ev = np.asarray(res["events"], dtype=int)
    if ev.size:
        y = np.where(np.isfinite(g[ev]), g[ev], np.nanmax(pos) if np.isfinite(pos).any() else 1.0)
        ax.scatter(
            step[ev], y, marker="x", color="red", zorder=3, label=f"explosion events ({ev.size})"
        )
    if clip is not None:
        ax.axhline(clip, color="k", ls=":", lw=1, label=f"clip threshold {clip:g}")
    ax.set_xlabel("update (step)")
    ax.set_ylabel("global gradient norm (log scale)")
    ax.set_title("gradient norm during training")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    save_figure(fig, path)
