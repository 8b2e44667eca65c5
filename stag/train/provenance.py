"""Provenance of a run: which code, which data, which command, which machine, how long.

Every ``results.json`` written by a run carries a ``provenance`` dict (see :func:`provenance`),
so a recorded run (``results/<study>/<run>/``) says how to reproduce it and a reader can tell
two runs of different data or code apart::

    commit          git HEAD of the stag source checkout (the package version outside git)
    dirty           tracked files of that checkout had uncommitted changes
    data_checksum   sha256 over the dataset files the loader read (see data_checksum)
    data_fingerprint  hash of the prepared arrays the model saw (stag.train.run.data_fingerprint)
    command         the command line (shell-quoted) or the Python call
    machine         platform, CPU model, logical cores, torch version and threads, device
                    (no host name)
    started_utc, finished_utc   ISO 8601 times of this invocation
    wall_time_s     training wall time, summed over resumed invocations
    cpu_time_s      process CPU time summed over folds (from folds/*/fold.json)
    numerics        what float results depend on beyond code and data: ``fold_threads`` (the
                    torch threads every fold trained with; a reproduction uses the same),
                    ``cpu_capability`` (the SIMD kernels torch dispatched to, e.g. AVX2) and
                    the ISA caps in force (``ATEN_CPU_CAPABILITY``, ``ONEDNN_MAX_CPU_ISA``,
                    ``MKL_ENABLE_INSTRUCTIONS``, ``MKL_CBWR``)
"""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

import stag
from stag.device import resolve_device

_CHUNK = 1 << 20


def utc_now() -> str:
    """Current time as ISO 8601 UTC with seconds (``2025-01-31T12:00:00+00:00``)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def source_commit(path: str | Path | None = None) -> tuple[str, bool]:
    """``(commit, dirty)`` of the git checkout holding the stag sources.

    ``commit`` is ``git rev-parse HEAD``; outside git (an installed wheel) it is
    ``"stag-<version>"`` and ``dirty`` is ``False``. ``dirty`` means tracked files differ from
    HEAD (untracked files are ignored).
    """
    path = Path(path) if path is not None else Path(stag.__file__).resolve().parent
    try:
        def git(*a):
            return subprocess.run(["git", *a], cwd=path, capture_output=True, text=True, check=True).stdout

        sha = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
        return sha, dirty
    except (OSError, subprocess.CalledProcessError):
        return f"stag-{stag.__version__}", False


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str = "auto") -> dict:
    """Facts about the machine that change speed or numbers; no host name.

    ``device`` is resolved (``"auto"`` -> ``"cuda"``/``"cpu"``) and a GPU is named.
    """
    try:
        dev = resolve_device(device)
        dev_name = str(dev)
        if dev.type == "cuda":
            dev_name += f" ({torch.cuda.get_device_name(dev)})"
    except ValueError:
        dev_name = str(device)
    return {
        "platform": platform.platform(), "python": platform.python_version(), "cpu": _cpu_model(),
        "logical_cores": os.cpu_count() or 0, "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(), "device": dev_name,
    }


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command as typed: ``stag train --dataset ...`` (``argv`` default ``sys.argv``)."""
    argv = list(sys.argv if argv is None else argv)
    if argv and Path(argv[0]).name in ("stag", "__main__.py"):
        argv[0] = "stag" if Path(argv[0]).name == "stag" else "python -m stag"
    return shlex.join(argv)


def python_call(func: str, **kwargs) -> str:
    """``func(k=v, ...)`` with ``repr`` values: the command of a run started from Python."""
    return f"{func}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


