"""The MEGC2019 flow-image adapter reads both CSV forms, both file namings, flows and faces."""

from __future__ import annotations

import numpy as np
import pytest

from stag.data import fakes, load
from stag.data.annotations import DataError
from stag.data.megc2019 import decode_flow_png, encode_flow_png


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("space", [True, False])
def test_megc_reads_both_csv_forms_and_both_file_namings(tmp_path, header, space):
    layout = fakes.write_megc2019_flow_fake(tmp_path, header=header, space_before_png=space)
    names = sorted(p.name for p in (tmp_path / "STSNet_whole_norm_u_v_os").iterdir())
    assert ("sub01_EP02_01f .png" in names) == space and ("sub01_EP02_01f.png" in names) != space
    if not header:
        assert "samm,6,006_1_2,0" in layout.annotations.read_text()  # official file: bare SAMM number
    cs = load("megc2019_flow", data_root=tmp_path)
    assert cs.params["header"] is header
    assert [c.clip_id for c in cs] == [f"{r['dataset']}/{r['subject']}/{r['filename']}" for r in layout.rows]
    assert [c.dataset for c in cs] == ["casme2"] * 3 + ["samm"] * 2 + ["smic"] * 2
    assert [c.subject for c in cs] == ["sub01", "sub01", "sub02", "006", "007", "s01", "s04"]
    assert cs.labels.tolist() == [0, 1, 2, 0, 2, 0, 1]
    assert [c.label_name for c in cs][:3] == ["negative", "positive", "surprise"]
    for c, r in zip(cs, layout.rows):
        assert c.flows.shape == (1, 3, 28, 28) and c.flows.dtype == np.float32
        np.testing.assert_allclose(c.flows[0], r["flow"], atol=1 / 127.5 + 1e-6)  # 8-bit quantisation
        assert ("apex_face" in c.truth) is header  # the headerless file names no face


def test_megc_apex_face_is_taken_verbatim_from_imagename(tmp_path):
    fakes.write_megc2019_flow_fake(tmp_path)
    cs = load("megc2019_flow", data_root=tmp_path)
    smic = [c for c in cs if c.clip_id == "smic/s04/s04_po_03"][0]
    assert smic.truth["imagename"] == "s04_s4_po_03.jpg"  # differs from the clip name
    face = smic.truth["apex_face"]
    assert face.shape == (32, 32, 3) and face.dtype == np.uint8 and abs(face.mean() - (40 + 25 * 6)) < 3
    as_frames = load("megc2019_flow", data_root=tmp_path, faces="frames")
    c = as_frames[0]
    assert c.apex == 0 and c.load_frames().shape == (1, 32, 32, 3) and "apex_face" not in c.truth
    assert load("megc2019_flow", data_root=tmp_path, faces="none")[0].truth.get("apex_face") is None


def test_megc_subsets_and_unambiguous_subjects(tmp_path):
    fakes.write_megc2019_flow_fake(tmp_path)
    cs = load("megc2019_flow", data_root=tmp_path, subsets=("samm", "smic"))
    assert {c.dataset for c in cs} == {"samm", "smic"} and len(cs) == 4
    assert [why for _, why in cs.skipped] == ["excluded: dataset 'casme2' is not in subsets ['samm', 'smic']"] * 3
    assert len(load("megc2019_flow", data_root=tmp_path, subsets="casme2")) == 3
    with pytest.raises(ValueError, match=r"subsets=\['casme3'\]"):
        load("megc2019_flow", data_root=tmp_path, subsets=["casme3"])


def test_published_composite_counts_on_a_full_size_fake(tmp_path):
    """442 clips = 145 CASME II + 133 SAMM + 164 SMIC, 68 subjects, labels 250/109/83."""
    per = {"casme2": (145, 24), "samm": (133, 28), "smic": (164, 16)}
    labels = [0] * 250 + [1] * 109 + [2] * 83
    subjects, datasets, filenames = [], [], []
    for ds, (n, n_sub) in per.items():
        for i in range(n):
            s = i % n_sub
            subjects.append({"casme2": f"sub{s + 1:02d}", "samm": f"{s + 6:03d}", "smic": f"s{s + 1:02d}"}[ds])
            datasets.append(ds)
            filenames.append(f"clip{i:03d}")
    flows = np.zeros((442, 3, 4, 4), np.float32)
    fakes.write_megc2019_flow_layout(tmp_path, flows, subjects, datasets, filenames, labels, header=False)
    with pytest.raises(DataError, match="cannot decide which channel is which"):  # all-zero flows
        load("megc2019_flow", data_root=tmp_path)
    cs = load("megc2019_flow", data_root=tmp_path, check_channels=False)  # this test is about the rows
    assert len(cs) == 442 and len(set(cs.subjects)) == 68
    table = cs.summary()
    assert table["total"].to_dict() == {"casme2": 145, "samm": 133, "smic": 164}
    assert table[["negative", "positive", "surprise"]].sum().tolist() == [250, 109, 83]


