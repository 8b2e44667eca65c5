"""Optical flow between aligned grey faces, optical strain, and the model's flow stack.

One function, :func:`compute_flow`, hides the three OpenCV estimators (TV-L1 from
``cv2.optflow``, DIS, Farneback) behind named presets in :data:`FLOW_METHODS`. Flow is
``(H, W, 2)`` float32 ``(u, v)`` in pixels, x right / y down, mapping the first image onto the
second: ``second[y + v, x + u] ~= first[y, x]``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from stag.preprocess.prepared import FLOW_CHANNELS

# Parameters of every preset. The TV-L1 "tuned" values are what DESIGN.md section 7 measured as
# 4x faster than the defaults at equal or better accuracy on 128x128 faces.
FLOW_PRESETS: dict[str, dict] = {
    "tvl1": {"nscales": 2, "warps": 1, "innerIterations": 30, "outerIterations": 2},
    "tvl1_default": {},
    "dis": {"preset": "medium", "finestScale": 0, "patchSize": 8, "patchStride": 4,
            "variationalRefinementIterations": 5},
    "dis_medium": {"preset": "medium"},
    "farneback": {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5,
                  "poly_sigma": 1.2},
}
FLOW_METHODS: tuple[str, ...] = tuple(FLOW_PRESETS)
# The one default flow preset: preprocessing (PrepareConfig), the keyframe magnitude curve, the
# CLIs and the chapters all read it from here. It is the preset the rule written before the
# recognition runs picks (results/synthetic_study/TRIED.md, chapter "What each part of STAG
# buys"): tuned DIS ran 320 pairs/s on one core with the lowest end-point error of all presets
# (0.100 px on synthetic apex pairs, 0.168 px on warps; default TV-L1 0.176/0.326 at 7 pairs/s),
# and STAG trained on it scored UF1 0.804 against 0.763 with TV-L1 and 0.787 with DIS medium
# (3 seeds each; tests/test_synthetic_study.py keeps this constant equal to the rule's pick).
DEFAULT_FLOW = "dis"


@lru_cache(maxsize=8)
def _tvl1(key: tuple) -> object:
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    params = dict(key)
    algo = cv2.optflow.DualTVL1OpticalFlow_create()
    setters = {"nscales": algo.setScalesNumber, "warps": algo.setWarpingsNumber,
               "innerIterations": algo.setInnerIterations, "outerIterations": algo.setOuterIterations,
               "tau": algo.setTau, "lambda": algo.setLambda, "theta": algo.setTheta,
               "epsilon": algo.setEpsilon, "scaleStep": algo.setScaleStep, "gamma": algo.setGamma,
               "medianFiltering": algo.setMedianFiltering}
    for name, value in params.items():
        if name not in setters:
            raise ValueError(f"TV-L1 parameter {name!r} unknown; expected one of {sorted(setters)}")
        setters[name](value)
    return algo


@lru_cache(maxsize=8)
def _dis(key: tuple) -> object:
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    params = dict(key)
    presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    algo = cv2.DISOpticalFlow_create(presets[params.pop("preset", "medium")])
    setters = {"finestScale": algo.setFinestScale, "patchSize": algo.setPatchSize,
               "patchStride": algo.setPatchStride, "gradientDescentIterations": algo.setGradientDescentIterations,
               "variationalRefinementIterations": algo.setVariationalRefinementIterations,
               "variationalRefinementAlpha": algo.setVariationalRefinementAlpha,
               "useMeanNormalization": algo.setUseMeanNormalization,
               "useSpatialPropagation": algo.setUseSpatialPropagation}
    for name, value in params.items():
        if name not in setters:
            raise ValueError(f"DIS parameter {name!r} unknown; expected one of {sorted(setters)}")
        setters[name](value)
    return algo


def _as_grey(img: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[-1] == 3:
        from stag.preprocess.face import to_grey  # lazy: `stag --help` loads this module, not the face pipeline

        a = to_grey(a[None])[0]
    if a.ndim != 2:
        raise ValueError(f"{name}: expected an (H, W) grey image, got shape {a.shape}")
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)


def compute_flow(first: np.ndarray, second: np.ndarray, method: str = DEFAULT_FLOW, **params) -> np.ndarray:
    """Dense optical flow from ``first`` to ``second``.

    Args:
        first, second: ``(H, W)`` uint8 grey images (RGB is converted).
        method: a preset of :data:`FLOW_PRESETS` (``tvl1``, ``tvl1_default``, ``dis``,
            ``dis_medium``, ``farneback``); default :data:`DEFAULT_FLOW`.
        **params: override the preset's parameters (names as in :data:`FLOW_PRESETS`).

    Returns:
        ``(H, W, 2)`` float32 flow ``(u, v)`` in pixels.
    """
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    if method not in FLOW_PRESETS:
        raise ValueError(f"flow method {method!r} unknown; expected one of {list(FLOW_PRESETS)}")
    a, b = _as_grey(first, "first"), _as_grey(second, "second")
    if a.shape != b.shape:
        raise ValueError(f"images differ in shape: {a.shape} vs {b.shape}")
    p = {**FLOW_PRESETS[method], **params}
    if method.startswith("tvl1"):
        flow = _tvl1(tuple(sorted(p.items()))).calc(a, b, None)
    elif method.startswith("dis"):
        flow = _dis(tuple(sorted(p.items()))).calc(a, b, None)
    else:
        flow = cv2.calcOpticalFlowFarneback(a, b, None, p["pyr_scale"], p["levels"], p["winsize"],
                                            p["iterations"], p["poly_n"], p["poly_sigma"], 0)
    return np.asarray(flow, dtype=np.float32)


def optical_strain(flow: np.ndarray, sigma: float = 0.0) -> np.ndarray:
    """Optical strain magnitude of a ``(H, W, 2)`` flow: ``(H, W)`` float32, dimensionless.

    ``sqrt(e_xx^2 + e_yy^2 + 2 e_xy^2)`` with ``e_xx = du/dx``, ``e_yy = dv/dy``,
    ``e_xy = (du/dy + dv/dx) / 2`` (central differences), as in OFF-ApexNet/STSTNet. A pure
    translation or a small rigid rotation has zero strain; a uniform stretch by ``s`` has strain
    ``sqrt(2) s``. ``sigma`` > 0 smooths the flow with a Gaussian (px) first: derivatives amplify
    the block artefacts of patch-based flow (DIS), and sigma = 2 lowered the strain error against
    the synthetic truth for every method.
    """
    f = np.asarray(flow, dtype=np.float64)
    if f.ndim != 3 or f.shape[-1] != 2:
        raise ValueError(f"flow: expected (H, W, 2), got {f.shape}")
    if sigma > 0:
        from scipy.ndimage import gaussian_filter  # lazy: scipy is slow to import; only strain smoothing needs it

        f = np.stack([gaussian_filter(f[..., c], sigma, mode="nearest") for c in range(2)], -1)
    du_dy, du_dx = np.gradient(f[..., 0])
    dv_dy, dv_dx = np.gradient(f[..., 1])
    exy = 0.5 * (du_dy + dv_dx)
    return np.sqrt(du_dx ** 2 + dv_dy ** 2 + 2 * exy ** 2).astype(np.float32)


def flow_magnitude(flow: np.ndarray) -> np.ndarray:
    """``|flow|`` in pixels: ``(..., H, W, 2)`` -> ``(..., H, W)`` float32."""
    f = np.asarray(flow, dtype=np.float32)
    return np.sqrt(f[..., 0] ** 2 + f[..., 1] ** 2)


def endpoint_error(flow: np.ndarray, true: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean end-point error ``|flow - true|`` in pixels (over ``mask`` when given)."""
    e = flow_magnitude(np.asarray(flow, np.float32) - np.asarray(true, np.float32))
    return float(e[mask].mean() if mask is not None else e.mean())


