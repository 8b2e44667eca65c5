"""Atomic writes: the old file survives a failed write, and no temporary file is left."""

import pytest

from stag.files import atomic_write, atomic_write_text


def test_write_creates_parents_and_replaces(tmp_path):
    path = tmp_path / "a" / "b.txt"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in path.parent.iterdir()] == ["b.txt"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "r.json"
    atomic_write_text(path, "good")

    def broken(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write(path, broken)
    assert path.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
