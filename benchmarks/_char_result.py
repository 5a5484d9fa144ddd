"""The result file the three equal-compute text runs write (read by ``text_bench.py``)."""

from __future__ import annotations

import json
import math
from typing import Any


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
