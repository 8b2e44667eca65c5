"""Synthetic pretraining (stag.train.pretrain, `stag pretrain`, `stag train --pretrain synthetic`)
and the two-phase equal-input controls."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from _model_inputs import make_inputs
from stag.cli import main
from stag.models import build
from stag.train.config import TrainConfig
from stag.train.pretrain import PretrainConfig, pretrain, with_pretraining
from stag.train.run import ModelSpec, model_spec

TINY = PretrainConfig(n_subjects=2, clips_per_subject=3, epochs=1)


def _spec():
    return model_spec("stag", [], 3, TrainConfig(), model_kwargs={"in_channels": 3, "num_rois": 16, "dim": 16,
                                                                  "heads": 2})


def test_pretraining_is_cached_deterministic_and_enters_the_run_identity(tmp_path):
    train = TrainConfig(seed=3, device="cpu", batch_size=8)
    a = pretrain(_spec(), 2, 32, train, TINY, cache_dir=tmp_path, jobs=1)
    assert a.n_clips == 6 and len(a.history) == 1 and a.info["pretrain"] == "synthetic" and not a.loaded
    assert list((tmp_path / "fit").glob("stag-*.pt"))
    cached = pretrain(_spec(), 2, 32, train, TINY, cache_dir=tmp_path, jobs=1)
    assert cached.loaded and cached.key == a.key  # the same weights, read back: a load, said so
    again = pretrain(_spec(), 2, 32, train, TINY, cache_dir=tmp_path / "other", jobs=1)  # no cache: retrained
    for k, v in a.state_dict.items():
        torch.testing.assert_close(again.state_dict[k], v, rtol=0, atol=0)
    spec = ModelSpec("stag", _spec().kwargs, init=a.state_dict, init_info=a.info)
    model = spec.build()
    torch.testing.assert_close(model.state_dict()["head.weight"], a.state_dict["head.weight"])
    fresh = _spec().describe()
    # the start's identity is its recipe (config + fit key), so another CPU's weights are the same run
    assert "init" not in fresh and spec.describe()["init"] == {**a.info} and len(a.key) == 20
    assert spec.describe()["init"]["n_subjects"] == 2
    other = pretrain(_spec(), 2, 32, train.replace(seed=4), TINY, cache_dir=tmp_path, jobs=1)
    assert other.key != a.key
    assert ModelSpec("stag", _spec().kwargs, init=other.state_dict, init_info=other.info).describe() != spec.describe()
    bare = ModelSpec("stag", _spec().kwargs, init=a.state_dict).describe()["init"]  # no recipe: the weights' digest
    assert bare["digest"].startswith("sha256:")
    with pytest.raises(ValueError, match="n_subjects=1"):
        PretrainConfig(n_subjects=1)


def test_with_pretraining_matches_the_target_stack(tmp_path):
    from stag.data import fakes, load
    from stag.preprocess.pipeline import PrepareConfig, prepare_dataset

    fakes.write_megc2019_phases_fake(tmp_path / "data")
    prepared = prepare_dataset(load("megc2019_phases", data_root=tmp_path / "data"),
                               PrepareConfig(keyframes=2, output_size=32), jobs=1, progress=False)
    spec = model_spec("stag", prepared, 3, TrainConfig(), model_kwargs={"dim": 16, "heads": 2})
    spec2, done = with_pretraining(spec, prepared, TrainConfig(device="cpu", batch_size=8), TINY,
                                   cache_dir=tmp_path / "cache", jobs=1)
    assert done.n_clips == 6 and spec2.init is done.state_dict
    # the pretraining clips have the target's stack: 2 phases at 32 px
    from stag.train.pretrain import pretraining_data

    assert pretraining_data(2, 32, TINY, cache_dir=tmp_path / "cache", jobs=1)[0].flows.shape == (2, 3, 32, 32)


def test_stag_train_pretrain_synthetic_end_to_end(tmp_path, capsys):
    from stag.data import fakes

    fakes.write_megc2019_phases_fake(tmp_path / "data")
    out = tmp_path / "run"
    args = ["train", "--dataset", "megc2019_phases", "--data-root", str(tmp_path / "data"), "--model",
            "offapexnet_stack", "--keyframes", "2", "--output-size", "28", "--epochs", "1", "--device", "cpu",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet", "--pretrain", "synthetic",
            "--pretrain-subjects", "2", "--pretrain-epochs", "1", "--protocol", "group_kfold", "--folds", "2"]
    assert main(args) == 0
    d = json.loads((out / "results.json").read_text())
    assert d["pretrain"]["n_subjects"] == 2 and d["pretrain"]["train_seconds"] >= 0
    assert d["pretrain"]["loaded_from_cache"] is False
    assert d["config"]["model"]["init"]["key"] == d["pretrain"]["key"] and d["pretrain"]["digest"].startswith("sha256:")
    assert d["provenance"]["numerics"]["fold_threads"] >= 1
    assert "--pretrain synthetic" in d["provenance"]["command"]
    assert main(["pretrain", "--model", "ststnet_stack", "--keyframes", "2", "--output-size", "28", "--subjects",
                 "2", "--epochs", "1", "--device", "cpu", "--jobs", "1", "--cache-dir", str(tmp_path / "cache"),
                 "--out", str(tmp_path / "w.pt")]) == 0
    printed = capsys.readouterr().out
    assert "pretrained ststnet_stack on 24 synthetic clips" in printed and (tmp_path / "w.pt").is_file()
    assert "loaded from the cache" not in printed
    assert main(["pretrain", "--model", "ststnet_stack", "--keyframes", "2", "--output-size", "28", "--subjects",
                 "2", "--epochs", "1", "--device", "cpu", "--jobs", "1", "--cache-dir", str(tmp_path / "cache")]) == 0
    assert "(loaded from the cache)" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["ststnet_stack", "offapexnet_stack"])
def test_stacked_controls_read_both_phases_and_published_baselines_one(name):
    torch.manual_seed(0)
    stacked = build(name, num_classes=3).eval()
    published = build(name.removesuffix("_stack"), num_classes=3).eval()
    flows, rois, key_mask, mags = make_inputs(2, 2, size=28)
    mags = torch.tensor([[1.0, 0.5], [1.0, 0.5]])  # phase 0 is the apex keyframe
    other = flows.clone()
    other[:, 1] = torch.randn_like(other[:, 1])
    with torch.no_grad():
        assert not torch.allclose(stacked(flows, rois, key_mask, mags), stacked(other, rois, key_mask, mags))
        torch.testing.assert_close(published(flows, rois, key_mask, mags), published(other, rois, key_mask, mags))
    assert stacked.streams_in == 2 * published.streams_in


def test_bench_pretrain_times_rendering_and_training(capsys):
    assert main(["bench", "pretrain", "--models", "ststnet_stack", "--subjects", "2", "--epochs", "1", "--jobs", "1",
                 "--output-size", "28"]) == 0
    out = capsys.readouterr().out
    assert "ststnet_stack" in out and "render_s" in out and "train_s" in out and "[pretrain]" in out
