"""Resolve the compute device from a user-facing string."""

from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """Turn ``"auto" | "cpu" | "cuda" | "cuda:N"`` into a :class:`torch.device`.

    ``"auto"`` picks CUDA when a GPU is visible and the CPU otherwise. Asking for CUDA on a
    machine without one raises instead of silently falling back, so a GPU run that would
    have crawled on the CPU fails loudly.
    """
    if isinstance(device, torch.device):
        return device
    name = str(device).strip().lower()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cpu":
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but no CUDA device is visible "
                "(torch.cuda.is_available() is False); use device='auto' or 'cpu'."
            )
        return torch.device(name)
    raise ValueError(f"device={device!r} is not one of {DEVICE_CHOICES} (or 'cuda:N').")
