"""``stag train``: load, prepare (cached), train under a protocol, write results.

    stag train --dataset synthetic --protocol loso --model stag --epochs 30 --out runs/stag
    stag train --dataset megc2019_flow --data-root /data/MEGC2019 --model ststnet \\
        --keyframes 1 --image-size 28 --epochs 100 --jobs 2 --out runs/megc_ststnet

Writes ``OUT/results.json`` and ``OUT/predictions.csv`` (plus ``OUT/folds/<fold>/``); a
rerun with the same arguments resumes, and a different configuration in the same ``--out``
is refused (``--force`` replaces it).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stag.data.params import parse_parameters
from stag.preprocess.flow import DEFAULT_FLOW, FLOW_METHODS
from stag.preprocess.keyframes import APEX_SOURCES
from stag.train import TrainConfig, run_protocol
from stag.train.pretrain import PRETRAIN_SOURCES, PretrainConfig
from stag.train.protocols import get_protocol
from stag.train.provenance import command_line, data_checksum, utc_now

HELP = "train and evaluate a model under a protocol (LOSO, GroupKFold, ...) and write results.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    d = parser.add_argument_group("data")
    d.add_argument("--dataset", default="synthetic", help="dataset name (`stag data list`; default synthetic)")
    d.add_argument("--data-root", default=None, help="dataset folder as distributed (required for real data)")
    d.add_argument("--annotations", default=None, help="annotation file, if not found in the data root")
    d.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                   help="other loader parameter, e.g. -p n_subjects 10 (YAML value)")
    d.add_argument("--cache-dir", default=".stag-cache", help="preprocessing cache (default .stag-cache)")
    d.add_argument("--image-size", type=int, default=128, help="aligned face side in pixels (default 128)")
    d.add_argument("--output-size", type=int, default=None, help="flow side fed to the model (default: image size)")
    d.add_argument("--keyframes", type=int, default=8, help="K keyframes per clip (default 8)")
    d.add_argument("--flow-method", default=DEFAULT_FLOW, choices=FLOW_METHODS,
                   help=f"optical flow preset (default {DEFAULT_FLOW})")
    d.add_argument("--landmarks", default="detect", choices=("detect", "given"),
                   help="dlib detection, or the clip's own landmarks when it has them (default detect)")
    d.add_argument("--registration", default="eyes", choices=("eyes", "none"),  # pipeline.REGISTRATIONS (lazy)
                   help="ROIs of precomputed flows whose faces are separate images: fit each source "
                        "dataset's flows to its faces by the eyes (default), or 'none' (as stored)")
    d.add_argument("--apex", default="spotted", choices=APEX_SOURCES,
                   help="apex keyframe: largest motion between onset and offset (default), or the "
                        "dataset's annotated apex frame")
    e = parser.add_argument_group("evaluation")
    e.add_argument("--protocol", default="loso",
                   help="loso | group_kfold | stratified_kfold | cross_dataset[:A->B] (default loso)")
    e.add_argument("--folds", type=int, default=5, help="folds of the k-fold protocols (default 5)")
    e.add_argument("--model", default="stag", help="model name (default stag)")
    e.add_argument("--selection", default="last", choices=("last", "inner_val", "oracle"),
                   help="final model: last epoch (default), best on an inner validation split of "
                        "training subjects, or 'oracle' (best on the test fold: literature comparison only)")
    e.add_argument("--average-last", type=int, default=1, help="average the softmax of the last N epochs")
    t = parser.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=30, help="training epochs per fold (default 30)")
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--loss", default="focal", choices=("focal", "ce"))
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--au-loss-weight", type=float, default=0.0, metavar="W",
                   help="weight of an auxiliary AU loss (adds an AU head; clips without AU codes are "
                        "skipped; for megc2019_flow pass the codings with -p codings DIR; default 0 = off)")
    t.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    t.add_argument("--pretrain", default="none", choices=PRETRAIN_SOURCES,
                   help="start every fold from weights pretrained on the synthetic set rendered into the "
                        "data's composite representation (stag pretrain; cached; default none)")
    t.add_argument("--pretrain-subjects", type=int, default=PretrainConfig.n_subjects,
                   help=f"synthetic subjects for --pretrain (default {PretrainConfig.n_subjects})")
    t.add_argument("--pretrain-epochs", type=int, default=PretrainConfig.epochs,
                   help=f"pretraining epochs (default {PretrainConfig.epochs})")
    r = parser.add_argument_group("run")
    r.add_argument("--out", required=True, type=Path, help="run folder for results.json, predictions.csv, folds/")
    r.add_argument("--jobs", type=int, default=1, help="folds trained in parallel processes (default 1)")
    r.add_argument("--dask", default=None, metavar="ADDRESS", help="submit folds to this Dask scheduler")
    r.add_argument("--force", action="store_true", help="retrain finished folds / replace another config's results")
    r.add_argument("--quiet", action="store_true", help="no progress bars")


def run(args: argparse.Namespace) -> int:
    # lazy: `stag --help` imports every command module; stag.preprocess.pipeline loads when the command runs
    from stag.preprocess.pipeline import PrepareConfig
    from stag.train.experiment import load_and_prepare
    from stag.train.pretrain import with_pretraining
    from stag.train.run import model_spec, state_digest

    started_utc = utc_now()
    # Validate everything cheap before loading or preprocessing anything.
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, loss=args.loss,
                         seed=args.seed, device=args.device, selection=args.selection,
                         average_last=args.average_last, au_loss_weight=args.au_loss_weight)
    get_protocol(args.protocol, n_splits=args.folds)
    from stag.models import list_models  # lazy: `stag --help` imports every command module

    if args.model not in list_models():
        raise ValueError(f"unknown model {args.model!r}; available: {', '.join(list_models())}")
    if args.jobs < 1:
        raise ValueError(f"--jobs {args.jobs}: expected >= 1")
    prep_cfg = PrepareConfig(image_size=args.image_size, output_size=args.output_size, keyframes=args.keyframes,
                             flow_method=args.flow_method, landmarks=args.landmarks, apex=args.apex,
                             registration=args.registration)
    pre_cfg = (PretrainConfig(n_subjects=args.pretrain_subjects, epochs=args.pretrain_epochs)
               if args.pretrain == "synthetic" else None)
    data = load_and_prepare(args.dataset, data_root=args.data_root, annotations=args.annotations,
                            prepare_config=prep_cfg, cache_dir=args.cache_dir, jobs=max(1, args.jobs),
                            progress=not args.quiet, data_params=parse_parameters(args.param))
    for where, why in data.clipset.skipped:  # named before anything trains; recorded in results.json
        print(f"skipped: {where}: {why}", file=sys.stderr)
    checksum = data_checksum(data.clipset)  # once per run, over the files the loader read
    spec, pretrained = model_spec(args.model, data.prepared, len(data.class_names), config), None
    if pre_cfg is not None:
        spec, pretrained = with_pretraining(spec, data.prepared, config, pre_cfg, cache_dir=args.cache_dir,
                                            jobs=max(1, args.jobs))
    res = run_protocol(data.prepared, spec, args.protocol, config, args.out, jobs=args.jobs,
                       dask=args.dask, force=args.force, class_names=data.class_names, n_splits=args.folds,
                       progress=not args.quiet)
    # The dataset and preprocessing that produced the run, next to the results.
    extra = json.loads((args.out / "results.json").read_text())
    extra["data"] = {"dataset": args.dataset, "data_root": args.data_root, "annotations": args.annotations,
                     "params": parse_parameters(args.param), "prepare": prep_cfg.to_dict(),
                     "n_clips": len(data.prepared), "loader": data.clipset.params,
                     # rows the loader left out (-p on_error skip, or excluded by the label scheme)
                     "skipped": [{"where": w, "why": why} for w, why in data.clipset.skipped]}
    if pretrained is not None:  # what the start cost (the weights themselves are in the config's digest)
        extra["pretrain"] = {**pretrained.info, "digest": state_digest(pretrained.state_dict),
                             "prepare_seconds": pretrained.prepare_seconds, "train_seconds": pretrained.train_seconds,
                             "loaded_from_cache": pretrained.loaded}
    prov = extra.get("provenance") or {}
    prov.update(data_checksum=checksum, command=command_line(getattr(args, "_argv", None)),
                # where the ROIs were drawn: the fitted flow -> face transform per source dataset
                registration=data.registration or {"method": prep_cfg.registration, "transforms": {}})
    if started_utc < prov.get("finished_utc", ""):  # not when this call only reloaded a finished run
        prov["started_utc"] = started_utc
    extra["provenance"] = prov
    (args.out / "results.json").write_text(json.dumps(extra, indent=2, default=str))
    label = " [ORACLE: epoch chosen on the test fold, literature comparison only]" if res.is_oracle else ""
    print(f"{res.model} {res.protocol} ({len(res.folds)} folds, {res.epochs} epochs, seed {res.seed}): "
          f"UF1 {res.uf1:.3f}  UAR {res.uar:.3f}  accuracy {res.accuracy:.3f}{label}")
    for name, s in res.per_dataset.items():
        print(f"  {name}: UF1 {s['uf1']:.3f}  UAR {s['uar']:.3f}  (n={s['n']})")
    print(f"wrote {args.out / 'results.json'} and {args.out / 'predictions.csv'} ({res.wall_time_s:.1f} s)")
    return 0
