"""The channel order and phase direction of flow images, read off the images: known answers on
generated faces with a symmetric brow raise, a smile (antisymmetric u) and strain; refusal of a
wrong or undecidable order, naming the folder."""

from __future__ import annotations

import numpy as np
import pytest

from stag.data import fakes, load
from stag.data.annotations import DataError
from stag.data.flow_checks import MIN_CLIPS, channel_evidence, check_channel_order

SIDE = 28


def _faces(n: int = 40, seed: int = 0, phases: int = 1) -> np.ndarray:
    """``(n, phases, 3, H, W)`` u, v, strain of mirror-symmetric face motions: brows up (v < 0 on
    both sides), mouth corners apart (u < 0 on the image left, > 0 on the right), strain = the
    motion's magnitude; phase 1 (when asked) returns."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] + 0.5

    def blob(x, y, s=2.0):
        return np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * s * s))

    out = []
    for _ in range(n):
        a, b = rng.uniform(0.5, 1.5, 2)
        v = -a * (blob(8, 6) + blob(20, 6))
        u = b * (blob(20, 21) - blob(8, 21))
        strain = np.sqrt(u ** 2 + v ** 2)
        f = np.stack([u, v, strain]) + rng.normal(0, 0.02, (3, SIDE, SIDE))
        out.append(np.stack([f, f * np.array([-1, -1, 1])[:, None, None]])[:phases])
    return np.asarray(out, np.float32)


def test_the_right_order_is_found_and_agrees():
    ev = channel_evidence(_faces())
    assert ev.found == ("u", "v", "strain") and ev.decided and ev.agrees
    assert ev.skewness[2] > 1.0 and ev.mirror[1] > 0.5 and ev.mirror[0] < -0.5
    assert "the configured order reads correctly" in ev.describe()


@pytest.mark.parametrize("perm, found", [((2, 1, 0), ("strain", "v", "u")), ((1, 0, 2), ("v", "u", "strain")),
                                         ((0, 2, 1), ("u", "strain", "v"))])
def test_a_wrong_order_is_named(perm, found):
    ev = channel_evidence(_faces()[:, :, list(perm)])
    assert ev.found == found and not ev.agrees


def test_noise_cannot_decide():
    ev = channel_evidence(np.random.default_rng(0).uniform(-1, 1, (50, 1, 3, SIDE, SIDE)))
    assert ev.found is None and not ev.decided
    assert "cannot be decided" in ev.describe()


def test_the_second_phase_points_back():
    ev = channel_evidence(_faces(phases=2))
    assert ev.phase_direction == "back"
    assert ev.phase_correlation[0] < -0.9 and ev.phase_correlation[1] < -0.9 and ev.phase_correlation[2] > 0.9
    assert channel_evidence(_faces()).phase_direction is None


def test_the_loader_refuses_a_wrong_order_naming_the_folder(tmp_path):
    flows = _faces(MIN_CLIPS)[:, 0]
    n = len(flows)
    fakes.write_megc2019_flow_layout(tmp_path, flows, [f"sub{i % 5 + 1:02d}" for i in range(n)], ["casme2"] * n,
                                     [f"EP{i:02d}" for i in range(n)], [i % 3 for i in range(n)])
    ok = load("megc2019_flow", data_root=tmp_path)
    assert ok.params["channel_evidence"]["agrees"]
    with pytest.raises(DataError, match=r"flow images in .*STSNet_whole_norm_u_v_os: read with "
                                        r"channel_order='u,v,strain' as u, v, strain, but they look like strain, v, u"):
        load("megc2019_flow", data_root=tmp_path, channel_order="u,v,strain")
    legacy = load("megc2019_flow", data_root=tmp_path, channel_order="u,v,strain", check_channels=False)
    assert "channel_evidence" not in legacy.params


def test_too_few_clips_are_reported_but_not_refused():
    class _Set(list):
        params = {"flow_dir": "x"}

    class _Clip:
        def __init__(self, f):
            self.flows = f

    few = _Set(_Clip(f) for f in np.random.default_rng(0).uniform(-1, 1, (5, 1, 3, SIDE, SIDE)))
    ev = check_channel_order(few, "strain,v,u")
    assert ev.n_clips == 5 and not ev.decided
