#!/usr/bin/env python
"""Train the spectral mouth-opening and lip-shape model (:class:`twintake.motion.opening.OpeningModel`
with its :class:`~twintake.motion.opening.ShapeModel`).

Usage::

    python scripts/train_opening.py [--manifest ../shared/media/MANIFEST.tsv] \
        [--out src/twintake/data/opening_ridge.npz] [--lovo-dir DIR] [--ridge 600] [--shape-ridge 10000] \
        [--max-seconds 30] [--decays none|0.03,0.1,0.3]

For every talking video of the manifest (rows whose ``kind`` is ``talking_video``) the video is
prepared as the product prepares it (:func:`twintake.prepare.prepare_video`: MediaPipe face mesh,
the person's mouth model, phones recognized in its own audio; cached). Per frame:

* **target**: the tracked inner-lip opening as a fraction of the person's range
  ``(opening - closed) / (widest - closed)`` (:attr:`MouthModel.open_range`);
* **features**: :func:`twintake.motion.opening.opening_features` of the video's own audio, the
  viseme driver's phone-driven opening (the driver with ``opening_model="none"``, as the
  product computes it before the spectral pull) and the visemes of its recognized phones.
* **lip shape** (:class:`twintake.motion.opening.ShapeModel`): the tracked mouth points and the
  driver's phone-driven shape, both person-normalised (minus the person's mean shape, over their
  opening range); the shared basis is their leading principal directions over the training
  videos, the targets the real shape's coordinates in it.

Then a ridge regression over all frames of all videos (opening: ``--ridge``; shape coordinates:
``--shape-ridge``, with the phone-driven shape's coordinates at -2 .. +2 frames as extra inputs).

With ``--decays 0.03,0.1,0.3`` the opening is predicted by a small network instead
(:class:`~twintake.motion.opening.OpeningNet`, 16 hidden units, 3 random starts averaged; the ridge
weights are kept beside it). Its weight decay is chosen from ``--decays`` by the mean
leave-one-video-out opening correlation *within the training videos* (one network per fit), and
its spread (:attr:`OpeningModel.spread`) from those same held-out predictions: for each
held-out model below among the other videos only (nested cross-validation), so no model or
hyper-parameter ever sees the video it is scored on. Not shipped (``docs/evaluation.md``).

**Leave-one-video-out**: for each video a model is fitted on the others; its correlation with that
video's real opening (best lag within +-15 frames, :func:`twintake.evaluate.metrics.opening_correlation`)
is printed beside the phone-driven opening's, and the mean error of its shape coordinates beside
the phone-driven shape's (in the person's opening ranges); with ``--lovo-dir`` those held-out
models are written as ``DIR/<stem>.npz`` so ``twintake eval --opening-models DIR`` measures each
video with a model that never saw it.

Deterministic; about 10 s per video the first time (face tracking), instant when cached.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from lovo import gather

from twintake.evaluate import metrics as M
from twintake.motion.driver import DriverOptions, VisemeDriver
from twintake.motion.opening import (
    DEFAULT_MODEL,
    N_SHAPE,
    OpeningModel,
    ShapeModel,
    opening_features,
    shape_features,
)
from twintake.prepare import prepare_video
from twintake.speech.input import load_speech


def video_data(path: Path, max_seconds: float) -> tuple[np.ndarray, ...]:
    """(T, F) features, (T,) target fraction, (T,) phone-driven fraction, (T, 114) real and
    (T + 4, 114) phone-driven person-normalised mouth points (frames -2 .. T + 1) of one video."""
    prep = prepare_video(path)
    sp = load_speech(path)
    sp.phones = list(prep.phones)
    n = min(len(prep.track), int(max_seconds * prep.fps))
    driver = VisemeDriver(DriverOptions(opening_model="none"))
    amount = driver.articulation_scale(sp, prep.fps, len(prep.track))[0][:n]
    m = prep.model
    phone_coeffs = driver.phone_shape(sp, m, prep.shapes, prep.fps, amount)
    phone = driver.phone_opening(sp, m, prep.shapes, prep.fps, amount)
    x = opening_features(sp.samples, sp.sample_rate_hz, prep.fps, n, phone, sp.phones)
    desc = prep.descriptors[:n].astype(np.float64)
    desc[~prep.track.valid[:n]] = np.nan
    lo, hi = m.open_range
    y = (M.mouth_opening(desc) - lo) / max(hi - lo, 1e-6)
    real_pts = ShapeModel.normalise(desc, m.mean, m.open_range)
    padded = np.pad(m.decode(phone_coeffs), ((2, 2), (0, 0)), mode="edge")
    phone_pts = ShapeModel.normalise(padded, m.mean, m.open_range)
    return x, y, phone, real_pts, phone_pts


def choose_decay(data: dict, names: list[str], ridge: float, decays: list[float]) -> tuple[float | None, float | None]:
    """The weight decay of ``decays`` whose network (one random start) has the best mean
    leave-one-video-out opening correlation among the videos ``names``, and the spread for it:
    the mean over those videos of the real opening's standard deviation over the held-out
    prediction's (a network fits its training frames more closely than unseen ones, so the
    spread of its training fit would under-open unseen speech). (None, None) when ``decays`` is empty."""
    if not decays:
        return None, None
    score, spreads = [], []
    for decay in decays:
        cs, rs = [], []
        for k in names:
            rest = [n for n in names if n != k]
            m = OpeningModel.fit(np.vstack([data[n][0] for n in rest]), np.concatenate([data[n][1] for n in rest]),
                                 ridge, net={"decay": decay, "seeds": (0,)})
            pred, y = m.predict(data[k][0], expand=False), data[k][1]
            cs.append(M.opening_correlation(pred, y).confidence)
            ok = np.isfinite(y)
            rs.append(float(np.std(y[ok]) / max(np.std(pred[ok]), 1e-6)))
        score.append(float(np.mean(cs)))
        spreads.append(float(max(1.0, np.mean(rs))))
    best = int(np.argmax(score))
    return decays[best], spreads[best]


def fit(data: dict, names: list[str], ridge: float, shape_ridge: float, info: str,
        decay: float | None = None, spread: float | None = None) -> OpeningModel:
    """The opening model (with its network when ``decay`` is given, expanded by ``spread`` when
    given) and its lip-shape model fitted on the videos ``names``."""
    model = OpeningModel.fit(np.vstack([data[k][0] for k in names]), np.concatenate([data[k][1] for k in names]),
                             ridge, info=info, net=None if decay is None else {"decay": decay})
    if spread is not None:
        model.spread = spread
    basis = ShapeModel.fit_basis(np.vstack([data[k][3] for k in names]), N_SHAPE)
    xs = np.vstack([shape_features(data[k][0], data[k][4] @ basis.T) for k in names])
    ys = np.vstack([data[k][3] @ basis.T for k in names])
    model.shape = ShapeModel.fit(xs, ys, basis, shape_ridge)
    return model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", type=Path, default=Path("../shared/media/MANIFEST.tsv"))
    ap.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--lovo-dir", type=Path, default=None)
    ap.add_argument("--ridge", type=float, default=600.0)
    ap.add_argument("--shape-ridge", type=float, default=10000.0)
    ap.add_argument("--max-seconds", type=float, default=30.0)
    ap.add_argument("--decays", default="none",
                    help="comma-separated weight decays of the opening network to choose from (e.g. 0.03,0.1,0.3); "
                         "'none' (default, as shipped): the ridge opening alone")
    a = ap.parse_args()
    decays = [] if a.decays == "none" else [float(v) for v in a.decays.split(",")]
    data = gather(a.manifest, video_data, a.max_seconds)
    names = sorted(data)
    rows = []
    for name in names:
        others = [k for k in names if k != name]
        decay, spread = choose_decay(data, others, a.ridge, decays)
        model = fit(data, others, a.ridge, a.shape_ridge, f"held out: {name}; network decay {decay}", decay, spread)
        xv, yv, ph, real_pts, phone_pts = data[name]
        pred = model.predict(xv)
        c_model = M.opening_correlation(pred, yv).confidence
        c_phone = M.opening_correlation(ph, yv).confidence
        # lip shape: mean error of the shape coordinates, phone-driven vs model (person-normalised)
        sm = model.shape
        real_c, phone_c = real_pts @ sm.basis.T, phone_pts @ sm.basis.T
        pred_c = sm.predict(shape_features(xv, phone_c))
        ok = np.isfinite(real_c).all(1)
        e_phone = float(np.sqrt(((phone_c[2:-2] - real_c)[ok] ** 2).sum(1)).mean())
        e_model = float(np.sqrt(((pred_c - real_c)[ok] ** 2).sum(1)).mean())
        rows.append((name, c_phone, c_model, e_phone, e_model))
        print(f"{name:28s} opening corr: phones {c_phone:.3f}  model {c_model:.3f}   shape error: "
              f"phones {e_phone:.3f}  model {e_model:.3f}   (decay {decay})", flush=True)
        if a.lovo_dir is not None:
            a.lovo_dir.mkdir(parents=True, exist_ok=True)
            model.save(a.lovo_dir / f"{name}.npz")
    r = np.array([row[1:] for row in rows])
    print(f"{'mean (leave one video out)':28s} opening corr: phones {r[:, 0].mean():.3f}  model {r[:, 1].mean():.3f}"
          f"   shape error: phones {r[:, 2].mean():.3f}  model {r[:, 3].mean():.3f}")
    y = np.concatenate([data[k][1] for k in names])
    decay, spread = choose_decay(data, names, a.ridge, decays)
    net = f"opening network decay {decay} (of {a.decays}), spread {spread:.3f}, " if decay is not None else ""
    info = (f"{net}ridge {a.ridge}, shape ridge {a.shape_ridge}; {len(names)} videos, {int(np.isfinite(y).sum())} frames; "
            f"leave-one-video-out opening correlation {r[:, 1].mean():.3f} (phone-driven {r[:, 0].mean():.3f}), "
            f"shape-coordinate error {r[:, 3].mean():.3f} (phone-driven {r[:, 2].mean():.3f})")
    fit(data, names, a.ridge, a.shape_ridge, info, decay, spread).save(a.out)
    print(f"wrote {a.out}: {info}")


if __name__ == "__main__":
    main()
