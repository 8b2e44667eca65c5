"""Data: the Clip schema, label schemes, the dataset registry and the adapters."""

from stag.data.clip import Clip, ClipSet
from stag.data.labels import SCHEMES, LabelScheme, get_scheme
from stag.data.registry import available, load, register

__all__ = ["Clip", "ClipSet", "LabelScheme", "SCHEMES", "get_scheme", "available", "load", "register"]
