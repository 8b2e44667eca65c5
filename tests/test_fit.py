import pytest
import torch

import stag.train.fit as fitmod
from stag.train.config import TrainConfig
from stag.train.dataset import collate
from stag.train.fit import evaluate, fit, fit_key, fit_or_load
from stag.train.testing import toy_prepared

# A tiny STAG: 16 ROIs of the toy clips, 16-dim tokens, no dropout.
KW = dict(num_classes=3, in_channels=3, num_rois=16, dim=16, heads=2, dropout=0.0)
CONFIG = TrainConfig(epochs=25, batch_size=4, lr=5e-3, warmup_epochs=0, schedule="constant", augment=False,
                     seed=1, device="cpu", threads=1)


@pytest.fixture(scope="module")
def clips():
    return toy_prepared(2, 6, keyframes=2, size=16, noise=0.1)  # 12 separable clips


def test_fit_learns_a_tiny_separable_set(clips):
    threads = torch.get_num_threads()
    model, history = fit("stag", clips, CONFIG, **KW)
    assert torch.get_num_threads() == threads and not model.training
    assert [h["epoch"] for h in history] == list(range(1, 26))
    assert history[-1]["train_loss"] < 0.5 * history[0]["train_loss"]
    assert evaluate(model, collate(clips))["accuracy"] == 1.0


def test_fit_or_load_caches_by_key_and_keeps_old_entries(clips, tmp_path, monkeypatch):
    config = CONFIG.replace(epochs=3)
    model, history = fit_or_load("stag", clips, config, cache_dir=tmp_path, **KW)
    entries = sorted((tmp_path / "fit").glob("stag-*.pt"))
    assert len(entries) == 1

    calls = []
    real = fitmod.train_fold
    monkeypatch.setattr(fitmod, "train_fold", lambda *a, **k: calls.append(1) or real(*a, **k))
    again, history2 = fit_or_load("stag", clips, config, cache_dir=tmp_path, **KW)
    assert calls == [] and history2 == history  # loaded, not trained
    for a, b in zip(model.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)

    other = config.replace(lr=1e-3)
    assert fit_key("stag", clips, other, **KW) != fit_key("stag", clips, config, **KW)
    fit_or_load("stag", clips, other, cache_dir=tmp_path, **KW)
    assert calls == [1]
    after = sorted((tmp_path / "fit").glob("stag-*.pt"))
    assert len(after) == 2 and entries[0] in after  # a new entry; the old one stays
    assert fit_key("stag", clips[:-1], config, **KW) != fit_key("stag", clips, config, **KW)


def test_fit_rejects_what_it_cannot_do(clips):
    with pytest.raises(ValueError, match="num_classes"):
        fit("stag", clips, CONFIG, in_channels=3, num_rois=16)
    with pytest.raises(ValueError, match="oracle"):
        fit("stag", clips, CONFIG.replace(selection="oracle"), **KW)
    with pytest.raises(ValueError, match="no training clips"):
        fit("stag", [], CONFIG, **KW)