def test_writer_takes_clips_with_flows_for_a_synthetic_stand_in(tmp_path):
    from stag.data.clip import Clip

    rng = np.random.default_rng(1)
    clips = [Clip(f"{ds}/{sub}/c{i}", sub, ds, lab, "x", flows=rng.normal(0, 2, (2, 3, 16, 16)).astype(np.float32))
             for i, (ds, sub, lab) in enumerate([("casme2", "sub03", 0), ("samm", "012", 1), ("smic", "s05", 2)])]
    fakes.write_megc2019_flow_layout(tmp_path, clips, space_before_png=True)
    cs = load("megc2019_flow", data_root=tmp_path)
    assert [c.clip_id for c in cs] == ["casme2/sub03/c0", "samm/012/c1", "smic/s05/c2"]
    assert cs.labels.tolist() == [0, 1, 2]
    # min-max encoding keeps each channel's shape: decoded = affine map of the first keyframe
    for c, src in zip(cs, clips):
        for ch in range(3):
            assert np.corrcoef(c.flows[0, ch].ravel(), src.flows[0, ch].ravel())[0, 1] > 0.999
            assert c.flows[0, ch].min() == -1 and c.flows[0, ch].max() == 1


def test_flow_png_round_trip_and_constant_channel(tmp_path):
    import cv2

    flow = np.stack([np.linspace(-1, 1, 64).reshape(8, 8), np.zeros((8, 8)), np.full((8, 8), 0.5)]).astype(np.float32)
    cv2.imwrite(str(tmp_path / "f.png"), encode_flow_png(flow, "clip"))
    np.testing.assert_allclose(decode_flow_png(tmp_path / "f.png"), flow, atol=1 / 255 + 1e-6)
    img = encode_flow_png(flow, "minmax")
    # OpenCV's channel order in the file is strain, v, u: u is image channel 2
    assert img[..., 2].min() == 0 and img[..., 2].max() == 255 and (img[..., 1] == 128).all()
    with pytest.raises(ValueError, match=r"expected \(3, H, W\)"):
        encode_flow_png(flow[:2])


def test_megc_bad_input_messages(tmp_path):
    layout = fakes.write_megc2019_flow_fake(tmp_path, faces=False)
    (tmp_path / "STSNet_whole_norm_u_v_os" / "006_006_1_2.png").unlink()
    with pytest.raises(DataError, match=r"row 5: no flow image for clip '006_1_2' .*006_006_1_2\.png"):
        load("megc2019_flow", data_root=tmp_path)
    text = layout.annotations.read_text()
    layout.annotations.write_text(text.replace("samm,006,006_1_2,0", "casme3,006,006_1_2,0"))
    with pytest.raises(DataError, match=r"row 5: unknown dataset 'casme3'; expected one of casme2, samm, smic"):
        load("megc2019_flow", data_root=tmp_path)
    layout.annotations.write_text(text.replace("samm,006,006_1_2,0", "samm,006,006_1_2,7"))
    with pytest.raises(DataError, match=r"row 5: label '7'; expected 0 \(negative\), 1 \(positive\) or 2"):
        load("megc2019_flow", data_root=tmp_path)
    layout.annotations.write_text(text.replace("filename_o", "clip"))
    with pytest.raises(DataError, match=r"missing column 'filename_o or filename'"):
        load("megc2019_flow", data_root=tmp_path)
    (tmp_path / "STSNet_whole_norm_u_v_os" / "sub01_EP02_01f.png").write_bytes(b"junk")
    layout.annotations.write_text(text)
    with pytest.raises(DataError, match=r"sub01_EP02_01f\.png is unreadable or corrupt"):
        load("megc2019_flow", data_root=tmp_path)


def test_writer_takes_records(tmp_path):
    recs = [{"flow": np.zeros((3, 8, 8), np.float32), "subject": s, "dataset": d, "filename": f"c{i}", "label": i % 3}
            for i, (d, s) in enumerate([("casme2", "sub01"), ("samm", "006"), ("smic", "s02")])]
    fakes.write_megc2019_flow_layout(tmp_path, recs, header=False)
    cs = load("megc2019_flow", data_root=tmp_path)
    assert [c.clip_id for c in cs] == ["casme2/sub01/c0", "samm/006/c1", "smic/s02/c2"]
    assert np.abs(cs[0].flows).max() < 0.01  # a constant channel encodes as mid-grey = 0


# ---------------------------------------------------------------------------- FACS codings join
def _fake_codings(folder, casme_rows=None, samm_rows=None):
    """The two released coding files (fake, with the real layouts) in ``folder``."""
    c = fakes.write_casme2_layout(folder, casme_rows, n_frames=3)
    s = fakes.write_samm_layout(folder, samm_rows, n_frames=3)
    return c.annotations, s.annotations


