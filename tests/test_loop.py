import warnings

import numpy as np
import pytest
import torch

from stag.faces import MIRROR, ROI_NAMES
from stag.train.config import TrainConfig, fold_seed
from stag.train.dataset import augment, collate, hflip, shift
from stag.train.loop import lr_lambda, train_fold
from stag.train.metrics import scores
from stag.train.testing import TinyNet, toy_prepared

FAST = dict(epochs=6, batch_size=8, lr=5e-3, loss="ce", augment=False, warmup_epochs=0)


def _split(items, test_subject="s00"):
    train = [p for p in items if p.subject != test_subject]
    test = [p for p in items if p.subject == test_subject]
    return train, test


@pytest.mark.parametrize("bad, match", [
    (dict(epochs=0), "epochs=0"), (dict(epochs=2.5), "epochs"), (dict(lr=0), "lr"),
    (dict(selection="best"), "selection"), (dict(average_last=5, epochs=3), "average_last"),
    (dict(average_last=2, selection="inner_val"), "average_last"), (dict(patience=3), "patience"),
    (dict(device="tpu"), "device"), (dict(loss="mse"), "loss"), (dict(flip_p=2), "flip_p"),
])
def test_train_config_rejects_bad_values(bad, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**bad)


def test_train_config_is_frozen():
    with pytest.raises(Exception):
        TrainConfig().epochs = 3  # type: ignore[misc]


def test_collate_shapes_and_au_targets():
    items = toy_prepared(2, 2, keyframes=3, size=8)
    b = collate(items)
    assert b["flows"].shape == (4, 3, 3, 8, 8) and b["rois"].shape == (4, len(ROI_NAMES), 4)
    assert b["key_mask"].dtype == torch.bool and b["label"].dtype == torch.int64
    assert b["aus"].shape[1] == 17 and b["aus"].sum(1).tolist() == [2.0] * 4


def test_hflip_mirrors_image_negates_u_and_swaps_left_right_rois():
    items = toy_prepared(1, 2, size=8)
    b = collate(items)
    f, r = hflip(b["flows"], b["rois"])
    assert torch.allclose(f[:, :, 0], -torch.flip(b["flows"][:, :, 0], dims=[-1]))
    assert torch.allclose(f[:, :, 1:], torch.flip(b["flows"][:, :, 1:], dims=[-1]))
    i, j = ROI_NAMES.index("eye_L"), ROI_NAMES.index("eye_R")
    x0, y0, x1, y1 = b["rois"][0, j].tolist()
    assert r[0, i].tolist() == pytest.approx([8 - x1, y0, 8 - x0, y1])
    assert MIRROR[MIRROR].tolist() == list(range(len(ROI_NAMES)))
    f2, r2 = hflip(f, r)
    assert torch.allclose(f2, b["flows"]) and torch.allclose(r2, b["rois"])


def test_shift_moves_face_and_boxes():
    x = torch.zeros(1, 1, 6, 6)
    x[..., 2, 2] = 1.0
    boxes = torch.tensor([[1.0, 1.0, 3.0, 3.0]])
    y, b = shift(x, boxes, dx=1, dy=-1)
    assert y[..., 1, 3] == 1.0 and y.sum() == 1.0
    assert b.tolist() == [[2.0, 0.0, 4.0, 2.0]]


def test_augment_is_seeded():
    b = collate(toy_prepared(1, 4, size=8))
    a1 = augment(b, np.random.default_rng(3))
    a2 = augment(b, np.random.default_rng(3))
    assert torch.equal(a1["flows"], a2["flows"]) and torch.equal(a1["rois"], a2["rois"])
    assert torch.equal(a1["label"], b["label"])


def test_warmup_then_cosine_schedule():
    f = lr_lambda(TrainConfig(epochs=10, warmup_epochs=2), steps_per_epoch=1)
    assert f(0) == pytest.approx(0.5) and f(1) == pytest.approx(1.0)
    assert f(2) == pytest.approx(1.0) and f(9) < 0.1
    assert lr_lambda(TrainConfig(epochs=1, warmup_epochs=5), 4)(0) == pytest.approx(0.5)


