"""``stag bench train``: LOSO wall-time rows, including the composite (real-data recipe) case."""

from __future__ import annotations

import argparse

import pytest

from stag.bench import train as bench_train


def _args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    bench_train.add_arguments(parser)
    argv = []
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", *([str(x) for x in v] if isinstance(v, list) else [str(v)])]
    return parser.parse_args(argv)


def test_composite_case_times_every_subject_fold(tmp_path):
    from test_train_cli import _composite

    _composite(tmp_path / "data", per_subject=2)
    table = bench_train.run(_args(dataset="megc2019_flow", data_root=tmp_path / "data", models="ststnet",
                                  jobs=[1], speedup_models="", epochs=1, cache_dir=tmp_path / "cache"))
    assert list(table["model"]) == ["ststnet"] and table.loc[0, "epochs"] == 1
    assert table.loc[0, "folds"] >= 3  # one per subject of the fake composite
    assert table.loc[0, "wall_s"] > 0 and 0 <= table.loc[0, "uf1"] <= 1


def test_composite_case_needs_its_data_root():
    with pytest.raises(ValueError, match="needs --data-root"):
        bench_train.run(_args(dataset="megc2019_flow", models="ststnet", jobs=[1]))
