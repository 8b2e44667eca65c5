"""The prepare cache: keys, identical round trips, invalidation, resume after a kill."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from stag.preprocess.cache import PrepareCache, clip_key, read_prepared, write_prepared
from stag.preprocess.pipeline import UNCACHED_FIELDS, PrepareConfig, prepare_dataset
from stag.preprocess.prepared import Prepared

SMALL = dict(n_subjects=3, clips_per_subject=2, frames=(14, 16), seed=7)


@pytest.fixture(scope="module")
def clips():
    from stag.data import load

    return load("synthetic", **SMALL)


def _prepared():
    rng = np.random.default_rng(0)
    return Prepared(clip_id="d/s1/c", subject="s1", dataset="d", label=2,
                    flows=rng.normal(size=(2, 3, 8, 8)).astype(np.float32), key_mask=np.array([True, False]),
                    magnitudes=np.array([1.0, 0.0], np.float32), key_indices=np.array([5, -1]),
                    rois=rng.uniform(0, 8, (16, 4)).astype(np.float32),
                    landmarks=rng.uniform(0, 8, (68, 2)).astype(np.float32),
                    face=rng.integers(0, 255, (8, 8)).astype(np.uint8), aus=(4, 7),
                    truth={"au_masks": rng.random((2, 8, 8)) > 0.5, "au_ids": (4, 7),
                           "au_intensity": {4: 1.5, 7: 0.9}, "apex": 5, "landmark_nme": 0.03})


def test_round_trip_is_identical(tmp_path):
    p = _prepared()
    write_prepared(tmp_path / "a.npz", p)
    q = read_prepared(tmp_path / "a.npz")
    for name in ("flows", "key_mask", "magnitudes", "key_indices", "rois", "landmarks", "face"):
        a, b = getattr(p, name), getattr(q, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
    assert (q.clip_id, q.subject, q.dataset, q.label, q.aus) == ("d/s1/c", "s1", "d", 2, (4, 7))
    assert np.array_equal(q.truth["au_masks"], p.truth["au_masks"])
    assert q.truth["au_ids"] == (4, 7) and q.truth["au_intensity"] == {4: 1.5, 7: 0.9} and q.truth["apex"] == 5
    assert [f.name for f in tmp_path.iterdir()] == ["a.npz"]  # no temporary file left behind


def test_unreadable_entry_is_a_miss(tmp_path):
    cache = PrepareCache(tmp_path)
    cache.path("k").write_bytes(b"not an npz")
    assert cache.load("k") is None and cache.load("absent") is None


def test_key_depends_on_content_ids_and_parameters(clips):
    from dataclasses import replace

    clip = clips[0]
    params = PrepareConfig().to_dict()
    k = clip_key(clip, params)
    assert k == clip_key(clip, dict(params))  # stable
    assert k != clip_key(clip, {**params, "keyframes": 4})
    frames = clip.frames.copy()
    frames[0, 0, 0, 0] ^= 1
    from_disk = replace(clip, fingerprint="")  # frames read from disk are hashed
    assert clip_key(from_disk, params) != clip_key(replace(from_disk, frames=frames), params)  # one bit
    # Synthetic clips are keyed by their generator fingerprint, without rendering frames.
    assert clip.fingerprint and k == clip_key(replace(clip, frames=None), params)
    assert k != clip_key(replace(clip, fingerprint=clip.fingerprint + "x"), params)
    assert k != clip_key(replace(clip, clip_id=clip.clip_id + "x"), params)
    assert k != clip_key(replace(clip, apex=(clip.apex or 0) + 1), params)


def test_dataset_cache_reuses_and_invalidates(clips, tmp_path):
    cfg = PrepareConfig(keyframes=3)
    stats = {}
    first = prepare_dataset(clips, cfg, cache_dir=tmp_path, jobs=1, progress=False, stats=stats)
    assert len(stats["computed"]) == len(clips) and not stats["hits"]
    again = prepare_dataset(clips, cfg, cache_dir=tmp_path, jobs=1, progress=False, stats=stats)
    assert len(stats["hits"]) == len(clips) and not stats["computed"]
    for a, b in zip(first, again):
        assert a.clip_id == b.clip_id
        assert np.array_equal(a.flows, b.flows) and np.array_equal(a.rois, b.rois)
        assert np.array_equal(a.key_indices, b.key_indices) and np.array_equal(a.magnitudes, b.magnitudes)
    prepare_dataset(clips, PrepareConfig(keyframes=3, flow_method="farneback"), cache_dir=tmp_path, jobs=1,
                    progress=False, stats=stats)
    assert len(stats["computed"]) == len(clips)  # a changed parameter recomputes everything
    prepare_dataset(clips, cfg, cache_dir=tmp_path, jobs=1, progress=False, force=True, stats=stats)
    assert len(stats["computed"]) == len(clips)  # --force


def test_killed_prepare_resumes_without_recomputing_finished_clips(clips, tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from stag.data import load
        from stag.preprocess.pipeline import PrepareConfig, prepare_dataset
        clips = load("synthetic", **{SMALL!r})
        prepare_dataset(clips, PrepareConfig(keyframes=3, flow_method="tvl1_default"),
                        cache_dir=sys.argv[1], jobs=1, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], env={**os.environ, "OMP_NUM_THREADS": "1"})
    entries = tmp_path / "prepare"
    # Only a guard against a hang: the loop leaves as soon as two entries exist or the child
    # exits, and a busy machine may slow the child's start and first clips many times over.
    deadline = time.time() + 600
    try:
        while time.time() < deadline and proc.poll() is None:
            if entries.exists() and len(list(entries.glob("[0-9a-f]*.npz"))) >= 2:
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = {p.stem for p in entries.glob("[0-9a-f]*.npz")}
    assert 2 <= len(finished)
    killed_early = proc.returncode == -signal.SIGKILL
    print("finished before kill:", len(finished), "killed:", killed_early)
    stats = {}
    cfg = PrepareConfig(keyframes=3, flow_method="tvl1_default")
    out = prepare_dataset(clips, cfg, cache_dir=tmp_path, jobs=1, progress=False, stats=stats)
    assert len(out) == len(clips)
    params = {k: v for k, v in cfg.to_dict().items() if k not in UNCACHED_FIELDS}  # as prepare_dataset keys
    keys = {c.clip_id: clip_key(c, params) for c in clips}
    hit_keys = {keys[c] for c in stats["hits"]}
    assert hit_keys == finished  # exactly the clips finished before the kill come from the cache
    assert set(stats["computed"]) == {cid for cid, k in keys.items() if k not in finished}
    if killed_early:
        assert stats["computed"], "the kill left nothing to resume"
