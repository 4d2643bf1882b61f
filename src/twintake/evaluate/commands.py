"""`twintake eval` and `twintake bench`: plain functions the CLI wraps (no printing here).

* :func:`eval_command` runs the self-reenactment protocol (:mod:`twintake.evaluate.protocol`)
  over a suite of talking videos and writes results.json, results.md and plots.
* :func:`bench_command` measures speed and memory of lipsync / prepare / tts / vc, each run in a
  spawned child process so its peak resident memory (``ru_maxrss``) is the job's own, and appends
  the rows to a JSON-lines file.
"""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import MediaError
from ..hooks import ProgressHook
from .protocol import EvalConfig, VideoEval, check_held_out, evaluate_video
from .report import write_report

__all__ = ["default_suite", "resolve_suite", "eval_command", "bench_command", "bench_table", "measure_child",
           "looped_speech", "BENCH_KINDS"]

_VIDEO_EXT = (".mp4", ".mov", ".mkv", ".m4v", ".webm", ".avi")
BENCH_KINDS = ("lipsync", "prepare", "tts", "vc")
#: Default inputs of `twintake bench`, relative to the shared media folder.
_BENCH_VIDEO = "video/wav2lipgfpgan_kim_7s.mp4"
_BENCH_AUDIO = "speech_en/musetalk_eng.wav"
_BENCH_TEXT = ("The quick brown fox jumps over the lazy dog. Twintake makes a video of a person "
               "saying new speech, on a laptop, without a graphics card.")


def default_suite() -> Path | None:
    """``../shared/media/MANIFEST.tsv`` (relative to the working directory) if it exists."""
    p = Path("..") / "shared" / "media" / "MANIFEST.tsv"
    return p if p.is_file() else None


def resolve_suite(suite: str | Path | None) -> list[Path]:
    """Talking videos of a suite.

    Args:
        suite: a MANIFEST.tsv (rows whose ``kind`` is ``talking_video``; paths relative to it),
            a folder (its video files, sorted), a single video, or None for :func:`default_suite`.
    Raises:
        MediaError: nothing to evaluate.
    """
    if suite is None:
        suite = default_suite()
        if suite is None:
            raise MediaError("no suite given and ../shared/media/MANIFEST.tsv not found: pass --suite PATH")
    p = Path(suite)
    if p.is_dir():
        vids = sorted(f for f in p.iterdir() if f.suffix.lower() in _VIDEO_EXT)
    elif p.suffix.lower() == ".tsv":
        with open(p, newline="") as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        vids = [p.parent / r["path"] for r in rows if r.get("kind") == "talking_video"]
    elif p.is_file():
        vids = [p]
    else:
        raise MediaError(f"suite {p} does not exist")
    if not vids:
        raise MediaError(f"no talking videos in {p}")
    return vids


def eval_command(suite: str | Path | None = None, out_dir: str | Path = "eval_out", *,
                 max_seconds: float = 8.0, exclude_s: float = 2.0, methods: tuple[str, ...] | None = None,
                 enhance: str | None = None, reuse_renders: bool = False, opening_models: str | None = None,
                 placement_models: str | None = None, checkpoint: str | Path | None = None, device: str | None = None,
                 hook: ProgressHook | None = None) -> tuple[str, dict[str, Path], list[VideoEval]]:
    """Run the self-reenactment evaluation over a suite.

    Args:
        suite: see :func:`resolve_suite`.
        out_dir: where results.json, results.md, the PNGs and the rendered MP4s go.
        max_seconds: evaluate the first this many seconds of each video.
        exclude_s: leave-segment-out half-window, seconds.
        enhance: ``--enhance`` mode of the ``twintake`` method (None = the default).
        methods: subset of :data:`twintake.evaluate.protocol.METHODS`.
        reuse_renders: measure MP4s already in ``<out_dir>/renders`` instead of rendering them.
        opening_models: folder of held-out spectral opening models (see :class:`EvalConfig`).
        placement_models: folder of held-out mouth offset models (see :class:`EvalConfig`).
        checkpoint, device: the ``wav2lip`` method's checkpoint (loaded before any work) and device.
        hook: progress ``hook(stage, completed, total)``: stage ``"eval"`` counts videos; each
            video reports as stage ``"<video name>"`` counting its steps (clip, prepare, one per
            method, measure).
    Returns:
        (Markdown report, written files, per-video results).
    """
    from ..errors import BackendError
    from .protocol import METHODS, NEURAL_METHODS

    cfg = EvalConfig(max_seconds=max_seconds, exclude_s=exclude_s, methods=tuple(methods or METHODS),
                     enhance=enhance, reuse_renders=reuse_renders,
                     opening_models=str(opening_models) if opening_models else None,
                     placement_models=str(placement_models) if placement_models else None,
                     checkpoint=None if checkpoint is None else str(checkpoint), device=device)
    for m in set(cfg.methods) & set(NEURAL_METHODS):  # a missing or wrong checkpoint: one line, before any work
        from ..render.neural import make_lipsync

        if cfg.checkpoint is None:
            raise BackendError(f"--methods {m} needs its checkpoint: give --checkpoint FILE")
        make_lipsync(m, cfg.checkpoint, device)
    vids = resolve_suite(suite)
    check_held_out(cfg, vids)  # every video's models, before any video is clipped and prepared
    out = Path(out_dir)
    evals: list[VideoEval] = []
    t0 = time.perf_counter()
    for i, v in enumerate(vids):
        if hook:
            hook("eval", i, len(vids))
        steps = ["clip", "prepare", *cfg.methods, "measure"]
        sub = (lambda s, a, b, _n=v.stem, _st=steps: hook(
            _n, _st.index(s) + (a >= (b or 1)) if s in _st else 0, len(_st))) if hook else None
        evals.append(evaluate_video(v, out / "renders", cfg, sub))
    if hook:
        hook("eval", len(vids), len(vids))
    written = write_report(evals, out, cfg, extra={"wall_s": time.perf_counter() - t0})
    return (out / "results.md").read_text(), written, evals


