"""Describe the software and hardware a result was produced with."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import torch

# The packages whose versions change numbers in this study.
KEY_PACKAGES = (
    "stag", "torch", "numpy", "scipy", "opencv-contrib-python-headless", "dlib-bin",
    "face-recognition-models", "scikit-learn", "pandas", "captum", "papermill",
    "jupyter-book", "matplotlib", "seaborn",
)


def package_versions(names: tuple[str, ...] = KEY_PACKAGES) -> dict[str, str]:
    """Installed version of each distribution in ``names`` (``"missing"`` if absent)."""
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def git_commit(path: str | Path = ".") -> str:
    """Commit hash of the checkout containing ``path`` (``"unknown"`` outside git);
    ``-dirty`` is appended when tracked files have uncommitted changes."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=path, capture_output=True, text=True, check=True).stdout
        return sha + ("-dirty" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux ``/proc/cpuinfo``), else :func:`platform.processor`."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_summary() -> dict[str, str | int | bool]:
    """CPU/GPU facts: processor, core count, torch threads, CUDA device name if any."""
    info: dict[str, str | int | bool] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
        "cuda_available": torch.cuda.is_available(),
    }
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(0)
        info["cuda_version"] = str(torch.version.cuda)
    return info
