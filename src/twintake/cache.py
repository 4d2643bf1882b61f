"""On-disk cache: ``$XDG_CACHE_HOME/twintake`` (default ``~/.cache/twintake``).

Entries are keyed by a content hash of the input file plus a format version, so a changed file
never hits a stale entry. Everything here is safe to delete. ``TWINTAKE_CACHE`` overrides the
location; ``TWINTAKE_NO_CACHE=1`` disables reading and writing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path


def cache_root() -> Path:
    """The cache folder (not created)."""
    env = os.environ.get("TWINTAKE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "twintake"


def cache_enabled() -> bool:
    return os.environ.get("TWINTAKE_NO_CACHE", "") not in ("1", "true", "yes")


def file_hash(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    """BLAKE2b-128 hex digest of a file's content (streamed, constant memory)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            h.update(chunk)
    return h.hexdigest()


@contextmanager
def atomic_dir(target: Path):
    """Yield a temp folder beside ``target``; on success rename it onto ``target``.

    On any exception the temp folder is removed and ``target`` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; give it a normal folder's mode
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
