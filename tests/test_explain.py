"""Tests for stag/explain: Captum wrappers, faithfulness curves, on a tiny stand-in model.

The stand-in has the package's model signature ``model(flows, rois, key_mask, magnitudes)``
and is trained here on tiny synthetic flows whose class is decided by motion in one of two
known squares, so we know where a correct explanation must land.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from stag.explain import attributions as A
from stag.explain import faithfulness as F
from stag.explain import scores as S
from stag.explain.forward import INPUT_KEYS

H = W = 24
K, C = 2, 3
# Class 0 moves the top-left square, class 1 the bottom-right one; the rest never moves.
SQUARES = {0: (slice(3, 9), slice(3, 9)), 1: (slice(15, 21), slice(15, 21))}
ROIS = np.array([[3, 3, 9, 9], [15, 15, 21, 21], [15, 3, 21, 9]], dtype=np.float32)


class TinyFlowNet(nn.Module):
    """Stand-in model with the package signature.

    Shapes:
        flows (B, K, C, H, W), rois (B, N, 4), key_mask (B, K) bool, magnitudes (B, K) -> (B, 2).
    """

    def __init__(self, classes: int = 2) -> None:
        super().__init__()
        self.conv = nn.Conv2d(C, 8, 3, padding=1)
        self.node = nn.Identity()  # the "ROI node features" layer: (B, N, 8)
        self.node_feature_layer = "node"
        self.head = nn.Linear(8 * len(ROIS), classes)

    def _nodes(self, flows, rois, key_mask, magnitudes):
        b, k = flows.shape[:2]
        feat = torch.tanh(self.conv(flows.flatten(0, 1))).unflatten(0, (b, k))  # (B,K,8,H,W)
        w = (key_mask.float() * (0.5 + magnitudes))[:, :, None, None, None]
        feat = (feat * w).sum(1) / w.sum(1).clamp_min(1e-6)  # (B,8,H,W)
        nodes = []
        for r in rois[0].round().long().tolist():  # same boxes for every clip in these tests
            nodes.append(feat[:, :, r[1]:r[3], r[0]:r[2]].mean(dim=(2, 3)))
        return self.node(torch.stack(nodes, 1))  # (B,N,8)

    def forward_details(self, flows, rois, key_mask, magnitudes):
        nodes = self._nodes(flows, rois, key_mask, magnitudes)
        adj = torch.softmax(nodes @ nodes.transpose(1, 2), dim=-1)
        logits = self.head((nodes + 0.1 * adj @ nodes).flatten(1))
        tatt = torch.softmax(magnitudes.masked_fill(~key_mask, -1e9), dim=1)
        return SimpleNamespace(logits=logits, adjacency=adj, graph_attention=adj[:, None].repeat(1, 2, 1, 1),
                               temporal_attention=tatt)

    def forward(self, flows, rois, key_mask, magnitudes):
        return self.forward_details(flows, rois, key_mask, magnitudes).logits


def make_batch(n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    flows = np.zeros((n, K, C, H, W), dtype=np.float32)
    masks = np.zeros((n, 1, H, W), dtype=bool)
    for i, y in enumerate(labels):
        sy, sx = SQUARES[int(y)]
        amp = rng.uniform(0.5, 1.5)
        flows[i, :, 0, sy, sx] = amp * np.array([0.5, 1.0])[:, None, None]   # u
        flows[i, :, 1, sy, sx] = -0.5 * amp                                      # v
        flows[i, :, 2, sy, sx] = 0.2 * amp                                       # strain
        masks[i, 0, sy, sx] = True
    return {
        "flows": torch.from_numpy(flows),
        "rois": torch.from_numpy(np.repeat(ROIS[None], n, 0)),
        "key_mask": torch.ones(n, K, dtype=torch.bool),
        "magnitudes": torch.tensor([[0.5, 1.0]] * n),
        "label": torch.from_numpy(labels.astype(np.int64)),
        "masks": masks,
    }


@pytest.fixture(scope="module")
def trained():
    torch.manual_seed(0)
    model = TinyFlowNet()
    batch = make_batch(64, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    args = [batch[k] for k in INPUT_KEYS]
    for _ in range(60):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(*args), batch["label"])
        loss.backward()
        opt.step()
    model.eval()
    test = make_batch(8, seed=2)
    with torch.no_grad():
        acc = (model(*[test[k] for k in INPUT_KEYS]).argmax(1) == test["label"]).float().mean().item()
    assert acc == 1.0, "the stand-in must learn the toy task for the tests below to mean anything"
    return model, test


@pytest.mark.parametrize("method", A.METHODS)
def test_attributions_have_input_shape(trained, method):
    model, batch = trained
    cfg = A.AttributionConfig(method=method, n_steps=8, gradshap_samples=4, occlusion_window=4, occlusion_stride=2)
    att = A.attribute_flows(model, batch, cfg)
    assert att.maps.shape == tuple(batch["flows"].shape)
    assert att.target.shape == (8,) and att.logits.shape == (8, 2)
    assert np.isfinite(att.maps).all() and np.abs(att.maps).sum() > 0


def test_integrated_gradients_completeness(trained):
    model, batch = trained
    att = A.attribute_flows(model, batch, A.AttributionConfig(method="ig", n_steps=64))
    total = att.maps.reshape(len(att.maps), -1).sum(1)
    idx = np.arange(len(total))
    expected = att.logits[idx, att.target] - att.baseline_logits[idx, att.target]
    assert np.abs(expected).min() > 0.1  # the toy is non-trivial
    np.testing.assert_allclose(total, expected, rtol=0.02, atol=0.02)
    np.testing.assert_allclose(att.delta, total - expected, atol=1e-3)


def test_ig_localises_the_moving_square(trained):
    model, batch = trained
    att = A.attribute_flows(model, batch, A.AttributionConfig(method="ig", target="label", n_steps=32))
    lifts, rand = [], []
    for i in range(len(att.maps)):
        masks = batch["masks"][i]
        lifts.append(S.localisation_score(S.pixel_map(att.maps[i]), masks).lift)
        rand.append(S.localisation_score(S.random_map((H, W), i), masks).lift)
    area = S.union_mask(batch["masks"][0]).mean()
    # All positive mass sits on the moving square: zero flow elsewhere has zero IG attribution.
    assert np.mean(lifts) == pytest.approx(1 / area, rel=0.01)
    assert np.mean(rand) == pytest.approx(1.0, abs=0.3)


def test_occlusion_of_a_motionless_region_changes_nothing(trained):
    model, batch = trained
    cfg = A.AttributionConfig(method="occlusion", target="label", occlusion_window=3, occlusion_stride=3)
    att = A.attribute_flows(model, batch, cfg)
    # Occluding zero flow leaves the input as it was: what remains is float32 rounding of logits
    # computed in other batch compositions, so it scales with the logits (max |logit| 7.4 here).
    logit_scale = float(np.abs(att.logits).max())
    for i in range(len(att.maps)):
        moving = S.dilate(batch["masks"][i, 0], 2)  # windows never straddle the square's edge by more
        amap = np.abs(att.maps[i]).sum(axis=(0, 1))
        # Measured: 5.7e-6 (AVX-512), 2.9e-6 (MKL_ENABLE_INSTRUCTIONS=AVX2), 0 (SSE4.2), i.e. at
        # most 7.8e-7 x max|logit|: 13x below this bound; the moving square sums to ~180.
        assert amap[~moving].max() < 1e-5 * logit_scale
        assert amap[moving].sum() > 0.1
    # Region level: the ROI on the clip's own square matters; the still ROI (index 2) does not.
    roi = A.roi_occlusion(model, batch, batch["label"].numpy())
    assert roi.shape == (8, 3)
    # Measured: exactly 0 (AVX-512, SSE4.2) and 4.77e-7 with MKL_ENABLE_INSTRUCTIONS=AVX2 (one
    # float32 rounding step of a logit near 7): 15x below 1e-6 x max|logit| = 7.4e-6.
    np.testing.assert_allclose(roi[:, 2], 0.0, atol=1e-6 * logit_scale)
    own = roi[np.arange(8), batch["label"].numpy()]
    assert (own > 0.1).all()


def test_roi_layer_attribution_ranks_the_moving_roi_first(trained):
    model, batch = trained
    target = batch["label"].numpy()
    layer = A.roi_layer_attribution(model, batch, target, n_steps=32)
    assert layer.shape == (8, 3)
    assert (layer.argmax(1) == target).all()
    # Layer IG is complete too: ROI shares sum to f(x) - f(0).
    att = A.attribute_flows(model, batch, A.AttributionConfig(method="ig", target="label", n_steps=32))
    expected = att.logits[np.arange(8), target] - att.baseline_logits[np.arange(8), target]
    np.testing.assert_allclose(layer.sum(1), expected, rtol=0.05, atol=0.05)
    with pytest.raises(ValueError, match="no submodule"):
        A.roi_layer_attribution(model, batch, target, layer="missing.layer")


def test_keyframe_importance_and_model_details(trained):
    model, batch = trained
    att = A.attribute_flows(model, batch, A.AttributionConfig(method="ig", n_steps=32))
    per_key = A.keyframe_importance(att.maps)
    assert per_key.shape == (8, K)
    np.testing.assert_allclose(per_key.sum(1), att.maps.reshape(8, -1).sum(1), rtol=1e-5)
    masked = A.keyframe_importance(att.maps, key_mask=np.array([[True, False]] * 8))
    assert np.isnan(masked[:, 1]).all()
    details = A.model_details(model, batch)
    assert details["adjacency"].shape == (8, 3, 3)
    assert details["graph_attention"].shape == (8, 3, 3)  # heads averaged
    np.testing.assert_allclose(details["temporal_attention"].sum(1), 1.0, rtol=1e-5)


def test_deletion_beats_random_and_insertion_recovers(trained):
    model, batch = trained
    att = A.attribute_flows(model, batch, A.AttributionConfig(method="ig", target="label", n_steps=16))
    maps = np.stack([S.pixel_map(m, reduce="signed") for m in att.maps])
    curves = F.pixel_curves(model, batch, maps, att.target, fractions=(0.0, 0.05, 0.1, 0.5, 1.0))
    summary = F.curve_summary(curves, value="logit").set_index(["mode", "order"])["auc"]
    assert summary["deletion", "attribution"] < summary["deletion", "random"] - 1.0
    assert summary["insertion", "attribution"] > summary["insertion", "random"] + 1.0
    early = curves[curves["fraction"] == 0.05].groupby(["mode", "order"])["prob"].mean()
    assert early["insertion", "attribution"] > early["insertion", "random"] + 0.1
    start = curves[(curves["fraction"] == 0) & (curves["mode"] == "deletion")]
    assert start["correct"].mean() == 1.0
    roi = F.roi_curves(model, batch, np.eye(3)[batch["label"].numpy()], att.target)
    first = roi[(roi["order"] == "attribution") & (roi["removed"] == 1)]["prob"].mean()
    assert first < roi[roi["removed"] == 0]["prob"].mean() - 0.2
    with pytest.raises(ValueError, match="expected"):
        F.pixel_curves(model, batch, maps[:, :4], att.target)


def test_bad_inputs_raise_clear_errors(trained):
    model, batch = trained
    with pytest.raises(ValueError, match="method"):
        A.AttributionConfig(method="lime")
    with pytest.raises(ValueError, match="lacks"):
        A.attribute_flows(model, {"flows": batch["flows"]})


def _prepared(batch: dict) -> list:
    from stag.preprocess.prepared import Prepared

    out = []
    for i in range(len(batch["label"])):
        y = int(batch["label"][i])
        out.append(Prepared(
            clip_id=f"toy/s{i}/c{i}", subject=f"s{i}", dataset="toy", label=y, flows=batch["flows"][i].numpy(),
            key_mask=batch["key_mask"][i].numpy(), magnitudes=batch["magnitudes"][i].numpy(),
            key_indices=np.array([3, 6]), rois=ROIS, aus=(12 if y else 4,),
            truth={"au_masks": batch["masks"][i], "au_ids": (12 if y else 4,), "au_intensity": {4: 1.0, 12: 2.0}}))
    return out


def test_explain_clips_scores_methods_against_controls(trained):
    from stag.explain.study import ExplainConfig, explain_clips

    model, batch = trained
    cfg = ExplainConfig(n_steps=16, gradshap_samples=4, occlusion_window=6, occlusion_stride=6, batch_size=5,
                        fractions=(0.0, 0.1, 1.0), device="cpu")
    ex = explain_clips(model, _prepared(batch), cfg, fold="toy", class_names=("neg", "pos"))
    assert len(ex.clips) == 8 and ex.clips["correct"].all()
    table = ex.localisation_table()
    assert set(table.index) >= {"ig", "gradshap", "saliency", "occlusion", "motion", "random", "roi_occlusion", "layer_ig"}
    area = ex.clips["area_share"].mean()
    assert table.loc["ig", "lift"] == pytest.approx(1 / area, rel=0.01)
    assert table.loc["random", "lift"] == pytest.approx(1.0, abs=0.3)
    assert table.loc["ig", "pointing_hit"] == 1.0
    ig_rows = ex.scores[ex.scores["method"] == "ig"]
    # Both keyframes move the same square: the apex keyframe alone localises as well.
    np.testing.assert_allclose(ig_rows["lift_apex"], ig_rows["lift"], rtol=0.02)
    assert {"lift_u", "lift_v", "lift_strain", "lift_abs"} <= set(ex.scores.columns)
    # ROI ranks: the clip's own square carries all the ground-truth motion.
    assert table.loc["roi_occlusion", "roi_spearman"] > 0.8
    assert ex.maps["ig"].shape == (8, H, W) and ex.masks.shape == (8, H, W)
    assert set(ex.keyframes["key_index"]) == {3, 6}
    assert ex.edges["adjacency"].shape == (8, 3, 3)
    assert {"pixel", "roi"} == set(ex.curves["unit"])
    truth = ex.regions[ex.regions["source"] == "truth"]
    assert len(truth) == 8 * 3


@pytest.fixture(scope="module")
def stag_run(tmp_path_factory):
    """A real STAG trained briefly under LOSO on toy clips (no ground truth, like real data)."""
    from stag.train import TrainConfig, run_protocol
    from stag.train.testing import toy_prepared

    prepared = toy_prepared(n_subjects=3, clips_per_subject=4, keyframes=2, size=16, seed=0)
    out = tmp_path_factory.mktemp("stag_run")
    run_protocol(prepared, "stag", "loso", TrainConfig(epochs=1, batch_size=8, seed=0, device="cpu"), out,
                 progress=False)
    return prepared, out


def test_explain_run_uses_each_folds_heldout_clips_only(stag_run):
    from stag.explain.study import ExplainConfig, explain_run, fold_checkpoints
    from stag.train.run import load_fold_model

    prepared, out = stag_run
    cfg = ExplainConfig(methods=("ig", "occlusion"), n_steps=4, occlusion_window=8, occlusion_stride=8,
                        clips_per_fold=2, fractions=(0.0, 0.5, 1.0), device="cpu")
    ex = explain_run(prepared, out, cfg, progress=False)
    assert len(ex.clips) == 3 * 2 and ex.clips["fold"].nunique() == 3
    subject_of = {p.clip_id: p.subject for p in prepared}
    for _, row in ex.clips.iterrows():  # each clip explained by the fold that held out its subject
        assert subject_of[row["clip_id"]] in row["fold"]
    # No ground truth (real-data path): localisation is NaN, the rest is there.
    assert ex.localisation_table().empty
    assert ex.scores["lift"].isna().all()
    assert {"ig", "occlusion", "random"} <= set(ex.curves["method"])
    assert "layer_ig" in set(ex.regions["source"])  # STAG's node_encoder was found
    assert ex.edges["adjacency"].shape == (6, 16, 16)
    assert ex.edges["temporal_attention"].shape == (6, 2)
    # IG on the real model is complete too.
    model, ckpt = load_fold_model(fold_checkpoints(out)[0])
    from stag.explain.study import heldout_clips
    from stag.train.dataset import collate

    batch = collate(heldout_clips(prepared, ckpt)[:2])
    att = A.attribute_flows(model, batch, A.AttributionConfig(method="ig", n_steps=64))
    expected = att.logits[[0, 1], att.target] - att.baseline_logits[[0, 1], att.target]
    np.testing.assert_allclose(att.maps.reshape(2, -1).sum(1), expected, rtol=0.05, atol=0.02)
    # A clip the fold trained on is refused.
    trained_on = next(p.clip_id for p in prepared if p.clip_id not in ckpt["test_clip_ids"])
    with pytest.raises(ValueError, match="held-out"):
        heldout_clips(prepared, ckpt, clip_ids=[trained_on])
    with pytest.raises(ValueError, match="held out"):
        explain_run(prepared, out, cfg, clip_ids=["toy/s99/c00"], progress=False)


def test_explain_run_cache_reuses_and_never_overwrites(stag_run, tmp_path):
    import shutil
    from dataclasses import replace

    from stag.explain.study import ExplainConfig, explain_run, explanation_key

    prepared, src = stag_run
    out = tmp_path / "run"
    shutil.copytree(src, out)
    cfg = ExplainConfig(methods=("saliency",), clips_per_fold=1, fractions=(0.0, 1.0), layer_ig=False,
                        roi_occlusion=False, device="cpu")
    first, again = {}, {}
    ex = explain_run(prepared, out, cfg, progress=False, cache=True, stats=first)
    assert first["hits"] == [] and len(first["computed"]) == 3
    entry = first["entry"]
    stored = {p.name: p.read_bytes() for p in entry.glob("*.pkl")}
    assert len(stored) == 3 and (entry / "explain.json").exists()
    ex2 = explain_run(prepared, out, replace(cfg, threads=2), progress=False, cache=True, stats=again)
    assert again["entry"] == entry and again["computed"] == [] and len(again["hits"]) == 3  # threads: same key
    for name in ("clips", "scores", "regions", "keyframes", "curves"):
        pd.testing.assert_frame_equal(getattr(ex, name), getattr(ex2, name))
    np.testing.assert_array_equal(ex.maps["saliency"], ex2.maps["saliency"])
    # Another setting, other data or other weights: computed into another entry or file;
    # what was stored stays as it was.
    changed = {}
    explain_run(prepared, out, replace(cfg, random_state=1), progress=False, cache=True, stats=changed)
    assert changed["entry"] != entry and len(changed["computed"]) == 3
    faces = [replace(p, face=np.full(p.flows.shape[-2:], 7, np.uint8)) for p in prepared]
    assert explanation_key(out, faces, cfg)[0] != explanation_key(out, prepared, cfg)[0]
    ckpt_path = sorted((out / "folds").glob("*/model.pt"))[0]
    ckpt = torch.load(ckpt_path, weights_only=False)
    ckpt["state_dict"] = {k: v + 0.01 if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, ckpt_path)  # as if that fold were retrained
    retrained = {}
    explain_run(prepared, out, cfg, progress=False, cache=True, stats=retrained)
    assert retrained["entry"] == entry and len(retrained["computed"]) == 1 and len(retrained["hits"]) == 2
    assert {p.name: p.read_bytes() for p in entry.glob("*.pkl") if p.name in stored} == stored
    assert len(list(entry.glob("*.pkl"))) == 4


def test_cli_helpers_validate_arguments(tmp_path):
    from stag.explain import cli

    assert cli.parse_clips(["all"]) == (None, None)
    assert cli.parse_clips(["3"]) == (3, None)
    assert cli.parse_clips(["a/b/c", "d/e/f"]) == (None, ["a/b/c", "d/e/f"])
    assert cli.parse_methods("ig, occlusion") == ("ig", "occlusion")
    with pytest.raises(ValueError, match="--method"):
        cli.parse_methods("ig,lime")
    with pytest.raises(FileNotFoundError, match="results.json"):
        cli.run_data(tmp_path)


@pytest.mark.slow
def test_stag_explain_command_end_to_end(tmp_path):
    from stag.cli import main

    cache, run, out = tmp_path / "cache", tmp_path / "run", tmp_path / "explain"
    data = ["--dataset", "synthetic", "-p", "n_subjects", "3", "-p", "clips_per_subject", "2", "-p", "image_size", "64",
            "--cache-dir", str(cache)]
    assert main(["train", *data, "--image-size", "32", "--keyframes", "2", "--flow-method", "dis", "--landmarks", "given",
                 "--epochs", "1", "--device", "cpu", "--out", str(run), "--quiet"]) == 0
    assert main(["explain", "--model-dir", str(run), "--clips", "1", "--method", "ig,saliency", "--steps", "4",
                 "--cache-dir", str(cache), "--device", "cpu", "--out", str(out), "--quiet"]) == 0
    npz = sorted((out / "attributions").glob("*.npz"))
    assert len(npz) == 3
    arrays = np.load(npz[0])
    assert arrays["attr_ig"].shape[1:] == (2, 3, 32, 32) and arrays["map_ig"].shape[1:] == (32, 32)
    import pandas as pd

    scores = pd.read_csv(out / "scores.csv")
    assert scores["lift"].notna().any()  # synthetic clips carry AU masks
    assert (out / "figures" / "overlays.png").exists() and (out / "curves.csv").exists()
    # Bad input is one clear line, exit 2.
    assert main(["explain", "--model-dir", str(tmp_path / "nope"), "--out", str(out)]) == 2
