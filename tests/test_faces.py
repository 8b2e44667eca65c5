"""Facts about faces: the 68-point convention, the inter-ocular distance, the landmark groups.
(The ROI table and the AU prior are checked in tests/test_rois.py beside the boxes.)"""

import numpy as np

from stag.faces import (LANDMARK_GROUPS, LANDMARK_MIRROR, MEAN_SHAPE, OUTER_EYE_CORNERS, eye_centre_distance,
                        inter_ocular_distance)
from stag.preprocess.face import landmark_error


def test_mean_shape_is_68_points_spanning_the_unit_width():
    assert MEAN_SHAPE.shape == (68, 2)
    assert MEAN_SHAPE[:, 0].min() < 0.1 and MEAN_SHAPE[:, 0].max() > 0.95


def test_landmark_groups_cover_every_point_once():
    points = sorted(i for idx in LANDMARK_GROUPS.values() for i in idx)
    assert points == list(range(68))


def test_inter_ocular_distance_is_between_the_outer_eye_corners():
    lm = np.zeros((68, 2))
    lm[OUTER_EYE_CORNERS[0]] = (10, 20)
    lm[OUTER_EYE_CORNERS[1]] = (40, 60)
    assert inter_ocular_distance(lm) == 50.0
    assert inter_ocular_distance(np.stack([lm, 2 * lm])).tolist() == [50.0, 100.0]
    # the outer corners are wider apart than the eye centres, and a mirror pair
    assert inter_ocular_distance(MEAN_SHAPE) > eye_centre_distance(MEAN_SHAPE)
    assert LANDMARK_MIRROR[OUTER_EYE_CORNERS[0]] == OUTER_EYE_CORNERS[1]


def test_landmark_error_normalises_by_the_inter_ocular_distance():
    truth = MEAN_SHAPE * 100
    pred = truth + np.array([3.0, 4.0])  # every point 5 px off
    assert np.isclose(landmark_error(pred, truth, "px"), 5.0)
    assert np.isclose(landmark_error(pred, truth, "iod"), 5.0 / inter_ocular_distance(truth))
