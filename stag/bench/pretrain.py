"""``stag bench pretrain``: what synthetic pretraining costs, from a cold cache.

For each model, in a temporary cache (nothing is reused): the seconds to render the synthetic
set into the composite's representation (:mod:`stag.preprocess.composite`, once per cache)
and the seconds to train on it (:func:`stag.train.pretrain.pretrain`, once per seed), at the
two-phase study's settings (K = 2, 64-pixel flows, 480 clips, 30 epochs)::

    stag bench pretrain --models stag,offapexnet_stack
"""

from __future__ import annotations

import argparse
import tempfile

import pandas as pd

HELP = "seconds to render the synthetic set into the composite representation and to pretrain on it"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="stag,offapexnet_stack", help="comma-separated models")
    parser.add_argument("--keyframes", type=int, default=2, help="phases (default 2)")
    parser.add_argument("--output-size", type=int, default=64, help="flow side (default 64)")
    parser.add_argument("--subjects", type=int, default=40, help="synthetic subjects (default 40)")
    parser.add_argument("--epochs", type=int, default=30, help="pretraining epochs (default 30)")
    parser.add_argument("--jobs", type=int, default=2, help="rendering processes (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")


def run(args: argparse.Namespace) -> pd.DataFrame:
    from stag.train.config import TrainConfig
    from stag.train.pretrain import PretrainConfig, composite_model_spec, pretrain

    config = PretrainConfig(n_subjects=args.subjects, epochs=args.epochs)
    train = TrainConfig(seed=args.seed, device=args.device)
    rows = []
    with tempfile.TemporaryDirectory(prefix="stag-bench-pretrain-") as cache:
        for model in [m.strip() for m in args.models.split(",") if m.strip()]:
            spec = composite_model_spec(model, train)
            done = pretrain(spec, args.keyframes, args.output_size, train, config, cache_dir=cache, jobs=args.jobs)
            rows.append({"model": model, "clips": done.n_clips, "epochs": config.epochs,
                         "render_s": round(done.prepare_seconds, 1), "train_s": round(done.train_seconds, 1),
                         "final_train_loss": round(float(done.history[-1]["train_loss"]), 4)})
    return pd.DataFrame(rows)
