"""What the three equal-compute text runs share: their options and the result file they write
(read by ``text_bench.py``)."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any


def parse_args(doc: str) -> argparse.Namespace:
    """The options every equal-compute run takes (``doc``: the script's docstring)."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--text", default="stdlib")
    ap.add_argument("--budget", type=float, default=300.0, help="CPU seconds of training")
    ap.add_argument("--snapshot", type=float, default=15.0, help="CPU seconds between copies")
    ap.add_argument("--curve-chars", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--nudge",
        type=float,
        default=0.0,
        help="scale the first recurrent matrix by 1 + NUDGE before training (a control: how far "
        "two runs of one implementation drift apart from initial weights a rounding error apart)",
    )
    ap.add_argument("--out", required=True)
    return ap.parse_args()


def nudge(model: Any, by: float) -> None:
    """Scale ``model``'s first recurrent matrix by ``1 + by`` (in place)."""
    if by:
        w = model.params["W_hh_l0"]
        w *= w.dtype.type(1.0 + by)


def write_result(
    out: str,
    name: str,
    *,
    budget: float,
    cpu: float,
    wall: float,
    steps: int,
    chars_seen: int,
    curve_chars: int,
    curve: list[dict[str, Any]],
    heldout_chars: int,
    final: float,
) -> None:
    """Write one run's JSON to ``out`` and print it without the curve."""
    result = {
        "name": name,
        "budget_cpu_s": budget,
        "train_cpu_s": cpu,
        "train_wall_s": wall,
        "steps": steps,
        "chars_seen": chars_seen,
        "curve_chars": curve_chars,
        "curve": curve,
        "final_heldout_chars": heldout_chars,
        "final_heldout_nats": final,
        "final_heldout_bits": final / math.log(2),
    }
    with open(out, "w") as fh:
        json.dump(result, fh, indent=1)
    print(json.dumps({k: v for k, v in result.items() if k != "curve"}))
