"""Benchmarks: ``python -m stag.bench SUITE`` or ``stag bench SUITE``.

Each suite is a module in this package exposing ``HELP``, ``add_arguments(parser)`` and
``run(args) -> pandas.DataFrame``; the table is printed and, with ``--out``, saved as CSV and
JSON with the environment it was measured on.
"""

SUITES: dict[str, str] = {
    "synthetic": "stag.bench.synthetic",
    "data": "stag.bench.data",
    "flow": "stag.bench.flow",
    "prepare": "stag.bench.prepare",
    "model": "stag.bench.model",
    "train": "stag.bench.train",
    "pretrain": "stag.bench.pretrain",
    "suite": "stag.bench.suite",
}
