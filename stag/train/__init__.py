"""Training and honest evaluation: protocols, metrics, the training loop and protocol runs.

``from stag.train import TrainConfig, run_protocol``; ``fit_or_load`` trains one model on
training clips for a fixed schedule (the architecture chapters). A run comes back as a
:class:`stag.train.records.RunRecord`, the one type of every run folder, live or recorded.
"""

from stag.train.config import TrainConfig
from stag.train.fit import evaluate, fit_or_load
from stag.train.run import ModelSpec, load_fold_model, run_protocol

__all__ = ["TrainConfig", "run_protocol", "ModelSpec", "load_fold_model", "fit_or_load", "evaluate"]
