"""How many CPU threads each process of a study may use, set in one place.

Policy:

1. **A process's budget** is the cores this process may run on (CPU affinity and the cgroup
   quota, not the host's core count) divided by the processes that compute at the same time
   (:func:`threads_per_process`): ``--jobs N`` workers get ``cores // N`` threads each, a
   single process gets all the cores, and never fewer than one.
2. **Every process that computes sets its budget deliberately, at its entry point:** the
   training fold task (:func:`stag.train.run.fold_task`, in-process, loky or Dask; loky
   workers also start with ``inner_max_num_threads``), the preprocessing workers and the
   explanation loop (``ExplainConfig.threads``, a chapter parameter). In a worker that is
   :func:`configure_process` (the process is ours); inside a library call, or in a notebook
   kernel, it is the :func:`limit_threads` context manager, which puts everything back on
   exit. Both set torch's intra-op threads, OpenCV's threads and the BLAS pools; the
   environment variables (``OMP_NUM_THREADS``...) carry the same number to child processes.
   A notebook kernel keeps every core for its own ops (chapters run one at a time) and is
   started by ``stag book`` with :func:`wait_env` only.
3. **Idle OpenMP threads sleep instead of spinning** (``OMP_WAIT_POLICY=PASSIVE``,
   ``KMP_BLOCKTIME=0``; :data:`WAIT_ENV`). torch's OpenMP (GNU libgomp here) makes a
   thread that waits at the end of a parallel region spin for a while by default. That is
   harmless on idle cores, but when another job holds the cores, the spinning thread burns
   the time slice the thread it waits for needs, at every one of the thousands of small ops
   an attribution makes. Measured on 2 cores (chapter 9's explanation loop with its default
   parameters, 2 folds, 8 clips) beside a 2-process CPU load: 2 spinning torch threads took
   136 s (47 CPU s), 2 passive threads 17 s (5 CPU s), 1 thread 5-12 s (4.5 CPU s). OpenMP
   reads these variables once, when torch loads it, so they only act in a process that sets
   them before ``import torch``: a worker (:func:`configure_process` runs before the task
   imports torch), a kernel started with :func:`wait_env` in its environment (``stag book``;
   ``pytest --nbmake`` kernels inherit pytest's environment), or the test process
   (``tests/conftest.py``).
4. **Small-op workloads use one thread.** The explanation loop (:class:`stag.explain.ExplainConfig`
   ``threads=1``) runs thousands of ops on a handful of 64x64 clips: one thread was faster
   than two even on idle cores (8.5 s, 4.6 CPU s, against 17.7 s, 15.6 CPU s), and far
   faster on busy ones.

Nothing here changes results beyond float rounding; thread counts are therefore never part
of a cache key.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

#: Thread-count variables read by OpenMP, MKL and OpenBLAS when they load.
THREAD_VARS: tuple[str, ...] = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
#: Idle OpenMP threads sleep at once (GNU and Intel OpenMP) instead of busy-waiting.
WAIT_ENV: dict[str, str] = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}


def _cgroup_cores() -> float | None:
    """Cores allowed by a cgroup v2 ``cpu.max`` quota (None: no quota or not readable)."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return float(quota) / float(period)


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup quota (>= 1)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    quota = _cgroup_cores()
    if quota is not None:
        cores = min(cores, max(1, int(quota)))
    return max(1, cores)


def threads_per_process(processes: int = 1) -> int:
    """Threads for each of ``processes`` processes that compute at the same time (>= 1)."""
    if not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes={processes!r}: expected an integer >= 1")
    return max(1, available_cores() // processes)


def _check(n: int) -> int:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"threads={n!r}: expected an integer >= 1")
    return n


def wait_env() -> dict[str, str]:
    """:data:`WAIT_ENV`, unless this process's environment already chose a wait policy.

    A notebook kernel gets this alone (``stag book``): it keeps every core for its own ops
    (chapters run one at a time), and the workers it starts are sized by their ``jobs``.
    """
    return {k: os.environ.get(k, v) for k, v in WAIT_ENV.items()}


def thread_env(n: int) -> dict[str, str]:
    """Environment for a child process (a worker) limited to ``n`` threads: the thread-count
    variables are ``n``, the wait policy is :func:`wait_env`."""
    n = _check(n)
    return {**{var: str(n) for var in THREAD_VARS}, **wait_env()}


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """Set ``env`` in ``os.environ`` for the block (for child processes it starts), then restore."""
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _set_cv2(n: int) -> int | None:
    if "cv2" not in sys.modules:  # never import OpenCV just for this
        return None
    cv2 = sys.modules["cv2"]
    old = cv2.getNumThreads()
    cv2.setNumThreads(n)
    return old


@contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, OpenCV threads and BLAS threads.

    Restores the previous counts on exit. ``None`` changes nothing.
    """
    if n is None:
        yield
        return
    n = _check(n)
    # lazy: configure_process must be able to set the OpenMP environment before torch loads
    import torch
    from threadpoolctl import threadpool_limits

    old_torch = torch.get_num_threads()
    old_cv2 = _set_cv2(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            torch.set_num_threads(n)
            yield
    finally:
        torch.set_num_threads(old_torch)
        if old_cv2 is not None:
            sys.modules["cv2"].setNumThreads(old_cv2)


def configure_process(n: int) -> None:
    """Limit this whole process (a worker or a kernel we own) to ``n`` threads, for good.

    Sets :func:`thread_env` in ``os.environ`` (OpenMP and BLAS read it when they load, so
    call this before ``import torch`` for the wait policy to act; child processes inherit
    it), torch's intra-op threads and, while it can still be set, its inter-op pool, and
    OpenCV's threads. torch and OpenCV are not imported just for this.
    """
    os.environ.update(thread_env(n))
    _set_cv2(n)
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        torch.set_num_threads(n)
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:  # only settable once, before any inter-op work started
            pass
    if "threadpoolctl" in sys.modules or "numpy" in sys.modules:
        from threadpoolctl import threadpool_limits  # lazy: nothing is imported just to set threads

        threadpool_limits(limits=n, user_api="blas")
