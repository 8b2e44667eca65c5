"""STAG-book: STAG (Spatio-temporal Evolving Structural Representation of Action Units) for micro-expression recognition.

Dependencies point one way: ``data -> preprocess -> models -> train -> explain/bench -> cli``,
with :mod:`stag.faces` (landmarks, ROI table, AU prior) below them all; ``tests/test_imports.py``
checks it from the source.
Import submodules explicitly (``from stag.data import load``); importing :mod:`stag` itself
is cheap and pulls in no heavy dependency.
"""

__version__ = "0.1.0"
