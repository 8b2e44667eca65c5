"""Training and honest evaluation: protocols, metrics, the training loop and protocol runs.

``from stag.train import TrainConfig, run_protocol``.
"""

from stag.train.config import TrainConfig
from stag.train.run import ModelSpec, Results, load_fold_model, run_protocol

__all__ = ["TrainConfig", "run_protocol", "Results", "ModelSpec", "load_fold_model"]
