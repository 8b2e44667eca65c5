"""Shared test configuration: keep torch and OpenCV to one thread so tests are repeatable."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
# Idle OpenMP threads of this process and its workers sleep instead of spinning (stag.threads);
# set before anything imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("KMP_BLOCKTIME", "0")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _single_thread_torch():
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
