"""Sequence models: a recurrent layer with a readout ``y^t = phi_y(W_hy h^t + b_y)`` on top.

Sequence modes (time-major arrays, ``x (T, B, I)``):

- **many-to-many, aligned**: a target at every step; ``mask (T, B)`` marks the valid steps of a
  variable-length batch (padding sits after each sequence's end);
- **many-to-one**: one target per sequence, read at its last valid step ``last (B,)``; a
  unidirectional layer never sees the padding that follows, so this is exact for variable lengths;
- **one-to-many generation**: :meth:`SequenceModel.generate` feeds each output back as the next
  input (the output itself, or a one-hot of its argmax or of a sample);
- **encoder-decoder** (:class:`EncoderDecoder`): an encoder reads ``x (T_in, B, I)``, its final
  state starts a decoder over ``T_out`` steps, ``T_out`` independent of ``T_in``.

Parameters and gradients are one flat dict: the layer's keys (``W_xh_l0``, ...) plus ``W_hy``,
``b_y`` (the encoder-decoder prefixes ``encoder.`` / ``decoder.``). The arrays in ``params`` are the
layer's and readout's own arrays, so updating them in place updates the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._validate import as_rng, check_array, check_choice, check_positive_int
from .layers import LayerCache, RecurrentLayer, StateArg
from .readout import LOSS_ACTIVATION, Readout, ReadoutCache, readout_loss

FEEDBACK = ("identity", "argmax", "sample")


def _parts(state: StateArg) -> list[np.ndarray]:
    if state is None:
        return []
    return list(state) if isinstance(state, tuple) else [state]


def _check_last(last: np.ndarray, T: int, B: int) -> np.ndarray:
    if not isinstance(last, np.ndarray) or last.dtype.kind not in "iu":
        raise TypeError(f"last: expected an integer numpy array (B,), got {type(last).__name__}")
    check_array("last", last, ndim=1, shape=(B,))
    if last.size and (last.min() < 0 or last.max() >= T):
        raise ValueError(
            f"last: expected indices in [0, {T - 1}], got [{last.min()}, {last.max()}]"
        )
    return last


def mask_from_last(last: np.ndarray, T: int) -> np.ndarray:
    """The (T, B) 0/1 mask with a one at each sequence's ``last`` step only."""
    B = last.shape[0]
    m = np.zeros((T, B))
    m[last, np.arange(B)] = 1.0
    return m


@dataclass
class ModelCache:
    """What :meth:`SequenceModel.forward` keeps for :meth:`SequenceModel.backward`."""

    layer: LayerCache
    readout: ReadoutCache


@dataclass
class GenerationCache:
    """Per-step caches of :meth:`SequenceModel.generate`, for :meth:`generate_backward`."""

    layer: list[LayerCache] = field(default_factory=list)
    readout: list[ReadoutCache] = field(default_factory=list)
    feedback: str = "identity"
    state_like: StateArg = None  # the structure of the state, to rebuild dL/d(state0)


