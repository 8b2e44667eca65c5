"""``stag bench data``: how fast a real-dataset clip is read from disk.

Writes one CASME II-style clip (default 50 frames of 640x480 jpg, textured so that the files
are the size of real face frames rather than flat images) in a temporary folder, loads it
through :func:`stag.data.casme2.load_casme2`, and times:

- ``index``: reading the annotation xlsx and listing the clip folder (no pixels);
- ``loader``: ``Clip.load_frames()``, the adapters' sequential reader (one thread);
- ``threads=N``: the same files decoded by a thread pool (OpenCV releases the GIL), which
  shows how much a parallel reader could gain on this machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from stag.data.frames import read_image

HELP = "clips/s and frames/s for reading a real-layout clip of jpg frames"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=50, help="frames in the clip (default 50)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=5, help="timed reads of the whole clip (default 5)")
    parser.add_argument("--threads", type=int, default=2, help="thread-pool size for the parallel row (default 2)")
    parser.add_argument("--seed", type=int, default=0)


def textured_frames(n: int, width: int, height: int, seed: int = 0):
    """``(n, H, W, 3)`` uint8 frames: smooth blobs plus sensor-like noise, slowly drifting."""
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.uniform(40, 215, size=(height // 16, width // 16, 3)).astype(np.float32),
                      (width + 16, height), interpolation=cv2.INTER_CUBIC)
    frames = np.empty((n, height, width, 3), dtype=np.uint8)
    for k in range(n):
        shift = k % 16
        noise = rng.normal(0, 2, size=(height, width, 1)).astype(np.float32)
        frames[k] = np.clip(base[:, shift:shift + width] + noise, 0, 255).astype(np.uint8)
    return frames


def _time(fn, repeats: int) -> float:
    fn()  # warm-up (file cache, imports)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def run(args: argparse.Namespace):
    # lazy: `stag --help` loads this module; cv2 loads only when used
    import cv2

    from stag.data.casme2 import load_casme2
    from stag.data.fakes import write_casme2_layout

    if args.frames < 2 or args.repeats < 1 or args.threads < 1:
        raise ValueError("--frames must be >= 2, --repeats and --threads >= 1")
    rows = []
    with tempfile.TemporaryDirectory(prefix="stag-bench-data-") as tmp:
        first = 46
        layout = write_casme2_layout(
            tmp, rows=[{"subject": 1, "filename": "EP02_01f", "aus": "4+7", "emotion": "disgust",
                        "first": first, "n_frames": args.frames}], size=(args.width, args.height))
        folder = Path(tmp) / "CASME2-RAW" / "sub01" / "EP02_01f"
        for k, img in enumerate(textured_frames(args.frames, args.width, args.height, args.seed)):
            cv2.imwrite(str(folder / f"img{first + k}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        kb = np.mean([p.stat().st_size for p in folder.glob("*.jpg")]) / 1024
        clip = load_casme2(layout.root)[0]
        paths = clip.loader.paths
        mb = args.frames * args.width * args.height * 3 / 1e6

        def entry(variant: str, seconds: float, frames: int) -> dict:
            return {"variant": variant, "frames": frames, "size": f"{args.width}x{args.height}",
                    "jpg_kB": round(kb, 1), "ms_per_clip": round(seconds * 1e3, 2),
                    "clips_per_s": round(1 / seconds, 2), "frames_per_s": round(frames / seconds, 1),
                    "decoded_MB_per_s": round(mb / seconds, 1) if frames else 0.0}

        rows.append(entry("index (xlsx + listing)", _time(lambda: load_casme2(layout.root), args.repeats), 0))
        rows.append(entry("loader (1 thread)", _time(clip.load_frames, args.repeats), args.frames))
        with ThreadPoolExecutor(args.threads) as pool:
            def threaded():
                return np.stack(list(pool.map(read_image, paths)))
            rows.append(entry(f"threads={args.threads}", _time(threaded, args.repeats), args.frames))
    return pd.DataFrame(rows)
