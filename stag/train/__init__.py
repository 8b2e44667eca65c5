"""Training and honest evaluation: protocols, metrics, the training loop and protocol runs.

``from stag.train import TrainConfig, run_protocol``; ``fit_or_load`` trains one model on
training clips for a fixed schedule (the architecture chapters).
"""

from stag.train.config import TrainConfig
from stag.train.fit import evaluate, fit_or_load
from stag.train.run import ModelSpec, Results, load_fold_model, run_protocol

__all__ = ["TrainConfig", "run_protocol", "Results", "ModelSpec", "load_fold_model", "fit_or_load", "evaluate"]
