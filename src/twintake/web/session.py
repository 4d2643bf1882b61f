"""The web app's logic that is not UI: job folders, upload checks, the avatar gallery, and a
progress tracker that turns library hook calls into "stage · n/m · about 12 s left".

Everything the page does goes through :func:`twintake.job.make_video` and
:class:`twintake.Avatar`; this module only adapts files and progress for the browser.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import MediaError, TwintakeError

__all__ = ["VIDEO_TYPES", "IMAGE_TYPES", "AUDIO_TYPES", "STAGES", "StageTracker", "JobFolders",
           "GalleryItem", "gallery_items", "check_upload", "avatar_name", "preview_image"]

VIDEO_TYPES = (".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi")
IMAGE_TYPES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
AUDIO_TYPES = (".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus", ".aac") + VIDEO_TYPES

#: Library hook stages -> (page stage, weight in the overall bar). The page shows five stages:
#: tracking, speech, voice, rendering, encoding.
STAGES: dict[str, tuple[str, float]] = {
    "tts": ("speech", 0.15), "speech": ("speech", 0.02), "voice": ("voice", 0.10),
    "face": ("tracking", 0.05), "track": ("tracking", 0.20), "bank": ("tracking", 0.05),
    "motion": ("rendering", 0.01), "render": ("rendering", 0.40), "enhance": ("rendering", 0.0),
    "encode": ("encoding", 0.02),
}


#: What a stage counts, shown after "n/m".
_UNITS = {"tts": " sentences", "voice": " sentences", "track": " frames", "render": " frames",
          "motion": " frames", "speech": " frames", "face": "", "bank": "", "generate": " images"}


class StageTracker:
    """Turns hook calls ``(stage, completed, total)`` into an overall fraction and a label.

    The time left is estimated from the current stage's own rate (items per second since the
    stage started), so it adapts to the machine; it is None until two updates were seen.
    """

    def __init__(self, clock=time.monotonic, stages: dict[str, tuple[str, float]] | None = None) -> None:
        self._clock = clock
        self._stages = STAGES if stages is None else stages  # library stage -> (page stage, weight)
        self._done: dict[str, float] = {}  # finished library stages -> weight
        self._start: dict[str, float] = {}
        self.label = "starting"
        self.fraction = 0.0
        self.eta_s: float | None = None

    def update(self, stage: str, completed: int, total: int | None) -> tuple[float, str]:
        """Record one hook call; returns ``(fraction 0..1, label)``."""
        now = self._clock()
        page_stage, weight = self._stages.get(stage, (stage, 0.05))
        self._start.setdefault(stage, now)
        part = 0.0 if not total else min(1.0, completed / total)
        if total and completed >= total:
            self._done[stage] = weight
        self.eta_s = None
        if total and 0 < completed < total:
            elapsed = now - self._start[stage]
            if elapsed > 0.5:
                self.eta_s = elapsed / completed * (total - completed)
        weights = sum(w for _, w in self._stages.values()) or 1.0
        done = sum(w for s, w in self._done.items() if s != stage)
        self.fraction = min(0.99, (done + weight * part) / weights)
        unit = _UNITS.get(stage, "")
        count = f" {completed}/{total}{unit}" if total and total > 1 else ""
        left = f" · about {_duration(self.eta_s)} left" if self.eta_s is not None else ""
        self.label = f"{page_stage}{count}{left}"
        return self.fraction, self.label


def _duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


@dataclass
class JobFolders:
    """Per-session temp folders under one root; each is deleted when its session ends and the
    root when the app stops. Only paths made here (or inside the upload root) are ever opened."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="twintake-web-")))

    def for_session(self, session: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_-]", "", session)[:64] or "anonymous"
        p = self.root / "sessions" / safe
        p.mkdir(parents=True, exist_ok=True)
        return p

    def new_job(self, session: str) -> Path:
        return Path(tempfile.mkdtemp(prefix="job-", dir=self.for_session(session)))

    def end_session(self, session: str) -> None:
        shutil.rmtree(self.for_session(session), ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def check_upload(path: str | Path | None, kinds: tuple[str, ...], what: str, upload_root: Path,
                 max_mb: float) -> Path | None:
    """Validate a file the browser uploaded.

    Args:
        path: the server-side path the UI framework stored the upload at (None = nothing).
        kinds: allowed suffixes (lower case, with the dot).
        what: what the file should be, for the message ("a video or a photo").
        upload_root: the only folder uploads may come from (a path outside it is refused, so a
            client can never make the server open an arbitrary file).
        max_mb: size limit in MiB.
    Returns:
        The path, or None when ``path`` is None.
    Raises:
        MediaError: outside the upload folder, wrong type, empty, or too large.
    """
    if path is None or str(path) == "":
        return None
    p = Path(path).resolve()
    root = Path(upload_root).resolve()
    if root not in p.parents:
        raise MediaError("that file did not come from an upload; upload it again")
    if p.suffix.lower() not in kinds:
        raise MediaError(f"{p.name} is not {what}: use one of {', '.join(kinds)}")
    if not p.is_file() or p.stat().st_size == 0:
        raise MediaError(f"{p.name} is empty or was not completely uploaded; upload it again")
    size_mb = p.stat().st_size / 2**20
    if size_mb > max_mb:
        raise MediaError(f"{p.name} is {size_mb:.0f} MB, over the {max_mb:g} MB upload limit")
    return p


def avatar_name(name: str) -> str:
    """A safe avatar folder name from what the user typed.

    Raises:
        MediaError: nothing usable in ``name``.
    """
    clean = re.sub(r"[^\w-]+", "-", name.strip(), flags=re.UNICODE).strip("-.")[:60]
    if not clean:
        raise MediaError("give the avatar a name made of letters, digits, - or _")
    return clean


@dataclass
class GalleryItem:
    """One avatar in the page's gallery."""

    name: str
    kind: str
    caption: str
    thumbnail: Path


def gallery_items(avatars_dir: Path, thumbs_dir: Path) -> list[GalleryItem]:
    """The usable avatars in ``avatars_dir`` with a thumbnail each (made once, into
    ``thumbs_dir``; the avatar folders are never written)."""
    from ..avatar import list_avatars

    items = []
    for row in list_avatars(avatars_dir):
        if row["kind"] not in ("video", "photo"):
            continue
        folder = avatars_dir / row["name"]
        try:
            thumb = _thumbnail(folder, row, thumbs_dir)
        except (TwintakeError, OSError, ValueError):
            continue
        what = f"video {row['duration_s']:.0f} s" if row["kind"] == "video" else "photo"
        items.append(GalleryItem(row["name"], row["kind"], f"{row['name']} · {what}", thumb))
    return items


def _thumbnail(folder: Path, row: dict, thumbs_dir: Path, size: int = 256) -> Path:
    """A JPEG thumbnail of the avatar's first frame; ``row`` is its :func:`list_avatars` row."""
    import cv2

    src = folder / row["source_file"]
    out = thumbs_dir / f"{folder.name}-{row['source_hash'][:12]}.jpg"
    if out.is_file():
        return out
    if row["kind"] == "photo":
        from ..render.photo import load_photo

        image = load_photo(src)
    else:
        from ..media import iter_frames

        image = None
        for frame in iter_frames(src):
            image = frame.image
            break
        if image is None:
            raise MediaError(f"{src} has no frames")
    h, w = image.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    thumbs_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.jpg")
    cv2.imwrite(str(tmp), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    tmp.replace(out)
    return out


def preview_image(source: Path, out_dir: Path) -> Path:
    """A JPEG of a video's first frame (at most 512 px), written into ``out_dir``."""
    import cv2

    from ..media import iter_frames

    image = None
    for frame in iter_frames(source):
        image = frame.image
        break
    if image is None:
        raise MediaError(f"{Path(source).name} has no frames")
    h, w = image.shape[:2]
    scale = min(1.0, 512 / max(h, w))
    small = cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"preview-{Path(source).stem[:40]}.jpg"
    tmp = out.with_suffix(".tmp.jpg")
    cv2.imwrite(str(tmp), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    tmp.replace(out)
    return out