class SequenceModel:
    """A recurrent layer (``rnnlab.RNN``/``LSTM``/``GRU``) with a :class:`Readout`.

    ``loss`` names the training loss (``"mse"``, ``"ce"``, ``"bce"``); it fixes the readout's
    activation for ``ce`` (softmax) and ``bce`` (sigmoid), whose losses are taken from logits.
    """

    def __init__(self, layer: RecurrentLayer, readout: Readout, loss: str = "mse") -> None:
        if not isinstance(layer, RecurrentLayer):
            raise TypeError(
                f"layer: expected an rnnlab recurrent layer, got {type(layer).__name__}"
            )
        if not isinstance(readout, Readout):
            raise TypeError(f"readout: expected an rnnlab.readout.Readout, got {type(readout)}")
        width = layer.hidden_size * layer.num_directions
        if readout.hidden_size != width:
            raise ValueError(
                f"readout.hidden_size: expected the layer's output width {width}, "
                f"got {readout.hidden_size}"
            )
        self.layer = layer
        self.readout = readout
        self.loss = check_choice("loss", loss, ("mse", "ce", "bce"))
        need = LOSS_ACTIVATION.get(loss)
        if need is not None and readout.activation != need:
            raise ValueError(
                f"readout.activation: loss {loss!r} needs {need!r}, got {readout.activation!r}"
            )
        clash = set(layer.params) & set(readout.params)
        if clash:
            raise ValueError(f"params: layer and readout share names {sorted(clash)}")

    # -- parameters ------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, np.ndarray]:
        """All parameters, layer first; the arrays are the live ones (in-place updates stick)."""
        return {**self.layer.params, **self.readout.params}

    @property
    def dtype(self) -> np.dtype:
        return self.layer.dtype

    def load_params(self, values: dict[str, np.ndarray]) -> None:
        """Copy ``values`` into the live parameter arrays (same keys, shapes; cast to dtype)."""
        own = self.params
        if set(values) != set(own):
            raise ValueError(f"values: expected keys {sorted(own)}, got {sorted(values)}")
        for name, a in own.items():
            v = np.asarray(values[name])
            if v.shape != a.shape:
                raise ValueError(f"values[{name!r}]: expected shape {a.shape}, got {v.shape}")
            np.copyto(a, v.astype(a.dtype, copy=False))

    # -- many-to-many / many-to-one ---------------------------------------------------------
    def forward(
        self, x: np.ndarray, state: StateArg = None
    ) -> tuple[np.ndarray, StateArg, ModelCache]:
        """``x (T, B, I)`` -> outputs ``y (T, B, K)`` at every step, final state, cache."""
        h, s_T, lcache = self.layer.forward(x, state)  # h (T, B, D*H)
        y, rcache = self.readout.forward(h)  # (T, B, K)
        return y, s_T, ModelCache(lcache, rcache)

    def predict(
        self, x: np.ndarray, last: np.ndarray | None = None, state: StateArg = None
    ) -> np.ndarray:
        """Outputs ``y (T, B, K)``, or ``(B, K)`` at each sequence's ``last`` step (many-to-one)."""
        y, _, _ = self.forward(x, state)
        if last is None:
            return y
        last = _check_last(last, y.shape[0], y.shape[1])
        return y[last, np.arange(y.shape[1])]  # (B, K)

    def backward(
        self, dy: np.ndarray, cache: ModelCache, dstate: StateArg = None, wrt: str = "y"
    ) -> tuple[np.ndarray, StateArg, dict[str, np.ndarray]]:
        """``dL/dy (T, B, K)`` (or ``dL/dz`` with ``wrt="z"``) -> ``dx``, dL/d(state0), grads."""
        dh, rgrads = self.readout.backward(dy, cache.readout, wrt=wrt)  # (T, B, D*H)
        dx, dstate0, lgrads = self.layer.backward(dh, cache.layer, dstate)
        return dx, dstate0, {**lgrads, **rgrads}

    def loss_and_grads(
        self,
        x: np.ndarray,
        targets: np.ndarray,
        mask: np.ndarray | None = None,
        last: np.ndarray | None = None,
        state: StateArg = None,
        scale: float = 1.0,
    ) -> tuple[float, dict[str, np.ndarray], StateArg, np.ndarray]:
        """Forward, loss and BPTT in one call.

        Many-to-many: ``targets (T, B, K)`` (class indices ``(T, B)`` for ``ce``), optional
        ``mask (T, B)``. Many-to-one: ``last (B,)`` and ``targets (B, K)`` (or ``(B,)``). The
        loss and gradients are multiplied by ``scale`` (truncated BPTT uses it to weight a chunk
        as its share of the whole sequence). Returns ``(L, grads, final state, y (T, B, K))``.
        The gradient does not flow into ``state``: it is a constant here.
        """
        h, s_T, lcache = self.layer.forward(x, state)  # (T, B, D*H)
        value, dh, rgrads, y = readout_loss(
            self.readout, h, targets, self.loss, mask=mask, last=last
        )
        if scale != 1.0:
            value *= scale
            dh = dh * scale
            rgrads = {k: g * scale for k, g in rgrads.items()}
        _, _, lgrads = self.layer.backward(dh, lcache)
        return value, {**lgrads, **rgrads}, s_T, y

    # -- one-to-many ---------------------------------------------------------------------------
    def generate(
        self,
        x0: np.ndarray,
        steps: int,
        state: StateArg = None,
        feedback: str = "identity",
        rng: int | np.random.Generator | None = None,
    ) -> tuple[np.ndarray, StateArg, GenerationCache]:
        """Run ``steps`` steps from the first input ``x0 (B, I)``, feeding each output back.

        ``feedback="identity"``: ``x^{t+1} = y^t`` (needs K == I; gradients flow through it);
        ``"argmax"`` / ``"sample"``: ``x^{t+1}`` is the one-hot of the argmax of ``y^t`` or of a
        class drawn from ``y^t`` (probabilities, e.g. a softmax readout; needs ``rng``); these
        choices are not differentiable, so no gradient flows through them. Returns
        ``y (steps, B, K)``, the final state and a cache for :meth:`generate_backward`.
        """
        return _generate(self.layer, self.readout, x0, steps, state, feedback, rng)

    def generate_backward(
        self, dy: np.ndarray, cache: GenerationCache, dstate: StateArg = None
    ) -> tuple[np.ndarray, StateArg, dict[str, np.ndarray]]:
        """``dL/dy (steps, B, K)`` -> ``dL/dx0 (B, I)``, dL/d(state0), grads (one flat dict)."""
        dx0, ds0, lgrads, rgrads = _generate_backward(self.layer, self.readout, dy, cache, dstate)
        return dx0, ds0, {**lgrads, **rgrads}


