"""Every cell option the tests cover, as layer factories: ``cell_cases(I, H)[name](**kw)``."""

import rnnlab


def cell_cases(I: int, H: int) -> dict:
    return {
        **{
            f"rnn-{phi}": lambda phi=phi, **kw: rnnlab.RNN(I, H, nonlinearity=phi, **kw)
            for phi in ("tanh", "sigmoid", "relu", "identity")
        },
        "lstm": lambda **kw: rnnlab.LSTM(I, H, forget_bias=0.5, **kw),
        "lstm-no-forget": lambda **kw: rnnlab.LSTM(I, H, forget_gate=False, **kw),
        "lstm-peepholes": lambda **kw: rnnlab.LSTM(I, H, peepholes=True, **kw),
        "lstm-peepholes-no-forget": lambda **kw: rnnlab.LSTM(
            I, H, peepholes=True, forget_gate=False, **kw
        ),
        "gru": lambda **kw: rnnlab.GRU(I, H, **kw),
    }
