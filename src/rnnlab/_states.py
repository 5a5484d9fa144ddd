"""A stack's state argument: one array ``h``, or a tuple ``(h, c)`` for an LSTM, or None.

Each array is ``(num_layers * num_directions, B, H)`` (see :mod:`rnnlab._stack`); these helpers
turn the argument into a list of arrays and back, without checks.
"""

from __future__ import annotations

import numpy as np

StateArg = np.ndarray | tuple[np.ndarray, np.ndarray] | None


def state_parts(state: StateArg) -> list[np.ndarray]:
    """A state argument as a list of arrays: ``None -> []``, ``h -> [h]``, ``(h, c) -> [h, c]``.

    No checks: :meth:`rnnlab.layers.RecurrentLayer.split_state` validates against a layer.

    >>> h = np.zeros((1, 2, 3))
    >>> state_parts(None), len(state_parts(h)), len(state_parts((h, h)))
    ([], 1, 2)
    """
    if state is None:
        return []
    return list(state) if isinstance(state, tuple) else [state]


def join_state(parts: list[np.ndarray]) -> StateArg:
    """Inverse of :func:`state_parts` for a non-empty list: ``[h] -> h``, ``[h, c] -> (h, c)``."""
    return parts[0] if len(parts) == 1 else tuple(parts)  # type: ignore[return-value]