def flow_channels(flow: np.ndarray, channels: int = 3, strain_sigma: float = 0.0) -> np.ndarray:
    """``(H, W, 2)`` flow -> ``(C, H, W)`` float32 in the order of :data:`FLOW_CHANNELS`
    (``u, v, strain, magnitude``; first ``channels`` of them, 2..4); ``strain_sigma``: see
    :func:`optical_strain`."""
    if not 2 <= channels <= len(FLOW_CHANNELS):
        raise ValueError(f"channels={channels}: expected 2..{len(FLOW_CHANNELS)} ({FLOW_CHANNELS})")
    f = np.asarray(flow, dtype=np.float32)
    out = [f[..., 0], f[..., 1]]
    if channels >= 3:
        out.append(optical_strain(f, strain_sigma))
    if channels >= 4:
        out.append(flow_magnitude(f))
    return np.stack(out).astype(np.float32)


def flow_stack(reference: np.ndarray, frames: np.ndarray, *, method: str = DEFAULT_FLOW, channels: int = 3,
               strain_sigma: float = 0.0, flow_fn: Callable | None = None, **params) -> np.ndarray:
    """Flow from ``reference`` to every frame, as the model's stack.

    Args:
        reference: ``(H, W)`` uint8 grey onset face.
        frames: ``(K, H, W)`` uint8 grey keyframes.
        method, params: see :func:`compute_flow`.
        channels, strain_sigma: see :func:`flow_channels`.

    Returns:
        ``(K, C, H, W)`` float32.
    """
    fn = flow_fn or compute_flow
    return np.stack([flow_channels(fn(reference, f, method, **params), channels, strain_sigma) for f in frames]) \
        if len(frames) else np.zeros((0, channels, *np.asarray(reference).shape[:2]), np.float32)


