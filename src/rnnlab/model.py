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

from dataclasses import dataclass

import numpy as np

from ._generate import FEEDBACK, GenerationCache, generate, generate_backward
from ._validate import check_array, check_choice, check_instance, check_last
from .layers import LayerCache, RecurrentLayer, StateArg
from .readout import Readout, ReadoutCache, check_loss_activation, readout_loss

__all__ = [
    "FEEDBACK",
    "EncoderDecoder",
    "GenerationCache",
    "ModelCache",
    "SequenceModel",
    "mask_from_last",
]


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


class SequenceModel:
    r"""A recurrent layer with a :class:`~rnnlab.readout.Readout` on top: the whole network.

    .. math::
        h^t = \mathrm{layer}(x^t, h^{t-1}), \qquad y^t = \phi_y(W_{hy} h^t + b_y), \qquad
        L = \frac{1}{T} \sum_t L^t(y^t, o^t)

    where ``layer`` is an :class:`~rnnlab.RNN`, :class:`~rnnlab.LSTM` or :class:`~rnnlab.GRU`
    stack (its docstring holds the cell's equations) and ``o^t`` the targets;
    :mod:`rnnlab.losses` gives the exact averaging over steps, sequences and masks.

    Parameters
    ----------
    layer : RecurrentLayer
        The recurrent stack; its output width ``num_directions * H`` is the readout's input.
    readout : Readout
        ``hidden_size`` must equal the layer's output width.
    loss : {"mse", "ce", "bce"}, default "mse"
        The training loss; ``ce`` needs a ``softmax`` readout and ``bce`` a ``sigmoid`` one
        (those losses are taken from the logits).

    Inputs (:meth:`forward`)
    ------------------------
    x : ndarray (T, B, I)
        Time-major inputs.
    state : ndarray, tuple (h, c) or None
        The layer's initial state, ``(num_layers * num_directions, B, H)`` each.

    Outputs (:meth:`forward`)
    -------------------------
    y : ndarray (T, B, K)
        Outputs at every step (:meth:`predict` with ``last`` picks each sequence's last one).
    state : ndarray or tuple
        The layer's final state.
    cache : ModelCache
        For :meth:`backward`; :meth:`loss_and_grads` runs forward, loss and BPTT in one call.

    Attributes
    ----------
    params : dict of str to ndarray
        The layer's parameters (``W_xh_l0``, ``W_hh_l0``, ``b_h_l0``, ...) then the readout's
        (``W_hy (K, num_directions * H)``, ``b_y (K,)``); the live arrays, so in-place
        updates change the model. Gradients come as a dict with the same keys.
    layer : RecurrentLayer
    readout : Readout
    loss : str

    Examples
    --------
    >>> import numpy as np
    >>> import rnnlab
    >>> from rnnlab.model import SequenceModel
    >>> from rnnlab.readout import Readout
    >>> model = SequenceModel(rnnlab.LSTM(2, 8, rng=0), Readout(8, 1, rng=1), loss="mse")
    >>> x = np.random.default_rng(0).standard_normal((10, 4, 2))  # (T, B, I)
    >>> y, state, cache = model.forward(x)
    >>> y.shape
    (10, 4, 1)
    >>> L, grads, _, _ = model.loss_and_grads(x, np.zeros((4, 1)), last=np.full(4, 9))
    >>> sorted(grads) == sorted(model.params)
    True
    """

    def __init__(self, layer: RecurrentLayer, readout: Readout, loss: str = "mse") -> None:
        check_instance("layer", layer, RecurrentLayer, "an rnnlab recurrent layer")
        check_instance("readout", readout, Readout, "an rnnlab.readout.Readout")
        width = layer.hidden_size * layer.num_directions
        if readout.hidden_size != width:
            raise ValueError(
                f"readout.hidden_size: expected the layer's output width {width}, "
                f"got {readout.hidden_size}"
            )
        self.layer = layer
        self.readout = readout
        self.loss = check_choice("loss", loss, ("mse", "ce", "bce"))
        check_loss_activation(readout, loss)
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
        """Copy ``values`` into the live parameter arrays (same keys, shapes; cast to dtype).

        Every value is checked (numeric, shape, finite) before any array changes."""
        own = self.params
        if not isinstance(values, dict):
            raise TypeError(f"values: expected a dict of arrays, got {type(values).__name__}")
        if set(values) != set(own):
            raise ValueError(f"values: expected keys {sorted(own)}, got {sorted(values)}")
        checked = {}
        for name, a in own.items():
            v = np.asarray(values[name])
            if v.dtype.kind not in "fiu":
                raise TypeError(f"values[{name!r}]: expected numbers, got dtype {v.dtype}")
            check_array(f"values[{name!r}]", v, shape=a.shape)  # shape, and no NaN/inf
            checked[name] = v
        for name, a in own.items():
            np.copyto(a, checked[name].astype(a.dtype, copy=False))

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
        last = check_last(last, y.shape[0], y.shape[1])
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
        # x needs no gradient; dh is the readout's own (a pass over it checking for NaN cost
        # about 2% of a small LSTM's step: a NaN reaches the gradients, whose norm is checked)
        _, _, lgrads = self.layer.backward(dh, lcache, need_dx=False, check=False)
        return value, {**lgrads, **rgrads}, s_T, y

    # -- one-to-many ---------------------------------------------------------------------------
    def generate(
        self,
        x0: np.ndarray,
        steps: int,
        state: StateArg = None,
        feedback: str = "identity",
        *,
        rng: int | np.random.Generator | None = None,
    ) -> tuple[np.ndarray, StateArg, GenerationCache]:
        """Run ``steps`` steps from the first input ``x0 (B, I)``, feeding each output back.

        ``feedback="identity"``: ``x^{t+1} = y^t`` (needs K == I; gradients flow through it);
        ``"argmax"`` / ``"sample"``: ``x^{t+1}`` is the one-hot of the argmax of ``y^t`` or of a
        class drawn from ``y^t`` (probabilities, e.g. a softmax readout; needs ``rng``); these
        choices are not differentiable, so no gradient flows through them. Returns
        ``y (steps, B, K)``, the final state and a cache for :meth:`generate_backward`; with
        ``"argmax"`` / ``"sample"`` the cache's ``indices (steps, B)`` are the classes chosen.
        """
        return generate(self.layer, self.readout, x0, steps, state, feedback, rng=rng)

    def generate_backward(
        self, dy: np.ndarray, cache: GenerationCache, dstate: StateArg = None
    ) -> tuple[np.ndarray, StateArg, dict[str, np.ndarray]]:
        """``dL/dy (steps, B, K)`` -> ``dL/dx0 (B, I)``, dL/d(state0), grads (one flat dict)."""
        dx0, ds0, lgrads, rgrads = generate_backward(self.layer, self.readout, dy, cache, dstate)
        return dx0, ds0, {**lgrads, **rgrads}


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
            check_instance(name, lay, RecurrentLayer, "an rnnlab recurrent layer")
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
        *,
        rng: int | np.random.Generator | None = None,
    ) -> np.ndarray:
        """Encode ``x``, then generate ``steps`` outputs from the first decoder input ``x0``."""
        _, s_enc, _ = self.encoder.forward(x)
        ys, _, _ = generate(self.decoder, self.readout, x0, steps, s_enc, feedback, rng=rng)
        return ys


def _zero_output(cache: LayerCache, layer: RecurrentLayer) -> np.ndarray:
    """A zero array shaped like the layer's output for a cache (no loss on encoder outputs)."""
    T, B, _ = cache.input_shape
    return np.zeros((T, B, layer.hidden_size * layer.num_directions), dtype=layer.dtype)
