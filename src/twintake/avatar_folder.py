"""The avatar folder: a person prepared once (face track, mouth model, mouth bank, voice), reused
for any number of new texts or speech files. This module writes (:meth:`AvatarFolder.prepare`)
and reads (:meth:`AvatarFolder.load`) the folder; :class:`twintake.Avatar` adds ``say``.

An avatar folder holds::

    avatar.json   manifest: format version, kind, source name and content hash, fps, size,
                  duration, frames, face index, voice, created-by version and time
    source.<ext>  a copy of the source video (the renderer takes base frames from it)
    data.npz      face track, alignment, mouth descriptors, head pose, mouth model, viseme shapes
    bank.npy      face-aligned lower-face crops of every frame (memory-mapped when rendering)
    voice.npz     the voice profile (when a usable voice reference was given or found)

``avatar.json`` may hold ``"defaults"``: render settings (``enhance``, ``enhancer_model``,
``fps``, ``lipsync_backend``, ``lipsync_checkpoint``, ``device``) that ``say`` uses when the call
does not set them; and a neural voice default (``prepare --voice-backend xtts --voice-checkpoint
DIR``): ``voice_backend``, ``voice_checkpoint`` (the folder, absolute) and ``voice_clip`` (the clip
XTTS clones, a file in the avatar folder: the ``--voice`` clip copied as ``voice_clip.<ext>``, or
the source video itself), which :func:`twintake.job.make_video` uses when the call names no voice
backend.

Folders are written to a temp folder beside the target and renamed when complete.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._version import __version__
from .cache import atomic_dir, file_hash
from .errors import AvatarError, BackendError, MediaError, VoiceError
from .hooks import Progress, ProgressHook
from .media import probe
from .options import LipsyncOptions
from .prepare import FORMAT_VERSION as PREPARED_FORMAT
from .prepare import PreparedVideo, load_prepared, prepare_video
from .types import is_builtin_voice

#: Bump when the avatar folder's layout or meaning changes.
AVATAR_FORMAT = 1
MANIFEST = "avatar.json"


#: Render settings an avatar may store as its defaults (fields of :class:`LipsyncOptions`).
DEFAULT_KEYS = ("enhance", "enhancer_model", "fps", "lipsync_backend", "lipsync_checkpoint", "device")


def check_defaults(defaults: dict | None) -> dict:
    """Validate an avatar's default render settings; drop the unset (None) ones.

    Raises:
        AvatarError: an unknown key or a non-numeric fps.
        BackendError: an unknown ``enhance`` or a missing ``enhancer_model`` file.
    """
    d = {k: v for k, v in (defaults or {}).items() if v is not None}
    unknown = sorted(set(d) - set(DEFAULT_KEYS))
    if unknown:
        raise AvatarError(f"unknown avatar default(s) {', '.join(unknown)}: use {', '.join(DEFAULT_KEYS)}")
    for key in ("enhancer_model", "lipsync_checkpoint"):
        if key in d:
            d[key] = str(Path(d[key]).resolve())
    if "fps" in d:
        try:
            d["fps"] = float(d["fps"])
        except (TypeError, ValueError):
            raise AvatarError(f"avatar default fps {d['fps']!r} is not a number") from None
    o = LipsyncOptions(**d)  # raises BackendError for a bad enhance / enhancer_model / lip-sync backend
    if o.lipsync_checkpoint is not None:  # a wrong checkpoint fails before the preparation starts
        from .render.neural import make_lipsync

        make_lipsync(o.lipsync_backend, o.lipsync_checkpoint, o.device)
    return d


def check_voice_default(voice_backend: str | None, voice_checkpoint: str | Path | None,
                        voice: str | Path | None) -> tuple[dict, str | None]:
    """Check a neural voice default for ``prepare`` and load its checkpoint (cached for ``say``),
    before any work.

    Returns:
        ``({"voice_backend": ..., "voice_checkpoint": absolute folder}, licence notice on first
        use)``; ``({}, None)`` for the default voice (None or ``"kokoro"`` without a checkpoint).
    Raises:
        BackendError: an unknown backend; ``xtts`` without a checkpoint or a checkpoint without
            ``xtts``; ``--voice none`` (XTTS clones a clip); the checkpoint folder or the extra
            (see :func:`twintake.speech.tts.xtts.load_xtts`). VoiceError: a ``voice`` clip XTTS
            cannot use.
    """
    if voice_backend in (None, "kokoro"):
        if voice_checkpoint is not None:
            raise BackendError("--voice-checkpoint is for --voice-backend xtts: add --voice-backend xtts, or drop it")
        return {}, None
    if voice_backend != "xtts":
        raise BackendError(f"unknown --voice-backend {voice_backend!r}: choose kokoro (default) or xtts")
    if voice_checkpoint is None:
        raise BackendError("--voice-backend xtts needs --voice-checkpoint DIR: the XTTS-v2 folder (config.json, "
                           "model.pth, vocab.json); twintake downloads no weights")
    if is_builtin_voice(voice):
        raise BackendError("--voice none with --voice-backend xtts: XTTS clones the person's clip; give --voice CLIP "
                           "or leave --voice out (a video's own audio)")
    from .licences import first_use_notice
    from .speech.tts.xtts import load_xtts

    folder = str(Path(voice_checkpoint).resolve())
    load_xtts(folder, "cpu")  # a bad folder or checkpoint is one line here, before the preparation
    if voice is not None:
        from .speech.tts.xtts import _reference_audio

        _reference_audio(voice)  # VoiceError: a clip XTTS cannot clone (unreadable, under 3 s audible)
    return {"voice_backend": "xtts", "voice_checkpoint": folder}, first_use_notice("xtts")


def _voice_keys(neural: dict, clip: str | Path | None, source_file: str, tmp: Path) -> dict:
    """The manifest's neural voice keys; ``clip`` (the ``--voice`` file) is copied into ``tmp``."""
    if not neural:
        return {}
    name = source_file
    if clip is not None:
        name = f"voice_clip{Path(clip).suffix.lower() or '.wav'}"
        shutil.copyfile(clip, tmp / name)
    return {**neural, "voice_clip": name}


