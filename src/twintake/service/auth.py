"""API keys and per-key limits of ``twintake serve``.

Keys come from ``TWINTAKE_API_KEYS`` (comma-separated, in clear) and/or an ``--api-keys`` file
of ``sha256:HEX`` lines (made by ``twintake serve --hash-key KEY``), so the file holds no key in
clear. A key is known by its SHA-256; it owns the jobs and avatars it creates.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import BackendError

__all__ = ["hash_key", "load_keys", "Limits", "ENV_KEYS"]

ENV_KEYS = "TWINTAKE_API_KEYS"
_LINE = re.compile(r"^sha256:([0-9a-f]{64})$")


def hash_key(key: str) -> str:
    """``"sha256:<hex>"`` of an API key (what an ``--api-keys`` file holds)."""
    return "sha256:" + hashlib.sha256(key.strip().encode()).hexdigest()


def load_keys(file: str | Path | None = None, env: str | None = None) -> set[str]:
    """The SHA-256 hex digests of every accepted key.

    Raises:
        BackendError: an unreadable file or a line that is not ``sha256:HEX``; no key at all.
    """
    digests: set[str] = set()
    env = os.environ.get(ENV_KEYS, "") if env is None else env
    for k in env.split(","):
        if k.strip():
            digests.add(hash_key(k)[7:])
    if file is not None:
        try:
            lines = Path(file).read_text().splitlines()
        except OSError as e:
            raise BackendError(f"cannot read the API keys file {file}: {e.strerror or e}") from None
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = _LINE.match(line.lower())
            if m is None:
                raise BackendError(f"{file}, line {n}: expected sha256:HEX (64 hex digits), as printed by "
                                   "`twintake serve --hash-key KEY`")
            digests.add(m.group(1))
    if not digests:
        raise BackendError(f"no API keys: set {ENV_KEYS}=KEY1,KEY2 or give --api-keys FILE")
    return digests


def check_key(header: str | None, digests: set[str]) -> str | None:
    """The owner (SHA-256 hex) of the ``Authorization: Bearer KEY`` header, or None."""
    if not header or not header.startswith("Bearer "):
        return None
    digest = hash_key(header[7:])[7:]
    for d in digests:  # constant time per comparison
        if hmac.compare_digest(d, digest):
            return d
    return None


@dataclass
class Limits:
    """Per-key limits (429 when exceeded).

    Attributes:
        max_chars: longest text of one job, characters.
        max_queued: jobs (videos and avatars) queued or running at once.
        max_speech_min: minutes of speech a key may request in 24 hours (audio: its duration;
            text: estimated at 15 characters a second until the video is made).
        max_upload_mb: largest upload, MiB (413 above).
    """

    max_chars: int = 5000
    max_queued: int = 20
    max_speech_min: float = 120.0
    max_upload_mb: float = 200.0
