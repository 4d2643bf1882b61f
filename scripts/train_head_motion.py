#!/usr/bin/env python
"""Train the speech-driven head-motion and blink model of photo avatars (format version 1).

Usage::

    python scripts/train_head_motion.py [--media ../shared/media] \
        [--out src/twintake/data/head_motion.npz] [--fps 25] [--tracks /tmp/head_tracks.npz]

For every *real* talking video in :data:`VIDEOS` the face is tracked with MediaPipe Face Mesh
(video mode, no smoothing: blinks last a few frames) on a 25 fps timeline and the audio is read
with :func:`twintake.speech.input.load_speech`. Per frame:

* **head pose** (:func:`twintake.motion.head.pose_from_landmarks`): roll = angle of the line
  through the eye corners (degrees), pitch and yaw proxies = the nose tip's offset from the
  eye-mouth frame (face widths -> degrees through :data:`twintake.motion.head.POSE_DEG`);
* **eyelid aperture** (lid gap over eye width, both eyes averaged) and **brow height**
  (brows over the eye corners in inter-ocular distances);
* **speech features** (:func:`twintake.motion.head.speech_features`): loudness in dB relative
  to the clip's 90th percentile of voiced frames, its positive derivative (syllable onsets /
  stress), and log-F0 relative to the speaker's median (pyworld DIO + StoneMask).

Then the model (:class:`twintake.motion.head.HeadMotionModel`):

1. **Speech -> pose**: a ridge regression of each pose channel's slow part (pitch, yaw, roll,
   brow, high-passed at 0.1 Hz per clip) on the speech features through causal/anticausal lags
   of +-0.4 s (a linear FIR filter, like the audio-to-head-pose regressors of
   e.g. Greenwood et al., "Predicting head pose from speech with a conditional variational
   autoencoder", Interspeech 2017, here in its simplest linear form); fitted on all clips
   together, then the prediction is scaled so its loudness correlation survives the added noise.
2. **Idle motion**: the residual's power spectrum per channel (Welch), stored as magnitudes;
   rendered as noise with that spectrum (random phases, seeded per avatar).
3. **Blinks**: per clip, blink = lid aperture under half its median (hysteresis: enter < 0.5,
   leave > 0.65); durations (frames at 25 fps) and intervals (s) are stored for the photo's
   blink generator and the docs' histograms.
4. **Targets** for ``docs/photo.md``: per clip the pose amplitude (std, degrees), the
   correlation of the head's angular speed with the loudness envelope, and the angular-speed
   spectrum.

Reproducible: the tracks are cached in ``--tracks`` (delete it to re-track); the fit is
deterministic.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from twintake.face.tracker import MediaPipeTracker  # noqa: E402
from twintake.media import iter_frames  # noqa: E402
from twintake.motion import head as H  # noqa: E402
from twintake.speech.input import load_speech  # noqa: E402

#: Real talking videos of the shared media folder (relative to --media).
VIDEOS = [
    "video/vretalking_face1.mp4", "video/vretalking_face2.mp4", "video/vretalking_face3.mp4",
    "video/vretalking_face4.mp4", "video/vretalking_face5.mp4", "video/sadtalker_wda_aoc.mp4",
    "video/sadtalker_wda_katiehill.mp4", "video/realthreed_may_5s.mp4", "video/wav2lipgfpgan_kim_7s.mp4",
]


def track(media: Path, fps: float, cache: Path) -> dict[str, dict[str, np.ndarray]]:
    """Per video: landmarks-derived signals and speech samples (cached in ``cache``)."""
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            out: dict[str, dict[str, np.ndarray]] = {}
            for k in z.files:
                name, key = k.split("|")
                out.setdefault(name, {})[key] = z[k]
            if set(out) == set(VIDEOS):
                return out
    out = {}
    for rel in VIDEOS:
        t0 = time.perf_counter()
        path = media / rel
        tracker = MediaPipeTracker(fps, smooth=False)
        frames = (f.image for f in iter_frames(path, fps=fps))
        lms = [p for p in tracker.track_frames(frames)]
        valid = np.array([p is not None for p in lms])
        lm = np.stack([p[:, :2] if p is not None else np.zeros((478, 2), np.float32) for p in lms])
        sp = load_speech(path)
        out[rel] = dict(landmarks=lm.astype(np.float32), valid=valid, samples=sp.samples.astype(np.float32),
                        rate=np.array(sp.sample_rate_hz))
        print(f"{rel}: {len(lm)} frames, {valid.mean():.2f} valid, {time.perf_counter() - t0:.1f} s", flush=True)
    np.savez_compressed(cache, **{f"{n}|{k}": v for n, d in out.items() for k, v in d.items()})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--media", type=Path, default=ROOT.parent / "shared" / "media")
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "twintake" / "data" / "head_motion.npz")
    ap.add_argument("--fps", type=float, default=25.0)
    ap.add_argument("--tracks", type=Path, default=Path("/tmp/twintake_head_tracks.npz"))
    ap.add_argument("--track-only", action="store_true")
    a = ap.parse_args(argv)
    data = track(a.media, a.fps, a.tracks)
    if a.track_only:
        return 0
    model, report = H.fit_model(data, a.fps)
    model.save(a.out)
    for line in report:
        print(line)
    print(f"wrote {a.out} ({a.out.stat().st_size / 1024:.1f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
