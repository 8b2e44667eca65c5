"""The intro's real-data block is written from the committed records, never typed."""

from pathlib import Path

from stag.book.report import real_data_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_real_data_block_from_the_committed_records():
    text = real_data_markdown(ROOT)
    assert text.startswith("| model | selection | seeds |")
    assert "| oracle" not in text  # honest rows only
    assert "Under honest LOSO on the MEGC2019 composite" in text
    assert "Averaging the class probabilities of" in text and "seed" in text
    assert "**Do the explanations land on the coded action units?** On 274 coded" in text


def test_real_data_block_without_records(tmp_path):
    assert real_data_markdown(tmp_path) == "*No recorded real-data runs are in this checkout.*\n"


def test_synthetic_study_block_from_the_committed_records(tmp_path):
    from stag.book.report import synthetic_study_markdown

    text = synthetic_study_markdown(ROOT)
    assert text.startswith("| model | seeds | UF1 mean [min-max] |")
    assert "| stag |" in text and "| stag_no_graph |" in text and "| stag@K1 |" in text
    assert "- Full STAG scores UF1" in text and "(full STAG minus the ablation)" in text
    assert "does not read the annotation" in text and "The rule picks `" in text
    assert synthetic_study_markdown(tmp_path) == "*No recorded synthetic component study is in this checkout.*\n"
