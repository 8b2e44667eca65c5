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