def _one_hot(idx: np.ndarray, K: int, dtype: np.dtype) -> np.ndarray:
    out = np.zeros((idx.shape[0], K), dtype=dtype)
    out[np.arange(idx.shape[0]), idx] = 1.0
    return out


def _generate(
    layer: RecurrentLayer,
    readout: Readout,
    x0: np.ndarray,
    steps: int,
    state: StateArg,
    feedback: str,
    rng: int | np.random.Generator | None,
) -> tuple[np.ndarray, StateArg, GenerationCache]:
    steps = check_positive_int("steps", steps)
    feedback = check_choice("feedback", feedback, FEEDBACK)
    check_array("x0", x0, ndim=2, dtype=layer.dtype, shape=(None, layer.input_size))
    K = readout.output_size
    if K != layer.input_size:
        raise ValueError(
            f"feedback: outputs are fed back as inputs, so output size {K} must equal "
            f"input size {layer.input_size}"
        )
    if feedback == "sample":
        if rng is None:
            raise ValueError("rng: feedback='sample' needs an int seed or Generator, got None")
        gen = as_rng(rng)
    B = x0.shape[0]
    if state is None:
        state = layer.zero_state(B)
    cache = GenerationCache(feedback=feedback, state_like=state)
    ys = np.empty((steps, B, K), dtype=layer.dtype)  # (steps, B, K)
    x_t = x0
    for t in range(steps):
        h, state, lc = layer.forward(x_t[None], state)  # h (1, B, D*H)
        y, rc = readout.forward(h)  # (1, B, K)
        cache.layer.append(lc)
        cache.readout.append(rc)
        ys[t] = y[0]
        if feedback == "identity":
            x_t = y[0]
        elif feedback == "argmax":
            x_t = _one_hot(np.argmax(y[0], axis=1), K, layer.dtype)
        else:
            p = np.clip(y[0].astype(np.float64), 0.0, None)
            p /= p.sum(axis=1, keepdims=True)
            u = gen.random((B, 1))
            idx = np.minimum((np.cumsum(p, axis=1) < u).sum(axis=1), K - 1)
            x_t = _one_hot(idx, K, layer.dtype)
    return ys, state, cache


def _generate_backward(
    layer: RecurrentLayer,
    readout: Readout,
    dy: np.ndarray,
    cache: GenerationCache,
    dstate: StateArg,
) -> tuple[np.ndarray, StateArg, dict[str, np.ndarray], dict[str, np.ndarray]]:
    steps = len(cache.layer)
    if steps == 0:
        raise ValueError("cache: expected the GenerationCache of a generate() call, got none")
    B, K = cache.readout[0].y.shape[1:]
    check_array("dy", dy, ndim=3, dtype=layer.dtype, shape=(steps, B, K))
    lgrads = {k: np.zeros_like(v) for k, v in layer.params.items()}
    rgrads = {k: np.zeros_like(v) for k, v in readout.params.items()}
    dx_next = np.zeros((B, K), dtype=layer.dtype)  # dL/dx^{t+1}, flows into y^t
    ds = dstate
    for t in range(steps - 1, -1, -1):
        dy_t = dy[t] + (dx_next if cache.feedback == "identity" else 0.0)  # (B, K)
        dh, rg = readout.backward(dy_t[None], cache.readout[t])  # (1, B, D*H)
        dx, ds, lg = layer.backward(dh, cache.layer[t], ds)  # dx (1, B, I)
        for k in lgrads:
            lgrads[k] += lg[k]
        for k in rgrads:
            rgrads[k] += rg[k]
        dx_next = dx[0]
    return dx_next, ds, lgrads, rgrads