def _no_profile(error: Exception, voice, neural: dict) -> str:
    if neural:  # XTTS clones the clip itself; only `say --voice-backend kokoro` would miss the profile
        return (f"no voice profile for the default voice ({error}); the avatar's voice is XTTS-v2 cloning "
                "the clip, which needs only 3 s")
    return f"no voice profile: the video's own audio cannot be cloned ({error})"


def is_avatar(path: str | Path) -> bool:
    """True when ``path`` is a folder with an avatar manifest."""
    return (Path(path) / MANIFEST).is_file()


@dataclass
class AvatarFolder:
    """A prepared person's folder. Make one with :meth:`prepare`, open one with :meth:`load`.

    Attributes:
        path: the avatar folder.
        manifest: the parsed ``avatar.json``.
        prepared: the renderer's data (track, mouth model, memory-mapped bank...); None for a
            photo avatar (a photo is animated directly).
        voice: the voice profile, or None to keep the built-in TTS voice.
    """

    path: Path
    manifest: dict
    prepared: PreparedVideo | None
    voice: object | None = None
    load_time_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @classmethod
    def prepare(cls, source: str | Path, out: str | Path, *, voice: str | Path | None = None,
                face_index: int = 0, force: bool = False, defaults: dict | None = None,
                voice_backend: str | None = None, voice_checkpoint: str | Path | None = None,
                hook: ProgressHook | None = None,
                cancel: threading.Event | None = None) -> "AvatarFolder":
        """Prepare an avatar folder from a talking video.

        Args:
            source: the talking video.
            out: the avatar folder to create (e.g. ``avatars/anna``).
            voice: voice reference (audio or video); None = the video's own audio when it has
                >= 5 s of usable speech, else no voice profile (the built-in voice is used);
                ``"none"`` = never clone.
            face_index: which face when several are visible (0 = largest).
            force: replace an existing folder.
            defaults: render settings ``say`` uses unless told otherwise: ``enhance``,
                ``enhancer_model``, ``fps`` (see :class:`LipsyncOptions`).
            voice_backend, voice_checkpoint: ``"xtts"`` and an XTTS-v2 folder: ``say`` speaks
                with XTTS-v2 cloning ``voice`` (or the video's own audio) unless told otherwise
                (:func:`check_voice_default`; the checkpoint is loaded before any work).
            hook, cancel: progress hook and cancel event.
        Returns:
            The loaded avatar (of the class this is called on).
        Raises:
            AvatarError: ``out`` exists (without ``force``), or its parent folder cannot be
                created (missing parents are created).
            MediaError, NoFaceError, VoiceError (only for an explicit ``voice``), BackendError.
        """
        source, out = Path(source), Path(out)
        if (out.exists() and not force):
            raise AvatarError(f"{out} already exists: choose another name or use --force to replace it")
        try:  # like `mkdir -p`: `prepare video -o avatars/anna` works in a fresh folder
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AvatarError(f"cannot create {out}: {e.strerror or e} (choose a writable folder)") from e
        defaults = check_defaults(defaults)
        neural, notice = check_voice_default(voice_backend, voice_checkpoint, voice)
        progress = Progress(hook, cancel)
        info = probe(source)
        if info.is_image:
            if neural and voice is None:
                raise BackendError(f"{source.name} is a photo: --voice-backend xtts needs the person's clip "
                                   "(--voice CLIP) to clone")
            avatar = cls._prepare_photo(source, out, voice=voice, face_index=face_index, progress=progress,
                                        defaults=defaults, neural=neural)
            avatar.notes = ([notice] if notice else []) + avatar.notes
            return avatar
        t0 = time.perf_counter()
        prep = prepare_video(source, face_index=face_index, progress=progress)
        notes: list[str] = []
        profile = None
        if not is_builtin_voice(voice):
            from .speech.voice import load_voice_profile

            try:
                profile = load_voice_profile(voice if voice is not None else source, hook=progress)
            except (VoiceError, MediaError) as e:
                if voice is not None and not neural:
                    raise
                notes.append(_no_profile(e, voice, neural))
        progress("voice", 1, 1)
        cache_dir = Path(prep.bank.filename).parent
        with atomic_dir(out) as tmp:
            shutil.copyfile(source, tmp / f"source{source.suffix.lower() or '.mp4'}")
            for name in ("data.npz", "bank.npy", "meta.json"):
                shutil.copyfile(cache_dir / name, tmp / name)
            if profile is not None:
                profile.save(tmp / "voice.npz")
            manifest = {
                "format_version": AVATAR_FORMAT,
                "prepared_format": PREPARED_FORMAT,
                "kind": "video",
                "source": str(source.resolve()),
                "source_file": f"source{source.suffix.lower() or '.mp4'}",
                "source_hash": file_hash(source),
                "fps": prep.fps,
                "width": prep.track.width,
                "height": prep.track.height,
                "frames": len(prep.track),
                "duration_s": len(prep.track) / prep.fps,
                "face_index": face_index,
                "voice": "voice.npz" if profile is not None else None,
                "languages": [],
                "created_by": f"twintake {__version__}",
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "prepare_time_s": round(time.perf_counter() - t0, 3),
                "notes": notes,
                "defaults": defaults,
                **_voice_keys(neural, voice, f"source{source.suffix.lower() or '.mp4'}", tmp),
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        avatar = cls.load(out)
        avatar.notes = ([notice] if notice else []) + notes
        return avatar

    @classmethod
    def _prepare_photo(cls, source: Path, out: Path, *, voice, face_index: int, progress: Progress,
                       defaults: dict | None = None, neural: dict | None = None) -> "AvatarFolder":
        """A photo avatar: the checked photo (a face must be found) and an optional voice."""
        from .render.photo.face import find_photo_face, load_photo

        t0 = time.perf_counter()
        image = load_photo(source)
        find_photo_face(image, source, face_index=face_index)  # raises NoFaceError with advice
        progress("face", 1, 1)
        profile, notes = None, []
        if voice is not None and not is_builtin_voice(voice):
            from .speech.voice import load_voice_profile

            try:
                profile = load_voice_profile(voice, hook=progress)
            except (VoiceError, MediaError) as e:
                if not neural:
                    raise
                notes.append(_no_profile(e, voice, neural))
        name = f"source{source.suffix.lower() or '.png'}"
        with atomic_dir(out) as tmp:
            shutil.copyfile(source, tmp / name)
            if profile is not None:
                profile.save(tmp / "voice.npz")
            manifest = {
                "format_version": AVATAR_FORMAT, "prepared_format": PREPARED_FORMAT, "kind": "photo",
                "source": str(source.resolve()), "source_file": name, "source_hash": file_hash(source),
                "fps": 25.0, "width": int(image.shape[1]), "height": int(image.shape[0]), "frames": 1,
                "duration_s": 0.0, "face_index": face_index,
                "voice": "voice.npz" if profile is not None else None, "languages": [],
                "created_by": f"twintake {__version__}", "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "prepare_time_s": round(time.perf_counter() - t0, 3), "notes": notes, "defaults": defaults or {},
                **_voice_keys(neural or {}, voice, name, tmp),
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        avatar = cls.load(out)
        avatar.notes = notes
        return avatar

    @property
    def kind(self) -> str:
        """``"video"`` or ``"photo"``."""
        return str(self.manifest.get("kind", "video"))

    @classmethod
    def load(cls, path: str | Path, *, check_source: bool = True) -> "AvatarFolder":
        """Open an avatar folder (fast: the bank is memory-mapped, nothing is recomputed).

        Raises:
            AvatarError: not an avatar folder, half-written, made by an incompatible version of
                twintake, or its source copy is missing or changed. The message says to re-run
                ``twintake prepare ... --force``.
        """
        t0 = time.perf_counter()
        path = Path(path)
        redo = f"re-create it with: twintake prepare SOURCE -o {path} --force"
        if not path.is_dir():
            raise AvatarError(f"{path} is not an avatar folder (no such folder)")
        mf = path / MANIFEST
        if not mf.is_file():
            raise AvatarError(f"{path} is not an avatar folder or was not completely written "
                              f"(no {MANIFEST}); {redo}")
        try:
            manifest = json.loads(mf.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise AvatarError(f"{mf} is corrupt ({e}); {redo}") from None
        version = manifest.get("format_version")
        if version != AVATAR_FORMAT or manifest.get("prepared_format") != PREPARED_FORMAT:
            which = "an older" if isinstance(version, int) and version < AVATAR_FORMAT else "a different"
            raise AvatarError(f"{path} was made by {which} version of twintake "
                              f"({manifest.get('created_by', 'unknown')}, format {version}; this one "
                              f"reads format {AVATAR_FORMAT}); {redo}")
        src = path / str(manifest.get("source_file", ""))
        needed = () if manifest.get("kind") == "photo" else ("data.npz", "bank.npy", "meta.json")
        missing = [n for n in needed if not (path / n).is_file()]
        if not src.is_file():
            missing.append(src.name or "source")
        if missing:
            raise AvatarError(f"{path} is incomplete (missing {', '.join(missing)}); {redo}")
        if check_source and src.stat().st_size and _source_changed(src, manifest):
            raise AvatarError(f"the source copy in {path} was changed since the avatar was made; {redo}")
        prep = None
        if manifest.get("kind") != "photo":
            try:
                prep = load_prepared(path, src, probe(src))
            except (OSError, KeyError, ValueError) as e:
                raise AvatarError(f"{path} is damaged ({e}); {redo}") from None
            prep.cache_hits = ["track", "bank"]
        voice = None
        if manifest.get("voice"):
            from .speech.voice import VoiceProfile

            try:
                voice = VoiceProfile.load(path / manifest["voice"])
            except Exception as e:  # noqa: BLE001 - any unreadable profile is the same problem
                raise AvatarError(f"the voice profile in {path} is damaged ({e}); {redo}") from None
        return cls(path=path, manifest=manifest, prepared=prep, voice=voice,
                   load_time_s=time.perf_counter() - t0)

    def options(self, options: LipsyncOptions | None = None) -> LipsyncOptions:
        """``options`` (default: :class:`LipsyncOptions`) with this avatar's stored defaults filled
        in where they are unset (None).

        Raises:
            BackendError: a stored ``enhancer_model`` no longer exists.
        """
        import dataclasses

        o = options or LipsyncOptions()
        stored = self.manifest.get("defaults") or {}
        fill = {k: stored[k] for k in DEFAULT_KEYS if stored.get(k) is not None and getattr(o, k) is None}
        if o.enhance == "none":
            fill.pop("enhancer_model", None)  # enhancement switched off for this call
        if o.lipsync_backend == "twintake":  # the call chose the built-in lip-sync
            fill.pop("lipsync_checkpoint", None)
            fill.pop("device", None)
        return dataclasses.replace(o, **fill) if fill else o


def _source_changed(src: Path, manifest: dict) -> bool:
    return file_hash(src) != manifest.get("source_hash")


def list_avatars(folder: str | Path) -> list[dict]:
    """Avatars directly inside ``folder``: name, kind, duration, size, voice, created_by, and the
    source copy's file name and hash and the fps (from each ``avatar.json``)."""
    rows = []
    for p in sorted(Path(folder).iterdir()) if Path(folder).is_dir() else []:
        mf = p / MANIFEST
        if not mf.is_file():
            continue
        try:
            m = json.loads(mf.read_text())
        except (OSError, json.JSONDecodeError):
            rows.append({"name": p.name, "kind": "damaged", "duration_s": 0.0, "size": "", "voice": False,
                         "created_by": ""})
            continue
        rows.append({"name": p.name, "kind": m.get("kind", "?"), "duration_s": float(m.get("duration_s", 0.0)),
                     "size": f"{m.get('width')}x{m.get('height')}", "voice": bool(m.get("voice")),
                     "created_by": m.get("created_by", ""), "source_file": m.get("source_file", ""),
                     "source_hash": m.get("source_hash", ""), "fps": m.get("fps")})
    return rows