# --------------------------------------------------------------------------------- bench


def _child(kind: str, args: dict[str, Any], q) -> None:
    """Child process: run one job, report wall time, time to first frame and peak RSS."""
    try:
        t_start = time.perf_counter()
        first: dict[str, float] = {}
        row: dict[str, Any] = {}

        def hook(stage, done, total=None):
            if stage == "render" and done == 1 and "t" not in first:
                first["t"] = time.perf_counter() - t_start

        if kind == "lipsync":
            import twintake

            res = twintake.lipsync(args["video"], args["audio"], args["out"], hook=hook)
            row = {"frames": res.frames, "duration_s": res.duration_s, "timings_s": res.timings_s,
                   "cache_hits": res.cache_hits, "size": f"{res.width}x{res.height}", "fps": res.fps}
        elif kind == "prepare":
            from ..prepare import prepare_video

            prep = prepare_video(args["video"], use_cache=False)
            row = {"frames": len(prep.track), "duration_s": len(prep.track) / prep.fps,
                   "timings_s": prep.timings_s, "size": f"{prep.track.width}x{prep.track.height}", "fps": prep.fps}
        elif kind == "tts":
            from ..speech.synthesize import synthesize

            sp = synthesize(args["text"], "en")
            row = {"duration_s": sp.duration_s, "chars": len(args["text"])}
        elif kind == "vc":
            from ..media import load_audio
            from ..speech.voice import VoiceProfile, convert

            prof = VoiceProfile.from_audio(args["reference"], use_cache=False)
            t1 = time.perf_counter()
            x = load_audio(args["audio"], 16000)[: int(args.get("max_s", 30) * 16000)]
            convert(x, 16000, prof)
            row = {"duration_s": len(x) / 16000, "timings_s": {"profile": t1 - t_start,
                                                               "convert": time.perf_counter() - t1}}
        else:
            raise ValueError(kind)
        row["wall_s"] = time.perf_counter() - t_start
        row["first_frame_s"] = first.get("t")
        row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        q.put(row)
    except BaseException as e:  # noqa: BLE001 - reported to the parent
        q.put({"error": f"{type(e).__name__}: {e}"})


def measure_child(kind: str, args: dict[str, Any], timeout_s: float = 3600.0) -> dict[str, Any]:
    """Run one benchmark job in a spawned child process and return its row (see :func:`_child`)."""
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(kind, args, q))
    p.start()
    import queue

    t0 = time.monotonic()
    row: dict[str, Any] | None = None
    try:
        while row is None:
            try:
                row = q.get(timeout=1.0)
            except queue.Empty:
                if not p.is_alive():  # died without a word (crash, killed, failed import)
                    try:
                        row = q.get(timeout=1.0)
                    except queue.Empty:
                        row = {"error": f"the benchmark process exited with code {p.exitcode}"}
                elif time.monotonic() - t0 > timeout_s:
                    row = {"error": f"timed out after {timeout_s:.0f} s"}
    finally:
        p.join(timeout=30)
        if p.is_alive():
            p.terminate()
    return row


def looped_speech(audio: str | Path, minutes: float, folder: Path) -> Path:
    """Write ``audio`` looped to ``minutes`` long (with 0.4 s pauses) as a 16 kHz wav in ``folder``."""
    import numpy as np

    from ..media import load_audio, write_wav

    sr = 16000
    x = load_audio(audio, sr)
    unit = np.concatenate([x, np.zeros(int(0.4 * sr), np.float32)])
    n = int(minutes * 60 * sr)
    out = folder / f"speech_{minutes:g}min.wav"
    write_wav(out, np.tile(unit, int(np.ceil(n / len(unit))))[:n], sr)
    return out


def _cut(audio: str | Path, seconds: float, folder: Path) -> Path:
    from ..media import load_audio, write_wav

    x = load_audio(audio, 16000)[: int(seconds * 16000)]
    out = folder / f"speech_{seconds:g}s.wav"
    write_wav(out, x, 16000)
    return out