class EncoderDecoder:
    """Encoder-decoder for unequal input and output lengths (Sutskever et al. 2014 style).

    The encoder reads ``x (T_in, B, I)``; its final state is the decoder's initial state; the
    decoder reads ``x_dec (T_out, B, I_dec)`` (during training the previous targets, "teacher
    forcing") and the readout maps its hidden states to ``y (T_out, B, K)``. Both layers must have
    the same family, hidden size and depth. All sequences of a batch share ``T_in``.
    Parameter keys: ``encoder.<layer key>``, ``decoder.<layer key>``, ``W_hy``, ``b_y``.
    """

    def __init__(
        self,
        encoder: RecurrentLayer,
        decoder: RecurrentLayer,
        readout: Readout,
        loss: str = "mse",
    ) -> None:
        for name, lay in (("encoder", encoder), ("decoder", decoder)):
            if not isinstance(lay, RecurrentLayer):
                raise TypeError(f"{name}: expected an rnnlab recurrent layer, got {type(lay)}")
            if lay.bidirectional:
                raise ValueError(
                    f"{name}: expected a unidirectional layer, got a bidirectional one"
                )
        if (encoder.family, encoder.hidden_size, encoder.num_layers) != (
            decoder.family,
            decoder.hidden_size,
            decoder.num_layers,
        ):
            raise ValueError(
                "decoder: expected the encoder's family, hidden size and depth "
                f"({encoder.family}, {encoder.hidden_size}, {encoder.num_layers}), got "
                f"({decoder.family}, {decoder.hidden_size}, {decoder.num_layers})"
            )
        self.encoder, self.decoder = encoder, decoder
        self.seq = SequenceModel(decoder, readout, loss)  # the decoder side with its readout
        self.readout = readout
        self.loss = self.seq.loss

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {
            **{f"encoder.{k}": v for k, v in self.encoder.params.items()},
            **{f"decoder.{k}": v for k, v in self.decoder.params.items()},
            **self.readout.params,
        }

    @property
    def dtype(self) -> np.dtype:
        return self.encoder.dtype

    def load_params(self, values: dict[str, np.ndarray]) -> None:
        """Copy ``values`` into the live parameter arrays."""
        SequenceModel.load_params(self, values)  # type: ignore[arg-type]

    def _split(self, grads_enc, grads_dec_and_readout) -> dict[str, np.ndarray]:
        out = {f"encoder.{k}": v for k, v in grads_enc.items()}
        for k, v in grads_dec_and_readout.items():
            out[k if k in self.readout.params else f"decoder.{k}"] = v
        return out

    def loss_and_grads(
        self,
        x: np.ndarray,
        x_dec: np.ndarray,
        targets: np.ndarray,
        mask: np.ndarray | None = None,
    ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """Loss over the decoder's steps (``mask (T_out, B)`` optional); returns L, grads, y."""
        _, s_enc, ecache = self.encoder.forward(x)
        h, _, dcache = self.decoder.forward(x_dec, s_enc)  # (T_out, B, H)
        value, dh, rgrads, y = readout_loss(self.readout, h, targets, self.loss, mask=mask)
        _, ds_enc, dgrads = self.decoder.backward(dh, dcache)
        dy_enc = _zero_output(ecache, self.encoder)  # no loss on the encoder's own outputs
        _, _, egrads = self.encoder.backward(dy_enc, ecache, ds_enc)
        return value, self._split(egrads, {**dgrads, **rgrads}), y

    def generate(
        self,
        x: np.ndarray,
        x0: np.ndarray,
        steps: int,
        feedback: str = "identity",
        rng: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Encode ``x``, then generate ``steps`` outputs from the first decoder input ``x0``."""
        _, s_enc, _ = self.encoder.forward(x)
        ys, _, _ = _generate(self.decoder, self.readout, x0, steps, s_enc, feedback, rng)
        return ys


def _zero_output(cache: LayerCache, layer: RecurrentLayer) -> np.ndarray:
    """A zero array shaped like the layer's output for a cache (no loss on encoder outputs)."""
    T, B, _ = cache.input_shape
    return np.zeros((T, B, layer.hidden_size * layer.num_directions), dtype=layer.dtype)
