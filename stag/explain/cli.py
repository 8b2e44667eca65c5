"""``stag explain``: attributions of a trained run's folds on their held-out clips.

    stag explain --model-dir runs/stag --method ig --out runs/stag/explain
    stag explain --model-dir runs/stag --clips 3 --method ig,occlusion --out explain/
    stag explain --model-dir runs/stag --clips synthetic/s03/c01 synthetic/s07/c02 --out explain/

The data is rebuilt from what ``stag train`` recorded in ``DIR/results.json`` (dataset,
loader parameters, preprocessing; ``--data-root`` overrides a moved folder) through the
preprocessing cache. Every fold's model (``DIR/folds/<fold>/model.pt``) explains only the
clips it held out. Writes ``OUT/attributions/<fold>.npz`` (per-method ``(B, K, C, H, W)``
attributions, pixel maps, faces, ROI boxes, clip ids), ``OUT/scores.csv`` (AU-localisation,
pointing game, ROI rank agreement; NaN on real data, which has no ground truth),
``OUT/regions.csv``, ``OUT/keyframes.csv``, ``OUT/curves.csv`` (deletion/insertion),
``OUT/summary.csv`` and figures ``OUT/figures/*.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from stag.train.run import fold_dirname

HELP = "explain a trained run's folds on their held-out clips (Captum IG/GradientShap/Saliency/Occlusion)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model-dir", required=True, type=Path,
                        help="run folder written by `stag train` (holds results.json and folds/<fold>/model.pt)")
    parser.add_argument("--clips", nargs="*", default=["all"],
                        help="'all' held-out clips (default), a number N (at most N per fold), or clip ids")
    parser.add_argument("--method", default="ig",
                        help="ig | gradshap | saliency | occlusion, or several comma-separated (default ig)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--fold", action="append", default=None, help="only this fold (repeatable)")
    parser.add_argument("--target", default="pred", choices=("pred", "label"),
                        help="explain the predicted class (default) or the true label")
    parser.add_argument("--steps", type=int, default=32, help="Integrated Gradients steps (default 32)")
    parser.add_argument("--window", type=int, default=8, help="occlusion patch side in pixels (default 8)")
    parser.add_argument("--stride", type=int, default=4, help="occlusion stride in pixels (default 4)")
    parser.add_argument("--no-faithfulness", action="store_true", help="skip deletion/insertion curves")
    parser.add_argument("--data-root", default=None, help="override the data root recorded by `stag train`")
    parser.add_argument("--annotations", default=None, help="override the annotation file recorded by `stag train`")
    parser.add_argument("--cache-dir", default=".stag-cache", help="preprocessing cache (default .stag-cache)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    parser.add_argument("--seed", type=int, default=0, help="seed of GradientShap and the random controls")
    parser.add_argument("--no-figures", action="store_true", help="write tables and arrays only")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def parse_clips(values: list[str]) -> tuple[int | None, list[str] | None]:
    """``--clips`` -> ``(per_fold_limit, clip_ids)``."""
    values = [v for v in values if v]
    if not values or values == ["all"]:
        return None, None
    if len(values) == 1 and values[0].isdigit():
        n = int(values[0])
        if n < 1:
            raise ValueError(f"--clips {n}: expected a positive number of clips per fold")
        return n, None
    return None, values


def parse_methods(text: str) -> tuple[str, ...]:
    # lazy: `stag --help` imports every command module; stag.explain.attributions loads when the command runs
    from stag.explain.attributions import METHODS

    methods = tuple(m.strip() for m in text.split(",") if m.strip())
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"--method {text!r}: expected one or more of {', '.join(METHODS)} (comma-separated)")
    return methods


def run_data(model_dir: Path, data_root: str | None = None, annotations: str | None = None) -> dict:
    """The ``data`` record ``stag train`` wrote into ``results.json``, with overrides applied."""
    res = model_dir / "results.json"
    if not res.exists():
        raise FileNotFoundError(f"{res} not found: --model-dir must be a finished `stag train --out` folder")
    data = json.loads(res.read_text()).get("data")
    if not data:
        raise ValueError(f"{res} has no 'data' record (dataset and preprocessing); it must come from `stag train`")
    data = dict(data)
    if data_root is not None:
        data["data_root"] = data_root
    if annotations is not None:
        data["annotations"] = annotations
    return data


def run(args: argparse.Namespace) -> int:
    # lazy: `stag --help` imports every command module; stag.explain.study loads when the command runs
    from stag.explain.study import ExplainConfig, explain_run, fold_checkpoints
    from stag.preprocess.pipeline import PrepareConfig
    from stag.train.experiment import load_and_prepare

    # Cheap validation first.
    methods = parse_methods(args.method)
    per_fold, clip_ids = parse_clips(args.clips)
    fold_checkpoints(args.model_dir)
    data = run_data(args.model_dir, args.data_root, args.annotations)
    cfg = ExplainConfig(methods=methods, target=args.target, n_steps=args.steps, occlusion_window=args.window,
                        occlusion_stride=args.stride, faithfulness=not args.no_faithfulness,
                        clips_per_fold=per_fold, keep_attributions=True, random_state=args.seed, device=args.device)

    prepared = load_and_prepare(data["dataset"], data_root=data.get("data_root"), annotations=data.get("annotations"),
                                prepare_config=PrepareConfig.from_record(data["prepare"]), cache_dir=args.cache_dir,
                                progress=not args.quiet, data_params=data.get("params") or {}).prepared
    out: Path = args.out
    (out / "attributions").mkdir(parents=True, exist_ok=True)

    def save(fold: str, ex) -> None:
        arrays = {f"attr_{m}": a for m, a in ex.attributions.items()}
        arrays.update({f"map_{m}": v for m, v in ex.maps.items()})
        arrays.update(clip_ids=np.array(ex.clips["clip_id"], dtype=str), faces=ex.faces, au_mask=ex.masks,
                      rois=ex.rois, **{f"edge_{k}": v for k, v in ex.edges.items()})
        np.savez_compressed(out / "attributions" / f"{fold_dirname(fold)}.npz", **arrays)
        ex.attributions.clear()  # saved; keep memory flat over folds

    ex = explain_run(prepared, args.model_dir, cfg, folds=args.fold, clip_ids=clip_ids, on_fold=save,
                     progress=not args.quiet)
    ex.scores.merge(ex.clips, on="clip_id").to_csv(out / "scores.csv", index=False)
    ex.regions.to_csv(out / "regions.csv", index=False)
    ex.keyframes.to_csv(out / "keyframes.csv", index=False)
    if len(ex.curves):
        ex.curves.to_csv(out / "curves.csv", index=False)
    summary = ex.localisation_table()
    summary.to_csv(out / "summary.csv")
    if not args.no_figures:
        _figures(ex, out / "figures")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        if summary.empty:
            print("no ground-truth AU masks in these clips (real data): maps, regions and curves only")
        else:
            print(summary.round(3).to_string())
    print(f"explained {len(ex.clips)} held-out clips of {ex.clips['fold'].nunique()} folds with "
          f"{', '.join(methods)}; wrote {out}")
    return 0


def _figures(ex, folder: Path) -> None:
    # lazy: `stag --help` imports every command module; matplotlib loads only for the figures
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after choosing the file backend

    from stag.viz import explain as V

    folder.mkdir(parents=True, exist_ok=True)
    figs = {"overlays": V.plot_overlays(ex, n_clips=min(6, len(ex.clips)))}
    if len(ex.curves):
        figs["faithfulness"] = V.plot_faithfulness(ex.curves)
    if (ex.regions["source"] == "truth").any():
        figs["regions"] = V.plot_region_importance(ex.regions)
    for name, fig in figs.items():
        fig.savefig(folder / f"{name}.png", bbox_inches="tight")
        plt.close(fig)
