"""Preprocessing: face alignment, keyframes, optical flow, AU regions, and the cache.

Everything here is a pure function (arrays in, arrays out) except :mod:`stag.preprocess.cache`,
which owns the disk.
"""
