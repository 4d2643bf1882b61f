"""Who may read which file of the web page's upload cache, and when each file is deleted.

Every file the page stores (a visitor's uploads, the previews and results made for them) lives in
the UI framework's upload cache and is registered here with its owner: the visitor (a random
cookie id) and, once known, the browser session (one page visit). The guard
(:mod:`twintake.web.guard`) serves a cached file only to its owner; a file registered by nobody
is never served. A file is deleted when its visit ends (the page is closed), when its visitor has
no open page left, or ``ttl_s`` after it was stored, whichever comes first. Files of the gallery
(avatar thumbnails) are public to every logged-in visitor.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FileRegistry", "MEDIA_SUFFIXES"]

log = logging.getLogger(__name__)

#: Suffixes accepted at upload (videos, photos, audio). Anything else is deleted at once.
MEDIA_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".jpg", ".jpeg", ".png", ".webp",
                            ".bmp", ".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus", ".aac"})


@dataclass
class _Entry:
    owners: dict[str, set[str]] = field(default_factory=dict)  # visitor -> sessions ("" = not yet known)
    public: bool = False
    stored_at: float = field(default_factory=time.monotonic)


class FileRegistry:
    """Ownership and lifetime of the files under ``cache_dir``.

    Args:
        cache_dir: the UI framework's upload cache (every file the page serves is under it).
        ttl_s: a visitor's file is deleted this long after it was stored, s.
    """

    def __init__(self, cache_dir: Path, ttl_s: float = 3600.0) -> None:
        self.cache_dir = Path(cache_dir).resolve()
        self.ttl_s = float(ttl_s)
        self._files: dict[Path, _Entry] = {}
        self._sessions: dict[str, set[str]] = {}  # visitor -> open sessions
        self._lock = threading.Lock()

    # ------------------------------------------------------------- registering

    def _key(self, path) -> Path | None:
        try:
            p = Path(path).resolve()
        except (OSError, RuntimeError, ValueError):
            return None
        return p if self.cache_dir in p.parents else None

    def add(self, path, visitor: str, session: str = "") -> bool:
        """Register ``path`` (in the cache) as the visitor's; False when it is outside the cache."""
        key = self._key(path)
        if key is None or not visitor:
            return False
        with self._lock:
            entry = self._files.setdefault(key, _Entry())
            entry.owners.setdefault(visitor, set()).add(session)
            entry.stored_at = time.monotonic()
        return True

    def add_public(self, path) -> bool:
        key = self._key(path)
        if key is None:
            return False
        with self._lock:
            self._files.setdefault(key, _Entry()).public = True
        return True

    def publish(self, path, visitor: str, session: str = "") -> str:
        """Copy a file the server made (a result, a preview) into the cache for ``visitor``;
        returns the cached path (served to that visitor only)."""
        from gradio.processing_utils import save_file_to_cache

        cached = save_file_to_cache(path, str(self.cache_dir))
        self.add(cached, visitor, session)
        return cached

    def publish_public(self, path) -> str:
        from gradio.processing_utils import save_file_to_cache

        cached = save_file_to_cache(path, str(self.cache_dir))
        self.add_public(cached)
        return cached

    # ------------------------------------------------------------- checking

    def owns(self, path, visitor: str) -> bool:
        key = self._key(path)
        with self._lock:
            entry = self._files.get(key) if key is not None else None
            return entry is not None and visitor in entry.owners and key.is_file()

    def may_read(self, path, visitor: str | None) -> int:
        """HTTP status for a request of ``path`` by ``visitor``: 200, 403 (someone else's) or 404."""
        key = self._key(path)
        if key is None:
            return 404
        with self._lock:
            entry = self._files.get(key)
            if entry is None or not key.is_file():
                return 404
            if entry.public or (visitor and visitor in entry.owners):
                return 200
            return 403

    # ------------------------------------------------------------- sessions and deletion

    def session_started(self, visitor: str, session: str) -> None:
        with self._lock:
            self._sessions.setdefault(visitor, set()).add(session)

    def session_ended(self, visitor: str, session: str) -> int:
        """Delete the files of this visit (and all of the visitor's when no page of theirs is
        open any more); returns how many files were deleted."""
        with self._lock:
            left = self._sessions.get(visitor, set())
            left.discard(session)
            if not left:
                self._sessions.pop(visitor, None)
            doomed = []
            for key, entry in self._files.items():
                sessions = entry.owners.get(visitor)
                if sessions is None:
                    continue
                sessions.discard(session)
                if not left or not sessions:  # only this visit had it, or the visitor is gone
                    entry.owners.pop(visitor, None)
                if not entry.owners and not entry.public:
                    doomed.append(key)
            for key in doomed:
                self._files.pop(key, None)
        return self._delete(doomed) + self._delete(self._root_strays())

    def _root_strays(self, min_age_s: float = 10.0) -> list[Path]:
        """Files right in the cache folder (the framework's temp files of uploads, left behind
        by an interrupted upload) untouched for ``min_age_s``; a finished upload lives in a
        sub-folder."""
        wall = time.time()
        out = []
        for p in self.cache_dir.iterdir():
            try:
                if p.is_file() and wall - p.stat().st_mtime > min_age_s:
                    out.append(p)
            except OSError:
                continue
        return out

    def sweep(self) -> int:
        """Delete visitors' files older than ``ttl_s`` and unregistered cache files older than
        that; returns how many files were deleted."""
        now = time.monotonic()
        with self._lock:
            doomed = [k for k, e in self._files.items() if not e.public and now - e.stored_at > self.ttl_s]
            for key in doomed:
                self._files.pop(key, None)
            known = set(self._files)
        wall = time.time()
        strays = []
        for p in self.cache_dir.rglob("*"):
            try:
                if p.is_file() and p.resolve() not in known and wall - p.stat().st_mtime > self.ttl_s:
                    strays.append(p.resolve())
            except OSError:
                continue
        return self._delete(doomed + strays) + self._delete(self._root_strays())

    def cached_files(self) -> list[Path]:
        """Every file now in the cache (for tests and the operator)."""
        return sorted(p for p in self.cache_dir.rglob("*") if p.is_file())

    def _delete(self, paths: list[Path]) -> int:
        n = 0
        for p in paths:
            try:
                p.unlink()
                n += 1
            except FileNotFoundError:
                pass
            except OSError as e:
                log.warning("could not delete %s: %s", p.name, e)
            parent = p.parent
            if parent != self.cache_dir and self.cache_dir in parent.parents:
                try:
                    if not any(parent.iterdir()):
                        shutil.rmtree(parent, ignore_errors=True)
                except OSError:
                    pass
        return n
