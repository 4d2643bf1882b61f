"""A job row: what one video of a batch (or one API request) asks for, and running it.

A row is a mapping with ``source`` (video, photo or avatar folder), ``text`` or ``audio``, and
optionally ``voice``, ``lang``, ``tts_voice``, ``out`` (the output name) and any ``say`` option
(:data:`OPTION_KEYS`). Relative paths are read relative to the jobs file's folder.

A row's *inputs hash* covers the content of every input file and every option, so an output
whose stored hash matches can be skipped on a rerun.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..cache import file_hash
from ..errors import MediaError, OutputError, TwintakeError
from ..hooks import ProgressHook

__all__ = ["MAX_ATTEMPTS", "JobRow", "OPTION_KEYS", "read_jobs", "parse_row", "options_from", "inputs_hash", "run_row",
           "sidecar_path", "output_is_current", "write_sidecar", "write_atomic"]

#: ``say`` options a row may carry (``max_duration`` in minutes, as on the command line).
OPTION_KEYS = ("face_index", "fps", "size", "crf", "preset", "max_duration", "max_chars", "enhance",
               "no_cache", "seed", "lipsync_backend", "checkpoint", "device")
ROW_KEYS = ("source", "text", "audio", "voice", "lang", "tts_voice", "out")
SIDECAR = ".twintake.json"
#: How often a row is started before a dying worker (process, Ray worker or node) makes it fail.
MAX_ATTEMPTS = 3


@dataclass
class JobRow:
    """One job of a batch.

    Attributes:
        index: 0-based row number in the jobs file.
        source, audio, voice: absolute paths (``voice`` may also be ``"none"``); None if unset.
        text, lang, tts_voice: the speech to synthesize and its settings.
        out: output file name (inside the batch's output folder), ``.mp4``.
        options: the row's ``say`` options (keys of :data:`OPTION_KEYS`), checked.
        error: why the row cannot run (set by :func:`parse_row`; such a row is reported failed).
    """

    index: int
    source: str | None = None
    text: str | None = None
    audio: str | None = None
    voice: str | None = None
    lang: str = "auto"
    tts_voice: str | None = None
    out: str = ""
    options: dict = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict:
        return {"index": self.index, "source": self.source, "text": self.text, "audio": self.audio,
                "voice": self.voice, "lang": self.lang, "tts_voice": self.tts_voice, "out": self.out,
                "options": dict(self.options), "error": self.error}

    @classmethod
    def from_dict(cls, d: dict) -> "JobRow":
        return cls(**d)


def read_jobs(path: str | Path) -> list[JobRow]:
    """Rows of a ``.jsonl`` (one JSON object a line) or ``.csv`` (header line) jobs file.

    A row that cannot be read gets ``error`` set (it is reported, the others still run).

    Raises:
        MediaError: the file is missing, not .jsonl/.csv, or has no rows.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path} does not exist: give a .jsonl or .csv jobs file")
    suffix = path.suffix.lower()
    raw: list[dict | str] = []
    try:
        if suffix in (".jsonl", ".ndjson"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                try:
                    obj = json.loads(line)
                    raw.append(obj if isinstance(obj, dict) else "the line is not a JSON object")
                except json.JSONDecodeError as e:
                    raw.append(f"not valid JSON ({e.msg} at column {e.colno})")
        elif suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as f:
                raw = [{k.strip(): v for k, v in r.items() if k and v not in (None, "")} for r in csv.DictReader(f)]
        else:
            raise MediaError(f"{path}: a jobs file must be .jsonl or .csv")
    except (OSError, UnicodeDecodeError) as e:
        raise MediaError(f"cannot read {path}: {e}") from e
    if not raw:
        raise MediaError(f"{path} has no job rows")
    rows = [parse_row(i, r, path.parent) for i, r in enumerate(raw)]
    seen: dict[str, int] = {}
    for r in rows:
        if r.error is None and r.out in seen:
            r.error = f"out {r.out!r} is also the output of row {seen[r.out]}"
        seen.setdefault(r.out, r.index)
    return rows


def parse_row(index: int, raw: dict | str, base: Path) -> JobRow:
    """Check one raw row (a dict, or the reason it could not be read) into a :class:`JobRow`."""
    row = JobRow(index=index, out=f"row{index:04d}.mp4")
    if isinstance(raw, str):
        row.error = raw
        return row
    try:
        unknown = sorted(set(raw) - set(ROW_KEYS) - set(OPTION_KEYS))
        if unknown:
            raise MediaError(f"unknown field(s) {', '.join(unknown)}; fields: {', '.join(ROW_KEYS + OPTION_KEYS)}")

        def path_of(key: str) -> str | None:
            v = raw.get(key)
            if v in (None, ""):
                return None
            p = Path(str(v)).expanduser()
            return str(p if p.is_absolute() else (base / p).resolve())

        row.source = path_of("source")
        if row.source is None:
            raise MediaError("no source: give a video, a photo or an avatar folder")
        row.audio = path_of("audio")
        row.text = None if raw.get("text") in (None, "") else str(raw["text"])
        if (row.text is None) == (row.audio is None):
            raise MediaError("give either text or audio (not both)")
        voice = raw.get("voice")
        row.voice = None if voice in (None, "") else ("none" if str(voice).lower() == "none" else path_of("voice"))
        row.lang = str(raw.get("lang") or "auto")
        row.tts_voice = None if raw.get("tts_voice") in (None, "") else str(raw["tts_voice"])
        if raw.get("out"):
            out = str(raw["out"])
            if "/" in out or "\\" in out or out.startswith("."):
                raise OutputError(f"out {out!r} must be a plain file name (written inside the output folder)")
            row.out = out if out.lower().endswith(".mp4") else out + ".mp4"
        row.options = {k: raw[k] for k in OPTION_KEYS if k in raw}
        if row.options.get("checkpoint") not in (None, ""):
            row.options["checkpoint"] = path_of("checkpoint")
        options_from(row.options)  # fail now, not in a worker
    except TwintakeError as e:
        row.error = str(e)
    except (TypeError, ValueError) as e:
        row.error = f"bad value: {e}"
    return row


def _bool(v) -> bool:
    return v if isinstance(v, bool) else str(v).strip().lower() in ("1", "true", "yes", "on")


def options_from(opts: dict):
    """``say`` options (as in a row or an API request) -> ``(LipsyncOptions, max_chars)``.

    Raises:
        MediaError/BackendError: a bad value (one line that names the option).
    """
    from ..options import LipsyncOptions

    unknown = sorted(set(opts) - set(OPTION_KEYS))
    if unknown:
        raise MediaError(f"unknown option(s) {', '.join(unknown)}; options: {', '.join(OPTION_KEYS)}")
    size = opts.get("size")
    if size not in (None, ""):
        if isinstance(size, (list, tuple)) and len(size) == 2:
            size = f"{int(size[0])}x{int(size[1])}"
        w, sep, h = str(size).lower().partition("x")
        if not sep or not w.isdigit() or not h.isdigit() or not (16 <= int(w) <= 8192 and 16 <= int(h) <= 8192):
            raise MediaError(f"size {size!r} is not WIDTHxHEIGHT in pixels (16..8192), e.g. 512x512")
        size = (int(w), int(h))
    else:
        size = None
    try:
        crf = int(opts.get("crf", 18))
        if not 0 <= crf <= 51:
            raise ValueError("crf must be 0..51")
        o = LipsyncOptions(face_index=int(opts.get("face_index", 0)),
                           fps=None if opts.get("fps") in (None, "") else float(opts["fps"]), size=size, crf=crf,
                           preset=str(opts.get("preset", "veryfast")),
                           max_duration_s=float(opts.get("max_duration", 30.0)) * 60,
                           use_cache=not _bool(opts.get("no_cache", False)),
                           enhance=None if opts.get("enhance") in (None, "") else str(opts["enhance"]),
                           seed=int(opts.get("seed", 0)),
                           lipsync_backend=None if opts.get("lipsync_backend") in (None, "")
                           else str(opts["lipsync_backend"]),
                           lipsync_checkpoint=None if opts.get("checkpoint") in (None, "") else str(opts["checkpoint"]),
                           device=None if opts.get("device") in (None, "") else str(opts["device"]))
        max_chars = int(opts.get("max_chars", 20000))
    except (TypeError, ValueError) as e:
        raise MediaError(f"bad option value: {e}") from None
    return o, max_chars


def _input_digest(value: str | None) -> str | None:
    """Content hash of an input path (a file, or an avatar folder's manifest); None stays None."""
    if value is None or value == "none":
        return value
    p = Path(value)
    if p.is_dir():
        return "avatar:" + file_hash(p / "avatar.json") if (p / "avatar.json").is_file() else "dir:" + str(p)
    if not p.is_file():
        raise MediaError(f"{p} does not exist")
    return file_hash(p)


def inputs_hash(row: JobRow) -> str:
    """BLAKE2b over the content of the row's input files, its text and its options."""
    key = {"source": _input_digest(row.source), "audio": _input_digest(row.audio), "voice": _input_digest(row.voice),
           "text": row.text, "lang": row.lang, "tts_voice": row.tts_voice,
           "options": {k: str(v) for k, v in sorted(row.options.items())}}
    return hashlib.blake2b(json.dumps(key, sort_keys=True).encode(), digest_size=16).hexdigest()


def sidecar_path(out: Path) -> Path:
    return out.with_name(out.name + SIDECAR)


def output_is_current(out: Path, digest: str) -> bool:
    """True when ``out`` exists and its sidecar records ``digest``."""
    side = sidecar_path(out)
    if not (out.is_file() and side.is_file()):
        return False
    try:
        return json.loads(side.read_text()).get("inputs_hash") == digest
    except (OSError, json.JSONDecodeError):
        return False


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_sidecar(out: Path, digest: str, row: JobRow, seconds: float) -> None:
    info = {"inputs_hash": digest, "row": row.as_dict(), "seconds": round(seconds, 3)}
    write_atomic(sidecar_path(out), json.dumps(info, indent=1).encode())


def run_row(row: JobRow, out: Path, *, hook: ProgressHook | None = None,
            cancel: threading.Event | None = None, speech_wav: Path | None = None) -> dict:
    """Render one row to ``out`` (atomically) with :func:`twintake.job.make_video`.

    Args:
        speech_wav: also write the video's speech here (WAV).
    Returns:
        ``{"duration_s", "frames", "fps", "width", "height", "no_face_ranges", "seconds", "notes"}``.
    Raises:
        TwintakeError: the job failed (one-line message); Cancelled.
    """
    from ..job import make_video

    if row.error:
        raise MediaError(row.error)
    opts, max_chars = options_from(row.options)
    t0 = time.monotonic()
    res = make_video(row.source, row.text, audio=row.audio, out=out, voice=row.voice, lang=row.lang,
                     tts_voice=row.tts_voice, max_chars=max_chars, options=opts, hook=hook, cancel=cancel)
    if speech_wav is not None:
        from ..media import write_wav

        write_wav(speech_wav, res.speech.samples, res.speech.sample_rate_hz)
    r = res.render
    return {"duration_s": r.duration_s, "frames": r.frames, "fps": r.fps, "width": r.width, "height": r.height,
            "no_face_ranges": len(r.frames_without_face), "seconds": time.monotonic() - t0, "notes": list(res.notes)}