# --------------------------------------------------------------------------- data checksum
def dataset_files(clipset) -> tuple[list[Path], list[Path]]:
    """``(read_whole, listed)``: the files a loader read for ``clipset``.

    ``read_whole`` are hashed by content: the annotation file, any coding files joined onto
    the clips (``params["codings"]``), and, for flow datasets
    (clips with ``flows``), each clip's flow files (``truth["flow_files"]``, one per phase, or
    ``truth["flow_file"]``) and apex face
    (``truth["imagename"]`` in ``params["face_dir"]`` or the clip's frame loader).
    ``listed`` are frame files of frame datasets, checksummed by name and size only, so the
    checksum of a dataset of 100k frames stays cheap.
    """
    params = getattr(clipset, "params", {}) or {}
    whole: list[Path] = []
    listed: list[Path] = []
    ann = params.get("annotations")
    if ann and Path(ann).is_file():
        whole.append(Path(ann))
    codings = params.get("codings") or {}  # FACS coding files joined onto the clips (MEGC2019)
    whole.extend(Path(f) for f in (codings.values() if isinstance(codings, dict) else []) if Path(f).is_file())
    face_dir = params.get("face_dir")
    for clip in clipset:
        truth = clip.truth or {}
        flow_dataset = clip.flows is not None
        flow_files = truth.get("flow_files") or ([truth["flow_file"]] if truth.get("flow_file") else [])
        whole.extend(Path(f) for f in flow_files)
        if face_dir and truth.get("imagename"):
            whole.append(Path(face_dir) / truth["imagename"])
        paths = [Path(p) for p in getattr(clip.loader, "paths", ())]
        (whole if flow_dataset else listed).extend(paths)
    return list(dict.fromkeys(whole)), sorted(dict.fromkeys(listed))


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    return path.name


def data_checksum(clipset) -> str:
    """``sha256:<hex>`` over the dataset files behind ``clipset`` (see :func:`dataset_files`).

    File names enter relative to the data root, so the same data at another path gives the
    same checksum; any changed byte of an annotation or flow file, or a frame file added,
    removed, renamed or resized, changes it. Clips that come from no file (synthetic data)
    enter by their ``fingerprint`` (generator version and parameters) or, failing that, by
    their in-memory arrays.
    """
    params = getattr(clipset, "params", {}) or {}
    root = Path(params["data_root"]).resolve() if params.get("data_root") else None
    whole, listed = dataset_files(clipset)
    h = hashlib.sha256()
    for path in whole:
        h.update(b"F" + _relative(path, root).encode() + b"\0")
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    for path in listed:
        h.update(b"L" + _relative(path, root).encode() + b"\0" + str(path.stat().st_size).encode())
    if not whole and not listed:
        for clip in clipset:
            h.update(b"C" + f"{clip.clip_id}\0{clip.label}\0{clip.fingerprint}".encode())
            if not clip.fingerprint:
                for arr in (clip.flows, clip.frames):
                    if arr is not None:
                        h.update(np.ascontiguousarray(arr).tobytes())
    return "sha256:" + h.hexdigest()


# --------------------------------------------------------------------------- the record
def cpu_time(folds: Iterable[dict]) -> float | None:
    """Sum of ``cpu_time_s`` over folds (``None`` when no fold recorded it)."""
    vals = [f.get("cpu_time_s") for f in folds if f.get("cpu_time_s") is not None]
    return float(sum(vals)) if vals else None


def numerics(folds: Iterable[dict]) -> dict:
    """The ``numerics`` block of the provenance (module doc): fold threads, torch's CPU
    capability and the environment variables that choose torch's, MKL's and oneDNN's kernels
    (``None``: unset). :func:`stag.results.reproduce.reproduction_tolerance` asks for a bit-for-bit
    reproduction only where every one of these matches."""
    threads = sorted({int(f["threads"]) for f in folds if f.get("threads")})
    return {"fold_threads": threads[0] if len(threads) == 1 else (threads or None),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            **{var: os.environ.get(var) for var in ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA",
                                                    "MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR")}}


def provenance(*, data_fingerprint: str, folds: Iterable[dict], wall_time_s: float, device: str = "auto",
               data_checksum: str | None = None, command: str | None = None, started_utc: str | None = None,
               finished_utc: str | None = None) -> dict:
    """The provenance dict of one run (keys in the module docstring).

    ``data_checksum`` is ``None`` when the run was given prepared clips without their
    :class:`~stag.data.clip.ClipSet` (a direct :func:`~stag.train.run.run_protocol` call);
    ``stag train`` always fills it.
    """
    commit, dirty = source_commit()
    folds = list(folds)
    finished_utc = finished_utc or utc_now()
    if started_utc is None:
        started = datetime.fromisoformat(finished_utc).timestamp() - float(wall_time_s)
        started_utc = datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds")
    return {
        "commit": commit, "dirty": dirty, "data_checksum": data_checksum, "data_fingerprint": data_fingerprint,
        "command": command or command_line(), "machine": machine(device),
        "started_utc": started_utc, "finished_utc": finished_utc,
        "wall_time_s": float(wall_time_s), "cpu_time_s": cpu_time(folds), "numerics": numerics(folds),
    }
