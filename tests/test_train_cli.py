import json

import numpy as np
import pandas as pd
import pytest

from stag.cli import main


def _composite(root, per_subject=4, seed=0):
    """A MEGC2019-composite flow layout: 3 subjects in each of casme2, samm and smic."""
    from stag.data.fakes import write_megc2019_flow_layout

    rng = np.random.default_rng(seed)
    subjects = {"casme2": ["sub01", "sub02", "sub03"], "samm": ["006", "007", "009"], "smic": ["s01", "s02", "s03"]}
    flows, subs, dss, names, labels = [], [], [], [], []
    for ds, ss in subjects.items():
        for s in ss:
            for j in range(per_subject):
                y = int(rng.integers(0, 3))
                f = rng.normal(0, 0.3, (3, 28, 28)).astype(np.float32)
                f[0, :, :14] += (y - 1) * 0.6
                flows.append(np.clip(f, -1, 1))
                subs.append(s)
                dss.append(ds)
                names.append(f"{s}_clip{j}")
                labels.append(y)
    write_megc2019_flow_layout(root, flows, subs, dss, names, labels, encode="clip")
    return len(flows)


def test_megc2019_composite_run_reports_casme2_samm_smic(tmp_path, capsys):
    n = _composite(tmp_path / "megc")
    out = tmp_path / "run"
    args = ["train", "--dataset", "megc2019_flow", "--data-root", str(tmp_path / "megc"), "--model", "ststnet",
            "--keyframes", "1", "--image-size", "28", "--epochs", "2", "--seed", "1", "--device", "cpu",
            "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet"]
    assert main(args) == 0
    d = json.loads((out / "results.json").read_text())
    assert set(d["per_dataset"]) == {"casme2", "samm", "smic"}
    for s in d["per_dataset"].values():
        assert 0 <= s["uf1"] <= 1 and 0 <= s["uar"] <= 1
    assert len(d["folds"]) == 9 and d["model"] == "ststnet" and d["epochs"] == 2 and d["seed"] == 1
    assert d["data"]["dataset"] == "megc2019_flow"
    pred = pd.read_csv(out / "predictions.csv")
    assert len(pred) == n and {"clip_id", "subject", "dataset", "y_true", "y_pred"} <= set(pred.columns)
    assert "UF1" in capsys.readouterr().out
    # a fold checkpoint rebuilds the trained model, which reproduces that fold's predictions
    import torch

    from stag.train import load_fold_model
    from stag.train.dataset import collate

    fold_dir = next((out / "folds").glob("samm_*"))
    model, ckpt = load_fold_model(fold_dir / "model.pt")
    fold_pred = pd.read_csv(fold_dir / "predictions.csv")
    assert ckpt["model"] == "ststnet" and ckpt["test_clip_ids"] == list(fold_pred["clip_id"])
    from stag.data import load
    from stag.preprocess.pipeline import PrepareConfig, prepare_dataset

    clips = load("megc2019_flow", data_root=str(tmp_path / "megc"))
    prepared = {p.clip_id: p for p in prepare_dataset(clips, PrepareConfig(image_size=28, keyframes=1),
                                                     cache_dir=tmp_path / "cache", jobs=1, progress=False)}
    b = collate([prepared[c] for c in ckpt["test_clip_ids"]])
    with torch.no_grad():
        probs = torch.softmax(model(b["flows"], b["rois"], b["key_mask"], b["magnitudes"]), 1).numpy()
    np.testing.assert_allclose(probs, fold_pred[[f"p_{c}" for c in ckpt["class_names"]]].to_numpy(), atol=1e-5)
    # same command again: nothing to retrain, same numbers
    assert main(args) == 0
    assert json.loads((out / "results.json").read_text())["uf1"] == d["uf1"]
    # a different configuration in the same folder is refused with a clear message
    assert main([*args, "--epochs", "3"]) == 2
    assert "different configuration" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--dataset", "nope"], "unknown dataset 'nope'"),
    (["--model", "nope"], "unknown model 'nope'"),
    (["--protocol", "nope"], "unknown protocol 'nope'"),
    (["--epochs", "0"], "epochs=0"),
    (["--dataset", "casme2"], "needs --data-root"),
    (["--dataset", "casme2", "--data-root", "/does/not/exist"], "no such folder"),
    (["--device", "tpu"], "device"),
    (["--jobs", "0"], "--jobs 0"),
])
def test_bad_arguments_give_one_clear_line(tmp_path, capsys, extra, message):
    assert main(["train", "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing was written
