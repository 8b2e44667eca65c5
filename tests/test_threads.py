"""Tests for stag/threads.py: the thread policy, and a chapter workload under a CPU load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import torch

from stag import threads as T


def test_threads_per_process_divides_the_cores():
    cores = T.available_cores()
    assert 1 <= cores <= (os.cpu_count() or 1)
    assert T.threads_per_process() == cores
    assert T.threads_per_process(cores) == 1
    assert T.threads_per_process(cores * 4) == 1  # never zero
    with pytest.raises(ValueError, match="processes"):
        T.threads_per_process(0)


def test_thread_env_sets_counts_and_a_passive_wait_policy(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    env = T.thread_env(3)
    assert all(env[v] == "3" for v in T.THREAD_VARS)
    assert env["OMP_WAIT_POLICY"] == "PASSIVE" and env["KMP_BLOCKTIME"] == "0"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # a user's explicit choice is kept
    assert T.wait_env()["OMP_WAIT_POLICY"] == "ACTIVE"
    with pytest.raises(ValueError, match="threads"):
        T.thread_env(0)


def test_environment_restores_what_it_changed(monkeypatch):
    monkeypatch.setenv("STAG_TEST_A", "old")
    monkeypatch.delenv("STAG_TEST_B", raising=False)
    with T.environment({"STAG_TEST_A": "new", "STAG_TEST_B": "1"}):
        assert os.environ["STAG_TEST_A"] == "new" and os.environ["STAG_TEST_B"] == "1"
    assert os.environ["STAG_TEST_A"] == "old" and "STAG_TEST_B" not in os.environ


def test_limit_threads_sets_torch_and_opencv_then_restores():
    import cv2

    torch.set_num_threads(2)
    cv2_before = cv2.getNumThreads()
    with T.limit_threads(1):
        assert torch.get_num_threads() == 1 and cv2.getNumThreads() == 1
    assert torch.get_num_threads() == 2 and cv2.getNumThreads() == cv2_before
    with T.limit_threads(None):
        assert torch.get_num_threads() == 2
    with pytest.raises(ValueError, match="threads"), T.limit_threads(0):
        pass
    assert torch.get_num_threads() == 2


def test_configure_process_acts_before_torch_loads():
    # A fresh process, like a pool worker: the policy is set before torch is imported.
    code = textwrap.dedent("""
        import json, os, sys
        from stag.threads import configure_process
        configure_process(1)
        assert "torch" not in sys.modules
        import torch
        print(json.dumps({"torch": torch.get_num_threads(), "omp": os.environ["OMP_NUM_THREADS"],
                          "wait": os.environ["OMP_WAIT_POLICY"]}))
    """)
    env = {k: v for k, v in os.environ.items() if k not in (*T.THREAD_VARS, *T.WAIT_ENV)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"torch": 1, "omp": "1", "wait": "PASSIVE"}


def test_fold_task_threads_in_process_are_restored():
    from stag.train.run import _torch_threads

    torch.set_num_threads(2)
    with _torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with _torch_threads(None):
        assert torch.get_num_threads() == 2


def test_explain_config_threads_are_validated_and_left_out_of_nothing_else():
    from stag.explain import ExplainConfig

    assert ExplainConfig().threads == 1
    assert ExplainConfig(threads=None).threads is None
    with pytest.raises(ValueError, match="threads"):
        ExplainConfig(threads=0)


# --------------------------------------------------------------------------- fold workers
# What the timing test below guards, read from the runtime instead of a clock: a fold worker
# started the way `stag train --jobs 2` starts them (run._execute: joblib loky workers, the real
# pickling and fold-task entry) computes on one torch thread, and its OpenMP runtime lets idle
# threads sleep at once. The training is left out: the probe stands in for fold_task after the
# same first steps (importing stag.train.run loads torch and its OpenMP, as unpickling the real
# task does; then _torch_threads(threads, worker=True)). OMP_DISPLAY_ENV=VERBOSE, set only after
# the parent's OpenMP started, makes each worker's OpenMP print its settings as it starts: with
# GNU libgomp (torch's wheels) GOMP_SPINCOUNT is 0 under OMP_WAIT_POLICY=PASSIVE, 300000 when no
# policy was set and 3e10 under ACTIVE.
FOLD_WORKERS = textwrap.dedent("""
    import json, os, types
    import stag.train.run as R  # the parent, as `stag train`: torch and its OpenMP load here

    def probe(pack, spec, fold, train_idx, test_idx, config, num_classes, threads, progress=False, worker=False):
        import stag.train.run
        with stag.train.run._torch_threads(threads, worker=worker):
            import torch
            return {"fold": fold, "pid": os.getpid(), "torch_threads": torch.get_num_threads()}

    R.fold_task = probe  # _execute looks fold_task up when it submits; loky ships probe by value
    os.environ["OMP_DISPLAY_ENV"] = "VERBOSE"  # the parent's OpenMP has started: only workers print
    pending = [("a", [0], [1]), ("b", [1], [0])]
    res = R._execute(pending, {}, types.SimpleNamespace(name="probe"), R.TrainConfig(threads=1), 3,
                     jobs=2, dask=None, threads=1, progress=False)
    print(json.dumps(list(res)))
