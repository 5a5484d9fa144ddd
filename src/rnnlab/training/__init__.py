"""Training on any data source: config, BPTT, the trainer and its callbacks, the run folder.

``rnnlab.train(TrainConfig(...), data=None) -> Run`` is the one-call entry point.
"""

from .api import Run, evaluate, train, verdict
from .bptt import full_bptt, tbptt_chunks
from .build import build_model
from .callbacks import (
    Callback,
    Checkpointer,
    EarlyStopping,
    LossCurve,
    NaNGuard,
    ProgressBar,
    default_callbacks,
)
from .config import (
    DTYPES,
    INITS,
    MODELS,
    NONLINEARITIES,
    TrainConfig,
    config_from_dict,
    config_to_dict,
    make_source,
    make_task,
    read_config,
    resolve_config,
    validate_config,
    write_config,
)
from .runs import METRIC_COLUMNS, RUN_FILES, LoadedRun, RunFolder, check_out_dir, load_run
from .trainer import Trainer

__all__ = [
    "DTYPES",
    "INITS",
    "METRIC_COLUMNS",
    "MODELS",
    "NONLINEARITIES",
    "RUN_FILES",
    "Callback",
    "Checkpointer",
    "EarlyStopping",
    "LoadedRun",
    "LossCurve",
    "NaNGuard",
    "ProgressBar",
    "Run",
    "RunFolder",
    "TrainConfig",
    "Trainer",
    "build_model",
    "check_out_dir",
    "config_from_dict",
    "config_to_dict",
    "default_callbacks",
    "evaluate",
    "full_bptt",
    "load_run",
    "make_source",
    "make_task",
    "read_config",
    "resolve_config",
    "tbptt_chunks",
    "train",
    "validate_config",
    "verdict",
    "write_config",
]
