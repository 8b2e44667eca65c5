"""Hand-made predictions for tests of recorded-run tables (not a test module)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from stag.train.metrics import confusion_matrix, per_group_scores, scores

CLASSES = ["negative", "positive", "surprise"]


def predict(y: np.ndarray, accuracy: float, seed: int) -> np.ndarray:
    """Predictions right on a fixed share of the clips of ``y`` (the same clips for every model
    at one accuracy and seed), wrong ones shifted to the next class."""
    rng = np.random.default_rng(100 + seed)
    wrong = rng.permutation(len(y))[: int(round((1 - accuracy) * len(y)))]
    pred = np.array(y, copy=True)
    pred[wrong] = (pred[wrong] + 1) % 3
    return pred


def write_record(root, name, model, seed, y, pred, subjects, *, dataset="casme2", data_name="megc2019_phases",
                 keyframes=2, pretrained=False, phases=None, params=None):
    """A recorded run folder ``root/name`` (``results.json`` + ``predictions.csv``) whose
    predictions give its scores: one clip per entry of ``subjects``, truth ``y``, prediction
    ``pred``, one LOSO fold per subject, probabilities that put 0.6 + 0.4/3 on the predicted class."""
    d = root / name
    d.mkdir(parents=True)
    frame = pd.DataFrame({"clip_id": [f"{dataset}/{s}/{i:03d}" for i, s in enumerate(subjects)], "subject": subjects,
                          "dataset": dataset, "fold": [f"{dataset}/" + s for s in subjects], "y_true": y,
                          "y_pred": pred})
    probs = np.eye(3)[pred] * 0.6 + 0.4 / 3
    for c, name_ in enumerate(CLASSES):
        frame[f"p_{name_}"] = probs[:, c]
    frame.to_csv(d / "predictions.csv", index=False)
    per = {k: {m: v[m] for m in ("uf1", "uar", "accuracy", "n")}
           for k, v in per_group_scores(y, pred, frame["dataset"], 3).items()}
    model_cfg = {"name": model, "kwargs": {}, **({"init": {"pretrain": "synthetic", "key": "k"}} if pretrained else {})}
    (d / "results.json").write_text(json.dumps({
        **scores(y, pred, 3), "per_dataset": per, "confusion": confusion_matrix(y, pred, 3).tolist(),
        "folds": [{"fold": f} for f in sorted(set(frame["fold"]))], "protocol": "loso", "model": model,
        "selection": "last", "seed": seed, "epochs": 30, "class_names": CLASSES, "config": {"model": model_cfg},
        "data": {"dataset": data_name, "params": params if params is not None else {"phases": phases or keyframes},
                 "n_clips": len(y), "prepare": {"keyframes": keyframes}},
        **({"pretrain": {"n_clips": 480, "epochs": 30, "prepare_seconds": 60.0, "train_seconds": 40.0}}
           if pretrained else {}),
        "provenance": {"commit": "abc", "dirty": False, "data_checksum": "sha256:00", "command": "stag train"}}))
    return d