def test_training_learns_the_toy_task():
    train, test = _split(toy_prepared(8, 10, noise=0.4))
    out = train_fold(TinyNet, train, test, TrainConfig(**{**FAST, "epochs": 15}), num_classes=3)
    y = np.array([p.label for p in test])
    assert out.probs.shape == (len(test), 3)
    assert np.allclose(out.probs.sum(1), 1)
    assert scores(y, out.probs.argmax(1), 3)["accuracy"] >= 0.7
    assert out.history[-1]["train_loss"] < out.history[0]["train_loss"]


def test_same_seed_same_result_on_cpu_and_other_seed_differs():
    train, test = _split(toy_prepared(4, 6))
    cfg = TrainConfig(**{**FAST, "augment": True, "balanced_sampling": True})
    a = train_fold(TinyNet, train, test, cfg, num_classes=3, seed=7)
    b = train_fold(TinyNet, train, test, cfg, num_classes=3, seed=7)
    c = train_fold(TinyNet, train, test, cfg, num_classes=3, seed=8)
    assert np.array_equal(a.probs, b.probs)
    assert not np.allclose(a.probs, c.probs)


@pytest.mark.parametrize("selection", ["last", "inner_val"])
def test_honest_selection_ignores_test_labels(selection):
    train, test = _split(toy_prepared(6, 6))
    cfg = TrainConfig(**{**FAST, "selection": selection})
    a = train_fold(TinyNet, train, test, cfg, num_classes=3)
    for p in test:  # scramble the test labels: an honest loop cannot notice
        p.label = (p.label + 1) % 3
    b = train_fold(TinyNet, train, test, cfg, num_classes=3)
    assert a.epoch == b.epoch and np.array_equal(a.probs, b.probs)
    if selection == "inner_val":
        assert all("val_uf1" in h for h in a.history) and not any("test_acc" in h for h in a.history)


def test_oracle_looks_at_test_and_says_so():
    train, test = _split(toy_prepared(6, 6))
    cfg = TrainConfig(**{**FAST, "selection": "oracle"})
    with pytest.warns(UserWarning, match="oracle"):
        out = train_fold(TinyNet, train, test, cfg, num_classes=3)
    y = np.array([p.label for p in test])
    accs = [h["test_acc"] for h in out.history]
    assert out.epoch == int(np.argmax(accs)) + 1
    assert (out.probs.argmax(1) == y).mean() == pytest.approx(max(accs))
    assert out.probs_last is not None and out.selection == "oracle"


def test_average_last_epochs_of_softmax():
    train, test = _split(toy_prepared(4, 6))
    one = train_fold(TinyNet, train, test, TrainConfig(**FAST), num_classes=3)
    avg = train_fold(TinyNet, train, test, TrainConfig(**{**FAST, "average_last": 3}), num_classes=3)
    assert np.allclose(avg.probs.sum(1), 1) and not np.allclose(avg.probs, one.probs)
    assert one.epoch == avg.epoch == FAST["epochs"]


def test_inner_val_early_stopping_with_patience():
    train, test = _split(toy_prepared(6, 6))
    cfg = TrainConfig(**{**FAST, "epochs": 30, "selection": "inner_val", "patience": 2, "lr": 1e-5})
    out = train_fold(TinyNet, train, test, cfg, num_classes=3)
    assert len(out.history) < 30


def test_focal_loss_and_au_head_train():
    train, test = _split(toy_prepared(4, 6))
    cfg = TrainConfig(**{**FAST, "loss": "focal", "au_loss_weight": 0.5})
    out = train_fold(lambda: TinyNet(num_aus=17), train, test, cfg, num_classes=3)
    assert np.isfinite(out.history[-1]["train_loss"])


def test_fold_seed_depends_on_fold_and_seed():
    assert fold_seed(0, "a") == fold_seed(0, "a") != fold_seed(0, "b") != fold_seed(1, "a")