def resize_stack(stack: np.ndarray, size: int, scale_values: bool = True) -> np.ndarray:
    """Resize a ``(K, C, H, W)`` stack to ``(K, C, size, size)``.

    ``u``, ``v`` and ``magnitude`` are displacements in pixels, so they are multiplied by
    ``size / W`` (a 1 px motion at 128 px is 0.5 px at 64 px); ``strain`` is a ratio of
    displacement to distance and is left unchanged. ``scale_values=False`` keeps every value (for
    flows in other units, e.g. normalised MEGC2019 images). Resampling is area averaging when
    shrinking, bilinear when enlarging.
    """
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    x = np.asarray(stack, dtype=np.float32)
    if x.ndim != 4:
        raise ValueError(f"stack: expected (K, C, H, W), got {x.shape}")
    k, c, h, w = x.shape
    if (h, w) == (size, size):
        return x.copy()
    interp = cv2.INTER_AREA if size < w else cv2.INTER_LINEAR
    scale = np.ones(c, dtype=np.float32)
    for i, name in enumerate(FLOW_CHANNELS[:c] if scale_values else ()):
        if name in ("u", "magnitude"):
            scale[i] = size / w
        elif name == "v":
            scale[i] = size / h
    out = np.empty((k, c, size, size), dtype=np.float32)
    for kk in range(k):
        for cc in range(c):
            out[kk, cc] = cv2.resize(x[kk, cc], (size, size), interpolation=interp) * scale[cc]
    return out


def normalise_stack(stack: np.ndarray, method: str = "none", clip: float = 3.0) -> np.ndarray:
    """Optional per-clip normalisation of a ``(K, C, H, W)`` stack.

    ``"none"`` keeps pixels (the default: magnitudes stay comparable across clips, which the
    keyframe prior needs). ``"std"`` divides each channel by its standard deviation over the clip;
    ``"clip"`` clips every channel to ``[-clip, clip]`` pixels.
    """
    x = np.asarray(stack, dtype=np.float32)
    if method == "none":
        return x
    if method == "std":
        sd = x.std(axis=(0, 2, 3), keepdims=True)
        return x / np.maximum(sd, 1e-6)
    if method == "clip":
        return np.clip(x, -clip, clip)
    raise ValueError(f"normalise={method!r}: expected 'none', 'std' or 'clip'")


def flow_to_rgb(flow: np.ndarray, max_magnitude: float | None = None) -> np.ndarray:
    """Colour-code a ``(H, W, 2)`` flow (hue = direction, value = magnitude): ``(H, W, 3)`` uint8.

    Hue follows OpenCV's convention: right = red, down = green-yellow, left = cyan, up = violet.
    """
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    f = np.asarray(flow, dtype=np.float32)
    mag, ang = cv2.cartToPolar(f[..., 0], f[..., 1])
    top = max_magnitude if max_magnitude else max(float(mag.max()), 1e-6)
    hsv = np.zeros((*f.shape[:2], 3), dtype=np.uint8)
    hsv[..., 0] = (ang * 90 / np.pi).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = np.clip(mag / top * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def warp_image(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Render ``second`` from ``first`` and a known flow (backward warp with the inverse, first
    order): ``second(x) = first(x - flow(x))``. Used to make test pairs with a known answer."""
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    h, w = image.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    f = np.asarray(flow, dtype=np.float32)
    return cv2.remap(np.asarray(image), gx - f[..., 0], gy - f[..., 1], cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT)
