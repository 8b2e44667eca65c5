"""``stag pretrain``: synthetic pretraining of a composite model, on its own (and timed).

    stag pretrain --model stag --keyframes 2 --output-size 64 --seed 0 --out pretrained/stag-k2-seed0.pt

Renders the synthetic set into the composite's representation (``keyframes`` phases,
:mod:`stag.preprocess.composite`), trains the model on it (:func:`stag.train.pretrain.pretrain`,
cached in ``--cache-dir``) and prints what it cost. ``stag train --pretrain synthetic`` runs
the same step (same cache) before its folds, so this command is there to see and time it,
and to keep the weights (``--out``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stag.train.pretrain import PretrainConfig

HELP = "pretrain a model on the synthetic set rendered into the MEGC2019 composite's representation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="stag", help="model name (default stag)")
    parser.add_argument("--keyframes", type=int, default=2, help="phases: 2 (onset->apex, apex->offset) or 1")
    parser.add_argument("--output-size", type=int, default=64, help="flow side fed to the model (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--subjects", type=int, default=PretrainConfig.n_subjects,
                        help=f"synthetic subjects (default {PretrainConfig.n_subjects})")
    parser.add_argument("--epochs", type=int, default=PretrainConfig.epochs,
                        help=f"epochs (default {PretrainConfig.epochs})")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    parser.add_argument("--jobs", type=int, default=2, help="preprocessing processes (default 2)")
    parser.add_argument("--cache-dir", default=".stag-cache", help="cache (default .stag-cache)")
    parser.add_argument("--out", type=Path, default=None, help="also save the weights to this .pt file")


def run(args: argparse.Namespace) -> int:
    # lazy: `stag --help` imports every command module
    import torch

    from stag.files import atomic_write
    from stag.train.config import TrainConfig
    from stag.train.pretrain import composite_model_spec, pretrain

    config = PretrainConfig(n_subjects=args.subjects, epochs=args.epochs)
    train = TrainConfig(seed=args.seed, device=args.device)
    spec = composite_model_spec(args.model, train)
    done = pretrain(spec, args.keyframes, args.output_size, train, config, cache_dir=args.cache_dir, jobs=args.jobs)
    last = done.history[-1] if done.history else {}
    print(f"pretrained {args.model} on {done.n_clips} synthetic clips in the composite representation "
          f"(K={args.keyframes}, {args.output_size}x{args.output_size}; {config.epochs} epochs, seed {args.seed}): "
          f"prepare {done.prepare_seconds:.1f} s, train {done.train_seconds:.1f} s"
          f"{' (loaded from the cache)' if done.loaded else ''}; final train loss "
          f"{last.get('train_loss', float('nan')):.3f}")
    if args.out is not None:
        state = {"model": args.model, "model_kwargs": {k: (v.tolist() if hasattr(v, "tolist") else v)
                                                       for k, v in spec.kwargs.items()},
                 "state_dict": done.state_dict, "pretrain": done.info}
        atomic_write(args.out, lambda p: torch.save(state, p))
        print(f"wrote {args.out}")
    return 0
