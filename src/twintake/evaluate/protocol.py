"""Self-reenactment evaluation: make a talking video say its own audio and compare with itself.

Protocol (one talking video):

1. The video is clipped to its first ``max_seconds`` (re-encoded once, cached under
   ``<cache>/eval/clips``) and prepared as usual (face track, mouth model, mouth bank; cached).
2. Every method renders the clip speaking the clip's own audio. Base frames are the video
   itself (output frame t has base frame t: head, eyes and background are the real ones), and
   **leave-segment-out**: no method may take a mouth from within ``exclude_s`` (2 s) of the
   frame being rendered (``exclude_radius`` of :func:`twintake.render.video.select.select_frames`),
   so the real mouth of that moment is never simply copied back.
3. Each output MP4 is tracked again with the same face mesh, and compared with the real frames
   (:mod:`twintake.evaluate.metrics`).

Methods, all rendered by the product's own render - :func:`twintake.engine.render_video`, the one
frame loop of :mod:`twintake.render.stream`, with the same compositor (mid-face correction
included), enhancer and encoder on the same base frames; a baseline swaps only the mouth plan
(a :class:`twintake.render.video.FixedPlanner` instead of the product's planner):

* ``twintake``: the product (its planner with ``exclude_radius``).
* ``shifted``: the person's real mouth, but from another moment: output frame t gets the mouth
  of source frame ``(t + exclude_radius + 1) mod N`` (about 2 s later), pasted unwarped. Real
  motion, real texture, no relation to the speech.
* ``loudness``: jaw opening driven only by loudness: the target mouth opens in proportion to the
  loudness envelope (0 at 30 dB below the speech level, the person's widest opening at it),
  neutral width, no phones; then the same selection as twintake.
* ``random``: random segments of the person's own mouth (0.4-1.2 s, consecutive frames), chosen
  ignoring the speech.

``real`` (the clip itself) is reported alongside as the reference: its LMD is 0 by definition,
its sync confidence is what a real mouth achieves on this audio.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..cache import cache_root, file_hash
from ..face.align import align_transforms, make_template
from ..hooks import ProgressHook
from ..engine import render_video
from ..media import iter_frames
from ..media.clip import write_clip
from ..errors import MediaError
from ..motion.driver import DriverOptions
from ..motion.shapes import mouth_descriptors
from ..options import LipsyncOptions
from ..prepare import PreparedVideo, prepare_video
from ..render.video import FixedPlanner
from ..render.video.select import select_frames
from ..speech.analysis import loudness_envelope, voice_activity
from ..speech.input import load_speech
from ..types import Speech
from . import artifacts as A
from . import metrics as M

__all__ = ["EvalConfig", "MethodResult", "VideoEval", "METHODS", "NEURAL_METHODS", "clip_video", "evaluate_video",
           "baseline_selection", "render_selection"]

#: Methods in report order (the default set).
METHODS = ("twintake", "shifted", "loudness", "random")
#: Methods that need a user's checkpoint (:attr:`EvalConfig.checkpoint`); run only when asked.
NEURAL_METHODS = ("wav2lip",)


@dataclass
class EvalConfig:
    """Settings of the self-reenactment protocol.

    Attributes:
        max_seconds: evaluate the first this many seconds of each video.
        exclude_s: leave-segment-out half-window, seconds.
        methods: which of :data:`METHODS` to run.
        seed: seed of the random-segment baseline.
        strip_frames: frames shown in the mouth strip.
        crf: H.264 quality of the rendered outputs (and of the clip).
        max_lag: largest AV lag searched, frames.
        image_stride: image metrics (sharpness, identity SSIM/PSNR) on every this many frames.
        enhance: ``--enhance`` mode of every method (None = the product's default): the
            baselines go through the same enhancer as the product.
        reuse_renders: keep an output MP4 that already exists instead of rendering it again
            (re-measuring older renders with new metrics; its render seconds are then 0).
        opening_models: a folder of held-out spectral opening models, one ``<video stem>.npz``
            per video (``scripts/train_opening.py --lovo-dir``): twintake's driver then uses a
            model that never saw the video (the shipped one was trained on the shared videos).
        placement_models: a folder of held-out mouth offset models, one ``<video stem>.npz`` per
            video (``scripts/train_placement.py --lovo-dir``): every method's compositor then
            places the mouth with a model that never saw the video (the shipped one was trained on
            the shared videos).
        checkpoint, device: the ``wav2lip`` method's checkpoint and device. Its identity
            reference is a frame outside the leave-segment-out window (Wav2Lip's own inference
            uses the frame itself, which here would be the very frame it must reproduce).
    """

    max_seconds: float = 8.0
    exclude_s: float = 2.0
    methods: tuple[str, ...] = METHODS
    seed: int = 0
    strip_frames: int = 8
    crf: int = 14
    max_lag: int = 15
    image_stride: int = 2
    enhance: str | None = None
    reuse_renders: bool = False
    opening_models: str | None = None
    placement_models: str | None = None
    checkpoint: str | None = None
    device: str | None = None


@dataclass
class MethodResult:
    """Metrics of one method on one video (see :mod:`twintake.evaluate.metrics` for units)."""

    lmd: float
    av_offset: int
    sync_conf: float
    open_corr: float
    open_lag: int
    silent_mouth: float
    sharpness: float
    ssim_identity: float
    psnr_identity: float
    jitter: float
    face_found: float
    seconds: float = 0.0
    pops_per_min: float = float("nan")
    lmd_p95: float = float("nan")
    outside_change: float = float("nan")
    ghost: float = float("nan")


@dataclass
class VideoEval:
    """Everything measured on one video.

    Attributes:
        name: video file stem.
        source: the original video path.
        frames, fps: clip length and rate.
        results: method (and ``"real"``) -> metrics.
        series: per-frame series for plots: ``loudness_db`` and ``opening_<method>`` (IOD units),
            ``silent`` (0/1).
        strip: method -> list of (h, w, 3) uint8 mouth crops at ``strip_index`` (not saved to JSON).
        strip_index: frames of the strip.
    """

    name: str
    source: str
    frames: int
    fps: float
    results: dict[str, MethodResult]
    series: dict[str, list[float]] = field(default_factory=dict)
    strip: dict[str, list[np.ndarray]] = field(default_factory=dict)
    strip_index: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"name": self.name, "source": self.source, "frames": self.frames, "fps": self.fps,
                "results": {k: asdict(v) for k, v in self.results.items()}, "strip_index": self.strip_index}


def clip_video(path: str | Path, max_seconds: float, crf: int = 14) -> Path:
    """The first ``max_seconds`` of a video, re-encoded once and cached (H.264 + AAC).

    Returns the cached clip path (``<cache>/eval/clips/<hash>-<max>s.mp4``).
    """
    path = Path(path)
    folder = cache_root() / "eval" / "clips"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{file_hash(path)}-{max_seconds:g}s.mp4"
    if out.is_file():
        return out
    return write_clip(path, out, max_seconds, crf)


def _speech_of(clip: Path, prep: PreparedVideo) -> Speech:
    sp = load_speech(clip)
    n = len(prep.track)
    want = int(np.floor(n * sp.sample_rate_hz / prep.fps))
    # exactly one output frame per clip frame (the audio track may end a little early: pad)
    sp.samples = np.concatenate([sp.samples[:want], np.zeros(max(0, want - len(sp.samples)), np.float32)])
    # the clip's own phones were recognized by prepare_video from the same audio: reuse them
    sp.phones = list(prep.phones)
    return sp


def _nearest_allowed(i: int, allowed: np.ndarray) -> int:
    ok = np.flatnonzero(allowed)
    return int(ok[np.argmin(np.abs(ok - i))])


def baseline_selection(method: str, prep: PreparedVideo, speech: Speech, radius: int, seed: int = 0,
                       options: LipsyncOptions | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Source frame and target mouth of each output frame for a baseline.

    Args:
        method: ``"shifted"``, ``"loudness"`` or ``"random"`` (see the module docstring).
        prep: the prepared clip; output frame t has base frame t.
        speech: the clip's speech, ``len(prep.track)`` frames long.
        radius: leave-segment-out radius, frames.
    Returns:
        ((T,) int64 source frames, (T, 114) float32 target descriptors).
    """
    o = options or LipsyncOptions()
    n = len(prep.track)
    valid = prep.track.valid
    base = np.arange(n)
    if method == "shifted":
        sel = np.array([_nearest_allowed((t + radius + 1) % n, valid) for t in range(n)], np.int64)
        return sel, prep.descriptors[sel].astype(np.float32)
    if method == "loudness":
        loud = loudness_envelope(speech.samples, speech.sample_rate_hz, prep.fps)[:n]
        loud = np.concatenate([loud, np.full(n - len(loud), -100.0, np.float32)])
        level = float(np.percentile(loud, 90))
        a = np.clip((loud - (level - 30.0)) / 30.0, 0.0, 1.0)
        lo = prep.model.from_features(0.0, 0.5)
        hi = prep.model.from_features(1.0, 0.5)
        coeffs = lo[None] + a[:, None] * (hi - lo)[None]
        target = prep.model.decode(coeffs)
        sel = select_frames(target, prep.descriptors, valid, base_pose=prep.pose[base], bank_pose=prep.pose,
                            options=o.select, exclude_radius=radius, base_index=base)
        return sel, target
    if method == "random":
        rng = np.random.default_rng(seed)
        sel = np.zeros(n, np.int64)
        left, cur = 0, -1
        for t in range(n):
            nxt = cur + 1
            if left > 0 and nxt < n and valid[nxt] and abs(nxt - t) > radius:
                cur, left = nxt, left - 1
            else:
                cand = np.flatnonzero(valid & (np.abs(np.arange(n) - t) > radius))
                cand = cand if len(cand) else np.flatnonzero(valid)
                cur = int(rng.choice(cand))
                left = int(rng.integers(round(0.4 * prep.fps), round(1.2 * prep.fps) + 1)) - 1
            sel[t] = cur
        return sel, prep.descriptors[sel].astype(np.float32)
    raise ValueError(f"unknown baseline {method!r}")


def render_selection(prep: PreparedVideo, speech: Speech, sel: np.ndarray, target: np.ndarray, out: Path,
                     options: LipsyncOptions | None = None) -> Path:
    """Render source mouths ``sel`` warped to ``target`` onto base frames 0..T-1 with ``speech``:
    the product's render (:func:`twintake.engine.render_video`) with this fixed plan."""
    render_video(prep, speech, out, options, planner=FixedPlanner(sel, target))
    return Path(out)


def _track_descriptors(path: Path, prep: PreparedVideo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Face-mesh the output and return ((T, 114) aligned descriptors, NaN where no face; (T,) valid;
    (T, 478, 2) pixel landmarks, NaN where no face)."""
    from ..face.tracker import track_video

    tr = track_video(path, fps=prep.fps)
    first = int(np.flatnonzero(prep.track.valid)[0])
    template = make_template(prep.track.landmarks[first])
    tf = align_transforms(tr.landmarks, tr.valid, template)
    d = mouth_descriptors(tr.landmarks, tf).astype(np.float64)
    d[~tr.valid] = np.nan
    n = len(prep.track)
    valid = np.zeros(n, bool)
    valid[: min(n, len(tr))] = tr.valid[:n]
    out = np.full((n, d.shape[1]), np.nan)
    out[: min(n, len(d))] = d[:n]
    lm = np.full((n, tr.landmarks.shape[1], 2), np.nan)
    lm[: min(n, len(tr))] = tr.landmarks[:n, :, :2]
    lm[~valid] = np.nan
    return out, valid, lm


def _image_pass(prep: PreparedVideo, outputs: dict[str, Path], strip_index: list[int], stride: int = 1,
                tracked: dict[str, np.ndarray] | None = None
                ) -> tuple[dict[str, dict[str, float]], dict[str, list[np.ndarray]]]:
    """One lockstep decode of the clip and every output: sharpness, identity SSIM/PSNR, strip,
    outside-the-face change and ghost edges (``tracked``: method -> (T, 478, 2) re-tracked
    landmarks of its output)."""
    import cv2

    n = len(prep.track)
    names = list(outputs)
    iters = [iter_frames(prep.source, fps=prep.fps, stop=n)] + [iter_frames(outputs[k], fps=prep.fps, stop=n)
                                                                  for k in names]
    lap: dict[str, list[float]] = {k: [] for k in ["real"] + names}
    ss: dict[str, list[float]] = {k: [] for k in names}
    ps: dict[str, list[float]] = {k: [] for k in names}
    outside: dict[str, list[float]] = {k: [] for k in names}
    ghosts: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
    tracked = tracked or {}
    strip: dict[str, list[np.ndarray]] = {k: [] for k in ["real"] + names}
    want = set(strip_index)
    lm = prep.track.landmarks
    shape = (prep.track.height, prep.track.width)
    for frames in zip(*iters):
        t = frames[0].index
        if not prep.track.valid[t] or (t % stride and t not in want):
            continue
        x0, y0, x1, y1 = M.mouth_box(lm[t], shape)
        (bx0, by0, bx1, by1), idmask = M.identity_region(lm[t], shape)
        real = frames[0].image
        real_g = cv2.cvtColor(real[by0:by1, bx0:bx1], cv2.COLOR_RGB2GRAY)
        for k, fr in zip(["real"] + names, frames):
            img = fr.image
            if img.shape[:2] != shape:
                img = cv2.resize(img, shape[::-1])
            lap[k].append(M.laplacian_variance(cv2.cvtColor(img[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)))
            if t in want:
                crop = cv2.resize(img[y0:y1, x0:x1], (160, max(8, int(160 * (y1 - y0) / max(x1 - x0, 1)))))
                strip[k].append(crop)
            if k == "real":
                continue
            g = cv2.cvtColor(img[by0:by1, bx0:bx1], cv2.COLOR_RGB2GRAY)
            ss[k].append(M.ssim(g, real_g, idmask))
            ps[k].append(M.psnr(img[by0:by1, bx0:bx1], real[by0:by1, bx0:bx1], idmask))
            outside[k].append(A.outside_change(img, real, lm[t]))
            new = tracked.get(k)
            if new is not None and np.isfinite(new[t]).all():
                ghosts[k].append(A.ghost_frame(img, real, lm[t], new[t]))
    res = {}
    for k in names:
        p = np.array(ps[k])
        res[k] = {"sharpness": M.mouth_sharpness(np.array(lap[k]), np.array(lap["real"])),
                  "ssim_identity": float(np.mean(ss[k])) if ss[k] else float("nan"),
                  "psnr_identity": float(np.mean(np.minimum(p, 100.0))) if len(p) else float("nan"),
                  "outside_change": float(np.mean(outside[k])) if outside[k] else float("nan"),
                  "ghost": A.ghost(ghosts[k])}
    return res, strip


#: The held-out model folders of :class:`EvalConfig`: (its field, the CLI flag, the script
#: that writes one ``<video stem>.npz`` per video with ``--lovo-dir``).
HELD_OUT_MODELS = (("opening_models", "--opening-models", "train_opening.py"),
                   ("placement_models", "--placement-models", "train_placement.py"))


def check_held_out(cfg: EvalConfig, videos: list[Path]) -> None:
    """Raise MediaError naming the videos of ``videos`` without a model in a held-out folder
    that ``cfg`` gives (:data:`HELD_OUT_MODELS`), before any work."""
    for field_name, flag, script in HELD_OUT_MODELS:
        folder = getattr(cfg, field_name)
        missing = [Path(v).stem for v in videos if folder and not (Path(folder) / f"{Path(v).stem}.npz").is_file()]
        if missing:
            raise MediaError(f"{flag} {folder} has no held-out model for {', '.join(missing)}: make them with "
                             f"scripts/{script} --lovo-dir")


def evaluate_video(path: str | Path, out_dir: str | Path, config: EvalConfig | None = None,
                   hook: ProgressHook | None = None) -> VideoEval:
    """Run the self-reenactment protocol on one talking video.

    Args:
        path: a talking video with audio.
        out_dir: where the rendered MP4s go (``<out_dir>/<name>/<method>.mp4``).
        config: :class:`EvalConfig`.
        hook: progress ``hook(stage, completed, total)``; stages ``clip``, ``prepare``,
            ``<method>``, ``measure``.
    Returns:
        :class:`VideoEval`.
    """
    cfg = config or EvalConfig()
    path = Path(path)
    step = hook or (lambda *a: None)
    folder = Path(out_dir) / path.stem
    folder.mkdir(parents=True, exist_ok=True)
    check_held_out(cfg, [path])
    step("clip", 0, 1)
    clip = clip_video(path, cfg.max_seconds, cfg.crf)
    step("prepare", 0, 1)
    prep = prepare_video(clip)
    speech = _speech_of(clip, prep)
    n, fps = len(prep.track), prep.fps
    radius = int(round(cfg.exclude_s * fps))
    opts = LipsyncOptions(crf=cfg.crf, enhance=cfg.enhance)
    if cfg.opening_models:
        opts.driver = DriverOptions(opening_model=str(Path(cfg.opening_models) / f"{path.stem}.npz"))
    if cfg.placement_models:
        opts.composite = dataclasses.replace(opts.composite,
                                             offset_model=str(Path(cfg.placement_models) / f"{path.stem}.npz"))
    outputs: dict[str, Path] = {}
    seconds: dict[str, float] = {}
    for k, m in enumerate(cfg.methods):
        step(m, k, len(cfg.methods))
        t0 = time.perf_counter()
        out = folder / f"{m}.mp4"
        if cfg.reuse_renders and out.is_file():
            pass
        elif m == "twintake":
            render_video(prep, speech, out, opts, exclude_radius=radius)
        elif m in NEURAL_METHODS:
            neural = dataclasses.replace(opts, lipsync_backend=m, lipsync_checkpoint=cfg.checkpoint, device=cfg.device)
            render_video(prep, speech, out, neural, exclude_radius=radius)
        else:
            sel, target = baseline_selection(m, prep, speech, radius, cfg.seed, opts)
            render_selection(prep, speech, sel, target, out, opts)
        outputs[m] = out
        seconds[m] = time.perf_counter() - t0

    loud = loudness_envelope(speech.samples, speech.sample_rate_hz, fps)[:n]
    silent = ~voice_activity(speech.samples, speech.sample_rate_hz, fps)[:n]
    gt = prep.descriptors.astype(np.float64).copy()
    gt[~prep.track.valid] = np.nan
    closed, wide = prep.model.open_range
    descs: dict[str, tuple[np.ndarray, np.ndarray]] = {"real": (gt, prep.track.valid)}
    tracked: dict[str, np.ndarray] = {}
    for k, m in enumerate(cfg.methods):
        step("measure", k, len(cfg.methods) + 1)
        d, ok, tracked[m] = _track_descriptors(outputs[m], prep)
        descs[m] = (d, ok)
    active = np.flatnonzero(~silent & prep.track.valid[: len(silent)])
    pool = active if len(active) >= cfg.strip_frames else np.flatnonzero(prep.track.valid)
    strip_index = sorted(set(int(i) for i in pool[np.linspace(0, len(pool) - 1, cfg.strip_frames).astype(int)]))
    img, strip = _image_pass(prep, outputs, strip_index, cfg.image_stride, tracked)
    step("measure", len(cfg.methods) + 1, len(cfg.methods) + 1)

    results: dict[str, MethodResult] = {}
    series: dict[str, list[float]] = {"loudness_db": [float(v) for v in loud],
                                      "silent": [float(v) for v in silent]}
    real_op = M.mouth_opening(gt)
    fin = real_op[np.isfinite(real_op)]
    op_range = float(np.percentile(fin, 98) - np.percentile(fin, 2)) if len(fin) else float("nan")
    for m, (d, ok) in descs.items():
        op = M.mouth_opening(d)
        sync = M.av_offset(op, loud, cfg.max_lag)
        oc = M.opening_correlation(op, real_op, cfg.max_lag)
        iq = img.get(m, {"sharpness": 1.0, "ssim_identity": 1.0, "psnr_identity": 100.0, "outside_change": 0.0,
                         "ghost": float("nan")})
        results[m] = MethodResult(
            lmd=M.lmd(d, gt), av_offset=sync.offset_frames, sync_conf=sync.confidence,
            open_corr=oc.confidence, open_lag=oc.offset_frames,
            silent_mouth=M.silent_mouth(op, silent, closed, wide - closed), sharpness=iq["sharpness"],
            ssim_identity=iq["ssim_identity"], psnr_identity=iq["psnr_identity"],
            jitter=M.temporal_jitter(d, gt), face_found=float(np.mean(ok)), seconds=seconds.get(m, 0.0),
            pops_per_min=A.pops_per_min(op, op_range, fps), lmd_p95=A.lmd_p95(d, gt),
            outside_change=iq["outside_change"], ghost=iq["ghost"])
        series[f"opening_{m}"] = [float(v) if np.isfinite(v) else float("nan") for v in op]
    return VideoEval(name=path.stem, source=str(path), frames=n, fps=fps, results=results, series=series,
                     strip=strip, strip_index=strip_index)
