#!/usr/bin/env python
"""Train the spectral mouth-opening model (:class:`twintake.motion.opening.OpeningModel`).

Usage::

    python scripts/train_opening.py [--manifest ../shared/media/MANIFEST.tsv] \
        [--out src/twintake/data/opening_ridge.npz] [--lovo-dir DIR] [--ridge 300] [--max-seconds 30]

For every talking video of the manifest (rows whose ``kind`` is ``talking_video``) the video is
prepared as the product prepares it (:func:`twintake.prepare.prepare_video`: MediaPipe face mesh,
the person's mouth model, phones recognized in its own audio; cached). Per frame:

* **target**: the tracked inner-lip opening as a fraction of the person's range
  ``(opening - closed) / (widest - closed)`` (:attr:`MouthModel.open_range`);
* **features**: :func:`twintake.motion.opening.opening_features` of the video's own audio and
  the viseme driver's phone-driven opening (the driver with ``opening_model="none"``, as the
  product computes it before the spectral pull).

Then a ridge regression over all frames of all videos. **Leave-one-video-out**: for each video a
model is fitted on the others and its correlation with that video's real opening (best lag within
+-15 frames, :func:`twintake.evaluate.metrics.opening_correlation`) is printed beside the phone-
driven opening's; with ``--lovo-dir`` those held-out models are written as ``DIR/<stem>.npz`` so
``twintake eval --opening-models DIR`` measures each video with a model that never saw it.

Deterministic; about 10 s per video the first time (face tracking), instant when cached.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from twintake.evaluate import metrics as M
from twintake.motion.driver import DriverOptions, VisemeDriver
from twintake.motion.opening import DEFAULT_MODEL, OpeningModel, opening_features
from twintake.prepare import prepare_video
from twintake.speech.input import load_speech


def videos(manifest: Path) -> list[Path]:
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [manifest.parent / r["path"] for r in rows if r.get("kind") == "talking_video"]


def video_data(path: Path, max_seconds: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, F) features, (T,) target fraction, (T,) phone-driven fraction of one video."""
    prep = prepare_video(path)
    sp = load_speech(path)
    sp.phones = list(prep.phones)
    n = min(len(prep.track), int(max_seconds * prep.fps))
    driver = VisemeDriver(DriverOptions(opening_model="none"))
    amount = driver.articulation_scale(sp, prep.fps, len(prep.track))[0][:n]
    phone = driver.phone_opening(sp, prep.model, prep.shapes, prep.fps, amount)
    x = opening_features(sp.samples, sp.sample_rate_hz, prep.fps, n, phone)
    desc = prep.descriptors[:n].astype(np.float64)
    desc[~prep.track.valid[:n]] = np.nan
    lo, hi = prep.model.open_range
    y = (M.mouth_opening(desc) - lo) / max(hi - lo, 1e-6)
    return x, y, phone


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", type=Path, default=Path("../shared/media/MANIFEST.tsv"))
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--lovo-dir", type=Path, default=None)
    ap.add_argument("--ridge", type=float, default=300.0)
    ap.add_argument("--max-seconds", type=float, default=30.0)
    a = ap.parse_args()
    data = {}
    for v in videos(a.manifest):
        data[v.stem] = video_data(v, a.max_seconds)
        print(f"{v.stem}: {len(data[v.stem][1])} frames", flush=True)
    names = sorted(data)
    rows = []
    for name in names:
        x = np.vstack([data[k][0] for k in names if k != name])
        y = np.concatenate([data[k][1] for k in names if k != name])
        model = OpeningModel.fit(x, y, a.ridge, info=f"held out: {name}")
        xv, yv, ph = data[name]
        pred = model.predict(xv)
        c_model = M.opening_correlation(pred, yv).confidence
        c_phone = M.opening_correlation(ph, yv).confidence
        rows.append((name, c_phone, c_model))
        print(f"{name:28s} phones {c_phone:.3f}  model {c_model:.3f}", flush=True)
        if a.lovo_dir is not None:
            a.lovo_dir.mkdir(parents=True, exist_ok=True)
            model.save(a.lovo_dir / f"{name}.npz")
    r = np.array([row[1:] for row in rows])
    print(f"{'mean (leave one video out)':28s} phones {r[:, 0].mean():.3f}  model {r[:, 1].mean():.3f}")
    x = np.vstack([data[k][0] for k in names])
    y = np.concatenate([data[k][1] for k in names])
    info = (f"ridge {a.ridge}; {len(names)} videos, {int(np.isfinite(y).sum())} frames; leave-one-video-out "
            f"opening correlation {r[:, 1].mean():.3f} (phone-driven {r[:, 0].mean():.3f})")
    OpeningModel.fit(x, y, a.ridge, info=info).save(a.out)
    print(f"wrote {a.out}: {info}")


if __name__ == "__main__":
    main()
