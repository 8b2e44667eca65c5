import json
import warnings

import numpy as np
import pandas as pd
import pytest

from stag.cli import main


def _composite(root, per_subject=4, seed=0):
    """A MEGC2019-composite flow layout: 3 subjects in each of casme2, samm and smic."""
    from stag.data.fakes import face_like_flows, write_megc2019_flow_layout

    rng = np.random.default_rng(seed)
    subjects = {"casme2": ["sub01", "sub02", "sub03"], "samm": ["006", "007", "009"], "smic": ["s01", "s02", "s03"]}
    subs, dss, names, labels = [], [], [], []
    for ds, ss in subjects.items():
        for s in ss:
            for j in range(per_subject):
                labels.append(int(rng.integers(0, 3)))
                subs.append(s)
                dss.append(ds)
                names.append(f"{s}_clip{j}")
    # face-like, so the loader's channel check reads them (36 clips: enough for a verdict)
    flows = face_like_flows(labels, rng, noise=0.2)
    write_megc2019_flow_layout(root, list(flows), subs, dss, names, labels, encode="clip")
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
    # Measured over all 9 folds: identical with the fold's own batch (all its test clips, as here),
    # at most 6e-8 one clip at a time (AVX-512 and AVX2): float32 rounding, 160x below this.
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


def _broken_casme2(root, case):
    """A CASME II layout with one broken clip: the cases `stag data summary` only warns about."""
    import shutil

    import openpyxl

    from stag.data import fakes

    lay = fakes.write_casme2_layout(root)
    first = lay.root / "CASME2-RAW" / f"sub{int(lay.rows[0]['subject']):02d}" / lay.rows[0]["filename"]
    if case == "empty clip folder":
        for f in first.iterdir():
            f.unlink()
        return f"clip folder {first} has no frames"
    if case == "missing subject folder":
        shutil.rmtree(first.parent)
        return f"clip folder {first} not found"
    wb = openpyxl.load_workbook(lay.annotations)
    ws = wb.active
    if case == "duplicate clip id":
        ws.append([c.value for c in ws[2]])
        wb.save(lay.annotations)
        return "duplicate clip id 'casme2/sub01/EP02_01f'"
    ws.cell(2, 9).value = "grumpy"  # Estimated Emotion
    wb.save(lay.annotations)
    return "row 2: unknown emotion 'grumpy'"


@pytest.mark.parametrize("case", ["empty clip folder", "missing subject folder", "duplicate clip id",
                                  "unknown emotion"])
def test_prepare_and_train_refuse_a_broken_clip_by_name(tmp_path, capsys, case):
    expected = _broken_casme2(tmp_path / "data", case)
    data = ["--dataset", "casme2", "--data-root", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache")]
    assert main(["data", "summary", "casme2", "--data-root", str(tmp_path / "data")]) == 0  # a summary warns
    assert expected in capsys.readouterr().out
    assert main(["prepare", *data, "--jobs", "1"]) == 2
    assert expected in capsys.readouterr().err
    assert main(["train", *data, "--epochs", "1", "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "run" / "results.json").exists()


def test_a_composite_label_out_of_range_is_refused_or_skipped_and_recorded(tmp_path, capsys):
    from stag.data import fakes

    lay = fakes.write_megc2019_flow_fake(tmp_path / "data")
    lines = lay.annotations.read_text().splitlines()
    cells = lines[1].split(",")
    cells[3] = "5"
    lines[1] = ",".join(cells)
    lay.annotations.write_text("\n".join(lines) + "\n")
    args = ["train", "--dataset", "megc2019_flow", "--data-root", str(tmp_path / "data"), "--model", "ststnet",
            "--keyframes", "1", "--image-size", "28", "--epochs", "1", "--device", "cpu", "--protocol",
            "group_kfold", "--folds", "2", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main([*args, "--out", str(tmp_path / "refused")]) == 2
    assert "row 2: label '5'; expected 0 (negative), 1 (positive) or 2 (surprise)" in capsys.readouterr().err
    assert main([*args, "-p", "on_error", "skip", "--out", str(tmp_path / "run")]) == 0
    assert "skipped: combined_3_class2_for_optical_flow.csv row 2: " in capsys.readouterr().err
    d = json.loads((tmp_path / "run" / "results.json").read_text())
    assert d["data"]["n_clips"] == 6 and [s["where"] for s in d["data"]["skipped"]] == [
        "combined_3_class2_for_optical_flow.csv row 2"]
    assert "label '5'" in d["data"]["skipped"][0]["why"]


@pytest.mark.parametrize("registration", ["eyes", "none"])
def test_the_registration_is_recorded_in_the_provenance(tmp_path, registration):
    """Every run records how its ROIs were placed; here the fake composite has no faces, so the
    default fits nothing and says so, and `--registration none` is recorded as asked."""
    _composite(tmp_path / "megc", per_subject=4)
    out = tmp_path / "run"
    args = ["train", "--dataset", "megc2019_flow", "--data-root", str(tmp_path / "megc"), "--model", "stag",
            "--keyframes", "1", "--image-size", "28", "--epochs", "1", "--device", "cpu", "--registration",
            registration, "--cache-dir", str(tmp_path / "cache"), "--out", str(out), "--quiet",
            "--protocol", "group_kfold", "--folds", "2"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(args) == 0
    d = json.loads((out / "results.json").read_text())
    assert d["data"]["prepare"]["registration"] == registration
    assert d["provenance"]["registration"] == {"method": registration, "transforms": {}}
