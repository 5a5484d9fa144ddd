"""What the diagnose report writes besides the figures: JSON-safe values and ``report.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

SECTIONS = (
    "flow",
    "jacobian",
    "contributions",
    "spectrum",
    "impulse",
    "gates",
    "deep_mlp",
    "training",
)


def to_jsonable(obj: Any) -> Any:
    """Nested dicts/lists of arrays and numbers -> JSON types; NaN and +-inf become ``None``."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if np.iscomplexobj(obj):
            return {"real": to_jsonable(obj.real), "imag": to_jsonable(obj.imag)}
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_, bool)):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, complex):
        return {"real": to_jsonable(obj.real), "imag": to_jsonable(obj.imag)}
    return obj


def fmt_rate(r: Any) -> str:
    """A growth rate per step as ``"×r per step"``; ``"n/a"`` when there is none."""
    return "n/a" if r is None or not np.isfinite(r) else f"×{r:.4g} per step"


def markdown(res: dict[str, Any]) -> str:
    """``report.md`` for the result of :func:`rnnlab.figures.report.diagnose`.

    A table of the headline numbers, then each figure with one sentence on what it shows.
    """
    s = res["subject"]
    lines = [
        f"# Gradient diagnostics: {s['family'].upper()}"
        + (f" ({s['nonlinearity']})" if s["nonlinearity"] else ""),
        "",
    ]
    src = f"run `{Path(s['path']).name}`" if s["kind"] == "run" else "a fresh model"
    lines += [
        f"Subject: {src}, hidden size {s['hidden_size']}, {s['num_layers']} layer(s), "
        f"T = {s['T']} steps, batch {s['B']}. Loss: {s['loss']}.",
        "",
        "| quantity | value |",
        "|---|---|",
    ]
    j = res.get("jacobian")
    if j is not None:
        if j["gamma"] is not None:
            lines.append(f"| γ = sup φ′ | {j['gamma']:g} |")
            lines.append(f"| γ‖W_hh‖₂ | {j['gamma_sigma']:.4g} ({j['bound_verdict']}) |")
        for n, r in j["growth_rate"].items():
            lines.append(f"| ‖∂{n}_t/∂{n}_k‖ measured rate | {fmt_rate(r)} ({j['verdict'][n]}) |")
    for key, g in res.get("gradient_flow", {}).items():
        lines.append(
            f"| ‖∂L/∂h_k‖ growth going back ({key}) | "
            f"{fmt_rate(g['growth_rate_per_step_back'])} ({g['verdict']}) |"
        )
    for name, sp in res.get("spectrum", {}).items():
        lines.append(
            f"| spectral radius / norm ({name}) | {sp['spectral_radius']:.4g} / "
            f"{sp['spectral_norm']:.4g}; {sp['n_complex']} complex eigenvalues |"
        )
    lines.append("")
    figs = res["figures"]
    text = _sentences(res)
    for sec in SECTIONS:
        if sec in figs:
            lines += [f"![{sec}]({figs[sec]})", "", text[sec], ""]
    lines.append(
        f"Computed in {res['timings_s']['total']:.2f} s; every plotted number is in "
        "`diagnostics.json`."
    )
    return "\n".join(lines) + "\n"


def _sentences(res: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    if "gradient_flow" in res:
        g = next(iter(res["gradient_flow"].values()))
        out["flow"] = (
            "The size of the gradient reaching each time step k: going back from the loss it "
            f"changes {fmt_rate(g['growth_rate_per_step_back'])} on average, so it is "
            f"**{g['verdict']}**; steps whose gradient is tiny cannot be learned from."
        )
    if "jacobian" in res:
        j = res["jacobian"]
        n0 = next(iter(j["growth_rate"]))
        s = (
            f"How much a change in the state k steps back moves the state at t = {j['t']}: the "
            f"measured product shrinks or grows {fmt_rate(j['growth_rate'][n0])} "
            f"(**{j['verdict'][n0]}**)"
        )
        if j["bound_log10"] is not None:
            where = "under" if j["under_bound"] else "NOT everywhere under"
            s += (
                f", measured {where} the dashed bound (γ‖W_hh‖₂)^(t−k) with γ‖W_hh‖₂ = "
                f"{j['gamma_sigma']:.3g} ({j['bound_verdict']} by the bound)."
            )
        elif j.get("cec_log10") is not None:
            s += "; the dash-dotted line is the cell state's carousel path alone, ∏ f."
        else:
            s += "."
        out["jacobian"] = s
    if "contributions" in res:
        c = next(iter(res["contributions"].values()))
        out["contributions"] = (
            f"Which steps drive the update of W_hh: the last {c['horizon']} steps hold 90% of "
            f"the summed contributions, the older half of the sequence "
            f"{100 * c['oldest_half_share']:.2g}%."
        )
    if "spectrum" in res:
        sp = next(iter(res["spectrum"].values()))
        out["spectrum"] = (
            f"Eigenvalues outside the unit circle make the linear recursion blow up, inside it "
            f"decay; here ρ = {sp['spectral_radius']:.3g} and {sp['n_complex']} complex "
            "eigenvalues (crosses) would make the response oscillate."
        )
    if "impulse" in res:
        out["impulse"] = (
            "Memory of one input at t = 0 for the notes' recursions: the linear one grows or "
            "decays like λ_max^t, sigmoid saturates whatever λ, tanh prefers λ near 1 and relu "
            "can blow up but has no response to a negative start."
        )
    if "gates" in res:
        g = res["gates"]
        out["gates"] = (
            "Gate activity: a forget gate (LSTM f, GRU z) near 1 keeps the cell state, i.e. "
            "the carousel, open; saturated gates pass almost no gradient to their inputs."
        )
    if "deep_mlp" in res:
        d = res["deep_mlp"]
        ratio = {
            a: float(v[0] / v[-1]) if v[-1] > 0 else float("nan")
            for a, v in d["grad_norms"].items()
        }
        worst = min(ratio, key=lambda a: ratio[a])
        out["deep_mlp"] = (
            f"The feed-forward analogue: in a {d['depth']}-layer MLP the gradient at the first "
            f"layer is {ratio[worst]:.2g} times that at the last for {worst}, the same "
            "multiplicative shrinking as through time."
        )
    if "training" in res:
        t = res["training"]
        out["training"] = (
            f"The gradient norm before clipping at each update; {len(t['events'])} updates "
            f"exceeded {t['factor']:g}× the running median (explosion events, red)."
        )
    return out
