"""The AU-ROI table, boxes, mirror permutation, crops and AU priors."""

import numpy as np
import pytest

from stag.faces import (LANDMARK_MIRROR, MIRROR, ROI_NAMES, ROI_TABLE, au_prior_adjacency, au_prior_from_labels,
                        au_region_of)
from stag.preprocess.face import canonical_landmarks
from stag.preprocess.rois import mirror_boxes, roi_boxes, roi_crops, roi_pool


def test_table_has_paired_regions():
    assert 12 <= len(ROI_TABLE) <= 16
    assert len(set(ROI_NAMES)) == len(ROI_NAMES)
    assert sorted(MIRROR.tolist()) == list(range(len(ROI_NAMES)))  # a permutation
    assert (MIRROR[MIRROR] == np.arange(len(ROI_NAMES))).all()  # an involution
    for i, name in enumerate(ROI_NAMES):
        partner = ROI_NAMES[MIRROR[i]]
        if name.endswith("_L"):
            assert partner == name[:-2] + "_R"
        elif name.endswith("_R"):
            assert partner == name[:-2] + "_L"
        else:
            assert partner == name
        assert ROI_TABLE[i].aus == ROI_TABLE[MIRROR[i]].aus
        # mirrored regions use mirrored landmarks
        assert sorted(LANDMARK_MIRROR[list(ROI_TABLE[i].landmarks)]) == sorted(ROI_TABLE[MIRROR[i]].landmarks)


def test_boxes_cover_their_landmarks_inside_the_image():
    lm = canonical_landmarks(128)
    boxes = roi_boxes(lm, 128)
    assert boxes.shape == (len(ROI_NAMES), 4) and boxes.dtype == np.float32
    assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()
    assert boxes.min() >= 0 and boxes.max() <= 128
    for roi, (x0, y0, x1, y1) in zip(ROI_TABLE, boxes):
        cx, cy = lm[list(roi.landmarks)].mean(0)
        assert x0 <= cx <= x1 and y0 - 8 <= cy <= y1 + 8, roi.name
    # boxes scale with the face
    big = roi_boxes(lm * 2, 256)
    assert np.allclose(big, boxes * 2, atol=1e-3)


def test_flipping_the_face_swaps_left_and_right_boxes():
    lm = canonical_landmarks(128)
    flipped = lm.copy()
    flipped[:, 0] = 128 - lm[:, 0]
    flipped = flipped[LANDMARK_MIRROR]  # relabel so index i is again landmark i
    direct = roi_boxes(flipped, 128)
    assert np.allclose(direct, mirror_boxes(roi_boxes(lm, 128), 128), atol=1e-3)
    assert np.allclose(mirror_boxes(mirror_boxes(direct, 128), 128), direct)


def test_bad_landmarks_raise():
    with pytest.raises(ValueError, match=r"\(68, 2\)"):
        roi_boxes(np.zeros((5, 2)), 128)
    with pytest.raises(ValueError, match="eye centres"):
        roi_boxes(np.zeros((68, 2)), 128)


def test_crops_and_pooling_have_known_values():
    h = w = 32
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    stack = np.stack([np.stack([xx, yy])] * 2)  # (K=2, C=2, H, W): channel 0 = x, channel 1 = y
    boxes = np.array([[4, 8, 12, 16], [0, 0, 32, 32]], np.float32)
    crops = roi_crops(stack, boxes, out_size=4)
    assert crops.shape == (2, 2, 2, 4, 4)
    # pixel-centre sampling: crop cell j covers x in [4 + 2j, 6 + 2j) -> centre 4.5 + 2j
    assert np.allclose(crops[0, 0, 0, 0], [4.5, 6.5, 8.5, 10.5], atol=1e-4)
    assert np.allclose(crops[0, 1, 1, :, 0], [8.5, 10.5, 12.5, 14.5], atol=1e-4)
    pooled = roi_pool(stack, boxes)
    assert pooled.shape == (2, 2, 2)
    assert np.allclose(pooled[0, 0], [7.5, 11.5]) and np.allclose(pooled[1, 1], [15.5, 15.5])


def test_au_prior_adjacency_structure():
    adj = au_prior_adjacency()
    n = len(ROI_NAMES)
    assert adj.shape == (n, n) and adj.dtype == np.float32
    assert np.allclose(adj, adj.T) and np.allclose(np.diag(adj), 1)
    assert adj.min() >= 0 and adj.max() <= 1
    i = ROI_NAMES.index
    assert adj[i("brow_inner_L"), i("brow_inner_R")] > 0.5  # same AUs on both sides
    # AU6 (cheeks) and AU12 (lip corners) meet in happiness; cheeks and brows never do
    assert adj[i("cheek_L"), i("mouth_corner_R")] > adj[i("cheek_L"), i("brow_outer_L")] == 0
    assert au_region_of(12) == (i("mouth_corner_R"), i("mouth_corner_L"))


def test_au_prior_from_labels():
    adj = au_prior_from_labels([(6, 12), (6, 12), (4,), ()])
    i = ROI_NAMES.index
    assert adj[i("cheek_R"), i("mouth_corner_L")] > 0
    assert adj[i("cheek_R"), i("glabella")] == 0
    assert np.allclose(adj, adj.T)
    with pytest.raises(ValueError, match="no clip has an AU"):
        au_prior_from_labels([(), (99,)])


def test_viz_helpers():
    import matplotlib

    matplotlib.use("Agg")
    from stag.viz.rois import plot_adjacency, plot_rois, roi_table_frame

    lm = canonical_landmarks(64)
    ax = plot_rois(np.zeros((64, 64), np.uint8), roi_boxes(lm, 64), landmarks=lm)
    assert len(ax.patches) == len(ROI_NAMES)
    table = roi_table_frame()
    assert list(table.index) == list(ROI_NAMES) and "AUs" in table.columns
    ax = plot_adjacency(au_prior_adjacency())
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["inner brow R", "inner brow L"]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_short_roi_names_are_words_with_the_side_last():
    from stag.viz.rois import short_roi_names

    assert short_roi_names(["brow_inner_R", "mouth_corner_L", "glabella", "upper_lip", "eye_R", "new_region"]) == [
        "inner brow R", "mouth corner L", "glabella", "upper lip", "eye R", "new region"]
    assert len(set(short_roi_names(ROI_NAMES))) == len(ROI_NAMES)