def test_megc_codings_join_gives_casme2_and_samm_clips_their_aus(tmp_path):
    fakes.write_megc2019_flow_fake(tmp_path / "megc")
    casme_rows = [{"subject": 1, "filename": "EP02_01f", "aus": "4+7", "emotion": "disgust"},
                  {"subject": 2, "filename": "EP13_01", "aus": "1+2", "emotion": "surprise"},
                  {"subject": 3, "filename": "EP01_01", "aus": "12", "emotion": "happiness"}]  # not in the composite
    samm_rows = [{"subject": 6, "filename": "006_1_2", "aus": "R12 or R15", "emotion": "Anger"},
                 {"subject": 7, "filename": "007_5_3", "aus": "X9", "emotion": "Surprise"}]  # unreadable
    casme_file, samm_file = _fake_codings(tmp_path / "codings", casme_rows, samm_rows)
    with pytest.warns(UserWarning) as caught:
        cs = load("megc2019_flow", data_root=tmp_path / "megc", codings=tmp_path / "codings")
    by_id = {c.clip_id: c for c in cs}
    assert by_id["casme2/sub01/EP02_01f"].aus == (4, 7) and by_id["casme2/sub01/EP02_01f"].au_coded
    assert by_id["casme2/sub01/EP02_01f"].au_text == "4+7"
    assert by_id["casme2/sub02/EP13_01"].aus == (1, 2)
    assert by_id["samm/006/006_1_2"].aus == (12, 15) and by_id["samm/006/006_1_2"].au_coded
    bad = by_id["samm/007/007_5_3"]
    assert bad.au_coded and bad.aus == () and "X9" in bad.au_error  # coded, but unreadable
    missing = by_id["casme2/sub01/EP03_02"]  # in the composite, not in the codings
    assert not missing.au_coded and missing.aus == ()
    assert all(not c.au_coded and c.aus == () for c in cs if c.dataset == "smic")
    assert cs.params["codings"] == {"casme2": str(casme_file), "samm": str(samm_file)}
    assert cs.params["au_coded"] == {"casme2": 2, "samm": 2, "smic": 0}
    assert cs.params["au_uncoded"] == ["casme2/sub01/EP03_02"]
    text = " ".join(str(w.message) for w in caught)
    assert "1 CASME II/SAMM clips have no row" in text and "casme2/sub01/EP03_02" in text
    assert any("EP03_02" in m for _, m in cs.warnings)
    # a list of files works as the folder does
    with pytest.warns(UserWarning, match="EP03_02"):
        cs2 = load("megc2019_flow", data_root=tmp_path / "megc", codings=[str(casme_file), str(samm_file)])
    assert [(c.aus, c.au_coded) for c in cs2] == [(c.aus, c.au_coded) for c in cs]


def test_megc_without_codings_no_clip_is_au_coded(tmp_path):
    fakes.write_megc2019_flow_fake(tmp_path)
    cs = load("megc2019_flow", data_root=tmp_path)
    assert not any(c.au_coded for c in cs) and "codings" not in cs.params
    with pytest.raises(FileNotFoundError, match="no coding files"):
        load("megc2019_flow", data_root=tmp_path, codings=tmp_path / "STSNet_whole_norm_u_v_os")


def test_au_coded_survives_preprocessing_cache_and_packing(tmp_path):
    from stag.preprocess.cache import clip_key, read_prepared, write_prepared
    from stag.preprocess.pipeline import PrepareConfig, prepare_clip
    from stag.train.run import pack_prepared, unpack_prepared

    fakes.write_megc2019_flow_fake(tmp_path / "megc")
    _fake_codings(tmp_path / "codings")
    cs = load("megc2019_flow", data_root=tmp_path / "megc", codings=tmp_path / "codings", faces="none")
    smic, casme = next(c for c in cs if c.dataset == "smic"), cs[0]
    cfg = PrepareConfig(keyframes=1, image_size=28, landmarks="given")
    prepared = [prepare_clip(c, cfg) for c in (casme, smic)]
    assert [p.au_coded for p in prepared] == [True, False]
    for i, p in enumerate(prepared):
        write_prepared(tmp_path / f"p{i}.npz", p)
        assert read_prepared(tmp_path / f"p{i}.npz").au_coded is p.au_coded
    assert [p.au_coded for p in unpack_prepared(pack_prepared(prepared), np.arange(2))] == [True, False]
    params = cfg.to_dict() if hasattr(cfg, "to_dict") else {}
    import dataclasses
    assert clip_key(smic, params) != clip_key(dataclasses.replace(smic, au_coded=True), params)


def test_real_codings_join_the_composite():
    from pathlib import Path

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not (shared / "megc2019").is_dir() or not (shared / "codings").is_dir():
        pytest.skip(f"real MEGC2019 composite / codings not available at {shared} (licensed data; CI has it)")
    cs = load("megc2019_flow", data_root=shared / "megc2019", codings=shared / "codings", faces="none")
    assert cs.params["au_coded"] == {"casme2": 145, "samm": 133, "smic": 0}
    assert cs.params["au_uncoded"] == []
    assert sum(c.au_coded for c in cs) == 278 and not any(c.au_coded for c in cs if c.dataset == "smic")
