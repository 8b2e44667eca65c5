"""The two-phase composite adapter (``megc2019_phases``): layout, phases, direction maps, named
errors for every bad file, and the channel order and phase direction checked on the real copy."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from stag.data import fakes, load
from stag.data.annotations import DataError
from stag.data.megc2019 import CHANNEL_ORDERS, LEGACY_CHANNEL_ORDER, decode_flow_png, encode_flow_png

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
PHASES = Path(os.environ.get("STAG_MEGC2019_PHASES", SHARED / "megc2019_phases"))
COMPOSITE = Path(os.environ.get("STAG_MEGC2019", SHARED / "megc2019"))


def test_two_phase_layout_reads_back_both_phases(tmp_path):
    layout = fakes.write_megc2019_phases_fake(tmp_path)
    names = sorted(p.name for p in (tmp_path / "flow").iterdir())
    assert {"sub01_EP02_01f .png", "sub01_EP02_01f_1 .png", "sub01_EP02_01f_2 .png",
            "sub01_EP02_01f_3 .png"} <= set(names) and len(names) == 4 * 7
    cs = load("megc2019_phases", data_root=tmp_path)
    assert cs.name == "megc2019_phases" and cs.params["phases"] == 2 and not cs.params["directions"]
    for c, r in zip(cs, layout.rows):
        assert c.flows.shape == (2, 3, 28, 28) and c.flows.dtype == np.float32
        np.testing.assert_allclose(c.flows, r["flow"], atol=1 / 127.5 + 1e-6)
        assert [Path(f).name.split(" ")[0] for f in c.truth["flow_files"]] == [
            f"{c.subject}_{c.clip_id.rsplit('/', 1)[1]}{s}" for s in ("", "_1")]
    one = load("megc2019_phases", data_root=tmp_path, phases=1)
    assert one[0].flows.shape == (1, 3, 28, 28)
    np.testing.assert_array_equal(one[0].flows[0], cs[0].flows[0])
    with_dirs = load("megc2019_phases", data_root=tmp_path, directions=True)
    assert with_dirs[0].flows.shape == (2, 5, 28, 28)
    np.testing.assert_array_equal(with_dirs[0].flows[:, :3], cs[0].flows)
    # the fake direction maps hold each phase's v and u in OpenCV channels 1 and 2
    np.testing.assert_allclose(with_dirs[0].flows[:, 3], cs[0].flows[:, 1], atol=2 / 127.5)
    np.testing.assert_allclose(with_dirs[0].flows[:, 4], cs[0].flows[:, 0], atol=2 / 127.5)
    second = load("megc2019_phases", data_root=tmp_path, phases="apex_offset")
    assert second.params["phases"] == "apex_offset" and second[0].flows.shape == (1, 3, 28, 28)
    np.testing.assert_array_equal(second[0].flows[0], cs[0].flows[1])
    assert Path(second[0].truth["flow_files"][0]).name.startswith(f"{second[0].subject}_") and \
        Path(second[0].truth["flow_files"][0]).name.split(" ")[0].endswith("_1")
    for bad in (3, True, "onset", [1]):
        with pytest.raises(ValueError, match=r"phases=.*expected 2 .*'apex_offset'"):
            load("megc2019_phases", data_root=tmp_path, phases=bad)


def test_a_missing_phase_is_named(tmp_path):
    fakes.write_megc2019_phases_fake(tmp_path)
    (tmp_path / "flow" / "006_006_1_2_1 .png").unlink()
    with pytest.raises(DataError, match=r"no phase 1 flow image \(apex->offset\) for clip '006_1_2'.*006_006_1_2_1"):
        load("megc2019_phases", data_root=tmp_path)
    assert len(load("megc2019_phases", data_root=tmp_path, phases=1)) == 7  # phase 0 alone is complete
    with pytest.raises(DataError, match=r"no phase 1 flow image \(apex->offset\) for clip '006_1_2'"):
        load("megc2019_phases", data_root=tmp_path, phases="apex_offset")
    skipped = load("megc2019_phases", data_root=tmp_path, on_error="skip")
    assert len(skipped) == 6 and "006_006_1_2_1" in skipped.skipped[0][1]
    (tmp_path / "flow" / "sub01_EP02_01f_3 .png").unlink()
    with pytest.raises(DataError, match="no direction map of phase 1 for clip 'EP02_01f'"):
        load("megc2019_phases", data_root=tmp_path, directions=True, subsets="casme2")


@pytest.mark.parametrize("dataset", ["megc2019_phases", "megc2019_flow"])
def test_a_zero_byte_or_corrupt_flow_png_is_named(tmp_path, dataset):
    if dataset == "megc2019_phases":
        fakes.write_megc2019_phases_fake(tmp_path)
        bad = tmp_path / "flow" / "sub02_EP13_01_1 .png"
    else:
        fakes.write_megc2019_flow_fake(tmp_path)
        bad = tmp_path / "STSNet_whole_norm_u_v_os" / "sub02_EP13_01.png"
    bad.write_bytes(b"")
    with pytest.raises(DataError, match=rf"flow image.* {bad} is empty \(0 bytes\); expected an image file"):
        load(dataset, data_root=tmp_path)
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DataError, match=rf"{bad} is unreadable or corrupt"):
        load(dataset, data_root=tmp_path)


def test_phases_of_one_clip_must_share_a_size(tmp_path):
    import cv2

    fakes.write_megc2019_phases_fake(tmp_path)
    path = tmp_path / "flow" / "s01_s01_ne_01_1 .png"
    cv2.imwrite(str(path), np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(DataError, match=rf"phase 1 flow image.*{path.name} is 32x32 pixels; expected 28x28"):
        load("megc2019_phases", data_root=tmp_path)


def test_channel_orders_round_trip_and_the_legacy_reading_swaps_u_and_strain(tmp_path):
    rng = np.random.default_rng(0)
    flow = rng.uniform(-1, 1, (3, 8, 8)).astype(np.float32)
    for order in CHANNEL_ORDERS:
        img = encode_flow_png(flow, "clip", order)
        path = tmp_path / f"{order}.png"
        import cv2

        cv2.imwrite(str(path), img)
        np.testing.assert_allclose(decode_flow_png(path, order), flow, atol=1 / 127.5)
    # OpenCV's channel 0 of the composite is strain: the legacy reading took it for u
    legacy = decode_flow_png(tmp_path / "strain,v,u.png", LEGACY_CHANNEL_ORDER)
    np.testing.assert_allclose(legacy[[2, 1, 0]], flow, atol=1 / 127.5)
    with pytest.raises(ValueError, match="channel_order='v,u'"):
        decode_flow_png(tmp_path / "strain,v,u.png", "v,u")


def _real(folder: Path) -> Path:
    if not folder.is_dir():
        pytest.skip(f"the public composite copy is not at {folder} (set $STAG_MEGC2019 / $STAG_MEGC2019_PHASES)")
    return folder


@pytest.mark.parametrize("dataset,root", [("megc2019_flow", COMPOSITE), ("megc2019_phases", PHASES)])
def test_verified_channel_order_on_the_real_copies(dataset, root):
    """u is mirror-antisymmetric across the face, v mirror-symmetric, strain non-negative
    (right-skewed): what the module documents, measured on the data itself."""
    from scipy.stats import skew

    cs = load(dataset, data_root=_real(root), faces="none")
    flows = np.stack([c.flows[0] for c in cs])  # onset->apex, (n, 3, H, W) u, v, strain

    def mirror(ch):
        x = flows[:, ch] - np.median(flows[:, ch], axis=(1, 2), keepdims=True)
        return np.nanmean([np.corrcoef(a.ravel(), a[:, ::-1].ravel())[0, 1] for a in x])

    assert mirror(1) > 0.4 > 0 > mirror(0), (mirror(0), mirror(1))
    skews = [np.mean([skew(f[ch].ravel()) for f in flows]) for ch in range(3)]
    assert skews[2] > 3 and abs(skews[0]) < 1 and abs(skews[1]) < 1, skews


def test_real_phase_one_points_back():
    cs = load("megc2019_phases", data_root=_real(PHASES), faces="none")
    assert len(cs) == 442 and {c.flows.shape for c in cs} == {(2, 3, 28, 28)}

    def corr(ch):
        return np.nanmedian([np.corrcoef(c.flows[0, ch].ravel(), c.flows[1, ch].ravel())[0, 1] for c in cs])

    assert corr(0) < -0.2 and corr(1) < -0.3 and corr(2) > 0.3, (corr(0), corr(1), corr(2))
