#!/usr/bin/env python
"""Train the eyelids' mouth offset model (:class:`twintake.render.video.place.OffsetModel`).

Usage::

    python scripts/train_placement.py [--manifest ../shared/media/MANIFEST.tsv] \
        [--out src/twintake/data/mouth_offset.npz] [--lovo-dir DIR] [--ridges 1e-6,1e-5,1e-4,1e-3] \
        [--max-seconds 30]

For every talking video of the manifest (rows whose ``kind`` is ``talking_video``) the video is
prepared as the product prepares it (:func:`twintake.prepare.prepare_video`; cached) and, for each
of its first ``--max-seconds`` seconds' frames with a face and a plausible head fit:

* **input**: the lid residual (:meth:`HeadPlacement.lid_residual`: the eyelid points undone to
  the person's mean head pose, minus the person's mean);
* **target**: the real mouth's offset from where the rigid 3D head placement puts the person's
  mean mouth (the mean over the 40 lip points, face-aligned units), minus the person's mean offset.

Then a ridge regression over all frames of all videos. Its penalty (per frame) is chosen from
``--ridges`` by the leave-one-video-out error of the offset (RMS over frames, mean over videos)
*within the training videos*: for each held-out model below among the other videos only
(nested cross-validation), so no model or penalty ever sees the video it is scored on.

**Leave-one-video-out**: for each video a model is fitted on the others; the correlation of its
predicted offset with the real one (vertical, horizontal) and the lips' RMS offset before and
after it are printed. With ``--lovo-dir`` those held-out models are written as ``DIR/<stem>.npz``
so ``twintake eval --placement-models DIR`` measures each video with a model that never saw it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from lovo import gather

from twintake.evaluate.metrics import LIP_POINTS
from twintake.prepare import prepare_video
from twintake.render.video.place import DEFAULT_OFFSET_MODEL, HeadPlacement, OffsetModel


def video_data(path: Path, max_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(T, F) lid residuals and (T, 2) mouth offsets (each minus the video's mean) of one video's
    frames with a face and a plausible head fit."""
    prep = prepare_video(path)
    n = min(len(prep.track), int(max_seconds * prep.fps))
    lm, tf, valid = prep.track.landmarks[:n], prep.transforms[:n], prep.track.valid[:n]
    head = HeadPlacement(lm, valid, tf, offset=None)
    mean_mouth = prep.descriptors[:n][valid].mean(0)
    xs, ys = [], []
    for i in np.flatnonzero(valid):
        r = head.lid_residual(lm[i], tf[i])
        if r is None:
            continue
        placed = head.place(mean_mouth, lm[i], tf[i]).reshape(-1, 2)[LIP_POINTS]
        xs.append(r)
        ys.append((prep.descriptors[i].reshape(-1, 2)[LIP_POINTS] - placed).mean(0))
    x, y = np.array(xs), np.array(ys)
    return x - x.mean(0), y - y.mean(0)


def choose_ridge(data: dict, names: list[str], ridges: list[float]) -> float:
    """The penalty of ``ridges`` with the smallest mean leave-one-video-out offset RMS among ``names``."""
    if len(ridges) == 1:
        return ridges[0]
    scores = []
    for ridge in ridges:
        errors = []
        for k in names:
            rest = [n for n in names if n != k]
            model = OffsetModel.fit(np.vstack([data[n][0] for n in rest]), np.vstack([data[n][1] for n in rest]), ridge)
            errors.append(float(np.sqrt(((data[k][1] - model.predict(data[k][0])) ** 2).sum(1).mean())))
        scores.append(float(np.mean(errors)))
    return ridges[int(np.argmin(scores))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", type=Path, default=Path("../shared/media/MANIFEST.tsv"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OFFSET_MODEL)
    ap.add_argument("--lovo-dir", type=Path, default=None)
    ap.add_argument("--ridges", default="1e-6,1e-5,1e-4,1e-3",
                    help="comma-separated ridge penalties (per frame) to choose from")
    ap.add_argument("--max-seconds", type=float, default=30.0)
    a = ap.parse_args()
    ridges = [float(v) for v in a.ridges.split(",")]
    data = gather(a.manifest, video_data, a.max_seconds)
    names = sorted(data)
    rows = []
    for name in names:
        others = [k for k in names if k != name]
        ridge = choose_ridge(data, others, ridges)
        model = OffsetModel.fit(np.vstack([data[k][0] for k in others]), np.vstack([data[k][1] for k in others]),
                                ridge, info=f"held out: {name}; ridge {ridge} (of {a.ridges})")
        x, y = data[name]
        pred = model.predict(x)
        cy, cx = (float(np.corrcoef(pred[:, j], y[:, j])[0, 1]) for j in (1, 0))
        before, after = (float(np.sqrt((e ** 2).sum(1).mean())) for e in (y, y - pred))
        rows.append((cy, cx, before, after))
        print(f"{name:28s} offset corr: vertical {cy:.3f}  horizontal {cx:.3f}   lip offset RMS "
              f"{100 * before:.2f} -> {100 * after:.2f} % IOD   (ridge {ridge:g})", flush=True)
        if a.lovo_dir is not None:
            a.lovo_dir.mkdir(parents=True, exist_ok=True)
            model.save(a.lovo_dir / f"{name}.npz")
    r = np.array(rows)
    n_frames = sum(len(data[k][1]) for k in names)
    ridge = choose_ridge(data, names, ridges)
    info = (f"ridge {ridge:g} (of {a.ridges}); {len(names)} videos, {n_frames} frames; leave-one-video-out offset correlation "
            f"vertical {r[:, 0].mean():.3f}, horizontal {r[:, 1].mean():.3f}; lip offset RMS "
            f"{100 * r[:, 2].mean():.2f} -> {100 * r[:, 3].mean():.2f} % IOD")
    print(f"{'mean (leave one video out)':28s} {info}")
    OffsetModel.fit(np.vstack([data[k][0] for k in names]), np.vstack([data[k][1] for k in names]),
                    ridge, info=info).save(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
