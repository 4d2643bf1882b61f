"""Licence notices of the checkpoint families the optional neural backends load (Wav2Lip,
XTTS-v2, Stable Diffusion). twintake ships none of these weights: the user points at files they obtained
under the model's own licence. The notice is handed back once per user, on first use (the
library never prints: callers turn it into a note), and ``docs/licenses.md`` states each in full.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CHECKPOINT_LICENCES", "first_use_notice"]

#: Short notice per checkpoint family (``docs/licenses.md`` has the details).
CHECKPOINT_LICENCES = {
    "wav2lip": ("the Wav2Lip checkpoints (wav2lip.pth, wav2lip_gan.pth) are licensed for personal, research and "
                "non-commercial use only (trained on LRS2); commercial use needs the authors' permission - "
                "see docs/licenses.md"),
    "xtts": ("XTTS-v2 weights are licensed under the Coqui Public Model License 1.0.0 (CPML): "
             "non-commercial use only, and generated audio may not be used commercially either; "
             "see docs/licenses.md"),
    "sd": ("Stable Diffusion 1.x/2.x and SDXL weights are licensed under CreativeML OpenRAIL-M / "
           "OpenRAIL++-M: commercial use allowed, with use restrictions (no impersonation or "
           "deception, no harm) that pass on to every user of the images; see docs/licenses.md"),
    "sd-turbo": ("SD-Turbo / SDXL-Turbo weights are licensed under the Stability AI Non-Commercial "
                 "Research Community License: research and non-commercial use only; see docs/licenses.md"),
}


def _notices_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "twintake" / "notices"


def first_use_notice(family: str) -> str | None:
    """The licence notice of ``family`` (a key of :data:`CHECKPOINT_LICENCES`) the first time
    this user loads such a checkpoint, else None. A marker file in
    ``$XDG_CONFIG_HOME/twintake/notices/`` remembers it (when it cannot be written, the notice
    is given every time)."""
    text = CHECKPOINT_LICENCES.get(family)
    if text is None:
        return None
    marker = _notices_dir() / family
    if marker.exists():
        return None
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(text + "\n", encoding="utf-8")
    except OSError:
        pass
    return text
