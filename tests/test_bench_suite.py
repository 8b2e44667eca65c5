"""`stag bench suite` (stag/bench/suite.py): the stages are the README's commands, the README
block is replaced in place, busy processes stop with their stage. The suite itself is a
benchmark (minutes): it is run by hand, not here."""

import subprocess
import time

import pandas as pd
import pytest

from stag.bench import suite


def test_the_stages_are_what_make_test_and_make_book_run():
    makefile = (suite.Path(__file__).resolve().parents[1] / "Makefile").read_text()
    test_recipe = makefile.split("\ntest:")[1].split("\n\n")[0]
    for name, cmd, command in suite.STAGES:
        if command == "make test":
            assert cmd.removeprefix(".venv/bin/") in test_recipe.replace("$(BIN)/", ""), name


def test_readme_block_is_replaced_and_the_rest_kept(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{suite.START}\nold table\n{suite.END}\nafter\n")
    table = pd.DataFrame([{"command": "make test", "stage": "unit tests", "wall_s": 90.0, "minutes": 1.5,
                           "exit_code": 0}])
    table.attrs.update(commit="abc123def4567", busy=0)
    suite.write_readme(readme, suite.markdown(table, "Xeon, 2 cores, quiet"))
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("after\n") and "old table" not in text
    assert "| make test | unit tests | 90 | 1.5 |" in text and "`abc123def456`" in text
    other = tmp_path / "other.md"
    other.write_text("no markers")
    with pytest.raises(ValueError, match="no <!-- bench-suite:start -->"):
        suite.write_readme(other, "table")


def test_busy_processes_run_only_inside_the_block():
    with suite.busy(2):
        time.sleep(0.2)
        spinning = subprocess.run(["pgrep", "-f", "while True: pass"], capture_output=True, text=True).stdout.split()
        assert len(spinning) >= 2
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", "while True: pass"], capture_output=True, text=True).stdout.split()
    assert not set(left) & set(spinning)


def test_the_machine_is_named_by_its_cpu_model(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) Gold 6338\n")
    from stag.environment import cpu_model

    assert cpu_model(info) == "Intel(R) Xeon(R) Gold 6338"
    assert cpu_model(tmp_path / "missing") != ""  # falls back to the platform's name
