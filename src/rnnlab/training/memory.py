"""What a run will allocate, estimated before anything is allocated or written.

A training step keeps, per layer and direction, the gate pre-activations and the states of every
step for BPTT, plus the readout's outputs, and the parameters carry their gradients and up to two
optimiser buffers each. An evaluation runs the forward pass over chunks of up to 512 held-out
sequences. The estimate is a rough upper bound of those arrays; a run whose estimate exceeds the
memory the machine has free is refused with both numbers, instead of growing until the operating
system kills it.
"""

from __future__ import annotations

from .._validate import available_memory, gib
from ..data import DataSource, TaskSource
from .config import TrainConfig

GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # gate blocks G of W_hh (G*H, H)
EVAL_CHUNK = 512  # held-out sequences per forward pass in an evaluation


def max_length(source: DataSource) -> int | None:
    """The longest sequence a source's batches hold, where it can tell without drawing one."""
    if isinstance(source, TaskSource):
        length = getattr(source.task, "length", None)
        return None if length is None else int(length) + int(length) // 10 + 1
    train = getattr(source, "train", None)  # ArrayDataset: its arrays
    return int(train.x.shape[0]) if train is not None else getattr(source, "chunk_length", None)


def estimate_bytes(c: TrainConfig, source: DataSource) -> int | None:
    """Bytes a training step and an evaluation of the resolved ``c`` hold at once (an upper
    bound of the large arrays); ``None`` when the sequence length is unknown in advance."""
    T = max_length(source)
    if T is None:
        return None
    item = 8 if c.dtype == "float64" else 4
    G, H, L, I, K = GATES[c.model], c.hidden, c.layers, source.input_size, source.output_size
    weights = sum(G * H * ((I if layer == 0 else H) + H + 2) for layer in range(L)) + K * (H + 1)
    params = 4 * weights  # values, gradients, two optimiser buffers
    eval_rows = min(EVAL_CHUNK, c.eval_size or EVAL_CHUNK)
    rows = max(c.batch, eval_rows)
    # per step and sequence: input, gates (+ their activations), h and c, their gradients, output
    per_step = I + L * (2 * G * H + 4 * H) + 3 * K
    return item * (params + 2 * rows * T * per_step)


def check_memory(c: TrainConfig, source: DataSource, share: float = 0.8) -> None:
    """Refuse (ValueError) a run whose estimate exceeds ``share`` of the free memory."""
    need, free = estimate_bytes(c, source), available_memory()
    if need is None or free is None or need <= share * free:
        return
    raise ValueError(
        f"memory: this run needs about {gib(need)} (hidden {c.hidden}, batch {c.batch}, "
        f"length up to {max_length(source)}, {c.layers} layer(s), {c.dtype}); the machine has "
        f"{gib(free)} free and the limit is {share:.0%} of that; lower --hidden, --batch, "
        "--length or --eval-size"
    )