def bench_command(what: str = "lipsync", video: str | Path | None = None, audio: str | Path | None = None, *,
                  long: bool = False, speech_s: float | None = 60.0, text: str | None = None,
                  json_path: str | Path | None = "benchmarks/results.jsonl", runs: int = 1,
                  hook: ProgressHook | None = None) -> list[dict[str, Any]]:
    """Measure speed and memory.

    Args:
        what: ``lipsync``, ``prepare``, ``tts``, ``vc`` or ``all``.
        video, audio: inputs (default: the shared 1080p ``wav2lipgfpgan_kim_7s.mp4`` and the 60 s
            ``musetalk_eng.wav`` under ``../shared/media``).
        long: lipsync only: also loop the speech to 10 minutes (memory must stay flat).
        speech_s: cut the speech to this many seconds (None = whole file).
        text: text for ``tts`` (default: two sentences).
        json_path: append the rows to this JSON-lines file (None = do not).
        runs: repeat each measurement (the first lipsync run may fill the track cache).
        hook: ``hook("bench", done, total)``.
    Returns:
        One dict per run: kind, video, audio, frames, duration_s, wall_s, rtf, output_fps,
        first_frame_s, peak_rss_mb, timings_s...
    Raises:
        MediaError: default inputs not found.
    """
    kinds = BENCH_KINDS if what == "all" else (what,)
    if any(k not in BENCH_KINDS for k in kinds):
        raise ValueError(f"unknown benchmark {what!r}: choose lipsync, prepare, tts, vc or all")
    media = Path("..") / "shared" / "media"
    video = Path(video) if video else media / _BENCH_VIDEO
    audio = Path(audio) if audio else media / _BENCH_AUDIO
    for p in ([video] if {"lipsync", "prepare"} & set(kinds) else []) + (
            [audio] if {"lipsync", "vc"} & set(kinds) else []):
        if not p.is_file():
            raise MediaError(f"{p} not found: pass --video / --audio")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        jobs: list[tuple[str, dict[str, Any], str]] = []
        for k in kinds:
            if k == "lipsync":
                a = _cut(audio, speech_s, folder) if speech_s else audio
                jobs += [(k, {"video": str(video), "audio": str(a), "out": str(folder / "out.mp4")},
                          f"{audio.name}" + (f" first {speech_s:g} s" if speech_s else ""))] * runs
                if long:
                    jobs.append((k, {"video": str(video), "audio": str(looped_speech(audio, 10, folder)),
                                     "out": str(folder / "out_long.mp4")}, f"{audio.name} looped to 10 min"))
            elif k == "prepare":
                jobs += [(k, {"video": str(video)}, "")] * runs
            elif k == "tts":
                jobs += [(k, {"text": text or _BENCH_TEXT}, "")] * runs
            elif k == "vc":
                jobs += [(k, {"reference": str(media / "speech_en/avg_voice_man1.mp3"), "audio": str(audio),
                              "max_s": speech_s or 30}, audio.name)] * runs
        for i, (k, args, label) in enumerate(jobs):
            if hook:
                hook("bench", i, len(jobs))
            r = measure_child(k, args)
            r.update(kind=k, video=str(video) if k in ("lipsync", "prepare") else "", audio=label,
                     time=time.strftime("%Y-%m-%dT%H:%M:%S"))
            if "error" not in r:
                dur = float(r.get("duration_s") or 0)
                r["rtf"] = r["wall_s"] / dur if dur else None
                if k == "vc" and dur:  # the profile is built once per reference and cached
                    r["rtf"] = r["timings_s"]["convert"] / dur
                stage = r.get("timings_s", {}).get("render") if k == "lipsync" else None
                r["output_fps"] = r["frames"] / stage if stage else (
                    r["frames"] / r["wall_s"] if r.get("frames") else None)
            rows.append(r)
        if hook:
            hook("bench", len(jobs), len(jobs))
    if json_path:
        jp = Path(json_path)
        jp.parent.mkdir(parents=True, exist_ok=True)
        with open(jp, "a") as f:
            for r in rows:
                f.write(json.dumps(r, default=str) + "\n")
    return rows


def bench_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of :func:`bench_command` rows (output fps = frames / render-stage seconds
    for lipsync, frames / wall seconds for prepare; RTF = wall seconds / speech seconds, for vc
    conversion seconds / speech seconds, the profile being built once per reference)."""

    def f(v, fmt):
        return "–" if v is None else fmt.format(v)

    lines = ["| job | input | size | speech s | output fps | RTF | first frame s | peak RSS MB | cached |",
             "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['kind']} | {Path(r.get('video') or '').name} {r.get('audio', '')} | error: "
                         f"{r['error']} | | | | | | |")
            continue
        lines.append(f"| {r['kind']} | {Path(r['video']).name + ' ' if r.get('video') else ''}{r.get('audio', '')} | "
                     f"{r.get('size', '')} | {f(r.get('duration_s'), '{:.1f}')} | {f(r.get('output_fps'), '{:.1f}')} | "
                     f"{f(r.get('rtf'), '{:.3f}')} | {f(r.get('first_frame_s'), '{:.2f}')} | "
                     f"{f(r.get('peak_rss_mb'), '{:.0f}')} | {','.join(r.get('cache_hits', [])) or '–'} |")
    return "\n".join(lines) + "\n"