def test_unreadable_au_string_is_refused_only_with_an_au_loss(tmp_path):
    """A clip whose AU string could not be read trains without the AU loss, and is named with it."""
    import dataclasses

    import pytest

    from stag.data.aus import AUParseError
    from stag.train import TrainConfig
    from stag.train.dataset import check_au_targets
    from stag.preprocess.prepared import Prepared

    p = Prepared(clip_id="samm/006/006_1_2", subject="006", dataset="samm", label=0,
                 flows=np.zeros((1, 3, 16, 16), np.float32), key_mask=np.ones(1, bool),
                 magnitudes=np.ones(1, np.float32), key_indices=np.zeros(1, np.int64),
                 rois=np.zeros((16, 4), np.float32), au_error="cannot parse action unit 'X9'")
    check_au_targets([p], TrainConfig().au_loss_weight)  # no AU loss: fine
    with pytest.raises(AUParseError, match="006_1_2.*X9"):
        check_au_targets([p], 0.5)
    check_au_targets([dataclasses.replace(p, au_error="")], 0.5)


def test_masked_au_loss_ignores_uncoded_clips():
    """Clips with ``au_coded=False`` (SMIC in the MEGC2019 composite) take no part in the AU loss."""
    import dataclasses

    from stag.train.dataset import check_au_targets
    from stag.train.loop import masked_au_loss

    items = toy_prepared(2, 2, keyframes=3, size=8)
    items = [dataclasses.replace(p, au_coded=(i % 2 == 0)) for i, p in enumerate(items)]
    batch = collate(items)
    assert batch["au_mask"].dtype == torch.float32 and batch["au_mask"].tolist() == [1.0, 0.0, 1.0, 0.0]
    crit = torch.nn.BCEWithLogitsLoss(reduction="none")
    logits = torch.randn(4, 5, requires_grad=True)
    targets = (torch.rand(4, 5) > 0.5).float()
    loss = masked_au_loss(crit, logits, targets, batch["au_mask"])
    expected = torch.nn.functional.binary_cross_entropy_with_logits(logits[[0, 2]], targets[[0, 2]])
    assert torch.allclose(loss, expected)
    loss.backward()
    assert torch.all(logits.grad[[1, 3]] == 0)  # uncoded rows get no gradient
    none = masked_au_loss(crit, logits, targets, torch.zeros(4))
    assert float(none.detach()) == 0.0 and none.requires_grad  # a batch with no coded clip: zero loss
    # all coded: the plain mean over all AUs and samples
    full = masked_au_loss(crit, logits, targets, torch.ones(4))
    assert torch.allclose(full, torch.nn.functional.binary_cross_entropy_with_logits(logits, targets))
    # an unreadable AU string is refused only for a coded clip
    bad = dataclasses.replace(items[1], au_error="cannot parse action unit 'X9'")
    check_au_targets([bad], 0.5)  # uncoded: skipped, not refused
    with pytest.raises(ValueError, match="X9"):
        check_au_targets([dataclasses.replace(bad, au_coded=True)], 0.5)


def test_au_loss_on_only_uncoded_clips_trains_as_without_it():
    """With every training clip uncoded, the AU loss is zero: training matches au_loss_weight=0."""
    import dataclasses

    train, test = _split(toy_prepared(4, 6))
    uncoded = [dataclasses.replace(p, au_coded=False, au_error="unknown") for p in train]
    off = train_fold(lambda: TinyNet(num_aus=17), train, test, TrainConfig(**FAST), num_classes=3)
    on = train_fold(lambda: TinyNet(num_aus=17), uncoded, test, TrainConfig(**{**FAST, "au_loss_weight": 0.5}),
                    num_classes=3)
    assert [h["train_loss"] for h in on.history] == pytest.approx([h["train_loss"] for h in off.history],
                                                                   rel=1e-6, abs=1e-7)
    np.testing.assert_allclose(on.probs, off.probs, rtol=1e-5, atol=1e-6)


def test_au_loss_off_is_unchanged_by_au_coded():
    """au_loss_weight=0 (default): au_coded does not change anything, bit for bit."""
    import dataclasses

    train, test = _split(toy_prepared(4, 6))
    half = [dataclasses.replace(p, au_coded=bool(i % 2)) for i, p in enumerate(train)]
    a = train_fold(TinyNet, train, test, TrainConfig(**{**FAST, "augment": True}), num_classes=3)
    b = train_fold(TinyNet, half, test, TrainConfig(**{**FAST, "augment": True}), num_classes=3)
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert np.array_equal(a.probs, b.probs)
