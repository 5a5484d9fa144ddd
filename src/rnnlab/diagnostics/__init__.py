"""Diagnostics of gradient flow through time: pure functions over arrays and BPTT results.

- :mod:`.gradient_flow`: ||dL/dh_k|| (and ||dL/dc_k||) at every step from one backward sweep.
- :mod:`.jacobians`: ||dh_t/dh_k||_2 against the lag, the bound (gamma ||W_hh||_2)^(t-k), verdicts.
- :mod:`.contributions`: which time steps drive the update of W_hh.
- :mod:`.spectrum`: eigenvalues and singular values of W_hh.
- :mod:`.impulse`: memory of a single input for linear, sigmoid, tanh and relu recursions.
- :mod:`.gates`: LSTM/GRU gate saturation and the forget gate over time.
- :mod:`.deep_mlp`: per-layer gradient norms of a deep MLP at initialisation (digits).
- :mod:`.training`: explosion events in a run's gradient norms.

No file is read or written here: :func:`rnnlab.reports.diagnose` runs these measures on a
layer or a run folder and writes the figures, ``diagnostics.json`` and ``report.md``.
"""

from .contributions import contribution_summary
from .deep_mlp import deep_mlp_gradients, init_mlp, load_digits_data, mlp_loss_and_grads
from .gates import gate_statistics
from .gradient_flow import Sweep, backward_sweep, gradient_flow, last_step_loss_gradient
from .impulse import impulse_response, impulse_sweep, matrix_with_eigenvalue
from .jacobians import (
    GRUJacobians,
    JacobianProducts,
    LSTMJacobians,
    RNNJacobians,
    StepJacobians,
    bound_log10,
    classify_bound,
    classify_growth,
    growth_rate,
    jacobian_products,
    step_jacobians,
)
from .spectrum import recurrent_blocks, spectrum
from .training import explosion_events, training_gradients

__all__ = [
    "GRUJacobians",
    "JacobianProducts",
    "LSTMJacobians",
    "RNNJacobians",
    "StepJacobians",
    "Sweep",
    "backward_sweep",
    "bound_log10",
    "classify_bound",
    "classify_growth",
    "contribution_summary",
    "deep_mlp_gradients",
    "explosion_events",
    "gate_statistics",
    "gradient_flow",
    "growth_rate",
    "impulse_response",
    "impulse_sweep",
    "init_mlp",
    "jacobian_products",
    "last_step_loss_gradient",
    "load_digits_data",
    "matrix_with_eigenvalue",
    "mlp_loss_and_grads",
    "recurrent_blocks",
    "spectrum",
    "step_jacobians",
    "training_gradients",
]
