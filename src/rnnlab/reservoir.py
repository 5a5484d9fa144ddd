"""Echo state networks: a fixed random reservoir and a linear readout solved in closed form."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp

from ._esn_math import DEFAULT_RIDGES, ridge_readout, select_ridge, spectral_radius
from ._validate import as_rng, check_bool, check_choice, check_positive_float, check_positive_int

__all__ = ["ESN", "EchoStateWarning", "DEFAULT_RIDGES", "ridge_readout", "spectral_radius"]

_radius_of = spectral_radius  # the constructor's argument of the same name hides the function


class EchoStateWarning(UserWarning):
    """The reservoir may not have the echo-state property (effective radius >= 1)."""


def _as_seq(name: str, a: object, width: int | None) -> tuple[np.ndarray, bool]:
    """``(T, F)`` or ``(T, B, F)`` -> float64 ``(T, B, F)`` and whether a batch axis came."""
    if not isinstance(a, np.ndarray):
        raise TypeError(
            f"{name}: expected a numpy array (T, F) or (T, B, F), got {type(a).__name__}"
        )
    if a.ndim not in (2, 3):
        raise ValueError(f"{name}: expected shape (T, F) or (T, B, F), got {a.shape}")
    if not np.issubdtype(a.dtype, np.number):
        raise TypeError(f"{name}: expected a numeric array, got dtype {a.dtype}")
    batched = a.ndim == 3
    a = np.asarray(a if batched else a[:, None, :], dtype=np.float64)
    if width is not None and a.shape[2] != width:
        raise ValueError(f"{name}: expected {width} features in the last axis, got {a.shape[2]}")
    if a.shape[0] < 1 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: expected at least one step of finite values, got {a.shape}")
    return a, batched


class ESN:
    r"""Echo state network (Jaeger 2001): a fixed random reservoir, a trained linear readout.

    Input ``x(t)`` (I,), reservoir state ``h(t)`` (N,), output ``y(t)`` (K,), leak rate ``a``::

        h~(t) = tanh(W_xh x(t) + W_hh h(t-1) + W_fb y(t-1) + b_h)
        h(t)  = (1 - a) h(t-1) + a h~(t)
        y(t)  = W_hy [1; x(t); h(t)]            ([1; h(t)] when readout_input=False)

    ``W_xh ~ U[-input_scaling, input_scaling]``, ``b_h ~ U[-bias_scaling, bias_scaling]``,
    ``W_fb ~ U[-feedback_scaling, feedback_scaling]`` (only with ``feedback=True``). ``W_hh`` is
    sparse: each entry is non-zero with probability ``connectivity``, drawn from N(0, 1), then
    scaled so that its largest eigenvalue modulus is exactly ``spectral_radius``. Only ``W_hy`` is
    trained, by ridge regression on the states after a washout (bias not penalised)::

        W_hy = argmin ||[1, X, H] W^T - Y||^2 + ridge ||W[:, 1:]||^2

    Echo-state property: linearised at ``h = 0`` the leaky update has the Jacobian
    ``(1 - a) I + a W_hh`` whose spectral radius ``rho_eff = max_k |1 - a + a lambda_k(W_hh)|``
    is :attr:`effective_radius`; an :class:`EchoStateWarning` is issued when it is >= 1.

    Parameters
    ----------
    input_size, output_size : int
        ``I`` (0 for a reservoir driven by output feedback only) and ``K``.
    units : int
        Reservoir size ``N``.
    spectral_radius, leak_rate, input_scaling, bias_scaling, connectivity : float
        As in the equations; ``leak_rate`` and ``connectivity`` in (0, 1].
    feedback : bool
        Add the output feedback ``W_fb y(t-1)``.
    feedback_scaling : float
        Range of ``W_fb``.
    readout_input : bool
        Let the readout see ``x(t)`` beside ``h(t)``.
    activation : "tanh" or "identity"
        ``identity`` replaces tanh by the identity: a linear reservoir.
    rng : int or numpy.random.Generator
        Source of the fixed weights.
    backend : "fast" or "numpy"
        State collection by the compiled sparse kernel or by the plain NumPy step loop.

    Sequences are time-major, ``(T, I)`` or ``(T, B, I)``; outputs keep the caller's form.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int = 1,
        *,
        units: int = 100,
        spectral_radius: float = 0.9,
        leak_rate: float = 1.0,
        input_scaling: float = 1.0,
        bias_scaling: float = 0.0,
        connectivity: float = 0.1,
        feedback: bool = False,
        feedback_scaling: float = 1.0,
        readout_input: bool = True,
        activation: str = "tanh",
        rng: int | np.random.Generator = 0,
        backend: str = "fast",
    ) -> None:
        if isinstance(input_size, bool) or not isinstance(input_size, numbers.Integral):
            raise TypeError(f"input_size: expected an int >= 0, got {input_size!r}")
        if input_size < 0:
            raise ValueError(f"input_size: expected an int >= 0, got {input_size}")
        self.input_size = int(input_size)
        self.output_size = check_positive_int("output_size", output_size)
        self.units = N = check_positive_int("units", units)
        self.spectral_radius = check_positive_float("spectral_radius", spectral_radius)
        self.leak_rate = a = check_positive_float("leak_rate", leak_rate)
        if a > 1:
            raise ValueError(f"leak_rate: expected a number in (0, 1], got {leak_rate}")
        self.input_scaling = check_positive_float("input_scaling", input_scaling)
        if isinstance(bias_scaling, bool) or not isinstance(bias_scaling, numbers.Real):
            raise TypeError(f"bias_scaling: expected a number >= 0, got {bias_scaling!r}")
        if not np.isfinite(bias_scaling) or bias_scaling < 0:
            raise ValueError(f"bias_scaling: expected a finite number >= 0, got {bias_scaling}")
        self.bias_scaling = float(bias_scaling)
        self.connectivity = check_positive_float("connectivity", connectivity)
        if self.connectivity > 1:
            raise ValueError(f"connectivity: expected a number in (0, 1], got {connectivity}")
        self.feedback = check_bool("feedback", feedback)
        self.feedback_scaling = check_positive_float("feedback_scaling", feedback_scaling)
        self.readout_input = check_bool("readout_input", readout_input)
        self.backend = check_choice("backend", backend, ("fast", "numpy"))
        self.activation = check_choice("activation", activation, ("tanh", "identity"))
        self._phi = np.tanh if self.activation == "tanh" else (lambda z: z)
        gen = as_rng(rng)

        self.W_xh = gen.uniform(-1.0, 1.0, (N, self.input_size)) * self.input_scaling
        self.b_h = gen.uniform(-1.0, 1.0, N) * self.bias_scaling
        mask = gen.random((N, N)) < self.connectivity
        values = gen.standard_normal((N, N))
        W = sp.csr_array(np.where(mask, values, 0.0))
        lam = np.linalg.eigvals(W.toarray()) if N <= 3000 else None
        rho = float(np.max(np.abs(lam))) if lam is not None else _radius_of(W)
        if rho == 0.0:  # a nilpotent draw (tiny N, tiny connectivity): no scaling can fix it
            raise ValueError(
                f"connectivity: {connectivity} gave a W_hh with no non-zero eigenvalue for "
                f"units={N}; raise connectivity"
            )
        self.W_hh = (W * (self.spectral_radius / rho)).tocsr()
        self.W_hh.sort_indices()
        if lam is not None:
            lam = lam * (self.spectral_radius / rho)
            self.effective_radius = float(np.max(np.abs(1.0 - a + a * lam)))
        else:  # bound by the triangle inequality when the spectrum is not computed in full
            self.effective_radius = 1.0 - a + a * self.spectral_radius
        if self.effective_radius >= 1.0:
            warnings.warn(
                f"effective spectral radius of the leaky update is {self.effective_radius:.4g} "
                "(>= 1): the echo-state property may not hold",
                EchoStateWarning,
                stacklevel=2,
            )
        K = self.output_size
        self.W_fb = gen.uniform(-1.0, 1.0, (N, K)) * self.feedback_scaling if feedback else None
        self.W_hy: np.ndarray | None = None  # (K, 1 + [I] + N) once fitted
        self.ridge_: float | None = None
        self.validation_errors_: dict[float, float] = {}

    # ------------------------------------------------------------------ states
    def _projections(self, x: np.ndarray, y_prev: np.ndarray | None) -> np.ndarray:
        T, B, I = x.shape
        # one 2-d GEMM for all steps (a stacked 3-d matmul takes NumPy's slow loop)
        U = (x.reshape(T * B, I) @ self.W_xh.T).reshape(T, B, self.units)
        U += self.b_h
        if self.W_fb is not None and y_prev is not None:
            U += (y_prev.reshape(T * B, -1) @ self.W_fb.T).reshape(T, B, self.units)
        return U

    def _run(self, U: np.ndarray, h0: np.ndarray) -> np.ndarray:
        out = np.empty_like(U)
        if self.backend == "fast":
            from .kernels.esn import collect_states  # compiled code: imported on first use

            W = self.W_hh
            ptr, idx = W.indptr.astype(np.uint64), W.indices.astype(np.uint32)
            linear = self.activation == "identity"
            return collect_states(U, ptr, idx, W.data, h0, self.leak_rate, linear, out)
        W_hh_T, a, h = self.W_hh.toarray().T, self.leak_rate, h0
        for t in range(U.shape[0]):  # the plain NumPy loop, the readable reference
            h = (1.0 - a) * h + a * self._phi(U[t] + h @ W_hh_T)
            out[t] = h
        return out

    def _h0(self, h0: np.ndarray | None, B: int) -> np.ndarray:
        if h0 is None:
            return np.zeros((B, self.units))
        h0 = np.asarray(h0, dtype=np.float64)
        h0 = h0[None] if h0.ndim == 1 else h0
        if h0.shape != (B, self.units) or not np.all(np.isfinite(h0)):
            raise ValueError(f"h0: expected finite ({B}, {self.units}), got {h0.shape}")
        return np.ascontiguousarray(h0)

    def states(
        self, x: np.ndarray, *, h0: np.ndarray | None = None, y_prev: np.ndarray | None = None
    ) -> np.ndarray:
        """Reservoir states ``h(1..T)`` driven by ``x`` (teacher forcing through ``y_prev``).

        Parameters
        ----------
        x : (T, I) or (T, B, I)
        h0 : (N,) or (B, N), optional; zeros by default.
        y_prev : (T, K) or (T, B, K), optional
            The outputs fed back at each step, ``y(t-1)``; needs ``feedback=True``.

        Returns
        -------
        h : (T, N) or (T, B, N)
        """
        xs, batched = _as_seq("x", x, self.input_size)
        yp = None
        if y_prev is not None:
            if self.W_fb is None:
                raise ValueError("y_prev: the network has no output feedback (feedback=False)")
            yp, _ = _as_seq("y_prev", y_prev, self.output_size)
            if yp.shape[:2] != xs.shape[:2]:
                raise ValueError(f"y_prev: expected (T, B) = {xs.shape[:2]}, got {yp.shape[:2]}")
        H = self._run(self._projections(xs, yp), self._h0(h0, xs.shape[1]))
        return H if batched else H[:, 0]

    def _design(self, x: np.ndarray, H: np.ndarray) -> np.ndarray:
        return np.concatenate([x, H], axis=-1) if self.readout_input else H

    def _readout(self, x: np.ndarray, H: np.ndarray) -> np.ndarray:
        if self.W_hy is None:
            raise ValueError("W_hy: the readout is not trained; call fit first")
        return self._design(x, H) @ self.W_hy[:, 1:].T + self.W_hy[:, 0]

    # ------------------------------------------------------------------ training
    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        *,
        washout: int = 100,
        ridge: float | None = None,
        ridges: tuple[float, ...] = DEFAULT_RIDGES,
        val_fraction: float = 0.2,
        h0: np.ndarray | None = None,
        y0: np.ndarray | None = None,
    ) -> ESN:
        """Train ``W_hy`` by ridge regression on the teacher-forced states after ``washout``.

        Parameters
        ----------
        x : (T, I) or (T, B, I)
        y : (T, K) or (T, B, K); target ``y(t)`` for input ``x(t)``. With feedback, the true
            ``y(t-1)`` is fed back (teacher forcing), ``y0`` before the first step (zeros).
        washout : int
            Leading steps whose states are discarded (the initial state's transient).
        ridge : float, optional
            Fixed ridge; by default the one of ``ridges`` with the lowest one-step MSE on the last
            ``val_fraction`` of the post-washout steps, then refitted on all of them.

        Returns
        -------
        self, with ``W_hy``, ``ridge_``, ``validation_errors_`` and ``h_`` (the last state) set.
        """
        xs, batched = _as_seq("x", x, self.input_size)
        ys, _ = _as_seq("y", y, self.output_size)
        if ys.shape[:2] != xs.shape[:2]:
            raise ValueError(f"y: expected (T, B) = {xs.shape[:2]}, got {ys.shape[:2]}")
        if isinstance(washout, bool) or not isinstance(washout, numbers.Integral) or washout < 0:
            raise ValueError(f"washout: expected an int >= 0, got {washout!r}")
        T, B, _ = xs.shape
        if T - washout < 2:
            raise ValueError(f"x: expected more than washout + 1 = {washout + 1} steps, got {T}")
        yp = None
        if self.W_fb is not None:
            first = np.zeros((1, B, self.output_size)) if y0 is None else np.reshape(y0, (1, B, -1))
            yp = np.concatenate([first, ys[:-1]], axis=0)
        H = self._run(self._projections(xs, yp), self._h0(h0, B))
        D = self._design(xs, H)[washout:]
        S = D.reshape(-1, D.shape[-1])
        Y = ys[washout:].reshape(-1, self.output_size)
        if ridge is None:
            if not (isinstance(val_fraction, numbers.Real) and 0 < val_fraction < 1):
                raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction}")
            # rows are time-major, so the last rows are the last steps of every sequence
            ridge, self.validation_errors_ = select_ridge(S, Y, tuple(ridges), val_fraction)
        elif isinstance(ridge, bool) or not isinstance(ridge, numbers.Real) or not ridge >= 0:
            raise ValueError(f"ridge: expected a number >= 0, got {ridge!r}")
        self.ridge_ = float(ridge)
        self.W_hy = ridge_readout(S, Y, self.ridge_)
        self.h_ = H[-1] if batched else H[-1, 0]  # state after the last training step
        return self

    # ------------------------------------------------------------------ inference
    def predict(
        self, x: np.ndarray, *, h0: np.ndarray | None = None, y_prev: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Outputs driven by the inputs ``x`` (teacher-forced feedback through ``y_prev``).

        Returns ``(y (T, [B,] K), h_T ([B,] N))``. With feedback and no ``y_prev`` the network's
        own outputs are fed back, one step at a time.
        """
        xs, batched = _as_seq("x", x, self.input_size)
        if self.W_fb is not None and y_prev is None:
            y, h = self._free(
                xs, self._h0(h0, xs.shape[1]), np.zeros((xs.shape[1], self.output_size))
            )
        else:
            H = self.states(x, h0=h0, y_prev=y_prev)
            H = H if batched else H[:, None]
            y, h = self._readout(xs, H), H[-1]
        return (y, h) if batched else (y[:, 0], h[0])

    def generate(
        self, steps: int, *, h0: np.ndarray, y0: np.ndarray, x: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Free run: every output is fed back; nothing observed after ``y0``.

        Parameters
        ----------
        steps : int
        h0 : (N,) or (B, N)
            State after the last observed step.
        y0 : (K,) or (B, K)
            Last observed value. Without ``x`` (closed loop, needs ``I == K``) it is the first
            input, and each output the next one: ``x(t) = y(t-1)``; ``y[k]`` is then the
            forecast ``k + 1`` steps after ``y0``.
        x : (steps, [B,] I), optional
            Exogenous inputs; the outputs return through ``W_fb`` only (needs feedback).

        Returns
        -------
        y : (steps, [B,] K), h : ([B,] N)
        """
        steps = check_positive_int("steps", steps)
        y0 = np.asarray(y0, dtype=np.float64)
        batched = y0.ndim == 2
        y0 = y0 if batched else y0[None]
        if y0.shape[1] != self.output_size or not np.all(np.isfinite(y0)):
            raise ValueError(f"y0: expected finite (B, {self.output_size}), got {y0.shape}")
        if x is None:
            if self.input_size != self.output_size and self.input_size != 0:
                raise ValueError(
                    f"x: a closed loop needs input_size == output_size, got {self.input_size} "
                    f"and {self.output_size}; pass the exogenous inputs"
                )
            if self.input_size == 0 and self.W_fb is None:
                raise ValueError("x: a reservoir without inputs needs feedback=True to run free")
            xs = None
        else:
            if self.W_fb is None:
                raise ValueError("x: with exogenous inputs the free run needs feedback=True")
            xs, _ = _as_seq("x", x if batched else np.asarray(x)[:, None], self.input_size)
            if xs.shape[0] != steps or xs.shape[1] != y0.shape[0]:
                raise ValueError(f"x: expected ({steps}, {y0.shape[0]}, I), got {xs.shape}")
        y, h = self._free(xs, self._h0(h0, y0.shape[0]), y0, steps)
        return (y, h) if batched else (y[:, 0], h[0])

    def step(
        self, x: np.ndarray, h: np.ndarray, y_prev: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """One step of the update and the readout: ``(y(t) (B, K), h(t) (B, N))``.

        ``x (B, I)`` is ``x(t)``, ``h (B, N)`` is ``h(t-1)``, ``y_prev (B, K)`` the fed-back
        ``y(t-1)`` (feedback only).
        """
        if self.W_hy is None:
            raise ValueError("W_hy: the readout is not trained; call fit first")
        z = x @ self.W_xh.T + self.b_h + (self.W_hh @ h.T).T
        if self.W_fb is not None and y_prev is not None:
            z = z + y_prev @ self.W_fb.T
        h = (1.0 - self.leak_rate) * h + self.leak_rate * self._phi(z)
        return self._design(x, h) @ self.W_hy[:, 1:].T + self.W_hy[:, 0], h

    def _free(self, xs, h, y_last, steps=None):
        """Step loop with the output fed back (inputs ``xs`` or the closed loop)."""
        steps = xs.shape[0] if xs is not None else steps
        ys = np.empty((steps, h.shape[0], self.output_size))
        for t in range(steps):
            if xs is not None:
                x_t = xs[t]
            elif self.input_size:
                x_t = y_last  # closed loop: the previous output is the next input
            else:
                x_t = np.zeros((h.shape[0], 0))
            y_last, h = self.step(x_t, h, y_last)
            ys[t] = y_last
        return ys, h
