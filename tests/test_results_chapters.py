"""Each chapter's answer (stag.results.chapters) on the committed records: the tables and
sentences the book shows are byte-identical to the golden copies made with the results layer
before its redesign, and a wheel install of stag computes them from another folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
GOLDEN = ROOT / "tests" / "golden" / "answers"


def _text(v) -> str:
    return v if isinstance(v, str) else v.to_string()


def answer_parts(results: Path) -> dict[str, str]:
    """Every record-derived table and sentence of chapters 06b, 06c and 07b, as printed."""
    from stag.results import real_faces as rr
    from stag.results import chapters

    parts = {}
    a = chapters.real_data(results / "megc2019")
    t, s = a.tables, a.sentences
    items, names = a.extra["confusions"]
    parts.update({
        "06b_headline": t["headline"], "06b_findings": s["comparison"], "06b_ens_findings": s["ensemble"],
        "06b_per_dataset": t["per_dataset"], "06b_confusions": "\n".join(f"{x}\n{y}" for x, y in items) + str(names),
        "06b_compare": t["comparison"].round(3), "06b_ensembles": t["ensembles"].round(3),
        "06b_components": t["components"].drop(columns="stag_minus_model_per_seed").round(3),
        "06b_comp_findings": s["components"], "06b_landmarks": t["landmarks"], "06b_lodo": t["lodo"],
        "06b_provenance": t["provenance"], "06b_oracle": t["oracle"], "06b_tried": s["tried"]})
    a = chapters.synthetic_study(results)
    t, s = a.tables, a.sentences
    parts.update({
        "06c_headline": t["headline"], "06c_findings": s["study"], "06c_paired": t["paired"],
        "06c_components": t["components"].round(3), "06c_controls": t["controls"].round(3),
        "06c_apex": t["apex"].round(3), "06c_apex_findings": s["apex"], "06c_flows": t["flows"].round(3),
        "06c_decision": t["flow_decision"], "06c_flow_findings": s["flow"], "06c_provenance": t["provenance"]})
    a = chapters.real_faces(results / "megc2019_explain")
    t, s = a.tables, a.sentences
    parts.update({
        "07b_headline": rr.gain_table(t["summary"], [rr.PRIMARY]), "07b_findings": s["explanations"],
        "07b_headline_all": rr.gain_table(t["summary"]),
        "07b_paired": "\n".join(rr.paired_table(t["paired"], m).to_string() for m in rr.METRICS),
        "07b_examples": t["examples"], "07b_provenance": t["provenance"], "07b_intro": s["intro"]})
    return {k: _text(v) for k, v in parts.items()}


@pytest.fixture(scope="module")
def wide_pandas():
    with pd.option_context("display.width", 250, "display.max_columns", 100, "display.max_colwidth", 300):
        yield


@pytest.mark.slow
def test_chapter_answers_are_byte_identical_to_the_golden_copies(wide_pandas):
    got = answer_parts(RESULTS)
    expected = {p.stem: p.read_text() for p in GOLDEN.glob("*.txt")}
    assert set(got) == set(expected)
    changed = [k for k in sorted(got) if got[k] != expected[k]]
    assert not changed, f"answers that changed: {changed}"


@pytest.mark.slow
def test_a_wheel_install_computes_an_answer_from_another_folder(tmp_path):
    """No path is found next to the installed package: a wheel installed into a fresh folder,
    imported from elsewhere, answers from the results root it is given."""
    wheel_dir, target = tmp_path / "wheel", tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(wheel_dir)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr[-2000:]
    wheel = next(wheel_dir.glob("stag-*.whl"))
    inst = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                           str(wheel)], capture_output=True, text=True, timeout=600)
    assert inst.returncode == 0, inst.stderr[-2000:]
    code = ("import stag, sys; from stag.results import chapters; "
            "assert stag.__file__.startswith(sys.argv[2]), stag.__file__; "
            "a = chapters.synthetic_study(sys.argv[1]); print(a.tables['headline'].iloc[0]['model'])")
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run([sys.executable, "-c", code, str(RESULTS), str(target)], capture_output=True, text=True,
                         cwd=tmp_path, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "stag"