""")


@pytest.mark.parametrize("parent", [
    "inherits_wait_env",  # a `stag book` kernel, or this test process (tests/conftest.py)
    "bare_shell",  # `stag train --jobs 2` typed in a plain shell: _execute sets the policy for its workers
])
def test_fold_workers_use_one_thread_and_a_passive_openmp_wait_policy(parent):
    import re

    drop = (*T.THREAD_VARS, *T.WAIT_ENV, "GOMP_SPINCOUNT", "OMP_DISPLAY_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if parent == "inherits_wait_env":
        env.update(T.WAIT_ENV)
    out = subprocess.run([sys.executable, "-c", FOLD_WORKERS], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    folds = json.loads(out.stdout.strip().splitlines()[-1])
    assert sorted(f["fold"] for f in folds) == ["a", "b"]
    assert all(f["torch_threads"] == 1 for f in folds), folds
    # One report per worker, none from the parent. The workers write to the same pipe at once, so
    # their lines may interleave: count lines, never split the output into blocks.
    workers = len({f["pid"] for f in folds})
    assert out.stderr.count("OPENMP DISPLAY ENVIRONMENT BEGIN") == workers, out.stderr[-2000:]
    counts = [int(c) for c in re.findall(r"GOMP_SPINCOUNT = '(\d+)'", out.stderr)]
    if not counts:
        pytest.skip(f"torch's OpenMP is not GNU libgomp (no GOMP_SPINCOUNT): {out.stderr[-1000:]}")
    assert counts == [0] * workers, f"GOMP_SPINCOUNT of each worker: {counts} (0: idle threads sleep at once)"


# --------------------------------------------------------------------------- under load
# A chapter workload (chapter 7's explanation loop on a few toy clips, package defaults) in a
# fresh process with no thread settings inherited, as in a notebook kernel: once on its own,
# once beside two processes that burn a core each. The failure this guards against: OpenMP
# threads spinning against the load made the loop ~10x slower and burn ~10x the CPU time.
# Marked `load` and left out of the default run (`make test` deselects it): its clocks depend on
# what else the machine runs. The fold-worker test above checks the same settings deterministically;
# run this one on a quiet machine with `pytest -m load`.
WORKLOAD = textwrap.dedent("""
    import json, time
    import torch
    from stag.explain.study import ExplainConfig, explain_clips
    from stag.train.config import TrainConfig
    from stag.train.run import model_spec
    from stag.train.testing import toy_prepared

    def reference():  # a plain single-threaded loop: how much CPU this process is getting
        t = time.perf_counter()
        x = 0
        for i in range(2_000_000):
            x += i
        return time.perf_counter() - t

    torch.manual_seed(0)
    clips = toy_prepared(n_subjects=1, clips_per_subject=4, keyframes=2, size=32, seed=0)
    model = model_spec("stag", clips, 3, TrainConfig()).build().eval()
    cfg = ExplainConfig(n_steps=16, gradshap_samples=8, occlusion_window=8, occlusion_stride=8,
                        fractions=(0.0, 0.25, 0.5, 1.0), device="cpu")
    explain_clips(model, clips[:1], cfg)  # warm-up: first calls allocate and load kernels
    r0 = reference()
    t, c = time.perf_counter(), time.process_time()
    explain_clips(model, clips, cfg)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    r1 = reference()
    print(json.dumps({"wall": wall, "cpu": cpu, "ref": (r0 + r1) / 2, "threads": torch.get_num_threads()}))
""")


def _run_workload() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in (*T.THREAD_VARS, *T.WAIT_ENV)}
    out = subprocess.run([sys.executable, "-c", WORKLOAD], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.load
def test_chapter_workload_keeps_its_pace_under_a_cpu_load():
    quiet = _run_workload()
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.5)
        loaded = _run_workload()
    finally:
        for p in burners:
            p.kill()
            p.wait()
    report = f"quiet {quiet}, beside 2 busy processes {loaded}"
    # CPU time does not depend on who else runs: spinning or oversubscribed threads show here.
    assert loaded["cpu"] < 3 * quiet["cpu"] + 1.0, report
    # Wall time, relative to a plain single-threaded loop timed in the same process and
    # conditions (so another user's job slowing both does not count): a loop that shares the
    # cores fairly slows down like the reference; one that spins slows down several times more.
    slowdown = (loaded["wall"] / loaded["ref"]) / (quiet["wall"] / quiet["ref"])
    assert slowdown < 3, report
