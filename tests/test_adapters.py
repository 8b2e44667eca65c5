"""Real-dataset adapters read tiny fake copies of each release layout exactly.

Every fake is written by :mod:`stag.data.fakes` with the real column names and quirks; the
assertions check clips, labels, subjects, AUs, frame order and the error messages.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from stag.data import fakes, load
from stag.data.annotations import DataError, normalise_subject
from stag.data.frames import frame_number, list_frames


def _means(clip) -> np.ndarray:
    return clip.load_frames().mean(axis=(1, 2, 3))


def _expected(n: int) -> np.ndarray:
    return np.array([fakes.frame_value(k, n) for k in range(n)], dtype=float)


# --------------------------------------------------------------------------- helpers


@pytest.mark.parametrize("name,number", [("img46.jpg", 46), ("reg_img9.jpg", 9), ("006_05562.jpg", 5562),
                                         ("image586826.bmp", 586826), ("166.jpg", 166)])
def test_frame_number_is_the_last_integer_in_the_name(name, number):
    assert frame_number(name) == number


def test_frames_are_listed_in_numeric_not_lexicographic_order(tmp_path):
    for n in (10, 9, 11, 100, 8):
        (tmp_path / f"img{n}.jpg").write_bytes(b"x")
    numbers, paths = list_frames(tmp_path)
    assert numbers.tolist() == [8, 9, 10, 11, 100]
    assert [p.name for p in paths] == ["img8.jpg", "img9.jpg", "img10.jpg", "img11.jpg", "img100.jpg"]


def test_two_files_with_one_frame_number_are_an_error(tmp_path):
    (tmp_path / "img5.jpg").write_bytes(b"x")
    (tmp_path / "img05.jpg").write_bytes(b"x")
    with pytest.raises(DataError, match=r"frame number 5 appears twice"):
        list_frames(tmp_path)


@pytest.mark.parametrize("value,kw,expected", [
    (1, dict(prefix="sub"), "sub01"), ("1", dict(prefix="sub"), "sub01"), ("sub1", dict(prefix="sub"), "sub01"),
    (26.0, dict(prefix="sub"), "sub26"), (6, dict(width=3), "006"), ("006", dict(width=3), "006"),
    ("s1", dict(prefix="s"), "s01"), ("spNO.1", dict(), "spNO.1"),
])
def test_subject_ids_are_normalised_to_the_folder_form(value, kw, expected):
    assert normalise_subject(value, **kw) == expected


# --------------------------------------------------------------------------- CASME II


def test_casme2_reads_clips_labels_subjects_aus_and_frame_order(tmp_path):
    layout = fakes.write_casme2_layout(tmp_path)  # frames img5..img12: crosses img9 -> img10
    cs = load("casme2", data_root=tmp_path)
    assert cs.scheme.name == "casme2_5"
    assert [c.clip_id for c in cs] == ["casme2/sub01/EP02_01f", "casme2/sub01/EP03_02", "casme2/sub02/EP09_05f",
                                       "casme2/sub02/EP13_01", "casme2/sub02/EP19_03"]
    assert [c.label_name for c in cs] == ["disgust", "happiness", "repression", "surprise", "others"]
    assert cs.labels.tolist() == [2, 0, 3, 1, 4]
    assert [c.aus for c in cs] == [(4, 7), (12,), (10,), (1, 2), (4,)]
    assert {c.subject for c in cs} == {"sub01", "sub02"}
    # fear is not a casme2_5 class: listed, not silently dropped
    assert cs.skipped == [("CASME2-coding-20190701.xlsx row 7",
                           "excluded: emotion 'fear' is left out by label scheme 'casme2_5'")]
    c = cs[0]
    assert c.frames is None and c.loader is not None and c.fps == 200.0
    assert c.frame_numbers.tolist() == list(range(5, 13))
    r = layout.rows[0]
    assert (c.onset, c.apex, c.offset) == (r["onset"] - 5, r["apex"] - 5, r["offset"] - 5) == (1, 4, 6)
    frames = c.load_frames()
    assert frames.shape == (8, 24, 32, 3) and frames.dtype == np.uint8
    np.testing.assert_allclose(_means(c), _expected(8), atol=2)


def test_casme2_unknown_apex_and_composite_scheme(tmp_path):
    fakes.write_casme2_layout(tmp_path)
    cs = load("casme2", data_root=tmp_path, scheme="composite3")
    by_id = {c.clip_id: c for c in cs}
    assert len(cs) == 5 and cs.skipped[0][1].startswith("excluded: emotion 'others'")
    assert by_id["casme2/sub11/EP15_04f"].apex is None and by_id["casme2/sub11/EP15_04f"].label_name == "negative"
    assert by_id["casme2/sub02/EP09_05f"].label_name == "negative"  # repression
    assert by_id["casme2/sub01/EP03_02"].label_name == "positive"


def test_casme2_onset_offset_range_and_cropped_release(tmp_path):
    fakes.write_casme2_layout(tmp_path, cropped=True)
    c = load("casme2", data_root=tmp_path, frames="onset_offset")[0]
    assert c.frame_numbers.tolist() == list(range(6, 12))
    assert (c.onset, c.apex, c.offset) == (0, 3, 5)
    assert c.loader.paths[0].endswith("Cropped/sub01/EP02_01f/reg_img6.jpg")
    np.testing.assert_allclose(_means(c), _expected(8)[1:7], atol=2)


def test_frames_are_read_lazily_and_a_corrupt_image_is_named(tmp_path):
    fakes.write_casme2_layout(tmp_path)
    cs = load("casme2", data_root=tmp_path)
    bad = tmp_path / "CASME2-RAW" / "sub01" / "EP02_01f" / "img10.jpg"
    bad.write_bytes(b"not a jpeg")  # after loading: nothing was read yet
    with pytest.raises(DataError, match=r"img10\.jpg is unreadable or corrupt"):
        cs[0].load_frames()
    assert cs[1].load_frames().shape[0] == 8


def test_published_casme2_counts_on_a_full_size_fake(tmp_path):
    counts = {"others": 99, "disgust": 63, "happiness": 32, "surprise": 28, "repression": 27, "sadness": 4, "fear": 2}
    emotions = [e for e, n in counts.items() for _ in range(n)]
    rows = [{"subject": 1 + i % 26, "filename": f"EP{i:03d}", "aus": "4", "emotion": e} for i, e in enumerate(emotions)]
    fakes.write_casme2_layout(tmp_path, rows, n_frames=3, first_frame=1, size=(8, 8))
    native = load("casme2", data_root=tmp_path)
    assert len(native) + len(native.skipped) == 255
    assert len(native) == 249 and len(native.skipped) == 6
    assert len(load("casme2", data_root=tmp_path, scheme="composite3")) == 156
    assert len(set(native.subjects)) == 26


# --------------------------------------------------------------------------- SAMM


def test_samm_finds_the_header_below_13_note_rows(tmp_path):
    layout = fakes.write_samm_layout(tmp_path)
    cs = load("samm", data_root=tmp_path)
    assert [c.subject for c in cs] == ["006", "006", "007", "007", "011"]  # xlsx stores 6
    assert [c.clip_id for c in cs][:2] == ["samm/006/006_1_2", "samm/006/006_1_5"]
    assert [c.label_name for c in cs] == ["anger", "happiness", "contempt", "surprise", "others"]
    assert [c.aus for c in cs] == [(4, 7), (12,), (12, 15), (1, 2), (14,)]  # "R12 or R15": union
    assert cs[4].apex is None  # -1 in the sheet
    assert cs.skipped == [("SAMM_Micro_FACS_Codes_v2.xlsx row 20",
                           "excluded: emotion 'Disgust' is left out by label scheme 'samm_5'")]
    c = cs[0]
    assert c.frame_numbers[0] == 5595 and (c.onset, c.apex, c.offset) == (1, 4, 6)
    frames = c.load_frames()
    assert frames.shape == (8, 20, 30, 3)
    assert np.array_equal(frames[..., 0], frames[..., 2])  # grey repeated over RGB
    np.testing.assert_allclose(_means(c), _expected(8), atol=2)
    assert layout.annotations.name == "SAMM_Micro_FACS_Codes_v2.xlsx"


def test_published_samm_counts_on_a_full_size_fake(tmp_path):
    counts = {"Anger": 57, "Other": 26, "Happiness": 26, "Surprise": 15, "Contempt": 12, "Disgust": 9, "Fear": 8,
              "Sadness": 6}
    emotions = [e for e, n in counts.items() for _ in range(n)]
    rows = [{"subject": 6 + i % 32, "filename": f"{6 + i % 32:03d}_{i}_1", "aus": "4", "emotion": e}
            for i, e in enumerate(emotions)]
    fakes.write_samm_layout(tmp_path, rows, n_frames=3, first_frame=100, size=(8, 8))
    assert len(load("samm", data_root=tmp_path)) == 136
    composite = load("samm", data_root=tmp_path, scheme="composite3")
    assert len(composite) == 133 and len(set(composite.subjects)) == 32


# --------------------------------------------------------------------------- SMIC-HS


def test_smic_reads_emotion_folders_in_frame_order(tmp_path):
    fakes.write_smic_layout(tmp_path)  # image96..image102: crosses 99 -> 100
    cs = load("smic_hs", data_root=tmp_path)
    assert [c.clip_id for c in cs] == ["smic/s01/s1_ne_01", "smic/s01/s1_po_02", "smic/s02/s2_sur_01",
                                       "smic/s11/s11_ne_03"]  # non_micro/ ignored; s11 after s2
    assert [c.label_name for c in cs] == ["negative", "positive", "surprise", "negative"]
    c = cs[0]
    assert (c.onset, c.apex, c.offset) == (0, None, 6) and c.fps == 100.0
    assert c.frame_numbers.tolist() == list(range(96, 103))
    np.testing.assert_allclose(_means(c), _expected(7), atol=2)


def test_published_smic_counts_on_a_full_size_fake(tmp_path):
    codes = {"negative": "ne", "positive": "po", "surprise": "sur"}
    emotions = ["negative"] * 70 + ["positive"] * 51 + ["surprise"] * 43
    rows = [{"subject": f"s{1 + i % 16}", "clip": f"s{1 + i % 16}_{codes[e]}_{i:03d}", "emotion": e}
            for i, e in enumerate(emotions)]
    fakes.write_smic_layout(tmp_path, rows, n_frames=2, size=(8, 8))
    cs = load("smic_hs", data_root=tmp_path, scheme="composite3")
    assert len(cs) == 164 and len(set(cs.subjects)) == 16
    assert cs.summary().loc["smic"].tolist() == [70, 51, 43, 164]


# --------------------------------------------------------------------------- CAS(ME)^3


def test_casme3_clips_of_one_video_get_distinct_ids_and_their_range(tmp_path):
    fakes.write_casme3_layout(tmp_path)
    cs = load("casme3_a", data_root=tmp_path)
    assert [c.clip_id for c in cs] == ["casme3_a/spNO.1/b_3", "casme3_a/spNO.1/b_8", "casme3_a/spNO.2/a_2",
                                       "casme3_a/spNO.2/c_4"]
    assert [c.label_name for c in cs] == ["disgust", "happiness", "surprise", "sadness"]
    c = cs[1]
    assert c.frame_numbers.tolist() == list(range(8, 15)) and (c.onset, c.apex, c.offset) == (0, 3, 6)
    np.testing.assert_allclose(_means(c), _expected(16)[7:14], atol=2)
    whole = load("casme3_a", data_root=tmp_path, frames="all", scheme="casme3_4")
    assert whole[1].frame_numbers.tolist() == list(range(1, 17)) and whole[1].onset == 7
    assert [c.label_name for c in whole] == ["negative", "positive", "surprise", "negative"]


# --------------------------------------------------------------------------- generic folder


def test_folder_default_columns(tmp_path):
    fakes.write_folder_layout(tmp_path)
    cs = load("folder", data_root=tmp_path, annotations="labels.csv")
    assert [c.clip_id for c in cs] == ["folder/p01/clip_a", "folder/p01/clip_b", "folder/p02/clip_c"]
    assert [c.aus for c in cs] == [(4, 7), (12,), (1, 2)]
    assert (cs[0].onset, cs[0].apex, cs[0].offset) == (1, 4, 6)
    np.testing.assert_allclose(_means(cs[2]), _expected(8), atol=2)


@pytest.mark.parametrize("preset,labels", [("4dme", ["negative", "positive", "surprise"]),
                                           ("dfme", ["anger", "happiness", "surprise"])])
def test_folder_presets_for_4dme_and_dfme(tmp_path, preset, labels):
    layout = fakes.write_folder_layout(tmp_path, preset=preset)
    header = layout.annotations.read_text().splitlines()[0]
    assert header == {"4dme": "sub_ID,fold_name,Onset,Apex,Offset,Emotion,AUs",
                      "dfme": "Subject,Filename,Onset,Apex,Offset,Emotion,AU"}[preset]
    cs = load("folder", data_root=tmp_path, preset=preset)
    assert cs.name == preset and {c.dataset for c in cs} == {preset}
    assert [c.label_name for c in cs] == labels
    assert [c.aus for c in cs] == [(4, 7), (12,), (1, 2)]  # "AU12(k)" -> 12


def test_folder_column_mapping_override_and_optional_fields(tmp_path):
    layout = fakes.write_folder_layout(tmp_path)
    text = layout.annotations.read_text().replace("label,aus", "Estimated Emotion,aus")
    layout.annotations.write_text(text)
    cs = load("folder", data_root=tmp_path, columns={"label": "Estimated Emotion", "apex": None})
    assert len(cs) == 3 and cs[0].apex is None and cs[0].onset == 1
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['emotion'\]"):
        load("folder", data_root=tmp_path, columns={"emotion": "x"})


# --------------------------------------------------------------------------- bad input


def _casme2_rows(**change):
    row = {"subject": 1, "filename": "EP02_01f", "aus": "4+7", "emotion": "disgust"}
    return [{**row, **change}]


def test_missing_annotation_file(tmp_path):
    fakes.write_casme2_layout(tmp_path)
    (tmp_path / "CASME2-coding-20190701.xlsx").unlink()
    with pytest.raises(FileNotFoundError, match=r"no annotation file in .* CASME2-coding-\*\.xlsx"):
        load("casme2", data_root=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"annotation file nope\.xlsx not found"):
        load("casme2", data_root=tmp_path, annotations="nope.xlsx")


def test_missing_columns_are_listed(tmp_path):
    import openpyxl

    layout = fakes.write_casme2_layout(tmp_path)
    book = openpyxl.load_workbook(layout.annotations)
    ws = book.active
    ws["E1"], ws["I1"] = "Apex", "Emotion"
    book.save(layout.annotations)
    with pytest.raises(DataError, match=r"missing column\(s\) \['ApexFrame', 'Estimated Emotion'\]"):
        load("casme2", data_root=tmp_path)


def test_header_is_matched_ignoring_case_and_spaces(tmp_path):
    import openpyxl

    layout = fakes.write_samm_layout(tmp_path)
    book = openpyxl.load_workbook(layout.annotations)
    book.active["D14"] = "  onset FRAME "
    book.save(layout.annotations)
    assert len(load("samm", data_root=tmp_path)) == 5


def test_unknown_emotion_names_row_and_known_emotions(tmp_path):
    fakes.write_casme2_layout(tmp_path, _casme2_rows(emotion="joy"))
    with pytest.raises(DataError, match=r"row 2: unknown emotion 'joy' .* known emotions: disgust, fear, happiness"):
        load("casme2", data_root=tmp_path)


def test_clip_folder_missing_or_without_frames(tmp_path):
    fakes.write_casme2_layout(tmp_path, _casme2_rows())
    folder = tmp_path / "CASME2-RAW" / "sub01" / "EP02_01f"
    for p in folder.iterdir():
        p.unlink()
    with pytest.raises(DataError, match=r"clip folder .*EP02_01f has no frames"):
        load("casme2", data_root=tmp_path)
    folder.rmdir()
    with pytest.raises(DataError, match=r"clip folder .*EP02_01f not found"):
        load("casme2", data_root=tmp_path)


def test_frame_outside_the_clip(tmp_path):
    fakes.write_casme2_layout(tmp_path, _casme2_rows(offset=99))
    with pytest.raises(DataError, match=r"row 2: offset frame 99 is outside the clip: .* 8 frames numbered 5\.\.12"):
        load("casme2", data_root=tmp_path)


def test_order_violation_raises_by_default_and_warns_on_request(tmp_path):
    fakes.write_casme2_layout(tmp_path, _casme2_rows(onset=10, apex=8))
    with pytest.raises(DataError, match=r"row 2: onset frame 10 > apex frame 8; expected onset <= apex <= offset"):
        load("casme2", data_root=tmp_path)
    with pytest.warns(UserWarning, match=r"onset frame 10 > apex frame 8"):
        c = load("casme2", data_root=tmp_path, on_order_error="warn")[0]
    assert (c.onset, c.apex, c.offset) == (5, None, 6)


def test_duplicate_clip_ids_name_both_rows(tmp_path):
    fakes.write_casme2_layout(tmp_path, _casme2_rows() * 2)
    with pytest.raises(DataError, match=r"row 3: duplicate clip id 'casme2/sub01/EP02_01f' .*row 2"):
        load("casme2", data_root=tmp_path)


def test_unreadable_action_unit_string_loads_the_clip_with_unknown_aus(tmp_path):
    from stag.data.aus import AUParseError, au_targets
    from stag.data.cli import format_summary

    fakes.write_casme2_layout(tmp_path, _casme2_rows(aus="4+12Z") + _casme2_rows(filename="EP03_02"))
    with pytest.warns(UserWarning, match=r"row 2: cannot parse action unit '12Z'.*loaded with unknown AUs"):
        cs = load("casme2", data_root=tmp_path)
    bad, good = cs
    assert (bad.aus, bad.au_text) == ((), "4+12Z") and "cannot parse action unit '12Z'" in bad.au_error
    assert good.au_error == "" and au_targets(good) == (4, 7)
    assert cs.warnings and cs.warnings[0][0] == "CASME2-coding-20190701.xlsx row 2"
    with pytest.raises(AUParseError, match=r"casme2/sub01/EP02_01f: no AU targets.*'12Z'"):
        au_targets(bad)
    text = format_summary(cs)
    assert "Clips with unreadable AU strings (AUs unknown): 1" in text
    assert "casme2/sub01/EP02_01f: CASME2-coding-20190701.xlsx row 2: cannot parse action unit '12Z'" in text


def test_skipping_bad_rows_is_counted_and_reported(tmp_path):
    rows = _casme2_rows() + _casme2_rows(filename="EP03_02", emotion="joy") + _casme2_rows(filename="EP04_01", offset=99)
    fakes.write_casme2_layout(tmp_path, rows)
    with pytest.warns(UserWarning, match=r"skipped 2 row\(s\) with errors"):
        cs = load("casme2", data_root=tmp_path, on_error="skip")
    assert [c.clip_id for c in cs] == ["casme2/sub01/EP02_01f"]
    assert [w for w, _ in cs.skipped] == ["CASME2-coding-20190701.xlsx row 3", "CASME2-coding-20190701.xlsx row 4"]
    assert "unknown emotion 'joy'" in cs.skipped[0][1] and "outside the clip" in cs.skipped[1][1]


def test_bad_options_are_rejected_before_reading(tmp_path):
    with pytest.raises(ValueError, match=r"frames='middle': expected one of 'all', 'onset_offset'"):
        load("casme2", data_root=tmp_path, frames="middle")
    with pytest.raises(ValueError, match=r"on_error='ignore'"):
        load("samm", data_root=tmp_path, on_error="ignore")


def test_no_warning_when_nothing_is_wrong(tmp_path):
    fakes.write_casme2_layout(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load("casme2", data_root=tmp_path)


# --------------------------------------------------------------------------- CLI


def test_cli_summary_prints_tables_and_skips(tmp_path, capsys):
    from stag.cli import main

    fakes.write_casme2_layout(tmp_path)
    assert main(["data", "summary", "casme2", "--data-root", str(tmp_path), "--scheme", "composite3"]) == 0
    out = capsys.readouterr().out
    assert "casme2: 5 clips, 3 subjects, scheme composite3" in out
    assert "Clips per subject and class:" in out and "sub11" in out
    assert "Skipped rows: 1 (1 excluded by design, 0 errors)" in out


def test_cli_summary_errors_are_one_line(tmp_path, capsys):
    from stag.cli import main

    assert main(["data", "summary", "casme2"]) == 2
    assert "dataset 'casme2' needs --data-root" in capsys.readouterr().err
    assert main(["data", "summary", "samm", "--data-root", str(tmp_path)]) == 2
    assert "no annotation file" in capsys.readouterr().err


def test_cli_summary_passes_only_accepted_params(monkeypatch, capsys):
    from stag.cli import main
    from stag.data import registry
    from stag.data.clip import Clip, ClipSet
    from stag.data.labels import get_scheme

    seen = {}

    def tiny(n_subjects: int = 2, seed: int = 0) -> ClipSet:
        seen.update(n_subjects=n_subjects)
        clips = [Clip(f"tiny/s{i}/c", f"s{i}", "tiny", 0, "negative") for i in range(n_subjects)]
        return ClipSet("tiny", get_scheme("composite3"), clips)

    monkeypatch.setitem(registry.LOADERS, "tiny", tiny)
    with pytest.warns(UserWarning, match="takes no --data-root; ignored"):
        assert main(["data", "summary", "tiny", "--data-root", "/nowhere", "-p", "n_subjects", "3"]) == 0
    captured = capsys.readouterr()
    assert seen == {"n_subjects": 3} and "tiny: 3 clips, 3 subjects" in captured.out


def test_cli_list(capsys):
    from stag.cli import main

    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("casme2", "samm", "smic_hs", "casme3_a", "megc2019_flow", "folder", "composite3", "dfme_7"):
        assert name in out


def test_lazy_clips_pickle_for_worker_processes(tmp_path):
    import pickle

    fakes.write_casme2_layout(tmp_path)
    clip = pickle.loads(pickle.dumps(load("casme2", data_root=tmp_path)[0]))
    assert clip.frames is None and clip.load_frames().shape == (8, 24, 32, 3)


def test_folder_refuses_to_guess_between_several_tables(tmp_path):
    fakes.write_folder_layout(tmp_path)
    (tmp_path / "other.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"several annotation files match \*\.csv .*labels\.csv, other\.csv"):
        load("folder", data_root=tmp_path)


# --------------------------------------------------------------------------- frame gaps


def test_compress_ranges():
    from stag.data.frames import compress_ranges, missing_numbers

    assert compress_ranges([50]) == "50" and compress_ranges([50, 52, 53, 54]) == "50, 52-54"
    assert missing_numbers(np.array([46, 47, 49, 53])) == (48, 50, 51, 52) and missing_numbers(np.arange(5)) == ()


def test_a_gap_in_the_frame_numbers_is_a_warning_and_counted_in_the_summary(tmp_path):
    from stag.data.cli import format_summary

    fakes.write_casme2_layout(tmp_path, _casme2_rows() + _casme2_rows(filename="EP03_02"), n_frames=20)
    folder = tmp_path / "CASME2-RAW" / "sub01" / "EP02_01f"  # img5..img24, onset 6, apex 15, offset 23
    for n in (8, 10, 11, 12):
        (folder / f"img{n}.jpg").unlink()
    with pytest.warns(UserWarning, match=r"clip casme2/sub01/EP02_01f has frame gaps: folder .*EP02_01f lacks "
                                         r"frame\(s\) 8, 10-12 in 5\.\.24"):
        cs = load("casme2", data_root=tmp_path)
    gap, whole = cs
    assert gap.missing_frames == (8, 10, 11, 12) and whole.missing_frames == ()
    assert gap.frame_numbers.tolist() == [5, 6, 7, 9, *range(13, 25)]
    assert gap.apex == gap.frame_numbers.tolist().index(15)
    assert len(gap.load_frames()) == 16
    text = format_summary(cs)
    assert "Clips with frame gaps: 1\n  casme2/sub01/EP02_01f: missing frame(s) 8, 10-12" in text


def test_a_missing_onset_apex_or_offset_frame_is_an_error(tmp_path):
    fakes.write_casme2_layout(tmp_path, _casme2_rows(), n_frames=20)
    (tmp_path / "CASME2-RAW" / "sub01" / "EP02_01f" / "img15.jpg").unlink()  # the apex
    with pytest.raises(DataError, match=r"row 2: apex frame 15 is missing from clip folder .*EP02_01f \(a gap in "
                                        r"its 19 frames numbered 5\.\.24; missing 15\)"):
        load("casme2", data_root=tmp_path)
